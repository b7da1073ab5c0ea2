"""Labelled samples: the table format that evaluation, training and validation samples
share (a text column, a label column, optional ids and target mentions)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from framing.core.labels import TONE_LABELS
from framing.core.tables import read_table
from framing.errors import ColumnError

__all__ = ["DEFAULT_ID_COLUMN", "TASKS", "Samples", "as_label_list", "load_samples",
           "parse_offset", "split_samples"]

#: What a labelled sample set can be for: one tone label, or sets of cue / frame ids.
TASKS = ("tone", "cues", "frames")


class _DefaultColumn(str):
    """A column name nobody asked for: used when present, quietly skipped when absent."""


#: The id column :func:`load_samples` reads when it is given no other; a table without one
#: gets row numbers as ids.
DEFAULT_ID_COLUMN: str = _DefaultColumn("id")


def parse_offset(value: Any) -> int | None:
    """A character offset from a table cell: None for blank / missing, else an int.

    Raises :class:`ValueError` for a value that is not a number."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str):
        if not value.strip():
            return None
        value = float(value)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a character offset") from None


@dataclass
class Samples:
    """Labelled samples for one task.

    ``labels`` holds a label string per sample (tone) or a list of label ids per sample
    (cues, frames); ``label_set`` the allowed labels in order.
    """

    task: str
    texts: list[str]
    labels: list[Any]
    label_set: list[str]
    ids: list[Any]
    targets: list[Any] = field(default_factory=list)
    source: str = "<memory>"

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, rows: Sequence[int]) -> "Samples":
        rows = list(rows)
        pick = lambda xs: [xs[i] for i in rows]  # noqa: E731
        return Samples(self.task, pick(self.texts), pick(self.labels), list(self.label_set),
                       pick(self.ids), pick(self.targets) if self.targets else [], self.source)

    def y_index(self) -> np.ndarray:
        """Class index per sample (single-label tasks)."""
        pos = {lab: i for i, lab in enumerate(self.label_set)}
        return np.array([pos[lab] for lab in self.labels], dtype=int)

    def y_matrix(self) -> np.ndarray:
        """0/1 matrix ``(n, len(label_set))`` (multi-label tasks)."""
        pos = {lab: i for i, lab in enumerate(self.label_set)}
        Y = np.zeros((len(self), len(self.label_set)), dtype=bool)
        for r, labs in enumerate(self.labels):
            for lab in labs:
                Y[r, pos[lab]] = True
        return Y


def as_label_list(value: Any) -> list[str]:
    """Labels from a cell: a list, a JSON list string, or a ``;``/``,``-separated string."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        v = value.strip()
        if v.startswith("["):
            try:
                return [str(x) for x in json.loads(v)]
            except json.JSONDecodeError:
                pass
        return [x.strip() for x in v.replace(",", ";").split(";") if x.strip()]
    return [str(x) for x in value]


def load_samples(
    source: Any,
    task: str,
    *,
    text: str = "text",
    label: str | None = None,
    id: str | None = DEFAULT_ID_COLUMN,
    target: str | None = None,
    target_start: str | None = None,
    target_end: str | None = None,
    label_set: Sequence[str] | None = None,
    label_map: Mapping[Any, str] | None = None,
    format: str | None = None,
) -> Samples:
    """Load labelled samples from JSONL / CSV / Parquet, a DataFrame or a ``datasets.Dataset``.

    ``label`` names the label column (default ``label`` for tone, ``cues`` for cues,
    ``frames`` for frames); for multi-label tasks it holds a list (or a ``;``-separated
    string). ``label_map`` renames labels first (e.g. ``{"positive": "promotional"}``);
    ``label_set`` fixes the allowed labels (default: the three tone labels; for
    multi-label tasks, those seen in the data). ``target`` names a column with the target
    mention for target-aware tone; with ``target_start`` and ``target_end`` (character
    offsets into the text) the mention is located exactly rather than by name. ``id``
    names the id column; by default an ``id`` column is used if there is one, and row
    numbers (from 0) otherwise; ``id=None`` always gives row numbers.

    Raises :class:`ColumnError` naming missing columns (an ``id`` column asked for by name
    included) and :class:`ValueError` naming unknown labels.
    """
    if task not in TASKS:
        raise ValueError(f"Unknown task {task!r}; choose one of: {', '.join(TASKS)}")
    label = label or {"tone": "label", "cues": "cues", "frames": "frames"}[task]
    df, where = read_table(source, format, what="Samples")
    if isinstance(id, _DefaultColumn) and id not in df.columns:
        id = None
    needed = [c for c in (text, label, id, target, target_start, target_end) if c]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ColumnError(f"{where}: column(s) {', '.join(map(repr, missing))} not found; the "
                          f"columns present are: {', '.join(map(repr, map(str, df.columns)))}")
    texts = df[text].tolist()
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
    if bad:
        raise ValueError(f"{where}: {len(bad)} sample(s) without text (rows {bad[:10]})")
    mapping = dict(label_map or {})
    if task == "tone":
        labels = [mapping.get(v, mapping.get(str(v), v)) for v in df[label].tolist()]
        labels = [str(v) for v in labels]
        allowed = list(label_set) if label_set else list(TONE_LABELS)
        if not set(allowed) <= set(TONE_LABELS) or len(allowed) < 2:
            raise ValueError(f"A tone label_set must be two or three of {list(TONE_LABELS)} "
                             f"(use label_map to rename yours), got {allowed}")
    else:
        labels = [[mapping.get(x, x) for x in as_label_list(v)] for v in df[label].tolist()]
        seen = sorted({x for labs in labels for x in labs})
        allowed = list(label_set) if label_set else seen
    flat = labels if task == "tone" else [x for labs in labels for x in labs]
    unknown = sorted(set(flat) - set(allowed))
    if unknown:
        raise ValueError(f"{where}: unknown label(s) {unknown} in column {label!r}; allowed: "
                         f"{allowed}" + ("" if task == "tone" else
                                         " (pass label_set= to name the full set)"))
    ids = df[id].tolist() if id else list(range(len(df)))
    targets: list = []
    if target_start and target_end:
        for r, (a, b) in enumerate(zip(df[target_start].tolist(), df[target_end].tolist())):
            a, b = parse_offset(a), parse_offset(b)
            if (a is None) != (b is None) or (a is not None and not 0 <= a < b <= len(texts[r])):
                raise ValueError(f"{where}: row {r + 1}: target offsets do not lie inside the text")
            targets.append((a, b) if a is not None else None)
    elif target:
        targets = [t if isinstance(t, str) and t.strip() else None for t in df[target].tolist()]
    return Samples(task, texts, labels, allowed, ids, targets, where)


def split_samples(samples: Samples, dev_fraction: float = 0.3, seed: int = 13) -> tuple[Samples, Samples]:
    """Split into ``(dev, eval)`` with a fixed seed, stratified by label (first label for
    multi-label tasks, ``none`` when a sample has none). Deterministic for a given seed."""
    if not 0 < dev_fraction < 1:
        raise ValueError("dev_fraction must be between 0 and 1")
    rng = np.random.default_rng(seed)
    strata: dict[str, list[int]] = {}
    for i, lab in enumerate(samples.labels):
        key = lab if isinstance(lab, str) else (sorted(lab)[0] if lab else "none")
        strata.setdefault(key, []).append(i)
    dev: list[int] = []
    for key in sorted(strata):
        rows = np.array(strata[key])
        rng.shuffle(rows)
        dev.extend(rows[: int(round(dev_fraction * len(rows)))].tolist())
    dev_set = set(dev)
    rest = [i for i in range(len(samples)) if i not in dev_set]
    return samples.subset(sorted(dev)), samples.subset(rest)
