"""Outlet comparison on a scores table: per-group estimates with intervals, pairwise tests.

``compare_outlets(scores, by="outlet")`` reads the table :func:`framing.score_corpus`
writes (a DataFrame, a Parquet / CSV / JSONL file, or a directory of Parquet shards) and
returns an :class:`OutletComparison` holding tidy pandas tables:

``groups``         one row per group: articles, tone mean with a 95% interval, shares of
                   promotional / neutral / critical articles with Wilson intervals, and
                   the group's tone against the pooled other groups.
``cues``           one row per group and cue: prevalence (share of articles with the cue
                   present) with a Wilson interval, the same corrected for the detector's
                   errors, the rate per 1,000 sentences with an exact Poisson interval,
                   and a test of the group against the pooled other groups.
``pairwise_tone``  one row per pair of groups: mean difference with an interval, Cohen's
                   d and Hedges' g, a permutation test (Welch's t for large groups).
``pairwise_cues``  one row per cue and pair: difference in proportions (Newcombe
                   interval), risk ratio, odds ratio, Cohen's h, and a chi-square test
                   (Fisher's exact test when an expected count is below 5).
``frames``         one row per group and article-level frame (``frame_<scheme>_<id>``
                   columns): ``frame`` is ``scheme:id`` (e.g. ``narrative:conflict``),
                   ``scheme`` the scheme; share of articles with the frame present with a
                   Wilson interval, and a test against the pooled other groups. The
                   corrected columns stay blank unless ``error_rates`` names the frame
                   as ``scheme:id``; there is no rate per 1,000 sentences (frames are
                   per article). Empty when the table has no frame columns.
``pairwise_frames`` one row per frame and pair, with the columns of ``pairwise_cues``
                   (``frame`` and ``scheme`` in place of ``cue``).
``over_time``      with ``time=``: tone, every cue and every frame per group and time bin.
``trends``         with ``time=``: one row per group and measure (tone, each cue, each
                   frame): the first and last time bin with data, how many bins and
                   articles, the estimate in the first and last bin, the fitted trend
                   line there, the slope per time bin with an interval and a test of a
                   zero slope (see "Trends over time" below). Empty, with its columns,
                   without ``time=``.

Every family of tests (pairwise tone, pairwise cues, pairwise frames, tone vs rest, cues
vs rest, frames vs rest, tone trends, cue trends, frame trends) is corrected on its own with the Benjamini–Hochberg procedure;
``p_adj`` holds the adjusted values and ``significant`` says whether ``p_adj < alpha``.

Every table but ``over_time`` ends with a ``note`` column: empty, or the reason (``; ``
between several) a test was skipped or an estimate is degenerate.

Small and degenerate groups
---------------------------
A test needs at least :data:`MIN_TEST_ARTICLES` (2) values on each side: articles for
the cue and frame tests, articles with a tone for the tone tests (neither the
permutation test nor Welch's t is defined for a sample of one). A group below that
keeps every estimate (tone mean; a tone interval needs two values, so with one it is
NaN and its method ``"none"``; shares and prevalences with their Wilson intervals;
rates; pairwise differences and effect sizes), but each test involving it is skipped:
``test`` is ``"none"``, the statistic and p-value NaN, ``significant`` False, and the
``note`` says ``too few articles ...``. The BH adjustment counts only the tests that
ran, so every other pairwise row is the one a run without the small group gives (up to
the draws of the shared random stream, for resampled intervals and p-values); the
tests against the pooled rest still count its articles in the pool. The same holds for
a group whose articles all lack a tone, and for a test against the rest when the other
groups of the stratum hold fewer than two articles (none at all, a single group: ``no
other group to test against``). ``notes`` names the small groups once.

A group whose tone never varies has tone SD 0, an interval of zero width at its mean,
Cohen's d and Hedges' g NaN against another constant group (no pooled spread), and
tests that run as usual (two identical constant groups give p = 1; Welch's t for two
different constant groups gives t = ±inf, p = 0). A cue or frame that no article
compared has (or that every article has) gets prevalence 0 (or 1) with its Wilson
interval, NaN risk and odds ratios, Fisher's test with p = 1 (kept in the BH family, as
before) and a ``note``; ``notes`` lists such cues and frames. A table with no usable
row gives empty tables with their columns.

Rows whose ``error`` is set are left out of every estimate and counted in
``n_excluded``. The intervals and tests themselves are in :mod:`framing.stats.inference`;
the Markdown summary in :mod:`framing.analysis.summary`. This module needs numpy, pandas
and scipy only: it never imports torch, and matplotlib only when a plot is asked for (see
:mod:`framing.analysis.report`).

Corrected prevalence (adjusted classify-and-count)
--------------------------------------------------
A detector with true-positive rate ``tpr`` and false-positive rate ``fpr`` flags a share
``p_raw = fpr + (tpr - fpr) * p_true`` of articles in expectation, so
``p_adj = (p_raw - fpr) / (tpr - fpr)``, clipped to [0, 1]. The map is increasing when
``tpr > fpr``, so the interval is the Wilson interval of ``p_raw`` mapped the same way and
clipped. That interval treats ``tpr`` and ``fpr`` as known: it leaves out their own
sampling error, so it is too narrow when they were measured on a small labelled set.
When ``tpr <= fpr`` the correction is undefined and the adjusted columns are NaN.

Trends over time
----------------
Each group's articles are placed on a time axis counted in time bins (0 for the group's
first bin with data; an empty bin in between still counts as a step), and the
``trends`` table fits a straight line through the articles themselves, not through the
bin averages, so a bin weighs by its articles:

- tone: the least-squares slope of article tone on time, with a t interval and the
  t-test of a zero slope (:func:`framing.stats.inference.mean_trend_test`); ``slope``
  is in tone units per bin;
- cues and frames: the slope of the share of articles with the cue / frame (the
  linear probability model, as a share per bin: 0.07 is seven percentage points per
  bin, like ``diff`` in the pairwise tables) with an HC3 interval, tested with the
  Cochran–Armitage trend test (:func:`framing.stats.inference.proportion_trend_test`).

A slope reads as the average change per bin and catches steady rises and falls, not a
rise followed by a fall. Articles are taken as independent, so a shock shared by all
articles of a bin narrows the interval. A trend needs :data:`MIN_TREND_PERIODS` (3) bins
with data and :data:`MIN_TREND_ARTICLES` (10) articles (for tone: articles with a tone);
with fewer, the slope, interval and p-value are NaN and ``note`` says why. ``p_adj`` is
BH-adjusted within each family (tone trends, cue trends, frame trends, across groups);
``estimate_first`` / ``estimate_last`` are the mean tone or share in the first and last
bin, ``trend_first`` / ``trend_last`` the fitted line there (kept within the scale's
range).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from framing.analysis.evidence import collect_evidence, select_evidence
from framing.analysis.findings import (
    manifest_value,
    DEFAULT_MAX_ITEMS,
    Finding,
    cue_names,
    ranked_findings,
    trend_findings,
)
from framing.analysis.formatting import comparison_html
from framing.analysis.summary import period_freq, summary_markdown
from framing.core.labels import TONE_LABELS_DISPLAY
from framing.core.resources import TIERS, shipped_model_path
from framing.core.tables import as_bool, detect_format, error_mask
from framing.pipeline.schema import cue_ids_of, frame_ids_of
from framing.errors import ColumnError, InputFormatError
from framing.io.shards import ShardDir, read_scores
from framing.stats.inference import (
    MIN_TREND_PERIODS,
    adjust_prevalence,
    bh_adjust,
    bootstrap_mean_ci,
    cohens_d,
    cohens_h,
    hedges_g,
    hedges_g_ci,
    mean_difference_ci,
    mean_difference_test,
    mean_trend_test,
    newcombe_interval,
    poisson_rate_interval,
    proportion_trend_test,
    ratio_intervals,
    t_mean_ci,
    two_proportion_test,
    wilson_interval,
)

__all__ = [
    "ERROR_RATES_FILE",
    "MIN_TEST_ARTICLES",
    "MIN_TREND_ARTICLES",
    "MIN_TREND_PERIODS",
    "OutletComparison",
    "compare_outlets",
    "load_error_rates",
    "error_rates_file",
    "load_scores",
]

#: Name of the per-cue error-rates file next to a set of cue heads.
ERROR_RATES_FILE = "error_rates.json"
#: The fewest values each side of a test needs (articles; articles with a tone for the
#: tone tests). A group below it is described but never tested (see the module notes).
MIN_TEST_ARTICLES = 2
#: The fewest articles (for tone: articles with a tone) of a group, over all its time
#: bins, for a trend over time; with fewer, the ``trends`` row is left blank with a note.
MIN_TREND_ARTICLES = 10
#: The shipped cue heads (under ``framing.models``), whose error rates are the default.


# -- reading ---------------------------------------------------------------------------
def load_scores(source: Any) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """Read a scores table; return ``(frame, manifest)``.

    ``source`` is a DataFrame (returned as is), an object with ``to_pandas()``, a
    ``.parquet`` / ``.csv`` / ``.tsv`` / ``.jsonl`` file (``.gz`` allowed for the text
    formats), or a directory of ``part-NNNNN.parquet`` shards (read with
    :func:`framing.read_scores`) with an optional ``manifest.json``, returned as a dict
    (else the manifest is None).

    A file and a directory holding the same scores give the same frame: rows in input
    order (sorted by the ``row`` column, when there is one) on a fresh index, and ``id``
    read as text from CSV and JSONL (so ``007`` stays ``007``), as
    :func:`framing.read_scores` does.

    Raises :class:`TypeError` for another kind of ``source``,
    :class:`FileNotFoundError` for a missing path and :class:`InputFormatError` for an
    unreadable file or manifest or a directory without shards.
    """
    if isinstance(source, pd.DataFrame):
        return source, None
    if not isinstance(source, (str, os.PathLike)):
        if hasattr(source, "to_pandas"):
            return source.to_pandas(), None
        raise TypeError(f"scores must be a DataFrame or a path, got {type(source).__name__}")
    path = Path(source)
    if path.is_dir():
        manifest = _read_manifest(path)
        if not ShardDir(path).shards():
            raise InputFormatError(f"{path}: no *.parquet shards (part-NNNNN.parquet) in this "
                                   "directory")
        try:
            frame = read_scores(path)
        except Exception as exc:
            raise InputFormatError(f"{path}: cannot read the Parquet shards ({exc})") from None
        return frame, manifest
    if not path.is_file():
        raise FileNotFoundError(f"Scores not found: {path}")
    return _read_scores_file(path), None


def _read_manifest(directory: Path) -> dict[str, Any] | None:
    """A scores directory's ``manifest.json`` as read (any JSON object), or None."""
    path = directory / "manifest.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFormatError(f"{path}: unreadable manifest ({exc})") from None


# JSON values are kept as written (no type guessing), so dates stay text as in the shards:
# pandas 3 leaves them alone once dtype=False, pandas 2 must be told.
_JSON_AS_WRITTEN: dict[str, Any] = {"dtype": False}
if int(pd.__version__.split(".")[0]) < 3:
    _JSON_AS_WRITTEN["convert_dates"] = False


def _read_scores_file(path: Path) -> pd.DataFrame:
    """One scores file, with the row order and ``id`` handling of a scores directory."""
    kind = detect_format(path)
    try:
        if kind == "parquet":
            frame = pd.read_parquet(path)
        elif kind == "jsonl":
            frame = pd.read_json(path, lines=True, **_JSON_AS_WRITTEN)
            if "id" in frame.columns:
                frame["id"] = _as_text(frame["id"])
        else:
            frame = pd.read_csv(path, sep="," if kind == "csv" else "\t", dtype={"id": str})
        return _in_row_order(frame)
    except Exception as exc:
        raise InputFormatError(f"{path}: cannot read the scores table ({exc})") from None


def _as_text(values: pd.Series) -> pd.Series:
    """Values as strings (``7`` -> ``"7"``); missing values stay missing."""
    return values.astype(str).where(values.notna())


def _in_row_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by the input ``row`` number (stable; unreadable numbers last), on a
    fresh index."""
    if "row" in frame.columns and len(frame):
        frame = frame.sort_values("row", kind="stable", na_position="last",
                                  key=lambda rows: pd.to_numeric(rows, errors="coerce"))
    return frame.reset_index(drop=True)


def load_error_rates(source: Any) -> dict[str, tuple[float, float]]:
    """Per-cue ``(tpr, fpr)`` from a mapping or a JSON file.

    Accepted shapes (optionally nested under a ``"cues"`` key; other top-level keys
    such as ``"source"`` are ignored): ``{"win_win": {"tpr": 0.8, "fpr": 0.05}}``
    (``sensitivity`` / ``recall`` for tpr, ``specificity`` / ``tnr`` for 1 - fpr are
    accepted too) or ``{"win_win": [0.8, 0.05]}``. Raises :class:`ValueError` for rates
    outside [0, 1] and :class:`FileNotFoundError` for a missing file.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"Error-rates file not found: {path}")
        try:
            source = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(source, Mapping):
        raise ValueError("error rates must be a mapping cue id -> (tpr, fpr)")
    if isinstance(source.get("cues"), Mapping):
        source = source["cues"]
    out: dict[str, tuple[float, float]] = {}
    for cid, value in source.items():
        if isinstance(value, Mapping):
            tpr = next((value[k] for k in ("tpr", "sensitivity", "recall") if k in value), None)
            fpr = value.get("fpr")
            if fpr is None:
                spec = next((value[k] for k in ("specificity", "tnr") if k in value), None)
                fpr = None if spec is None else 1.0 - float(spec)
            if tpr is None or fpr is None:
                continue
        elif isinstance(value, (list, tuple)) and len(value) == 2:
            tpr, fpr = value
        else:
            continue
        tpr, fpr = float(tpr), float(fpr)
        if not (0.0 <= tpr <= 1.0 and 0.0 <= fpr <= 1.0):
            raise ValueError(f"error rates for {cid!r} must lie in [0, 1], got tpr={tpr}, fpr={fpr}")
        out[str(cid)] = (tpr, fpr)
    return out


def error_rates_file(folder: str | os.PathLike, operating_point: str | None = None
                     ) -> Path | None:
    """The error-rates file of the cue heads in ``folder`` measured at ``operating_point``:
    ``error_rates-<point>.json``, else ``error_rates.json`` when it records that point (or
    any, for ``None``: the heads' default); None when neither is there."""
    folder = Path(folder)
    names = ([f"error_rates-{operating_point}.json"] if operating_point else []) + [ERROR_RATES_FILE]
    for name in names:
        path = folder / name
        if not path.is_file():
            continue
        try:
            recorded = json.loads(path.read_text(encoding="utf-8")).get("operating_point")
        except (OSError, ValueError, AttributeError):
            continue
        if operating_point is None or recorded == operating_point:
            return path
    return None


def _shipped_error_rates(cue_ids: Sequence[str], manifest: Any = None
                         ) -> tuple[dict[str, tuple[float, float]], str | None]:
    """The shipped cue heads' error rates for ``cue_ids``, if the file is there and names
    any of them: those of the tier whose encoder the scores' manifest names (the
    accurate tier's heads have their own rates), else the default tier's; measured at the
    cue operating point the manifest records (none when no file was measured there)."""
    encoder = manifest_value(manifest, "encoder")
    tier = next((t for t in TIERS.values() if t.encoder == encoder), TIERS["default"])
    try:
        folder = shipped_model_path(tier.cue_heads)
    except ModuleNotFoundError:  # an installation without shipped models
        return {}, None
    path = error_rates_file(folder, manifest_value(manifest, "cue_operating_point"))
    if path is None:
        return {}, None
    try:
        rates = load_error_rates(path)
    except (OSError, ValueError):
        return {}, None
    wanted = set(cue_ids)
    rates = {cue: r for cue, r in rates.items() if cue in wanted}
    return (rates, str(path)) if rates else ({}, None)


def _resolve_error_rates(error_rates: Any, cue_ids: Sequence[str], manifest: Any = None
                         ) -> tuple[dict[str, tuple[float, float]], str | None]:
    if error_rates is None:
        return _shipped_error_rates(cue_ids, manifest)
    where = str(error_rates) if isinstance(error_rates, (str, os.PathLike)) else "the given mapping"
    rates = load_error_rates(error_rates)
    return rates, (where if rates else None)


# -- the comparison ------------------------------------------------------------------------
@dataclass
class OutletComparison:
    """What :func:`compare_outlets` found; tables are tidy pandas DataFrames.

    See the module docstring for the columns of ``groups``, ``cues``,
    ``pairwise_tone``, ``pairwise_cues``, ``frames``, ``pairwise_frames``,
    ``over_time`` and ``trends``. ``cue_ids`` and ``frame_ids`` (``scheme:id``) list what was compared.
    ``notes`` say what was left out or could not be computed; ``manifest`` is the shard
    directory's manifest, if any. ``evidence_table`` keeps, per group, the few articles
    :meth:`evidence` reads (see :mod:`framing.analysis.evidence`), not the scores table.
    """

    groups: pd.DataFrame
    cues: pd.DataFrame
    pairwise_tone: pd.DataFrame
    pairwise_cues: pd.DataFrame
    over_time: pd.DataFrame
    by: str
    within: str | None = None
    time: str | None = None
    freq: str | None = None
    alpha: float = 0.05
    cue_ids: list[str] = field(default_factory=list)
    frame_ids: list[str] = field(default_factory=list)
    n_articles: int = 0
    n_excluded: int = 0
    error_rates: dict[str, tuple[float, float]] = field(default_factory=dict)
    error_rates_source: str | None = None
    manifest: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    frames: pd.DataFrame = field(default_factory=pd.DataFrame)
    pairwise_frames: pd.DataFrame = field(default_factory=pd.DataFrame)
    evidence_table: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    trends: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def keys(self) -> list[str]:
        """Columns that identify a group: ``[within, by]`` or ``[by]``."""
        return ([self.within] if self.within else []) + [self.by]

    def __repr__(self) -> str:
        return (f"OutletComparison(by={self.by!r}, groups={len(self.groups)}, "
                f"cues={len(self.cue_ids)}, "
                + (f"frames={len(self.frame_ids)}, " if self.frame_ids else "")
                + f"articles={self.n_articles}, "
                f"excluded={self.n_excluded})")

    def evidence(self, group: Any, cue: str, n: int = 5) -> pd.DataFrame:
        """The articles behind a group's number, with the sentence the scorer kept.

        For a cue id: the top ``n`` articles of ``group`` where the cue is present,
        highest cue probability first, with columns ``id``, ``title``, ``date``,
        ``probability`` and ``sentence`` (the article's ``cue_<id>_evidence``). For
        ``"most_promotional"`` / ``"most_critical"``: the ``n`` articles with the highest
        / lowest tone and their most promotional / critical sentence, with ``tone`` in
        place of ``probability``. ``sentence`` is empty when the table was scored
        without evidence.

        ``group`` is a value of the ``by`` column; with ``within``, a ``(level, group)``
        tuple or the ``"level / group"`` label. Frames have no evidence sentence in the
        scores table, so a frame is refused with :class:`ValueError`. At most 20
        articles are kept per group and cue (:data:`framing.analysis.evidence.EVIDENCE_KEEP`),
        so ``n`` lies in 1..20.

        Raises :class:`KeyError` naming the valid groups (or cues) for an unknown
        ``group`` (or ``cue``).
        """
        table = self.evidence_table
        if not len(table.columns):
            table = pd.DataFrame(columns=[*self.keys, "measure", "id", "title", "date",
                                          "value", "sentence"])
        return select_evidence(table, self.keys, self.groups, self.cue_ids, self.frame_ids,
                               group, cue, n)

    # plots and the HTML report live in framing.analysis.report, which imports matplotlib
    # when a plot is drawn: it is imported here only when one of these is called. Each
    # writes ``path`` as PNG, SVG or PDF (from its suffix; ``formats=("png", "svg")`` for
    # several) and sets a one-sentence caption, read with ``report.figure_caption(fig)``.
    def plot_heatmap(self, path: str | os.PathLike | None = None, **kw: Any):
        """Heatmap of prevalence per group with BH significance marks; a Figure.
        ``kind="cues"`` (default: group x cue) or ``kind="frames"`` (frame x group, one
        panel per frame scheme)."""
        from framing.analysis.report import plot_heatmap

        return plot_heatmap(self, path, **kw)

    def plot_tone(self, path: str | os.PathLike | None = None, **kw: Any):
        """Forest plot of mean tone with intervals per group; a Figure."""
        from framing.analysis.report import plot_tone

        return plot_tone(self, path, **kw)

    def plot_over_time(self, path: str | os.PathLike | None = None, **kw: Any):
        """Small multiples of tone and cue prevalence per time bin (needs ``time=``)."""
        from framing.analysis.report import plot_over_time

        return plot_over_time(self, path, **kw)

    def to_html(self, path: str | os.PathLike | None = None, **kw: Any) -> str:
        """A self-contained HTML report (plots inline); written to ``path`` if given."""
        from framing.analysis.report import to_html

        return to_html(self, path, **kw)

    def save(self, out_dir: str | os.PathLike, *, plots: bool = True) -> dict[str, str]:
        """Write the tables as CSV (and the plots as PNG) into ``out_dir``; returns
        ``{name: path}``."""
        from framing.analysis.report import save_outputs

        return save_outputs(self, out_dir, plots=plots)

    def to_markdown(self, max_pairs: int = 15) -> str:
        """A Markdown summary: per-group tone and shares, cue (and frame) prevalence per
        group, the pairwise differences and (with ``time=``) the trends over time that
        survive the BH correction; cues under their catalogue names when the manifest
        names a catalogue."""
        return summary_markdown(self, max_pairs, names=cue_names(self))

    def findings(self, *, alpha: float | None = None, max_items: int = DEFAULT_MAX_ITEMS,
                 names: Mapping[str, str] | None = None) -> list[Finding]:
        """The ranked findings in plain sentences (see :func:`framing.analysis.findings.findings`)."""
        return ranked_findings(self, alpha=alpha, max_items=max_items, names=names)

    def trend_findings(self, *, alpha: float | None = None, max_items: int = DEFAULT_MAX_ITEMS,
                       names: Mapping[str, str] | None = None) -> list[Finding]:
        """The trends over time in plain sentences (see
        :func:`framing.analysis.findings.trend_findings`); empty without ``time=``."""
        return trend_findings(self, alpha=alpha, max_items=max_items, names=names)

    def _repr_html_(self) -> str:
        """Notebook view: the tone and prevalence tables formatted for reading, and the
        notes (see :func:`framing.analysis.formatting.comparison_html`)."""
        return comparison_html(self)


def compare_outlets(
    scores: Any,
    by: str = "outlet",
    *,
    time: str | None = None,
    freq: str = "M",
    within: str | None = None,
    error_rates: Mapping[str, Any] | str | os.PathLike | None = None,
    alpha: float = 0.05,
    n_boot: int = 2000,
    n_permutations: int = 9999,
    max_resample_n: int = 20000,
    seed: int | None = 13,
) -> OutletComparison:
    """Compare groups (outlets) of a scores table on tone, cue use and article frames.

    ``scores``: a DataFrame, a Parquet / CSV / JSONL file, or a directory of Parquet
    shards (see :func:`load_scores`). ``by``: the group column. ``time`` / ``freq``: a
    date column and a pandas period frequency (``D``, ``W``, ``M``, ``Q``, ``Y``) for
    the ``over_time`` and ``trends`` tables. ``within``: a column (e.g. a topic) whose levels stratify
    the comparison: groups are ``(within, by)`` pairs and pairwise tests compare groups
    only inside a level.

    ``error_rates``: per-cue ``(tpr, fpr)`` as a mapping or a JSON file (see
    :func:`load_error_rates`) for the corrected prevalence; None looks for
    ``error_rates.json`` next to the shipped cue heads of the tier that scored the
    corpus (the manifest's encoder: the accurate tier's for all-mpnet-base-v2, else the
    default's) and uses it when present (for cues only). A frame is corrected only when the given rates name it as
    ``scheme:id``.

    Frames (``frame_<scheme>_<id>_present`` columns, see
    :func:`framing.pipeline.schema.frame_ids_of`) are
    compared as cues are, in the ``frames`` and ``pairwise_frames`` tables; tables
    without frame columns give empty ones.

    Intervals are at level ``1 - alpha``. Tone means get a percentile bootstrap
    interval (``n_boot`` resamples) and tone differences a permutation test
    (``n_permutations``); groups larger than ``max_resample_n`` use the t interval and
    Welch's t-test instead (equivalent at that size, and far cheaper). ``seed`` makes
    the resampling reproducible.

    Returns an :class:`OutletComparison`. Raises :class:`ColumnError` when ``by``,
    ``time`` or ``within`` is not a column.
    """
    df, manifest = load_scores(scores)
    _check_columns(df, by=by, time=time, within=within)
    rng = np.random.default_rng(seed)
    notes: list[str] = []
    cue_ids = cue_ids_of(df)
    frame_pairs = frame_ids_of(df)
    frame_ids = [f"{scheme}:{fid}" for scheme, fid in frame_pairs]
    rates, rates_source = _resolve_error_rates(error_rates, cue_ids, manifest)
    frame_rates = _note_missing_rates(rates, cue_ids, frame_ids, notes)
    rows = _usable_rows(df, ([within] if within else []) + [by], within, notes)
    families = (_cue_family(rows.data, cue_ids, rates),
                _frame_family(rows.data, frame_pairs, frame_ids, frame_rates))
    if "tone" not in df.columns:
        notes.append("the scores table has no tone column: tone statistics are blank")
    ctx = _Ctx(alpha=alpha, n_boot=n_boot, n_permutations=n_permutations,
               max_resample_n=max_resample_n, rng=rng)

    groups, per_group = _per_group_tables(rows, families, ctx)
    pairwise_tone, pairwise = _pairwise_tables(rows, families, ctx, notes)
    _note_few_permutations(pairwise_tone, groups, n_permutations, alpha, notes)
    _note_small_groups(groups, rows, notes)
    _note_constant_indicators(families, notes)
    over_time, trends = _over_time_tables(rows, time, freq, families, ctx, notes)
    return OutletComparison(
        groups=groups, cues=per_group["cue"], pairwise_tone=pairwise_tone,
        pairwise_cues=pairwise["cue"], over_time=over_time, trends=trends,
        frames=per_group["frame"],
        pairwise_frames=pairwise["frame"],
        evidence_table=collect_evidence(rows.data, rows.keys, rows.grouped, cue_ids),
        by=by, within=within, time=time,
        freq=freq if time else None, alpha=alpha, cue_ids=cue_ids, frame_ids=frame_ids,
        n_articles=len(rows.data), n_excluded=rows.n_excluded,
        error_rates=rates, error_rates_source=rates_source, manifest=manifest, notes=notes,
        settings={"n_boot": n_boot, "n_permutations": n_permutations,
                  "max_resample_n": max_resample_n, "seed": seed, "alpha": alpha})


# -- the steps of compare_outlets ----------------------------------------------------------
def _check_columns(df: pd.DataFrame, *, by: str, time: str | None, within: str | None) -> None:
    """Return nothing; raise :class:`ColumnError` when ``by``, ``time`` or ``within``
    names a column the table lacks."""
    for name, col in (("by", by), ("time", time), ("within", within)):
        if col is not None and col not in df.columns:
            raise ColumnError(f"{name}={col!r} is not a column of the scores table; the columns "
                              f"present are: {', '.join(map(repr, map(str, df.columns)))}")


def _note_missing_rates(rates: Mapping[str, tuple[float, float]], cue_ids: Sequence[str],
                        frame_ids: Sequence[str], notes: list[str]
                        ) -> dict[str, tuple[float, float]]:
    """Return the error rates that name a frame (``scheme:id``); append a note for the
    cues and frames the rates leave out (or for no rates at all)."""
    missing_cues = [c for c in cue_ids if c not in rates]
    if rates and missing_cues:
        notes.append(f"no error rates for cue(s) {', '.join(missing_cues)}: their corrected "
                     "prevalence is left blank")
    if not rates:
        notes.append("no detector error rates given: corrected prevalence is left blank")
    frame_rates = {f: rates[f] for f in frame_ids if f in rates}
    if frame_rates and len(frame_rates) < len(frame_ids):
        notes.append(f"no error rates for frame(s) "
                     f"{', '.join(f for f in frame_ids if f not in frame_rates)}: their "
                     "corrected prevalence is left blank")
    return frame_rates


@dataclass
class _Rows:
    """The rows that enter the comparison and how they fall into groups.

    ``data`` holds the usable rows (no error, a value in every key column, keys as
    text) plus the working columns ``_tone``, ``_label`` and ``_nsent``; ``grouped``
    lists ``(key tuple, row positions)`` per group in sorted order; ``tone``, ``labels``
    and ``nsent`` are those working columns as arrays.
    """

    data: pd.DataFrame
    keys: list[str]
    within: str | None
    n_excluded: int
    excluded_by_group: pd.Series
    grouped: list[tuple[tuple, np.ndarray]]
    tone: np.ndarray
    labels: np.ndarray
    nsent: np.ndarray


def _usable_rows(df: pd.DataFrame, keys: list[str], within: str | None,
                 notes: list[str]) -> _Rows:
    """Return the :class:`_Rows` of ``df``: rows with an error and rows without a value in
    a key column are dropped (each with a note), keys are read as text and tone, tone
    label and sentence count are normalised into working columns."""
    errors = error_mask(df)
    excluded_by_group = (df.loc[errors, keys].astype(str).value_counts()
                         if errors.any() else pd.Series(dtype=int))
    n_excluded = int(errors.sum())
    data = df.loc[~errors].copy()
    if n_excluded:
        notes.append(f"{n_excluded} row(s) with an error were excluded")
    no_key = data[keys].isna().any(axis=1)
    if no_key.any():
        notes.append(f"{int(no_key.sum())} row(s) without a value in {', '.join(keys)} "
                     "were left out")
        data = data.loc[~no_key]
    for k in keys:
        data[k] = data[k].astype(str)
    data["_tone"] = pd.to_numeric(data["tone"], errors="coerce") if "tone" in data else np.nan
    data["_label"] = ([v.strip().lower() if isinstance(v, str) else None
                       for v in data["tone_label"]] if "tone_label" in data else None)
    data["_nsent"] = (pd.to_numeric(data["n_sentences"], errors="coerce").fillna(0)
                      if "n_sentences" in data else np.nan)
    grouped = [((key,) if not isinstance(key, tuple) else key, idx) for key, idx
               in data.groupby(keys, sort=True, observed=True).indices.items()]
    return _Rows(data=data, keys=keys, within=within, n_excluded=n_excluded,
                 excluded_by_group=excluded_by_group, grouped=grouped,
                 tone=data["_tone"].to_numpy(dtype=float),
                 labels=data["_label"].to_numpy(dtype=object),
                 nsent=data["_nsent"].to_numpy(dtype=float))


def _cue_family(data: pd.DataFrame, cue_ids: list[str],
                rates: dict[str, tuple[float, float]]) -> _Indicators:
    """Return the cue family: presence flags per cue, the error rates, and the events
    behind the rate per 1,000 sentences (sentences with the cue when the table counts
    them in ``cue_<id>_count``, else articles with the cue)."""
    present = {c: as_bool(data[f"cue_{c}_present"]).to_numpy() for c in cue_ids}
    counts = {c: (pd.to_numeric(data[f"cue_{c}_count"], errors="coerce").fillna(0).to_numpy()
                  if f"cue_{c}_count" in data else present[c].astype(float)) for c in cue_ids}
    basis = {c: "sentences with the cue" if f"cue_{c}_count" in data else "articles with the cue"
             for c in cue_ids}
    return _Indicators(column="cue", labels=cue_ids, present=present, rates=rates,
                       counts=counts, basis=basis)


def _frame_family(data: pd.DataFrame, frame_pairs: Sequence[tuple[str, str]],
                  frame_ids: list[str], frame_rates: dict[str, tuple[float, float]]
                  ) -> _Indicators:
    """Return the frame family: presence flags per frame (``frame_ids``, the
    ``scheme:id`` names of ``frame_pairs``), the frames' error rates and each frame's
    scheme as an extra column (no rate per sentence)."""
    return _Indicators(
        column="frame", labels=frame_ids, rates=frame_rates,
        present={f: as_bool(data[f"frame_{scheme}_{fid}_present"]).to_numpy()
                 for f, (scheme, fid) in zip(frame_ids, frame_pairs)},
        extra={f: {"scheme": scheme} for f, (scheme, _) in zip(frame_ids, frame_pairs)},
        extra_columns=["scheme"])


def _with_bh(table: pd.DataFrame, p_col: str, adj_col: str, sig_col: str,
             alpha: float) -> pd.DataFrame:
    """Return ``table`` with its ``p_col`` family BH-adjusted into ``adj_col`` and
    ``sig_col`` (``adj_col < alpha``) set, in place; an empty table is left alone."""
    if len(table):
        table[adj_col] = bh_adjust(table[p_col])
        table[sig_col] = table[adj_col] < alpha
    return table


def _tidy(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Return ``table`` with exactly ``columns`` in that order (an empty table with
    those columns when it has no rows)."""
    return table.reindex(columns=columns) if len(table) else pd.DataFrame(columns=columns)


def _per_group_tables(rows: _Rows, families: Sequence[_Indicators], ctx: _Ctx
                      ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Return the ``groups`` table (tone and tone-label shares per group, tone against
    the pooled rest of its stratum) and, per family column, the per-group prevalence
    table; each family of tests vs rest is BH-adjusted on its own."""
    data, keys = rows.data, rows.keys
    group_rows: list[dict[str, Any]] = []
    fam_rows: dict[str, list[dict[str, Any]]] = {f.column: [] for f in families}
    for key, idx in rows.grouped:
        mask = np.zeros(len(data), dtype=bool)
        mask[idx] = True
        rest = _stratum_mask(data, rows.within, key, len(data)) & ~mask
        row = dict(zip(keys, key))
        row.update(n_articles=int(mask.sum()),
                   n_excluded=(int(rows.excluded_by_group.get(tuple(key), 0))
                               if rows.n_excluded else 0))
        row.update(_tone_summary(rows.tone[mask], rows.tone[rest], rows.labels[mask], ctx,
                                 has_tone="tone" in data))
        row["n_sentences"] = (float(np.nansum(rows.nsent[mask])) if "n_sentences" in data
                              else math.nan)
        group_rows.append(row)
        for fam in families:
            for lab in fam.labels:
                fam_rows[fam.column].append(
                    {**dict(zip(keys, key)), fam.column: lab, **fam.extra.get(lab, {}),
                     **_prevalence_summary(fam, lab, rows.nsent, mask, rest, ctx)})
    groups = _with_bh(pd.DataFrame(group_rows), "tone_p_vs_rest", "tone_p_adj_vs_rest",
                      "tone_significant_vs_rest", ctx.alpha)
    per_group = {fam.column: _tidy(_with_bh(pd.DataFrame(fam_rows[fam.column]), "p_vs_rest",
                                            "p_adj_vs_rest", "significant_vs_rest", ctx.alpha),
                                   _prevalence_columns(keys, fam))
                 for fam in families}
    return _tidy(groups, _GROUP_COLUMNS(keys)), per_group


def _pairwise_tables(rows: _Rows, families: Sequence[_Indicators], ctx: _Ctx,
                     notes: list[str]) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Return the ``pairwise_tone`` table and, per family column, the pairwise
    prevalence table, each BH-adjusted on its own; pairs are formed inside a level of
    ``within`` when it is set. Appends a note when there is no pair at all."""
    within = rows.within
    pairs = _pairs(rows.grouped, within)
    if not pairs:
        notes.append("fewer than two groups" + (f" within any level of {within!r}" if within else "")
                     + ": no pairwise comparisons")
    tone_rows: list[dict[str, Any]] = []
    fam_rows: dict[str, list[dict[str, Any]]] = {f.column: [] for f in families}
    where = dict(rows.grouped)
    for ka, kb in pairs:
        ia, ib = where[ka], where[kb]
        base = ({within: ka[0]} if within else {}) | {"group_a": ka[-1], "group_b": kb[-1]}
        names = (str(ka[-1]), str(kb[-1]))
        tone_rows.append({**base, **_tone_pair(rows.tone[ia], rows.tone[ib], names, ctx,
                                               has_tone="tone" in rows.data)})
        for fam in families:
            for lab in fam.labels:
                flags = fam.present[lab]
                fam_rows[fam.column].append(
                    {**base, fam.column: lab, **fam.extra.get(lab, {}),
                     **_prevalence_pair(flags[ia], flags[ib], lab, names, fam.rates,
                                        fam.column, ctx)})
    pairwise_tone = _with_bh(pd.DataFrame(tone_rows, columns=_PW_TONE_COLUMNS(within)),
                             "p_value", "p_adj", "significant", ctx.alpha)
    pairwise = {fam.column: _with_bh(pd.DataFrame(fam_rows[fam.column],
                                                  columns=_pw_columns(within, fam)),
                                     "p_value", "p_adj", "significant", ctx.alpha)
                for fam in families}
    return pairwise_tone, pairwise


def _listed(names: Sequence[str], limit: int = 10) -> str:
    """``names`` joined by commas, the first ``limit`` of them and a count of the rest."""
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _note_small_groups(groups: pd.DataFrame, rows: _Rows, notes: list[str]) -> None:
    """Return nothing; append one note naming the groups too small for any test and one
    naming those with enough articles but too few tones for a tone test."""
    if not len(groups):
        return
    label = groups[rows.keys].astype(str).agg(" / ".join, axis=1)
    small = (groups["n_articles"] < MIN_TEST_ARTICLES).to_numpy()
    if small.any():
        notes.append(f"too few articles for a test (fewer than {MIN_TEST_ARTICLES}) in "
                     f"{int(small.sum())} group(s): {_listed(list(label[small]))}; their "
                     "estimates are given, every test involving them is skipped (blank "
                     "p-value, reason in the note column) and the BH adjustment counts only "
                     "the tests that ran")
    if "tone" not in rows.data:
        return
    toneless = (~small) & (groups["tone_n"] < MIN_TEST_ARTICLES).to_numpy()
    if toneless.any():
        notes.append(f"too few articles with a tone for a tone test (fewer than "
                     f"{MIN_TEST_ARTICLES}) in {int(toneless.sum())} group(s): "
                     f"{_listed(list(label[toneless]))}; their tone tests are skipped")


def _note_constant_indicators(families: Sequence[_Indicators], notes: list[str]) -> None:
    """Return nothing; append a note per family listing the cues / frames that no usable
    article has, or that every one has (their ratios are undefined, their tests p = 1)."""
    for fam in families:
        for which, test in (("no", lambda f: not f.any()), ("every", lambda f: f.all())):
            found = [lab for lab in fam.labels if len(fam.present[lab]) and test(fam.present[lab])]
            if found:
                notes.append(f"{fam.column}(s) that {which} article has: {_listed(found)}; "
                             "their risk and odds ratios are undefined and their tests give "
                             "p = 1")


def _note_few_permutations(pairwise_tone: pd.DataFrame, groups: pd.DataFrame,
                           n_permutations: int, alpha: float, notes: list[str]) -> None:
    """Return nothing; append a note when ``n_permutations`` is too few for the largest
    family of permutation tests on tone to reach a BH-adjusted p below ``alpha``."""
    n_perm_tests = max(int((pairwise_tone["test"] == "permutation").sum()),
                       int((groups["tone_test_vs_rest"] == "permutation").sum()) if len(groups) else 0)
    if n_perm_tests and n_perm_tests / (n_permutations + 1) >= alpha:
        notes.append(f"n_permutations={n_permutations} is too few for {n_perm_tests} tone tests: "
                     "the smallest attainable BH-adjusted p-value is "
                     f"{n_perm_tests / (n_permutations + 1):.3f}; raise it for significance at {alpha}")


def _over_time_tables(rows: _Rows, time: str | None, freq: str,
                      families: Sequence[_Indicators], ctx: _Ctx,
                      notes: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the ``over_time`` and ``trends`` tables (empty, with their columns,
    without ``time``); appends a note counting the rows whose ``time`` could not be
    read."""
    if time is None:
        return (pd.DataFrame(columns=rows.keys + _OVER_TIME_COLUMNS),
                pd.DataFrame(columns=rows.keys + _TREND_COLUMNS))
    periods = _periods(rows.data[time], freq)
    over_time, dropped = _over_time(rows.data, rows.keys, periods, rows.tone, rows.labels,
                                    families, ctx)
    if dropped:
        notes.append(f"{dropped} row(s) with no readable {time!r} left out of the time table")
    trends = _trends(rows, periods, families, ctx, has_tone="tone" in rows.data)
    return over_time, trends


@dataclass
class _Ctx:
    alpha: float
    n_boot: int
    n_permutations: int
    max_resample_n: int
    rng: np.random.Generator


@dataclass
class _Indicators:
    """A family of per-article yes/no indicators compared alike (cues, frames).

    ``column`` names the label column of the tidy tables (``"cue"``, ``"frame"``) and
    the ``kind`` of their ``over_time`` rows; ``present`` maps each label to its flags
    (one per row of the data); ``rates`` holds ``(tpr, fpr)`` for the corrected
    prevalence; ``counts`` (cues only) the events for the rate per 1,000 sentences,
    None to leave the rate out; ``extra`` the values of further per-label columns
    ``extra_columns`` (a frame's scheme).
    """

    column: str
    labels: list[str]
    present: dict[str, np.ndarray]
    rates: dict[str, tuple[float, float]] = field(default_factory=dict)
    counts: dict[str, np.ndarray] | None = None
    basis: dict[str, str] = field(default_factory=dict)
    extra: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)


def _GROUP_COLUMNS(keys: list[str]) -> list[str]:
    cols = keys + ["n_articles", "n_excluded", "n_sentences", "tone_n", "tone_mean", "tone_sd",
                   "tone_ci_low", "tone_ci_high", "tone_ci_method"]
    for lab in TONE_LABELS_DISPLAY:
        cols += [f"share_{lab}", f"share_{lab}_low", f"share_{lab}_high"]
    return cols + ["tone_diff_vs_rest", "tone_test_vs_rest", "tone_p_vs_rest",
                   "tone_p_adj_vs_rest", "tone_significant_vs_rest", "note"]


def _prevalence_columns(keys: list[str], fam: _Indicators) -> list[str]:
    """Columns of the per-group table of a family (``cues``, ``frames``)."""
    rate = ["n_sentences", "events", "rate_basis", "rate_per_1000", "rate_low", "rate_high"]
    return (keys + [fam.column] + fam.extra_columns
            + ["n_articles", "n_present", "prevalence", "prevalence_low", "prevalence_high",
               "tpr", "fpr", "prevalence_adj", "prevalence_adj_low", "prevalence_adj_high"]
            + (rate if fam.counts is not None else [])
            + ["diff_vs_rest", "test_vs_rest", "p_vs_rest", "p_adj_vs_rest",
               "significant_vs_rest", "note"])


def _PW_TONE_COLUMNS(within: str | None) -> list[str]:
    return ([within] if within else []) + [
        "group_a", "group_b", "n_a", "n_b", "mean_a", "mean_b", "mean_diff", "diff_ci_low",
        "diff_ci_high", "diff_ci_method", "cohens_d", "hedges_g", "g_ci_low", "g_ci_high",
        "test", "statistic", "p_value", "p_adj", "significant", "note"]


def _pw_columns(within: str | None, fam: _Indicators) -> list[str]:
    """Columns of the pairwise table of a family (``pairwise_cues``, ``pairwise_frames``)."""
    return (([within] if within else []) + ["group_a", "group_b", fam.column] + fam.extra_columns
            + ["n_a", "n_b", "x_a", "x_b", "p_a", "p_b", "diff", "diff_ci_low", "diff_ci_high",
               "diff_adj", "risk_ratio", "rr_ci_low", "rr_ci_high", "odds_ratio", "or_ci_low",
               "or_ci_high", "cohens_h", "test", "statistic", "p_value", "p_adj", "significant",
               "note"])


_OVER_TIME_COLUMNS = ["period", "measure", "kind", "n", "estimate", "ci_low", "ci_high",
                      "estimate_adj", "adj_ci_low", "adj_ci_high"]

_TREND_COLUMNS = ["measure", "kind", "first_period", "last_period", "n_periods", "n_articles",
                  "estimate_first", "estimate_last", "trend_first", "trend_last", "slope",
                  "slope_ci_low", "slope_ci_high", "test", "statistic", "p_value", "p_adj",
                  "significant", "note"]


def _stratum_mask(data: pd.DataFrame, within: str | None, key: tuple, n: int) -> np.ndarray:
    if not within:
        return np.ones(n, dtype=bool)
    return (data[within] == key[0]).to_numpy()


def _pairs(grouped: list[tuple[tuple, np.ndarray]], within: str | None) -> list[tuple[tuple, tuple]]:
    keys = [k for k, _ in grouped]
    if not within:
        return list(combinations(keys, 2))
    out = []
    for level in dict.fromkeys(k[0] for k in keys):
        out += list(combinations([k for k in keys if k[0] == level], 2))
    return out


def _mean_ci(x: np.ndarray, ctx: _Ctx) -> tuple[float, float, str]:
    if len(x) < 2:
        return math.nan, math.nan, "none"
    if len(x) <= ctx.max_resample_n and ctx.n_boot > 0:
        low, high = bootstrap_mean_ci(x, n_boot=ctx.n_boot, alpha=ctx.alpha, rng=ctx.rng)
        return low, high, "bootstrap"
    low, high = t_mean_ci(x, ctx.alpha)
    return max(low, -1.0), min(high, 1.0), "t"


def _enough(*sizes: int) -> bool:
    """Whether every sample is large enough for a test (:data:`MIN_TEST_ARTICLES`)."""
    return all(n >= MIN_TEST_ARTICLES for n in sizes)


def _too_few(n: int, noun: str, where: str = "", needs: str = "a test needs") -> str:
    """The note for a sample below :data:`MIN_TEST_ARTICLES`, e.g.
    ``too few articles in Tiny (1; a test needs 2)``."""
    return f"too few {noun}{where} ({n}; {needs} {MIN_TEST_ARTICLES})"


def _vs_rest_note(n: int, n_rest: int, noun: str, needs: str = "a test needs") -> str:
    """Why a group's test against the pooled rest of its stratum is skipped, or ""."""
    if n < MIN_TEST_ARTICLES:
        return _too_few(n, noun, needs=needs)
    if n_rest == 0:
        return "no other group to test against"
    if n_rest < MIN_TEST_ARTICLES:
        return _too_few(n_rest, noun, " in the other groups")
    return ""


def _pair_note(sizes: Sequence[tuple[str, int]], noun: str) -> str:
    """Why a pairwise test is skipped (one clause per group too small for it), or ""."""
    return "; ".join(_too_few(n, noun, f" in {name}") for name, n in sizes
                     if n < MIN_TEST_ARTICLES)


def _margin_note(k: int, n: int, column: str) -> str:
    """The note for a cue / frame that none (or all) of the ``n`` articles compared
    has: its ratios are undefined and Fisher's test gives p = 1."""
    if n and k == 0:
        return f"no article compared has the {column}: ratios undefined, p = 1"
    if n and k == n:
        return f"every article compared has the {column}: ratios undefined, p = 1"
    return ""


def _joined(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def _tone_summary(x: np.ndarray, rest: np.ndarray, labels: np.ndarray, ctx: _Ctx,
                  has_tone: bool = True) -> dict[str, Any]:
    """One group's tone: mean, SD and interval, tone-label shares (Wilson) and the test
    against the pooled ``rest``, skipped with a ``note`` when either side holds fewer
    than :data:`MIN_TEST_ARTICLES` tones (no note when the table has no tone at all)."""
    x = x[~np.isnan(x)]
    rest = rest[~np.isnan(rest)]
    out: dict[str, Any] = {"tone_n": len(x), "tone_mean": float(x.mean()) if len(x) else math.nan,
                           "tone_sd": float(np.std(x, ddof=1)) if len(x) > 1 else math.nan}
    out["tone_ci_low"], out["tone_ci_high"], out["tone_ci_method"] = _mean_ci(x, ctx)
    n_lab = int(np.sum(labels != None))  # noqa: E711 (elementwise on an object array)
    for lab in TONE_LABELS_DISPLAY:
        k = int(np.sum(labels == lab))
        low, high = wilson_interval(k, n_lab, ctx.alpha)
        out[f"share_{lab}"] = k / n_lab if n_lab else math.nan
        out[f"share_{lab}_low"], out[f"share_{lab}_high"] = float(low), float(high)
    out.update(tone_diff_vs_rest=float(x.mean() - rest.mean()) if len(x) and len(rest)
               else math.nan, tone_test_vs_rest="none", tone_p_vs_rest=math.nan)
    if _enough(len(x), len(rest)):
        test, _, p = mean_difference_test(x, rest, ctx.n_permutations, ctx.max_resample_n,
                                          ctx.rng)
        out.update(tone_test_vs_rest=test, tone_p_vs_rest=p)
    out["note"] = (_vs_rest_note(len(x), len(rest), "articles with a tone",
                                 needs="a tone interval and a test need")
                   if has_tone else "")
    return out


def _adjusted(k: float, n: float, label: str, rates: Mapping[str, tuple[float, float]],
              alpha: float) -> dict[str, float]:
    tpr, fpr = rates.get(label, (math.nan, math.nan))
    out = {"tpr": tpr, "fpr": fpr, "prevalence_adj": math.nan, "prevalence_adj_low": math.nan,
           "prevalence_adj_high": math.nan}
    if label in rates and n > 0 and tpr > fpr:
        low, high = wilson_interval(k, n, alpha)
        out.update(prevalence_adj=adjust_prevalence(k / n, tpr, fpr),
                   prevalence_adj_low=adjust_prevalence(float(low), tpr, fpr),
                   prevalence_adj_high=adjust_prevalence(float(high), tpr, fpr))
    return out


def _prevalence_summary(fam: _Indicators, label: str, nsent: np.ndarray, mask: np.ndarray,
                        rest: np.ndarray, ctx: _Ctx) -> dict[str, Any]:
    """One group's share of articles with the cue / frame ``label`` (Wilson interval),
    corrected share, rate per 1,000 sentences (cues) and the test against ``rest``,
    skipped with a ``note`` when either side holds fewer than :data:`MIN_TEST_ARTICLES`
    articles."""
    present = fam.present[label]
    n, k = int(mask.sum()), int(present[mask].sum())
    low, high = wilson_interval(k, n, ctx.alpha)
    out: dict[str, Any] = {"n_articles": n, "n_present": k, "prevalence": k / n if n else math.nan,
                           "prevalence_low": float(low), "prevalence_high": float(high)}
    out.update(_adjusted(k, n, label, fam.rates, ctx.alpha))
    if fam.counts is not None:
        exposure = float(np.nansum(nsent[mask]))
        events = float(fam.counts[label][mask].sum())
        rate, rlow, rhigh = poisson_rate_interval(events, exposure, ctx.alpha)
        out.update(n_sentences=exposure, events=events,
                   rate_basis=fam.basis.get(label, f"articles with the {fam.column}"),
                   rate_per_1000=float(rate), rate_low=float(rlow), rate_high=float(rhigh))
    nr = int(rest.sum())
    kr = int(present[rest].sum()) if nr else 0
    out.update(diff_vs_rest=k / n - kr / nr if nr else math.nan, test_vs_rest="none",
               p_vs_rest=math.nan)
    if _enough(n, nr):
        test, _, p = two_proportion_test(k, n, kr, nr)
        out.update(test_vs_rest=test, p_vs_rest=p)
    out["note"] = _joined(_vs_rest_note(n, nr, "articles"),
                          _margin_note(k + kr, n + nr, fam.column))
    return out


def _tone_pair(a: np.ndarray, b: np.ndarray, names: tuple[str, str], ctx: _Ctx,
               has_tone: bool = True) -> dict[str, Any]:
    """Two groups' tones (``names`` label them in the note): difference in means with an
    interval, Cohen's d, Hedges' g and the test, skipped with a ``note`` when either
    group holds fewer than :data:`MIN_TEST_ARTICLES` tones (no note when the table has
    no tone at all)."""
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    out: dict[str, Any] = {"n_a": len(a), "n_b": len(b),
                           "mean_a": float(a.mean()) if len(a) else math.nan,
                           "mean_b": float(b.mean()) if len(b) else math.nan}
    out["mean_diff"] = out["mean_a"] - out["mean_b"]
    out["diff_ci_low"], out["diff_ci_high"], out["diff_ci_method"] = mean_difference_ci(
        a, b, n_boot=ctx.n_boot, alpha=ctx.alpha, max_resample_n=ctx.max_resample_n, rng=ctx.rng)
    d, g = cohens_d(a, b), hedges_g(a, b)
    out.update(cohens_d=d, hedges_g=g)
    out["g_ci_low"], out["g_ci_high"] = hedges_g_ci(g, len(a), len(b), ctx.alpha)
    out.update(test="none", statistic=math.nan, p_value=math.nan)
    if _enough(len(a), len(b)):
        out["test"], out["statistic"], out["p_value"] = mean_difference_test(
            a, b, ctx.n_permutations, ctx.max_resample_n, ctx.rng)
    out["note"] = (_pair_note(list(zip(names, (len(a), len(b)))), "articles with a tone")
                   if has_tone else "")
    return out


def _prevalence_pair(pa: np.ndarray, pb: np.ndarray, label: str, names: tuple[str, str],
                     rates: Mapping[str, tuple[float, float]], column: str, ctx: _Ctx
                     ) -> dict[str, Any]:
    """Two groups' shares of articles with the cue / frame ``label``: difference
    (Newcombe), ratios, Cohen's h and a chi-square / Fisher test, skipped with a
    ``note`` when either group holds fewer than :data:`MIN_TEST_ARTICLES` articles."""
    na, nb, xa, xb = len(pa), len(pb), int(pa.sum()), int(pb.sum())
    p1 = xa / na if na else math.nan
    p2 = xb / nb if nb else math.nan
    low, high = newcombe_interval(xa, na, xb, nb, ctx.alpha)
    out: dict[str, Any] = {"n_a": na, "n_b": nb, "x_a": xa, "x_b": xb, "p_a": p1, "p_b": p2,
                           "diff": p1 - p2, "diff_ci_low": low, "diff_ci_high": high}
    tpr, fpr = rates.get(label, (math.nan, math.nan))
    out["diff_adj"] = (p1 - p2) / (tpr - fpr) if label in rates and tpr > fpr else math.nan
    out.update(ratio_intervals(xa, na, xb, nb, ctx.alpha))
    out["cohens_h"] = float(cohens_h(p1, p2))
    out.update(test="none", statistic=math.nan, p_value=math.nan)
    if _enough(na, nb):
        out["test"], out["statistic"], out["p_value"] = two_proportion_test(xa, na, xb, nb)
    out["note"] = _joined(_pair_note(list(zip(names, (na, nb))), "articles"),
                          _margin_note(xa + xb, na + nb, column))
    return out


def _periods(values: pd.Series, freq: str) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        dt = values
        if getattr(dt.dt, "tz", None) is not None:
            dt = dt.dt.tz_convert("UTC").dt.tz_localize(None)
    else:
        dt = pd.to_datetime(values.astype("string"), errors="coerce", utc=True, format="mixed")
        dt = dt.dt.tz_localize(None)
    try:
        return dt.dt.to_period(period_freq(freq))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"freq={freq!r} is not a pandas period frequency (try D, W, M, Q or Y): "
                         f"{exc}") from None


def _over_time(data: pd.DataFrame, keys: list[str], periods: pd.Series, tone: np.ndarray,
               labels: np.ndarray, families: Sequence[_Indicators], ctx: _Ctx
               ) -> tuple[pd.DataFrame, int]:
    """Per group and period (``periods``: each row's time bin, NaT when unreadable):
    tone mean (t interval), tone-label shares and the prevalence of every cue and frame
    (Wilson, plus the corrected estimate); also the count of rows without a bin."""
    ok = periods.notna().to_numpy()
    frame = data[keys].copy()
    frame["_period"] = periods
    rows = []
    for key, idx in frame.loc[ok].groupby(keys + ["_period"], sort=True, observed=True).indices.items():
        pos = np.flatnonzero(ok)[idx]
        base = dict(zip(keys + ["period"], list(key[:-1]) + [str(key[-1])]))
        x = tone[pos]
        x = x[~np.isnan(x)]
        low, high = t_mean_ci(x, ctx.alpha)  # tone lies in [-1, 1]
        rows.append({**base, "measure": "tone", "kind": "tone", "n": len(x),
                     "estimate": float(x.mean()) if len(x) else math.nan,
                     "ci_low": max(low, -1.0), "ci_high": min(high, 1.0)})
        labs = labels[pos]
        n_lab = int(np.sum(labs != None))  # noqa: E711
        for lab in TONE_LABELS_DISPLAY:
            k = int(np.sum(labs == lab))
            lo, hi = wilson_interval(k, n_lab, ctx.alpha)
            rows.append({**base, "measure": lab, "kind": "share", "n": n_lab,
                         "estimate": k / n_lab if n_lab else math.nan,
                         "ci_low": float(lo), "ci_high": float(hi)})
        for fam in families:
            for c in fam.labels:
                n, k = len(pos), int(fam.present[c][pos].sum())
                lo, hi = wilson_interval(k, n, ctx.alpha)
                adj = _adjusted(k, n, c, fam.rates, ctx.alpha)
                rows.append({**base, "measure": c, "kind": fam.column, "n": n, "estimate": k / n,
                             "ci_low": float(lo), "ci_high": float(hi),
                             "estimate_adj": adj["prevalence_adj"],
                             "adj_ci_low": adj["prevalence_adj_low"],
                             "adj_ci_high": adj["prevalence_adj_high"]})
    return pd.DataFrame(rows, columns=keys + _OVER_TIME_COLUMNS), int((~ok).sum())


# -- trends over time ------------------------------------------------------------------------
def _period_steps(periods: pd.Series) -> np.ndarray:
    """Each row's time bin as a whole number of bins (the period's ordinal: consecutive
    bins differ by 1); NaN for a row without a bin."""
    index = pd.PeriodIndex(periods)
    steps = index.asi8.astype(float)
    steps[np.asarray(index.isna())] = np.nan
    return steps


def _trend_skip_note(n: int, n_periods: int, noun: str) -> str:
    """Why a trend is left blank: too few time bins or too few articles."""
    if n_periods < MIN_TREND_PERIODS:
        return (f"{n_periods} time bin{'' if n_periods == 1 else 's'} with {noun} "
                f"(a trend needs {MIN_TREND_PERIODS})")
    return f"too few {noun} ({n}; a trend needs {MIN_TREND_ARTICLES})"


def _trend_row(steps: np.ndarray, values: np.ndarray, bins: np.ndarray, kind: str,
               ctx: _Ctx) -> dict[str, Any]:
    """One group's trend of one measure: ``steps`` (time in bins), ``values`` (tone, or
    0/1 flags; NaN values are left out) and ``bins`` (the bins' labels) per article."""
    keep = ~np.isnan(values)
    t, y, labels = steps[keep], values[keep], bins[keep]
    out: dict[str, Any] = {"n_periods": len(np.unique(t)), "n_articles": len(y),
                           "first_period": None, "last_period": None,
                           "estimate_first": math.nan, "estimate_last": math.nan,
                           "trend_first": math.nan, "trend_last": math.nan}
    if len(t):
        first, last = t.min(), t.max()
        out.update(first_period=str(labels[t == first][0]), last_period=str(labels[t == last][0]),
                   estimate_first=float(y[t == first].mean()),
                   estimate_last=float(y[t == last].mean()))
        t = t - first
    test = mean_trend_test if kind == "tone" else proportion_trend_test
    res = test(t, y, alpha=ctx.alpha, min_n=MIN_TREND_ARTICLES)
    note = res["note"]
    if res["test"] == "none":
        note = _trend_skip_note(len(y), out["n_periods"],
                                "articles with a tone" if kind == "tone" else "articles")
    elif note:
        note = ("the tone never varies: slope 0, p = 1" if kind == "tone" else
                f"{'no' if res['intercept'] == 0 else 'every'} article of the group has the "
                f"{kind}: slope 0, p = 1")
    low, high = (-1.0, 1.0) if kind == "tone" else (0.0, 1.0)
    if not math.isnan(res["slope"]):
        span = float(t.max())
        out.update(trend_first=min(max(res["intercept"], low), high),
                   trend_last=min(max(res["intercept"] + res["slope"] * span, low), high))
    out.update(slope=res["slope"], slope_ci_low=res["ci_low"], slope_ci_high=res["ci_high"],
               test=res["test"], statistic=res["statistic"], p_value=res["p_value"], note=note)
    return out


def _trends(rows: _Rows, periods: pd.Series, families: Sequence[_Indicators], ctx: _Ctx,
            has_tone: bool) -> pd.DataFrame:
    """Return the ``trends`` table: per group, the trend of tone (when the table has a
    tone) and of every cue and frame over the time bins, BH-adjusted per family (tone,
    cue, frame) across groups."""
    steps = _period_steps(periods)
    bins = periods.astype(str).to_numpy(dtype=object)
    out: list[dict[str, Any]] = []
    for key, idx in rows.grouped:
        pos = idx[~np.isnan(steps[idx])]
        base = dict(zip(rows.keys, key))
        if has_tone:
            out.append({**base, "measure": "tone", "kind": "tone",
                        **_trend_row(steps[pos], rows.tone[pos], bins[pos], "tone", ctx)})
        for fam in families:
            for lab in fam.labels:
                out.append({**base, "measure": lab, "kind": fam.column,
                            **_trend_row(steps[pos], fam.present[lab][pos].astype(float),
                                         bins[pos], fam.column, ctx)})
    table = pd.DataFrame(out, columns=rows.keys + _TREND_COLUMNS)
    if not len(table):
        return table
    table["p_adj"] = np.nan
    for kind in dict.fromkeys(table["kind"]):
        family = (table["kind"] == kind).to_numpy()
        table.loc[family, "p_adj"] = bh_adjust(table.loc[family, "p_value"].to_numpy(dtype=float))
    table["significant"] = (table["p_adj"] < ctx.alpha).to_numpy(dtype=bool)
    return table
