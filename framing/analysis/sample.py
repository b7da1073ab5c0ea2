"""Draw a validation sample from a scores table, for people to label.

The sample is stratified by outlet and by how unsure the model was, so that every
outlet is represented and the hard cases are not drowned by easy ones. The rows come out
in the evaluation harness's input format (``text``, a blank ``label`` or ``cues`` for
the person to fill, ``id``, ``outlet``) with the model's own answers in ``pred_*``
columns, so a labelled file goes straight into ``framing eval``.

Every row carries its stratum and a ``weight`` (articles in its stratum divided by
articles drawn from it): weighting labelled rows by it turns sample-level figures back
into corpus-level estimates.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from framing.analysis.compare import load_scores
from framing.core.labels import TONE_LABELS
from framing.core.tables import as_bool, detect_format, error_mask
from framing.pipeline.schema import cue_ids_of
from framing.errors import ColumnError
from framing.io.readers import read_corpus

__all__ = ["draw_validation_sample", "write_sample", "uncertainty"]

TASKS = ("tone", "cues")
#: The scores table's tone probability columns, in model output order.
_TONE_P = tuple(f"tone_p_{label}" for label in TONE_LABELS)


def uncertainty(scores: pd.DataFrame, task: str = "tone") -> pd.Series:
    """How unsure the model was about each row, in [0, 1] (1 = most unsure).

    Tone: the entropy of the three tone probabilities divided by log(3); without
    probabilities, ``1 - |tone|``. Cues: the largest ``1 - 2 |p - 0.5|`` over the
    article's cue probabilities (its most borderline cue).
    """
    if task == "tone":
        if all(c in scores.columns for c in _TONE_P):
            p = scores[list(_TONE_P)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
            ok = ~np.isnan(p).any(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                ent = -np.nansum(np.where(p > 0, p * np.log(p), 0.0), axis=1) / math.log(3)
            fallback = 1 - np.abs(pd.to_numeric(scores.get("tone"), errors="coerce").to_numpy(dtype=float)) \
                if "tone" in scores.columns else np.full(len(scores), np.nan)
            return pd.Series(np.clip(np.where(ok, ent, fallback), 0, 1), index=scores.index)
        if "tone" not in scores.columns:
            raise ColumnError("the scores table has neither tone probabilities nor a tone column")
        tone = pd.to_numeric(scores["tone"], errors="coerce")
        return (1 - tone.abs()).clip(0, 1)
    if task == "cues":
        ids = cue_ids_of(scores)
        cols = [f"cue_{c}" for c in ids if f"cue_{c}" in scores.columns]
        if not cols:
            raise ColumnError("the scores table has no cue probability columns (cue_<id>)")
        p = scores[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            u = np.nanmax(1 - 2 * np.abs(p - 0.5), axis=1)
        return pd.Series(u, index=scores.index)
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")


def allocate(sizes: dict[Any, int], n: int) -> dict[Any, int]:
    """Split ``n`` as evenly as possible over cells, none above its size; what a small
    cell cannot take goes to the others."""
    alloc = {k: 0 for k in sizes}
    left = min(n, sum(sizes.values()))
    open_cells = [k for k in sizes if sizes[k] > 0]
    while left > 0 and open_cells:
        share, extra = divmod(left, len(open_cells))
        for i, k in enumerate(open_cells):
            take = min(sizes[k] - alloc[k], share + (1 if i < extra else 0))
            alloc[k] += take
            left -= take
        open_cells = [k for k in open_cells if alloc[k] < sizes[k]]
        if share == 0 and extra == 0:
            break
    return alloc


def _strata(u: pd.Series, n_strata: int) -> pd.Series:
    """Uncertainty bands of (near) equal size: ``u1`` (surest) ... ``uK`` (least sure)."""
    ranks = u.rank(method="first", na_option="keep")
    k = max(1, n_strata)
    band = np.ceil(ranks / (ranks.max() / k)).clip(1, k) if ranks.notna().any() else ranks
    return band.map(lambda b: "u?" if pd.isna(b) else f"u{int(b)}")


def _band_order(key: tuple) -> int:
    digits = str(key[1])[1:]
    return int(digits) if digits.isdigit() else 0


def _texts(source: Any, keys: list[str], *, text: str, id: str | None,
           format: str | None = None) -> dict[str, str | None]:
    wanted = set(keys)
    found: dict[str, str | None] = {}
    for rec in read_corpus(source, text=text, id=id, format=format):
        key = str(rec.id) if id else str(rec.row)
        if key in wanted and key not in found:
            found[key] = rec.text
            if len(found) == len(wanted):
                break
    return found


def draw_validation_sample(
    scores: Any,
    n: int = 200,
    *,
    by: str | None = "outlet",
    task: str = "tone",
    seed: int = 13,
    n_strata: int = 3,
    text_source: Any = None,
    text: str = "text",
    id: str | None = None,
    out: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Draw ``n`` articles for labelling, stratified by ``by`` (None: no outlet strata)
    and by ``n_strata`` bands of model uncertainty (see :func:`uncertainty`).

    Allocation is even over outlets, then even over the uncertainty bands inside each
    outlet; a cell with too few articles gives its remainder to the others. Rows with an
    ``error`` are never drawn. Draws are reproducible for a given ``seed``.

    Text comes from the scores table's ``text`` column when it has one, else from
    ``text_source`` (a corpus file or frame, read with
    :func:`framing.io.readers.read_corpus`): rows are matched on the corpus column ``id``
    when given, else on the row number the scores table recorded (its ``row`` column).

    Returns a DataFrame in the harness's format: ``id``, ``outlet``, ``text``, the
    blank answer column (``label`` for tone, ``cues`` for cues: a blank ``cues`` reads
    as "no cue" once loaded, so fill every row), then ``pred_*`` columns with the
    model's answers, ``uncertainty``, ``stratum`` and ``weight``. With ``out`` the
    sample is also written (JSONL, CSV or Parquet by extension).
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    if n < 1:
        raise ValueError("n must be at least 1")
    df, _ = load_scores(scores)
    if by is not None and by not in df.columns:
        raise ColumnError(f"by={by!r} is not a column of the scores table; the columns present "
                          f"are: {', '.join(map(repr, map(str, df.columns)))}")
    df = df.loc[~error_mask(df)].reset_index(drop=True)
    u = uncertainty(df, task)
    band = _strata(u, n_strata)
    outlet = df[by].astype("string").fillna("(missing)") if by else pd.Series("all", index=df.index)
    cells = {k: np.asarray(v) for k, v in df.groupby([outlet, band], sort=True).indices.items()}
    # even over outlets first, then even over bands within an outlet
    outlets = sorted({k[0] for k in cells})
    per_outlet = allocate({o: sum(len(v) for k, v in cells.items() if k[0] == o) for o in outlets}, n)
    alloc: dict[Any, int] = {}
    for o in outlets:
        # an odd article goes to the less sure bands first: they teach the most
        mine = sorted((k for k in cells if k[0] == o), key=_band_order, reverse=True)
        alloc.update(allocate({k: len(cells[k]) for k in mine}, per_outlet[o]))
    rng = np.random.default_rng(seed)
    picked, weights = [], []
    for key in sorted(cells):
        rows = cells[key]
        m = alloc.get(key, 0)
        if m <= 0:
            continue
        chosen = rng.choice(rows, size=m, replace=False)
        picked.extend(int(r) for r in chosen)
        weights.extend([len(rows) / m] * m)
    sample = df.iloc[picked].copy()
    sample["_weight"] = weights
    sample["_u"] = u.iloc[picked].to_numpy()
    sample["_stratum"] = [f"{outlet.iloc[r]}|{band.iloc[r]}" for r in picked]
    sample = sample.sample(frac=1.0, random_state=seed)  # shuffle so strata do not cluster
    return _to_harness(sample, df, by, task, text_source, text, id, out)


def _to_harness(sample: pd.DataFrame, df: pd.DataFrame, by: str | None, task: str,
                text_source: Any, text: str, id: str | None,
                out: str | os.PathLike | None) -> pd.DataFrame:
    ids = sample["id"].astype("string") if "id" in sample.columns else \
        pd.Series(range(len(sample)), index=sample.index).astype("string")
    result = pd.DataFrame({"id": ids.to_numpy(dtype=object)})
    if by:
        result["outlet"] = sample[by].to_numpy(dtype=object)
    for col in ("title", "date"):
        if col in sample.columns and col != by:
            result[col] = sample[col].to_numpy(dtype=object)
    if "text" in sample.columns and text_source is None:
        result["text"] = sample["text"].to_numpy(dtype=object)
    elif text_source is not None:
        if id:
            keys = ids.tolist()
        elif "row" in sample.columns:
            keys = [str(int(r)) for r in sample["row"]]
        else:
            raise ColumnError("to join text without --id, the scores table needs its 'row' column")
        found = _texts(text_source, [k for k in keys if k is not None], text=text, id=id)
        result["text"] = [found.get(k) for k in keys]
    else:
        result["text"] = None
    if task == "tone":
        result["label"] = ""
    else:
        result["cues"] = [None] * len(result)
    if "tone" in sample.columns:
        result["pred_tone"] = pd.to_numeric(sample["tone"], errors="coerce").to_numpy()
    if "tone_label" in sample.columns:
        result["pred_label"] = sample["tone_label"].to_numpy(dtype=object)
    for c in TONE_LABELS:
        if f"tone_p_{c}" in sample.columns:
            result[f"pred_p_{c}"] = pd.to_numeric(sample[f"tone_p_{c}"], errors="coerce").to_numpy()
    cue_ids = cue_ids_of(df)
    if cue_ids:
        flags = {c: as_bool(sample[f"cue_{c}_present"]).to_numpy() for c in cue_ids}
        result["pred_cues"] = [[c for c in cue_ids if flags[c][i]] for i in range(len(sample))]
        probs = {c: pd.to_numeric(sample[f"cue_{c}"], errors="coerce").to_numpy()
                 for c in cue_ids if f"cue_{c}" in sample.columns}
        result["pred_cue_p"] = [{c: (None if np.isnan(v[i]) else round(float(v[i]), 4))
                                 for c, v in probs.items()} for i in range(len(sample))]
    result["uncertainty"] = sample["_u"].round(4).to_numpy()
    result["stratum"] = sample["_stratum"].to_numpy()
    result["weight"] = sample["_weight"].to_numpy()
    if out is not None:
        write_sample(result, out)
    return result


def write_sample(sample: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a sample as JSONL (lists and dicts kept), CSV (they become JSON strings)
    or Parquet, by the extension of ``path``; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    kind = detect_format(path)
    if kind == "jsonl":
        with open(path, "w", encoding="utf-8") as fh:
            for row in sample.to_dict("records"):
                fh.write(json.dumps({k: _jsonable(v) for k, v in row.items()},
                                    ensure_ascii=False) + "\n")
    elif kind in ("csv", "tsv"):
        flat = sample.copy()
        for col in flat.columns:
            if flat[col].map(lambda v: isinstance(v, (list, dict))).any():
                flat[col] = flat[col].map(lambda v: json.dumps(v) if isinstance(v, (list, dict)) else v)
        flat.to_csv(path, index=False, sep="," if kind == "csv" else "\t")
    else:
        sample.to_parquet(path, index=False)
    return path


def _jsonable(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(float(v)) else float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.ndarray):
        return v.tolist()
    if v is pd.NA or v is pd.NaT:
        return None
    return v
