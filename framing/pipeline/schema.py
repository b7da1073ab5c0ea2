"""The output schema: the one definition of the flat columns a scored article becomes,
and of how those columns are read back (cue and frame ids from column names).

Writers (:func:`framing.pipeline.results.flat_row`, the corpus and Ray scorers) and
readers (:mod:`framing.analysis.compare`, :mod:`framing.analysis.sample`) all go through
here. Nothing in this module needs torch.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

from framing.core.labels import FRAME_SCHEMES, TONE_LABELS

__all__ = [
    "HASH_COLUMN",
    "TONE_PROBABILITY_COLUMNS",
    "cue_column",
    "cue_evidence_column",
    "cue_ids_of",
    "cue_present_column",
    "frame_column",
    "frame_ids_of",
    "frame_present_column",
    "output_columns",
]

#: sha256 of an article's text (and target), written by the corpus scorers.
HASH_COLUMN = "text_sha256"

#: Calibrated class probabilities of the article's tone, in :data:`TONE_LABELS` order.
TONE_PROBABILITY_COLUMNS: tuple[str, ...] = tuple(f"tone_p_{label}" for label in TONE_LABELS)

_CUE_PRESENT = re.compile(r"^cue_(.+)_present$")
_FRAME_PRESENT = re.compile(r"^frame_(.+)_present$")


def cue_column(cue_id: str) -> str:
    """Column of a cue's article-level probability."""
    return f"cue_{cue_id}"


def cue_present_column(cue_id: str) -> str:
    """Column of a cue's present / absent flag."""
    return f"cue_{cue_id}_present"


def cue_evidence_column(cue_id: str) -> str:
    """Column of the sentence that carries a cue most."""
    return f"cue_{cue_id}_evidence"


def frame_column(scheme: str, frame_id: str) -> str:
    """Column of a frame's article-level probability."""
    return f"frame_{scheme}_{frame_id}"


def frame_present_column(scheme: str, frame_id: str) -> str:
    """Column of a frame's present / absent flag."""
    return f"frame_{scheme}_{frame_id}_present"


def output_columns(cue_ids: Sequence[str], meta_keys: Sequence[str], evidence: bool,
                   frame_ids: Iterable[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """``(name, type)`` of every column a scored article is written with, in order; types
    are ``int64``, ``string``, ``float64`` or ``bool``. (The corpus scorers add
    :data:`HASH_COLUMN` at the end.)"""
    frame_ids = list(frame_ids)
    cols = [("row", "int64"), ("id", "string")] + [(k, "string") for k in meta_keys] + [
        ("tone", "float64"), ("tone_label", "string"), ("tone_scorer", "string"),
        ("n_sentences", "int64"), ("n_furniture", "int64"), ("language", "string"),
        ("flags", "string"), ("error", "string"), ("cues_present", "string"),
    ] + [(c, "float64") for c in TONE_PROBABILITY_COLUMNS]
    for cid in cue_ids:
        cols += [(cue_column(cid), "float64"), (cue_present_column(cid), "bool")]
        if evidence:
            cols.append((cue_evidence_column(cid), "string"))
    if frame_ids:
        cols.append(("frames_present", "string"))
    for scheme, fid in frame_ids:
        cols += [(frame_column(scheme, fid), "float64"),
                 (frame_present_column(scheme, fid), "bool")]
    if evidence:
        cols += [("most_promotional", "string"), ("most_critical", "string")]
    return cols


def _names(table: Any) -> list[str]:
    return [str(c) for c in getattr(table, "columns", table)]


def cue_ids_of(table: Any) -> list[str]:
    """Cue ids of a scores table (a DataFrame or a list of column names), in column order
    (from its ``cue_<id>_present`` columns)."""
    return [m.group(1) for c in _names(table) if (m := _CUE_PRESENT.match(c))]


def frame_ids_of(table: Any) -> list[tuple[str, str]]:
    """``(scheme, id)`` of the article-level frames of a scores table, in column order
    (from its ``frame_<scheme>_<id>_present`` columns).

    Frame ids may hold underscores (``human_interest``), so where the scheme ends is
    read from the known schemes (``narrative``, ``policy``, the longest that fits), else
    from the ``scheme:id`` tokens of the ``frames_present`` column, else at the first
    underscore."""
    rests = [m.group(1) for c in _names(table) if (m := _FRAME_PRESENT.match(c))]
    tokens: set[str] | None = None
    out = []
    for rest in rests:
        cuts = [i for i, ch in enumerate(rest) if ch == "_" and 0 < i < len(rest) - 1]
        if not cuts:  # no underscore inside: not a scheme and an id
            continue
        splits = [(rest[:i], rest[i + 1:]) for i in cuts]
        pick = next((sp for sp in reversed(splits) if sp[0] in FRAME_SCHEMES), None)
        if pick is None and len(splits) > 1:
            if tokens is None:
                tokens = _frame_tokens(table)
            pick = next((sp for sp in splits if f"{sp[0]}:{sp[1]}" in tokens), None)
        out.append(pick or splits[0])
    return out


def _frame_tokens(table: Any) -> set[str]:
    if not hasattr(table, "columns") or "frames_present" not in table.columns:
        return set()
    out: set[str] = set()
    for v in table["frames_present"].dropna().unique():
        if isinstance(v, str):
            out.update(t.strip() for t in v.split(";") if ":" in t)
    return out
