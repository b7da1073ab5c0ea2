"""The sentences behind the numbers: which articles of a group carry a cue most, and
which articles sit at either end of the tone scale, with the sentence the scorer kept for
each.

:func:`collect_evidence` runs once when :func:`framing.compare_outlets` builds its
:class:`~framing.analysis.compare.OutletComparison` and keeps a small long table: per
group, per cue at most :data:`EVIDENCE_KEEP` articles where the cue is present (highest
cue probability first), and per end of the tone scale (``most_promotional``: highest
tone; ``most_critical``: lowest tone) at most :data:`EVIDENCE_KEEP` articles. Its size is
bounded by groups x (cues + 2) x :data:`EVIDENCE_KEEP` rows, whatever the size of the
scores table. :func:`select_evidence` reads one group and one measure back out of it.

Frames are left out: the scores table stores an evidence sentence per cue
(``cue_<id>_evidence``) and for the two tone ends (``most_promotional``,
``most_critical``), but none per frame. A table scored without evidence still gives the
articles, with an empty ``sentence``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from framing.core.tables import as_bool
from framing.pipeline.schema import cue_column, cue_evidence_column, cue_present_column

__all__ = [
    "EVIDENCE_KEEP",
    "TONE_ENDS",
    "collect_evidence",
    "evidence_columns",
    "select_evidence",
]

#: The most articles kept per group and cue (and per group and tone end).
EVIDENCE_KEEP = 20
#: The tone-end measures: highest tone with its most promotional sentence, lowest tone
#: with its most critical sentence.
TONE_ENDS = ("most_promotional", "most_critical")

_ARTICLE = ["id", "title", "date"]
_STORED = ["measure", *_ARTICLE, "value", "sentence"]


def evidence_columns(measure: str) -> list[str]:
    """Columns of :func:`select_evidence`'s answer for ``measure``: the score is
    ``probability`` for a cue and ``tone`` for a tone end."""
    return [*_ARTICLE, "tone" if measure in TONE_ENDS else "probability", "sentence"]


def _text(value: Any) -> str | None:
    """``value`` as text for display (a midnight timestamp as its date); None if missing."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return value.date().isoformat()
    return str(value)


def _column(sub: pd.DataFrame, name: str) -> list[str | None]:
    return [_text(v) for v in sub[name]] if name in sub.columns else [None] * len(sub)


def _rows(sub: pd.DataFrame, measure: str, values: pd.Series, sentence_col: str,
          keep: int) -> pd.DataFrame:
    """The first ``keep`` rows of ``sub`` in descending order of ``values`` (missing
    values dropped, ties in table order) as stored evidence rows."""
    values = values.dropna().sort_values(ascending=False, kind="stable").head(keep)
    top = sub.loc[values.index]
    return pd.DataFrame({"measure": measure, "id": _column(top, "id"),
                         "title": _column(top, "title"), "date": _column(top, "date"),
                         "value": values.to_numpy(dtype=float),
                         "sentence": _column(top, sentence_col)}, columns=_STORED)


def collect_evidence(data: pd.DataFrame, keys: Sequence[str],
                     grouped: Sequence[tuple[tuple, np.ndarray]], cue_ids: Sequence[str],
                     keep: int = EVIDENCE_KEEP) -> pd.DataFrame:
    """The bounded evidence table of ``data`` (the usable rows of a scores table):
    ``keys`` columns, ``measure`` (a cue id or a :data:`TONE_ENDS` name), ``id``,
    ``title``, ``date``, ``value`` (cue probability, or tone) and ``sentence``.

    ``grouped`` lists ``(key tuple, row positions)`` per group. For a tone end the
    ``value`` is the article's tone (sorted down for ``most_promotional``, up for
    ``most_critical``); articles without a tone are left out."""
    parts: list[pd.DataFrame] = []
    tone = (pd.to_numeric(data["tone"], errors="coerce") if "tone" in data.columns
            else pd.Series(np.nan, index=data.index))
    for key, idx in grouped:
        sub = data.iloc[idx]
        found: list[pd.DataFrame] = []
        for cue in cue_ids:
            present = as_bool(sub[cue_present_column(cue)]).to_numpy()
            probs = pd.to_numeric(sub[cue_column(cue)], errors="coerce") if cue_column(
                cue) in sub.columns else pd.Series(np.nan, index=sub.index)
            # a present cue without a probability still counts, after the scored ones
            probs = probs[present].fillna(-np.inf)
            found.append(_rows(sub, cue, probs, cue_evidence_column(cue), keep))
        sub_tone = tone.iloc[idx]
        found.append(_rows(sub, "most_promotional", sub_tone, "most_promotional", keep))
        low = _rows(sub, "most_critical", -sub_tone, "most_critical", keep)
        low["value"] = -low["value"]
        found.append(low)
        block = pd.concat([f for f in found if len(f)], ignore_index=True) if any(
            len(f) for f in found) else pd.DataFrame(columns=_STORED)
        for k, v in zip(keys, key):
            block.insert(len(block.columns) - len(_STORED), k, str(v))
        parts.append(block)
    if not any(len(p) for p in parts):
        return pd.DataFrame(columns=[*keys, *_STORED])
    out = pd.concat([p for p in parts if len(p)], ignore_index=True)
    out["value"] = out["value"].replace(-np.inf, np.nan)
    return out


def _group_key(group: Any, keys: Sequence[str]) -> tuple[str, ...]:
    """``group`` as a tuple of key texts: a scalar for a single key column, a tuple (or
    a ``"level / group"`` label) for ``[within, by]``."""
    if isinstance(group, tuple):
        return tuple(str(g) for g in group)
    if len(keys) > 1 and isinstance(group, str) and " / " in group:
        return tuple(group.split(" / ", len(keys) - 1))
    return (str(group),)


def select_evidence(table: pd.DataFrame, keys: Sequence[str], groups: pd.DataFrame,
                    cue_ids: Sequence[str], frame_ids: Sequence[str], group: Any,
                    measure: str, n: int = 5) -> pd.DataFrame:
    """The first ``n`` evidence rows of ``group`` for ``measure`` (a cue id or a
    :data:`TONE_ENDS` name) from a :func:`collect_evidence` table, with the columns of
    :func:`evidence_columns`.

    ``groups`` is the comparison's per-group table (its ``keys`` columns name the valid
    groups). Raises :class:`KeyError` naming the valid groups or measures when ``group``
    or ``measure`` is unknown, :class:`ValueError` for a frame (no evidence sentence is
    stored per frame) and for ``n`` outside 1..:data:`EVIDENCE_KEEP`."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 1 <= n <= EVIDENCE_KEEP:
        raise ValueError(f"n must be a whole number from 1 to {EVIDENCE_KEEP} (the most "
                         f"articles kept per group and cue), got {n!r}")
    valid = [tuple(str(v) for v in row) for row in groups[list(keys)].itertuples(index=False)]
    key = _group_key(group, keys)
    if key not in valid:
        names = ", ".join(repr(" / ".join(v) if len(v) > 1 else v[0]) for v in valid)
        raise KeyError(f"unknown group {group!r} for {' / '.join(keys)}; the groups are: "
                       f"{names or '(none)'}")
    if measure in frame_ids:
        raise ValueError(f"{measure!r} is a frame: the scores table stores no evidence "
                         "sentence per frame, only per cue and for most_promotional / "
                         "most_critical")
    if measure not in cue_ids and measure not in TONE_ENDS:
        choices = ", ".join(repr(m) for m in (*cue_ids, *TONE_ENDS))
        raise KeyError(f"unknown cue {measure!r}; the choices are: {choices}")
    mask = table["measure"] == measure
    for k, v in zip(keys, key):
        mask &= table[k] == v
    out = table.loc[mask, [*_ARTICLE, "value", "sentence"]].head(n).reset_index(drop=True)
    return out.rename(columns={"value": evidence_columns(measure)[3]})
