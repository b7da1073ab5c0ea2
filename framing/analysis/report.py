"""Pictures and reports for an :class:`~framing.analysis.compare.OutletComparison`.

This module never imports :mod:`framing.analysis.compare` (the comparison calls into
it); the written summary it shows comes from :mod:`framing.analysis.summary`.

Plots are drawn on plain :class:`matplotlib.figure.Figure` objects rendered by the Agg
backend: no pyplot state, no window, and the caller's own pyplot backend is left alone.
Each plot function returns the Figure and, given ``path``, also writes it there as PNG,
SVG or PDF (from the suffix; SVG and PDF keep their text as text, so it stays editable);
``formats=("png", "svg")`` writes one file per format next to each other. Every figure
carries a one-sentence caption (:func:`figure_caption`) that the HTML report shows under
it. All colours come from :data:`PALETTE` (Okabe–Ito) and :data:`HEATMAP_CMAP`, both safe
for the common colour-vision deficiencies.

:func:`to_html` writes one self-contained HTML file: the plots are inline base64 PNGs,
the styles are inline, and nothing is fetched from elsewhere. With time bins it has a
section "Trends over time": the trends in words, the over-time plot and the ``trends``
table. In its tables, columns of words (names, labels, tests, notes) carry the class
``text`` and are left-aligned, numbers right-aligned with the true minus sign; each table
scrolls inside a box at most 80% of the window high, its header row and first column
staying in view. The evidence panels sit under one heading per group. Absolute local
paths (error-rate files, models, the manifest's folders) are shown relative to the
folder holding the ``framing`` package, or by their last part only, so a report can be
shared without showing its author's folders.

Cues are labelled by their catalogue names in tables and plots when the comparison's
manifest names a catalogue (:func:`framing.analysis.findings.cue_names`), else by their
ids with ``_`` read as spaces.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence
from urllib.parse import quote

import numpy as np
import pandas as pd

from framing._version import __version__
from framing.analysis.evidence import TONE_ENDS
from framing.analysis.findings import cue_names, findings, trend_findings
from framing.analysis.summary import (
    Section,
    freq_name,
    period_unit,
    significance_stars,
    summary_sections,
)
from framing.core.formatting import (
    local_paths,
    MINUS,
    MISSING,
    counted,
    escape,
    format_count,
    format_number,
    format_p_value,
    format_percent,
    format_percent_interval,
    format_signed,
    format_signed_interval,
    is_missing,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from framing.analysis.compare import OutletComparison

__all__ = ["plot_heatmap", "plot_tone", "plot_over_time", "to_html", "save_outputs",
           "figure_png", "figure_caption", "PALETTE", "HEATMAP_CMAP", "PLOT_FORMATS", "PNG_DPI"]

#: The Okabe–Ito colours (Okabe & Ito 2008), told apart with every common colour-vision
#: deficiency; every categorical series takes its colour from here, in this order (the
#: yellow, weak on white, comes last).
PALETTE: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9",
                            "#000000", "#F0E442")
#: The colour map of the heatmaps: perceptually uniform and colour-blind safe (dark blue at
#: 0 through grey to yellow at 1), and it stays ordered when printed in grey.
HEATMAP_CMAP = "cividis"
#: The file types a plot can be written as (the suffix of the path picks one).
PLOT_FORMATS: tuple[str, ...] = ("png", "svg", "pdf")
#: Resolution of PNG files written for print; the HTML report embeds at :data:`_DPI`.
PNG_DPI = 200
_DPI = 150
_EMPHASIS = PALETTE[3]  # vermillion: groups that differ from the rest
_PLAIN = PALETTE[6]     # black
_REFERENCE = PALETTE[0]  # blue: the pooled mean
_CAPTION_ATTR = "framing_caption"
_BH = "Benjamini–Hochberg-adjusted"


def _figure(width: float, height: float) -> "Figure":
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def figure_png(fig: "Figure", dpi: int = _DPI) -> bytes:
    """The figure as PNG bytes (Agg)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, facecolor="white")
    return buf.getvalue()


def figure_caption(fig: "Figure") -> str:
    """The one-sentence caption a plot function set on ``fig`` (empty if none)."""
    return str(getattr(fig, _CAPTION_ATTR, ""))


def _set_caption(fig: "Figure", caption: str) -> None:
    setattr(fig, _CAPTION_ATTR, caption)


def _targets(path: str | os.PathLike | None, formats: Sequence[str] | None) -> list[tuple[Path, str]]:
    """Return the files to write as ``(path, format)``, checked before anything is drawn:
    ``path`` itself (its suffix names the format) or, with ``formats``, ``path`` with each
    format's suffix. Raise :class:`ValueError` for a file type not in :data:`PLOT_FORMATS`."""
    if path is None:
        if formats:
            raise ValueError("formats= needs a path to write to")
        return []
    path = Path(path)
    supported = ", ".join(f".{f}" for f in PLOT_FORMATS)
    if formats:
        fmts = [str(f).lower().lstrip(".") for f in formats]
        bad = [f for f in fmts if f not in PLOT_FORMATS]
        if bad:
            raise ValueError(f"unsupported plot format(s) {bad}: use {supported}")
        return [(path.with_suffix(f".{f}"), f) for f in dict.fromkeys(fmts)]
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in PLOT_FORMATS:
        raise ValueError(f"cannot write a plot to {str(path)!r}: the file name must end in "
                         f"{supported}")
    return [(path, fmt)]


def _write(fig: "Figure", targets: Sequence[tuple[Path, str]]) -> None:
    """Write ``fig`` to each ``(path, format)``: PNG at :data:`PNG_DPI`; SVG and PDF with
    their text kept as text and no creation date (the same figure gives the same file)."""
    if not targets:
        return
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    no_date = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}
    with rc_context({"svg.fonttype": "none", "pdf.fonttype": 42}):
        for target, fmt in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(target, format=fmt, dpi=PNG_DPI, facecolor="white",
                        metadata=no_date.get(fmt))


def _save(fig: "Figure", path: str | os.PathLike | None,
          formats: Sequence[str] | None = None) -> None:
    _write(fig, _targets(path, formats))


def _words(name: str | None) -> str:
    """A column name for people: underscores as spaces."""
    return str(name or "").replace("_", " ")


def _n_articles(n: int) -> str:
    return f"{n:,} article" + ("" if n == 1 else "s")


_TEST_NAMES = {"chi2": "chi-square", "fisher": "Fisher exact", "permutation": "permutation",
               "welch_t": "Welch t", "ols_t": "OLS slope t", "cochran_armitage": "Cochran–Armitage"}


def _tests(values: pd.Series) -> str:
    """The tests named in a ``test_vs_rest`` column, in words (``"chi-square or Fisher
    exact tests"``); ``"tests"`` when none was run."""
    names = [_TEST_NAMES.get(str(v), str(v)) for v in dict.fromkeys(values.dropna()) if v != "none"]
    return (" or ".join(names) + " tests") if names else "tests"


def _n_groups(cmp: "OutletComparison") -> str:
    k = len(cmp.groups)
    return f"{k} {_words(cmp.by)} group" + ("" if k == 1 else "s")


def _group_labels(cmp: "OutletComparison", frame: pd.DataFrame) -> list[str]:
    return [" / ".join(str(v) for v in vals) for vals in frame[cmp.keys].itertuples(index=False)]


def _cue_label(cue: str, names: Mapping[str, str] | None = None) -> str:
    """A cue (or frame) for people: its readable name from ``names`` (see
    :func:`framing.analysis.findings.cue_names`), else the id with ``_`` as spaces."""
    return (names or {}).get(cue) or str(cue).replace("_", " ")


def _frame_label(frame: str, scheme: str, names: Mapping[str, str] | None = None) -> str:
    """A frame ``scheme:id`` for people, without its scheme: its name from ``names``,
    else the id with ``_`` as spaces."""
    name = (names or {}).get(frame)
    if name:
        return name
    return _cue_label(frame[len(scheme) + 1:] if frame.startswith(f"{scheme}:") else frame)


# -- heatmap -------------------------------------------------------------------------------
def plot_heatmap(cmp: "OutletComparison", path: str | os.PathLike | None = None, *,
                 kind: str = "cues", adjusted: bool = False, cmap: str = HEATMAP_CMAP,
                 formats: Sequence[str] | None = None) -> "Figure":
    """Heatmap of prevalence (share of articles with the cue or frame) per group.

    ``kind="cues"`` (default): groups as rows, cues as columns. ``kind="frames"``:
    article-level frames as rows and groups as columns, one panel per frame scheme
    (``narrative``, ``policy``, ...) stacked top to bottom.

    Each cell is annotated with the percentage and stars for the BH-adjusted test of
    that group against the pooled other groups (``*`` < .05, ``**`` < .01, ``***`` <
    .001). ``adjusted=True`` colours by the prevalence corrected for detector errors
    (cells without error rates are left blank). Returns the Figure; raises
    :class:`ValueError` when the comparison has no cues (frames) to plot, or for a file
    type not in :data:`PLOT_FORMATS`.
    """
    if kind not in ("cues", "frames"):
        raise ValueError(f"kind must be 'cues' or 'frames', got {kind!r}")
    targets = _targets(path, formats)
    if kind == "frames":
        fig = _plot_frames_heatmap(cmp, adjusted=adjusted, cmap=cmap)
        _write(fig, targets)
        return fig
    if not len(cmp.cues):
        raise ValueError("the scores table has no cue columns: nothing to plot")
    col = "prevalence_adj" if adjusted else "prevalence"
    groups = _group_labels(cmp, cmp.groups)
    cues = list(cmp.cue_ids)
    values, pvals = _cells(cmp, cmp.cues, "cue", groups, cues, col)
    label_w = max(len(g) for g in groups) * 0.075
    width = min(3.0 + label_w + 0.85 * len(cues), 30)
    height = min(2.2 + 0.42 * len(groups) + 0.06 * max(len(c) for c in cues), 40)
    fig = _figure(width, height)
    ax = fig.add_subplot()
    im = _draw_heat(ax, values, pvals, cmap, small=len(cues) > 14 or len(groups) > 25)
    names = cue_names(cmp)
    ax.set_xticks(range(len(cues)), [_cue_label(c, names) for c in cues], rotation=35, ha="right",
                  rotation_mode="anchor")
    ax.set_yticks(range(len(groups)), groups)
    ax.set_xlabel("cue")
    ax.set_ylabel(_words(cmp.by))
    _colorbar(fig, im, ax, "corrected share of articles" if adjusted
              else "share of articles with the cue")
    ax.set_title(f"Cue prevalence by {_words(cmp.by)}"
                 + (" (corrected for detector errors)" if adjusted else ""), loc="left", fontsize=12)
    fig.supxlabel(_STARS_NOTE, fontsize=8, color="#555555")
    _set_caption(fig, _heatmap_caption(cmp, "cue", len(cues), adjusted))
    _write(fig, targets)
    return fig


def _heatmap_caption(cmp: "OutletComparison", what: str, n_items: int, adjusted: bool) -> str:
    table = cmp.cues if what == "cue" else cmp.frames
    return (f"Share of {_n_articles(cmp.n_articles)} in {_n_groups(cmp)} showing each of "
            f"{n_items} {what}s"
            + (", corrected for detector errors (blank where no error rates are known)"
               if adjusted else "")
            + "; stars mark groups that differ from the pooled other groups "
            f"({_BH} {_tests(table['test_vs_rest'])}; * p < .05, ** p < .01, *** p < .001).")


_STARS_NOTE = "Stars: BH-adjusted p vs the pooled other groups (* < .05, ** < .01, *** < .001)"


def _cells(cmp: "OutletComparison", table: pd.DataFrame, column: str, groups: Sequence[str],
           labels: Sequence[str], col: str) -> tuple[np.ndarray, np.ndarray]:
    """``(values, p_adj_vs_rest)`` arrays of shape (groups, labels) from a tidy table."""
    lookup = {(g, r[column]): r for g, (_, r) in zip(_group_labels(cmp, table), table.iterrows())}
    values = np.full((len(groups), len(labels)), np.nan)
    pvals = np.full_like(values, np.nan)
    for i, g in enumerate(groups):
        for j, c in enumerate(labels):
            r = lookup.get((g, c))
            if r is not None:
                values[i, j] = r[col]
                pvals[i, j] = r["p_adj_vs_rest"]
    return values, pvals


def _draw_heat(ax, values: np.ndarray, pvals: np.ndarray, cmap: str, *, small: bool):
    """Shares in [0, 1] as coloured cells with white gaps, each annotated with its
    percentage and significance stars; returns the image for a colour bar."""
    im = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0, vmax=1, aspect="auto")
    nrow, ncol = values.shape
    ax.tick_params(which="both", length=0)
    ax.set_xticks(np.arange(-0.5, ncol), minor=True)
    ax.set_yticks(np.arange(-0.5, nrow), minor=True)
    ax.grid(which="minor", color="white", linewidth=2)
    for side in ax.spines.values():
        side.set_visible(False)
    for i in range(nrow):
        for j in range(ncol):
            v = values[i, j]
            if np.isnan(v):
                continue
            ax.text(j, i, f"{100 * v:.0f}%{significance_stars(pvals[i, j])}", ha="center",
                    va="center", fontsize=7 if small else 9,
                    color="white" if v < 0.45 else "#1a1a1a")  # cividis: dark at 0
    return im


def _colorbar(fig: "Figure", im, ax, label: str, **kw: Any) -> None:
    bar = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02, **kw)
    bar.set_label(label)
    bar.ax.yaxis.set_major_formatter(_percent())


def _plot_frames_heatmap(cmp: "OutletComparison", *, adjusted: bool, cmap: str) -> "Figure":
    """Frame x group heatmap, one panel per scheme (see :func:`plot_heatmap`)."""
    f = cmp.frames
    if not len(f):
        raise ValueError("the scores table has no frame columns (frame_<scheme>_<id>_present): "
                         "nothing to plot")
    col = "prevalence_adj" if adjusted else "prevalence"
    groups = _group_labels(cmp, cmp.groups)
    scheme_of = dict(zip(f["frame"], f["scheme"]))
    frame_ids = [x for x in cmp.frame_ids if x in scheme_of]
    schemes = list(dict.fromkeys(scheme_of[x] for x in frame_ids))
    rows = {sc: [x for x in frame_ids if scheme_of[x] == sc] for sc in schemes}
    known = cue_names(cmp)
    names = {x: _frame_label(x, scheme_of[x], known) for x in frame_ids}
    longest = max(len(g) for g in groups)
    col_w = min(max(0.9, 0.075 * longest + 0.2), 1.5)  # room for a group label up to ~17 chars
    rotate = longest * 0.075 > col_w
    label_w = max(len(n) for n in names.values()) * 0.075
    width = min(max(2.8 + label_w + col_w * len(groups), 5.5), 30)
    height = min(1.3 + 0.34 * len(frame_ids) + 0.42 * len(schemes)
                 + (0.06 * longest if rotate else 0.2), 40)
    fig = _figure(width, height)
    axes = fig.subplots(len(schemes), 1, squeeze=False, sharex=True,
                        gridspec_kw={"height_ratios": [len(rows[sc]) for sc in schemes]})[:, 0]
    small = len(groups) > 14 or len(frame_ids) > 40
    im = None
    for ax, sc in zip(axes, schemes):
        values, pvals = _cells(cmp, f, "frame", groups, rows[sc], col)
        im = _draw_heat(ax, values.T, pvals.T, cmap, small=small)
        ax.set_yticks(range(len(rows[sc])), [names[x] for x in rows[sc]])
        ax.set_title(f"{sc} frames", loc="left", fontsize=10, color="#333333")
    last = axes[-1]
    if rotate:
        last.set_xticks(range(len(groups)), groups, rotation=35, ha="right", rotation_mode="anchor")
    else:
        last.set_xticks(range(len(groups)), groups)
    last.set_xlabel(_words(cmp.by))
    _colorbar(fig, im, list(axes), "corrected share of articles" if adjusted
              else "share of articles with the frame",
              shrink=min(1.0, 6.0 / height))  # a bar of at most about six inches
    fig.suptitle(f"Frame prevalence by {_words(cmp.by)}"
                 + (" (corrected for detector errors)" if adjusted else ""),
                 x=0.01, ha="left", fontsize=12)
    fig.supxlabel(_STARS_NOTE, fontsize=8, color="#555555")
    _set_caption(fig, _heatmap_caption(cmp, "frame", len(frame_ids), adjusted))
    return fig


def _percent():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1, decimals=0)


# -- tone forest plot ----------------------------------------------------------------------
def plot_tone(cmp: "OutletComparison", path: str | os.PathLike | None = None, *,
              sort: bool = True, formats: Sequence[str] | None = None) -> "Figure":
    """Forest plot: mean tone per group with its interval, the pooled mean and zero.

    Stars mark groups whose tone differs from the pooled other groups (BH-adjusted).
    Groups are sorted by mean tone unless ``sort=False``. Returns the Figure.
    """
    targets = _targets(path, formats)
    g = cmp.groups.copy()
    g["_label"] = _group_labels(cmp, g)
    if sort:
        g = g.sort_values("tone_mean", kind="stable", na_position="first")
    n = len(g)
    label_w = max((len(s) for s in g["_label"]), default=5) * 0.075
    fig = _figure(min(4.8 + label_w, 16), min(1.6 + 0.42 * n, 30))
    ax = fig.add_subplot()
    y = np.arange(n)
    mean = g["tone_mean"].to_numpy(dtype=float)
    low = g["tone_ci_low"].to_numpy(dtype=float)
    high = g["tone_ci_high"].to_numpy(dtype=float)
    err = np.vstack([np.where(np.isnan(low), 0, mean - low), np.where(np.isnan(high), 0, high - mean)])
    sig = g["tone_significant_vs_rest"].fillna(False).astype(bool).to_numpy()
    colors = np.where(sig, _EMPHASIS, _PLAIN)
    for i in range(n):
        if np.isnan(mean[i]):
            continue
        ax.errorbar(mean[i], y[i], xerr=err[:, i:i + 1], fmt="o", color=str(colors[i]),
                    markersize=6, elinewidth=1.6, capsize=3)
    total = (g["tone_mean"] * g["tone_n"]).sum() / max(g["tone_n"].sum(), 1)
    ax.axvline(0, color="#999999", linewidth=0.8, linestyle="--")
    if not math.isnan(total):
        ax.axvline(total, color=_REFERENCE, linewidth=0.9, linestyle=":",
                   label=f"pooled mean {total:+.2f}")
    labels = [f"{lab}  (n={int(k)}){significance_stars(p)}" for lab, k, p in
              zip(g["_label"], g["tone_n"], g["tone_p_adj_vs_rest"])]
    ax.set_yticks(y, labels)
    ax.set_ylim(-0.7, n - 0.3)
    finite = np.concatenate([v[np.isfinite(v)] for v in (low, high, mean)] + [np.array([0.0])])
    lo, hi = float(finite.min()), float(finite.max())
    pad = max(0.08, 0.08 * (hi - lo))
    ax.set_xlim(max(-1.0, lo - pad), min(1.0, hi + pad))
    ax.set_xlabel("mean tone (−1 critical … +1 promotional)")
    ax.set_ylabel(_words(cmp.by))
    pct = int(round(100 * (1 - cmp.alpha)))
    ax.set_title(f"Tone by {_words(cmp.by)}: means with {pct}% intervals", loc="left", fontsize=12)
    ax.grid(axis="x", color="#eeeeee")
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if not math.isnan(total):
        ax.legend(loc="lower right", fontsize=8, frameon=False)
    if sig.any():
        fig.supxlabel("vermillion, stars: differs from the pooled other groups (BH-adjusted)",
                      fontsize=8, color="#555555")
    _set_caption(fig, _tone_caption(cmp, g))
    _write(fig, targets)
    return fig


_CI_METHODS = {"bootstrap": "percentile bootstrap", "t": "t"}


def _tone_caption(cmp: "OutletComparison", g: pd.DataFrame) -> str:
    pct = int(round(100 * (1 - cmp.alpha)))
    methods = [_CI_METHODS[m] for m in dict.fromkeys(g["tone_ci_method"].dropna()) if m in _CI_METHODS]
    kind = " or ".join(methods) + " " if methods else ""
    return (f"Mean tone (−1 critical to +1 promotional) of {_n_articles(cmp.n_articles)} in "
            f"{_n_groups(cmp)} with {pct}% {kind}intervals and the pooled mean (dotted line); "
            f"vermillion points and stars mark groups whose tone differs from the pooled other "
            f"groups ({_BH} {_tests(g['tone_test_vs_rest'])}; * p < .05, ** p < .01, *** p < .001).")


# -- over time ---------------------------------------------------------------------------
def plot_over_time(cmp: "OutletComparison", path: str | os.PathLike | None = None, *,
                   measures: Sequence[str] | None = None, adjusted: bool = False,
                   ncols: int = 3, bands: bool | None = None,
                   formats: Sequence[str] | None = None) -> "Figure":
    """Small multiples over time: one panel per measure (tone first, then each cue),
    one line per group, with intervals: shaded bands (``bands=True``; the default for
    up to two groups) or thin bars, each group's points and bars nudged apart together
    (``bands=False``; the default for three to six groups; with more groups the default
    leaves intervals out). The legend sits at the top, under the title. ``measures`` picks
    panels (``"tone"``, ``"promotional"``, ``"critical"``, cue ids or
    ``scheme:id`` frame ids; frames are left out by default); ``adjusted=True`` plots
    corrected prevalence. Raises :class:`ValueError` when the comparison has no time
    bins, or for a file type not in :data:`PLOT_FORMATS`."""
    targets = _targets(path, formats)
    ot, measures = _over_time_rows(cmp, measures)
    periods = sorted(set(ot["period"]), key=_period_key)
    groups = list(dict.fromkeys(_group_labels(cmp, cmp.groups)))
    ncols = max(1, min(ncols, len(measures)))
    nrows = math.ceil(len(measures) / ncols)
    legend_rows = math.ceil(len(groups) / 4)
    fig = _figure(min(3.6 * ncols + 0.6, 24), min(2.3 * nrows + 1.2 + 0.2 * legend_rows, 40))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True)
    show_bands, show_bars = _interval_style(len(groups), bands)
    lines = _TimeLines(groups=groups, palette=_palette(len(groups)),
                       pos={p: i for i, p in enumerate(periods)},
                       bands=show_bands, bars=show_bars)
    handles = []
    names = cue_names(cmp)
    for k, measure in enumerate(measures):
        ax = axes[k // ncols][k % ncols]
        sub = ot[ot["measure"] == measure]
        kind = sub["kind"].iloc[0] if len(sub) else "cue"
        drawn = _draw_time_lines(ax, sub, lines, adjusted and kind in ("cue", "frame"))
        if k == 0:
            handles = drawn
        _style_time_panel(ax, measure, kind, periods, names)
    _tidy_panel_grid(axes, len(measures), nrows, ncols)
    title = fig.suptitle(_over_time_title(cmp, show_bands, show_bars, adjusted),
                         x=0.01, ha="left", fontsize=11)
    legend = fig.legend(handles=handles, loc="upper center", ncol=min(len(groups), 4),
                        fontsize=8, frameon=False)
    _title_then_legend(fig, title, legend)
    _set_caption(fig, _over_time_caption(cmp, measures, ot, show_bands, show_bars, adjusted))
    _write(fig, targets)
    return fig


def _title_then_legend(fig: "Figure", title, legend) -> None:
    """Return nothing; stack the figure's title and, under it, its legend at the top of
    ``fig`` (where the reader of a tall figure starts) and lay the panels out below both.

    Constrained layout makes room for the taller of a title and a legend "outside" at the
    top, not for both, so the two are measured and placed here and the panels are laid
    out in the rest of the figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    to_fig = fig.transFigure.inverted().transform_bbox
    pad = 4 / 72 / fig.get_figheight()  # four points
    title_h = to_fig(title.get_window_extent(renderer)).height
    legend_h = to_fig(legend.get_window_extent(renderer)).height if legend.legend_handles \
        else 0.0
    title.set(y=1 - pad, va="top", in_layout=False)
    legend.set_bbox_to_anchor((0.5, 1 - pad - title_h), transform=fig.transFigure)
    legend.set_in_layout(False)
    top = pad + title_h + legend_h + (pad if legend_h else 0.0)
    fig.get_layout_engine().set(rect=(0, 0, 1, 1 - top))


def _over_time_caption(cmp: "OutletComparison", measures: Sequence[str], ot: pd.DataFrame,
                       show_bands: bool, show_bars: bool, adjusted: bool) -> str:
    pct = int(round(100 * (1 - cmp.alpha)))
    kinds = set(ot.loc[ot["measure"].isin(measures), "kind"])
    words = {"tone": "mean tone", "share": "tone-label shares", "cue": "cue prevalence",
             "frame": "frame prevalence"}
    shown = " and ".join(w for k, w in words.items() if k in kinds)
    how = ("shaded bands" if show_bands else "bars") if show_bands or show_bars else ""
    methods = " and ".join(m for m, on in (("t intervals for tone", "tone" in kinds),
                                           ("Wilson intervals for shares", bool(kinds - {"tone"})))
                           if on)
    return (f"{shown[:1].upper()}{shown[1:]} per {freq_name(cmp.freq)} period ({_words(cmp.time)}) "
            f"of {_n_articles(cmp.n_articles)} in {_n_groups(cmp)}"
            + (", cues and frames corrected for detector errors" if adjusted else "")
            + (f", with {pct}% {methods} drawn as {how}" if how
               else "; intervals are left out for legibility (see the over_time table)")
            + ", not adjusted for multiple comparisons.")


def _over_time_rows(cmp: "OutletComparison", measures: Sequence[str] | None
                    ) -> tuple[pd.DataFrame, list[str]]:
    """Return a copy of the ``over_time`` table with a ``_group`` label column, and the
    measures to plot (tone and every cue by default); raise :class:`ValueError` when
    there are no time bins or a measure is unknown."""
    ot = cmp.over_time
    if cmp.time is None or not len(ot):
        raise ValueError("no time bins: run compare_outlets(..., time='date', freq='M')")
    measures = list(measures) if measures else ["tone"] + list(cmp.cue_ids)
    unknown = [m for m in measures if m not in set(ot["measure"])]
    if unknown:
        raise ValueError(f"unknown measure(s) {unknown}; choose from {sorted(set(ot['measure']))}")
    ot = ot.copy()
    ot["_group"] = _group_labels(cmp, ot)
    return ot, measures


def _interval_style(n_groups: int, bands: bool | None) -> tuple[bool, bool]:
    """Return ``(bands, bars)``: whether intervals are drawn as shaded bands or as thin
    bars; by default bands for up to two groups, bars up to six, neither beyond."""
    show_bands = n_groups <= 2 if bands is None else bands
    show_bars = not show_bands and (bands is not None or n_groups <= 6)  # else spaghetti
    return show_bands, show_bars


@dataclass
class _TimeLines:
    """How the lines of every over-time panel are drawn: the groups in order, one
    colour each, the x position of each period, and the interval style."""

    groups: list[str]
    palette: list
    pos: dict[str, int]
    bands: bool
    bars: bool


def _draw_time_lines(ax, sub: pd.DataFrame, lines: _TimeLines, adjusted: bool) -> list:
    """Draw one line per group (with its intervals) of one measure's ``over_time``
    rows; return the lines drawn, for the legend. ``adjusted`` plots the corrected
    estimate and interval."""
    est, lo, hi = (("estimate_adj", "adj_ci_low", "adj_ci_high") if adjusted
                   else ("estimate", "ci_low", "ci_high"))
    n_groups = len(lines.groups)
    width = 0.5 / max(n_groups, 1)
    drawn = []
    for gi, grp in enumerate(lines.groups):
        s = sub[sub["_group"] == grp].sort_values("period", key=lambda c: c.map(lines.pos))
        if not len(s):
            continue
        x = s["period"].map(lines.pos).to_numpy(dtype=float)
        if lines.bars:  # with bars, each group's points and bars nudged apart together
            x = x + (gi - (n_groups - 1) / 2) * width
        y = s[est].to_numpy(dtype=float)
        color = lines.palette[gi]
        cycle = gi // len(PALETTE)  # past the palette, colours repeat with other dashes and marks
        (line,) = ax.plot(x, y, marker="osD^v"[cycle % 5], markersize=3, linewidth=1.4,
                          color=color, linestyle=("-", "--", ":", "-.")[cycle % 4],
                          label=grp, zorder=3)
        low_, high_ = s[lo].to_numpy(dtype=float), s[hi].to_numpy(dtype=float)
        if lines.bands:
            ax.fill_between(x, low_, high_, color=color, alpha=0.12, linewidth=0)
        elif lines.bars:  # thin bars at the (nudged) points, so groups do not hide each other
            ax.vlines(x, low_, high_, color=color, alpha=0.45, linewidth=1.0, zorder=2)
        drawn.append(line)
    return drawn


def _style_time_panel(ax, measure: str, kind: str, periods: list[str],
                      names: Mapping[str, str] | None = None) -> None:
    """Return nothing; give one over-time panel its title (cues by their ``names``),
    y range (tone in [-1, 1] with a zero line, shares as percentages), period ticks (at
    most about eight) and grid."""
    title = "Mean tone" if measure == "tone" else (
        f"{measure} share" if kind == "share" else
        (names or {}).get(measure) or _cue_label(measure).replace(":", ": "))
    ax.set_title(title, loc="left", fontsize=10)
    if kind == "tone":
        ax.set_ylim(-1.05, 1.05)
        ax.axhline(0, color="#999999", linewidth=0.7, linestyle="--")
    else:
        ax.set_ylim(-0.03, 1.03)
        ax.yaxis.set_major_formatter(_percent())
    step = max(1, math.ceil(len(periods) / 8))
    ax.set_xticks(range(0, len(periods), step), [periods[i] for i in range(0, len(periods), step)],
                  rotation=45, ha="right", rotation_mode="anchor", fontsize=8)
    ax.tick_params(axis="y", labelsize=8)
    ax.grid(color="#eeeeee")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _tidy_panel_grid(axes, n_panels: int, nrows: int, ncols: int) -> None:
    """Return nothing; hide the unused cells of the grid and show period labels on the
    lowest visible panel of each column."""
    for k in range(n_panels, nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    for k in range(n_panels):
        row, col = divmod(k, ncols)
        if row < nrows - 1 and (row + 1) * ncols + col >= n_panels:
            axes[row][col].xaxis.set_tick_params(labelbottom=True)


def _over_time_title(cmp: "OutletComparison", show_bands: bool, show_bars: bool,
                     adjusted: bool) -> str:
    """Return the over-time figure's title: grouping, time bins and how intervals are
    shown."""
    pct = int(round(100 * (1 - cmp.alpha)))
    return (f"By {_words(cmp.by)} and {_words(cmp.time)} ({freq_name(cmp.freq)}); "
            + (f"{'shaded' if show_bands else 'bars'}: {pct}% intervals" if show_bands or show_bars
               else "intervals left out for legibility (see the over_time table)")
            + ("; cues corrected for detector errors" if adjusted else ""))


def _period_key(p: str):
    try:
        return (0, pd.Period(p.split("/")[0]).start_time.value, p)
    except (ValueError, TypeError):
        return (1, 0, p)


def _palette(n: int) -> list[str]:
    """``n`` colours from :data:`PALETTE`, repeating past its end."""
    return [PALETTE[i % len(PALETTE)] for i in range(n)]


# -- outputs -----------------------------------------------------------------------------
def _plots(cmp: "OutletComparison") -> list[tuple[str, str, "Figure"]]:
    out = []
    if len(cmp.cues):
        out.append(("heatmap", "Cue prevalence by group", plot_heatmap(cmp)))
        if cmp.cues["prevalence_adj"].notna().any():
            out.append(("heatmap_adjusted", "Cue prevalence corrected for detector errors",
                        plot_heatmap(cmp, adjusted=True)))
    if len(cmp.frames):
        out.append(("heatmap_frames", "Frame prevalence by group",
                    plot_heatmap(cmp, kind="frames")))
        if cmp.frames["prevalence_adj"].notna().any():
            out.append(("heatmap_frames_adjusted", "Frame prevalence corrected for detector errors",
                        plot_heatmap(cmp, kind="frames", adjusted=True)))
    if len(cmp.groups) and cmp.groups["tone_n"].fillna(0).sum() > 0:
        out.append(("tone", "Tone by group", plot_tone(cmp)))
    if cmp.time is not None and len(cmp.over_time):
        out.append(("over_time", "Over time", plot_over_time(cmp)))
    return out


def save_outputs(cmp: "OutletComparison", out_dir: str | os.PathLike, *,
                 plots: bool = True) -> dict[str, str]:
    """Write ``groups.csv``, ``cues.csv``, ``pairwise_tone.csv``, ``pairwise_cues.csv``,
    ``frames.csv`` and ``pairwise_frames.csv`` (when the table has frames),
    ``over_time.csv`` and ``trends.csv`` (with time bins), ``summary.md`` and, with ``plots``, the PNGs
    (``heatmap_frames.png`` for frames) into ``out_dir``. Returns ``{file name: path}``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, str] = {}
    tables = {"groups": cmp.groups, "cues": cmp.cues, "pairwise_tone": cmp.pairwise_tone,
              "pairwise_cues": cmp.pairwise_cues}
    if len(cmp.frames):
        tables.update(frames=cmp.frames, pairwise_frames=cmp.pairwise_frames)
    if cmp.time is not None:
        tables["over_time"] = cmp.over_time
        tables["trends"] = getattr(cmp, "trends", pd.DataFrame())
    for name, frame in tables.items():
        p = out / f"{name}.csv"
        frame.to_csv(p, index=False)
        paths[p.name] = str(p)
    p = out / "summary.md"
    p.write_text(cmp.to_markdown(), encoding="utf-8")
    paths[p.name] = str(p)
    if plots:
        for name, _, fig in _plots(cmp):
            p = out / f"{name}.png"
            _save(fig, p)
            paths[p.name] = str(p)
    return paths


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
 margin:2rem auto;max-width:1200px;padding:0 1rem;color:#1a1a1a;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem} h2{font-size:1.25rem;margin-top:2rem;
 border-bottom:1px solid #ddd;padding-bottom:.2rem} h3{font-size:1.05rem}
h4{font-size:.95rem;margin:1rem 0 .3rem}
.meta{color:#555;font-size:.9rem} .notes,.notes li{color:#8a4b00}
.scroll{overflow:auto;max-height:80vh;max-width:100%;width:fit-content;
 margin:.6rem 0 1.2rem;border:1px solid #ddd}
table{border-collapse:separate;border-spacing:0;font-size:.85rem}
th,td{border:0;border-right:1px solid #ddd;border-bottom:1px solid #ddd;
 padding:.25rem .5rem;text-align:right;white-space:nowrap;vertical-align:top;background:#fff}
tr>:last-child{border-right:0} tbody tr:last-child>*{border-bottom:0}
th{background:#f3f5f7;white-space:normal;vertical-align:bottom;min-width:3.5rem;
 max-width:11rem;position:sticky;top:0;z-index:2}
th.text,td.text{text-align:left}
tbody tr:nth-child(even)>*{background:#fafafa}
table.sortable tr>:first-child{position:sticky;left:0;z-index:1;
 box-shadow:inset -1px 0 0 #ccc}
table.sortable thead tr>:first-child{z-index:3}
table.sortable th[data-sortable]{cursor:pointer}
th[aria-sort=ascending]::after{content:" \\25B2"} th[aria-sort=descending]::after{content:" \\25BC"}
td.note{white-space:normal;min-width:12rem;max-width:24rem}
.stars{display:inline-block;min-width:1.7em;text-align:left}
figure{margin:1rem 0} img{max-width:100%;height:auto}
figcaption{color:#555;font-size:.85rem}
section.evidence-group{margin:0 0 .8rem} details.evidence{margin:.2rem 0 .2rem .2rem}
details.evidence summary{cursor:pointer} details.evidence .scroll{width:auto}
td.title{white-space:normal;min-width:10rem;max-width:16rem}
td.sentence{white-space:normal;min-width:20rem;max-width:40rem}
pre{background:#f6f8fa;padding:.8rem;overflow-x:auto;font-size:.8rem}
"""


#: A number's hyphen-minus sign in a summary cell ("-0.14", "[-0.28,"), not a hyphen
#: inside a word or a date ("ddc-002", "2026-01").
_HYPHEN_MINUS = re.compile(r"(?<![\w.\-])-(?=\d)")
#: Significance stars at the end of a summary cell ("+0.01]***").
_STARS = re.compile(r"^(.*?)\s*(\*{1,3})$", flags=re.S)


def _number_cell(text: str, stars_column: bool) -> str:
    """A number of a summary table as HTML: the true minus sign, and the stars that the
    summary glues to the value set apart in a box of their own (kept in every cell of a
    column with stars, so the numbers stay aligned)."""
    m = _STARS.match(text)
    value, stars = (m.group(1), m.group(2)) if m else (text, "")
    value = html.escape(_HYPHEN_MINUS.sub(MINUS, value))
    if not stars_column:
        return value
    return f'{value} <span class="stars">{html.escape(stars)}</span>'


def lines_html(lines: Sequence[str], css: str, *, numbered: bool = True) -> str:
    """Lines of text as a list (``<ol>`` when ``numbered``, else ``<ul>``) of class
    ``css``, or as one paragraph of that class when there is a single line."""
    if len(lines) == 1:
        return f'<p class="{css}">{html.escape(lines[0])}</p>'
    tag = "ol" if numbered else "ul"
    return (f'<{tag} class="{css}">' + "".join(f"<li>{html.escape(t)}</li>" for t in lines)
            + f"</{tag}>")


def _section_html(sec: Section) -> str:
    parts = []
    if sec.text:
        parts.append("".join(f"<p>{html.escape(t)}</p>" for t in sec.text.split("\n")))
    if sec.header:
        align = sec.align or "l" + "r" * (len(sec.header) - 1)
        words = [a == "l" for a in align]
        starred = [not w and any(_STARS.match(str(row[i])) for row in sec.rows if i < len(row))
                   for i, w in enumerate(words)]
        css = [f' class="{_TEXT}"' if w else "" for w in words]
        head = "".join(f'<th scope="col"{k}>{html.escape(str(h))}</th>'
                       for h, k in zip(sec.header, css))
        body = "".join(
            "<tr>" + "".join(f"<td{k}>" + (html.escape(str(c)) if w else
                                           _number_cell(str(c), star)) + "</td>"
                             for c, k, w, star in zip(row, css, words, starred)) + "</tr>"
            for row in sec.rows)
        parts.append(f'<div class="scroll"><table class="summary"><thead><tr>{head}</tr></thead>'
                     f"<tbody>{body}</tbody></table></div>")
    return "\n".join(parts)


# -- tables for people ---------------------------------------------------------------------
#: One column of a table for people: its header, the text of a row's cell, the raw
#: value the cell sorts by (a number, a text or None for a missing value) and the CSS
#: class of its cells (``"text"`` for a column of words, left-aligned; numbers stay
#: right-aligned).
@dataclass(frozen=True)
class _Col:
    header: str
    text: Any  # Callable[[pd.Series], str]
    sort: Any  # Callable[[pd.Series], Any]
    css: str = ""


#: The CSS class of a column of words (names, labels, notes): left-aligned, header too.
_TEXT = "text"


_METHOD_NAMES = {"bootstrap": "percentile bootstrap", "t": "t", "welch_t": "Welch t",
                 "none": "none"}


def _sort_value(value: Any) -> str:
    """The ``data-sort`` text of a raw value: numbers in positional notation (never
    ``1e-17``), booleans as 1/0, missing values empty, anything else as text."""
    if is_missing(value):
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, (int, float, np.integer, np.floating)):
        v = float(value)
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return np.format_float_positional(v, trim="-")
    return str(value)


def _raw(col: str):
    return lambda r: r.get(col)


def _text_col(header: str, col: str, fmt=str, css: str = _TEXT) -> _Col:
    """A column of words (left-aligned): ``fmt`` of the raw value, empty when missing."""
    return _Col(header, lambda r: "" if is_missing(r.get(col)) else fmt(r.get(col)), _raw(col),
                css)


def _count_col(header: str, col: str) -> _Col:
    return _Col(header, lambda r: format_count(r.get(col)), _raw(col))


def _share_col(header: str, col: str, low: str | None = None, high: str | None = None) -> _Col:
    low, high = low or f"{col}_low", high or f"{col}_high"
    return _Col(header, lambda r: format_percent_interval(r.get(col), r.get(low), r.get(high)),
                _raw(col))


def _signed_col(header: str, col: str, low: str | None = None, high: str | None = None,
                digits: int = 2) -> _Col:
    if low is None:
        return _Col(header, lambda r: format_signed(r.get(col), digits), _raw(col))
    return _Col(header, lambda r: format_signed_interval(r.get(col), r.get(low), r.get(high),
                                                         digits), _raw(col))


def _points(share: Any) -> Any:
    return None if is_missing(share) else 100 * float(share)


def _points_col(header: str, col: str, low: str | None = None, high: str | None = None) -> _Col:
    """A difference of shares in percentage points (``+12 pp [+3, +21]``)."""
    def text(r: pd.Series) -> str:
        value = _points(r.get(col))
        if value is None:
            return MISSING
        lo, hi = (_points(r.get(low)), _points(r.get(high))) if low else (None, None)
        return format_signed_interval(value, lo, hi, 0) + " pp"
    return _Col(header, text, _raw(col))


def _ratio_col(header: str, col: str, low: str, high: str) -> _Col:
    def text(r: pd.Series) -> str:
        value = r.get(col)
        if is_missing(value):
            return MISSING
        if is_missing(r.get(low)) and is_missing(r.get(high)):
            return format_number(value)
        return f"{format_number(value)} [{format_number(r.get(low))}, {format_number(r.get(high))}]"
    return _Col(header, text, _raw(col))


def _p_col(header: str, col: str) -> _Col:
    return _Col(header, lambda r: format_p_value(r.get(col)), _raw(col))


def _yes_col(header: str, col: str) -> _Col:
    return _Col(header, lambda r: "yes" if r.get(col) is True or r.get(col) == 1 else "",
                _raw(col), _TEXT)


def _test_col(header: str, col: str) -> _Col:
    return _text_col(header, col, lambda v: "" if v == "none" else _TEST_NAMES.get(str(v), str(v)))


def _measure_label(r: pd.Series, names: Mapping[str, str]) -> str:
    """The measure of a ``trends`` row for people: ``Mean tone``, a cue's name, or a
    frame as ``scheme: name``."""
    measure, kind = str(r.get("measure")), str(r.get("kind"))
    if kind == "tone":
        return "Mean tone"
    if kind == "frame" and ":" in measure:
        scheme = measure.split(":", 1)[0]
        return f"{scheme}: {_frame_label(measure, scheme, names)}"
    return _cue_label(measure, names)


def _trend_value(r: pd.Series, col: str) -> str:
    """A trend's first- or last-bin estimate: mean tone signed, a share as a percentage."""
    if str(r.get("kind")) == "tone":
        return format_signed(r.get(col))
    return format_percent(r.get(col))


def _slope_col(header: str) -> _Col:
    """A trend's slope per bin with its interval: tone units (``−0.072 [−0.110,
    −0.034]``) or percentage points (``+7.2 pp [+2.0, +12.4]``)."""
    def text(r: pd.Series) -> str:
        if str(r.get("kind")) == "tone":
            return format_signed_interval(r.get("slope"), r.get("slope_ci_low"),
                                          r.get("slope_ci_high"), 3)
        value = _points(r.get("slope"))
        if value is None:
            return MISSING
        return format_signed_interval(value, _points(r.get("slope_ci_low")),
                                      _points(r.get("slope_ci_high")), 1) + " pp"
    return _Col(header, text, _raw("slope"))


def _lead_cols(cmp: "OutletComparison", frame: pd.DataFrame, pairwise: bool) -> list[_Col]:
    if pairwise:
        lead = [c for c in (cmp.within,) if c and c in frame.columns] + ["group_a", "group_b"]
        names = {"group_a": f"{_words(cmp.by)} A", "group_b": f"{_words(cmp.by)} B"}
    else:
        lead = [c for c in cmp.keys if c in frame.columns]
        names = {}
    return [_text_col(names.get(c, _words(c)), c) for c in lead if c in frame.columns]


def _table_columns(key: str, cmp: "OutletComparison", frame: pd.DataFrame) -> list[_Col]:
    """The columns people read for table ``key`` (a generic rendering of every raw
    column for a table without its own)."""
    pct = int(round(100 * (1 - cmp.alpha)))
    names = cue_names(cmp)
    tail = [_p_col("p (BH-adjusted)", "p_adj"), _yes_col("significant", "significant"),
            _text_col("note", "note", css="text note")]
    vs_rest = [_test_col("test vs rest", "test_vs_rest"),
               _p_col("p vs rest (BH-adjusted)", "p_adj_vs_rest"),
               _yes_col("differs from rest", "significant_vs_rest"), _text_col("note", "note", css="text note")]
    if key == "groups":
        cols = [_count_col("articles", "n_articles"), _count_col("excluded", "n_excluded"),
                _count_col("sentences", "n_sentences"),
                _signed_col(f"mean tone [{pct}% CI]", "tone_mean", "tone_ci_low", "tone_ci_high"),
                _Col("tone SD", lambda r: format_number(r.get("tone_sd")), _raw("tone_sd")),
                _share_col("promotional", "share_promotional"),
                _share_col("neutral", "share_neutral"), _share_col("critical", "share_critical"),
                _signed_col("tone vs rest", "tone_diff_vs_rest"),
                _test_col("test vs rest", "tone_test_vs_rest"),
                _p_col("p vs rest (BH-adjusted)", "tone_p_adj_vs_rest"),
                _yes_col("differs from rest", "tone_significant_vs_rest"),
                _text_col("note", "note", css="text note")]
    elif key in ("cues", "frames"):
        item = ([_text_col("cue", "cue", lambda v: _cue_label(v, names))] if key == "cues" else
                [_text_col("scheme", "scheme"), _frame_col(names)])
        cols = item + [_count_col("articles", "n_articles"),
                       _count_col("with the " + key[:-1], "n_present"),
                       _share_col(f"prevalence [{pct}% CI]", "prevalence"),
                       _share_col("corrected prevalence", "prevalence_adj")]
        if key == "cues":
            cols.append(_Col("per 1,000 sentences", lambda r: (
                MISSING if is_missing(r.get("rate_per_1000")) else
                f"{format_number(r.get('rate_per_1000'), 1)} "
                f"[{format_number(r.get('rate_low'), 1)}–{format_number(r.get('rate_high'), 1)}]"),
                _raw("rate_per_1000")))
        cols += [_points_col("vs rest", "diff_vs_rest")] + vs_rest
    elif key == "pairwise_tone":
        cols = [_count_col("n A", "n_a"), _count_col("n B", "n_b"),
                _signed_col("mean tone A", "mean_a"), _signed_col("mean tone B", "mean_b"),
                _signed_col(f"difference A − B [{pct}% CI]", "mean_diff", "diff_ci_low",
                            "diff_ci_high"),
                _signed_col("Hedges' g [CI]", "hedges_g", "g_ci_low", "g_ci_high"),
                _test_col("test", "test")] + tail
    elif key in ("pairwise_cues", "pairwise_frames"):
        item = ([_text_col("cue", "cue", lambda v: _cue_label(v, names))]
                if key == "pairwise_cues" else
                [_text_col("scheme", "scheme"), _frame_col(names)])
        cols = item + [
            _Col("share A", lambda r: f"{format_percent(r.get('p_a'))} "
                 f"({format_count(r.get('x_a'))}/{format_count(r.get('n_a'))})", _raw("p_a")),
            _Col("share B", lambda r: f"{format_percent(r.get('p_b'))} "
                 f"({format_count(r.get('x_b'))}/{format_count(r.get('n_b'))})", _raw("p_b")),
            _points_col(f"difference A − B [{pct}% CI]", "diff", "diff_ci_low", "diff_ci_high"),
            _points_col("corrected difference", "diff_adj"),
            _ratio_col("risk ratio [CI]", "risk_ratio", "rr_ci_low", "rr_ci_high"),
            _ratio_col("odds ratio [CI]", "odds_ratio", "or_ci_low", "or_ci_high"),
            _signed_col("Cohen's h", "cohens_h"), _test_col("test", "test")] + tail
    elif key == "trends":
        cols = [_Col("measure", lambda r: _measure_label(r, names), _raw("measure"), _TEXT),
                _text_col("type", "kind"),
                _Col("time bins", lambda r: MISSING if is_missing(r.get("first_period")) else
                     f"{r.get('first_period')} – {r.get('last_period')}", _raw("first_period"),
                     _TEXT),
                _count_col("bins with data", "n_periods"), _count_col("articles", "n_articles"),
                _Col("first bin", lambda r: _trend_value(r, "estimate_first"),
                     _raw("estimate_first")),
                _Col("last bin", lambda r: _trend_value(r, "estimate_last"),
                     _raw("estimate_last")),
                _slope_col(f"slope per {period_unit(cmp.freq)} [{pct}% CI]"),
                _test_col("test", "test")] + tail
    else:
        return [_generic_col(c, frame[c]) for c in frame.columns]
    pairwise = key.startswith("pairwise")
    cols = [c for c in cols if _uses_present(c, frame)]
    return _lead_cols(cmp, frame, pairwise) + cols


def _frame_col(names: Mapping[str, str]) -> _Col:
    """The ``frame`` column of a frame table: the frame's name without its scheme."""
    return _Col("frame", lambda r: _frame_label(str(r.get("frame")), str(r.get("scheme")), names),
                _raw("frame"), _TEXT)


def _uses_present(col: _Col, frame: pd.DataFrame) -> bool:
    """False for a column whose raw value the table lacks (an older or slimmer table)."""
    probe = _Probe(frame.columns)
    try:
        col.sort(probe)
        col.text(probe)
    except KeyError:
        return False
    return True


class _Probe:
    """A row of missing values that raises :class:`KeyError` for a column not in the table."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = set(columns)

    def get(self, name: str) -> None:
        if name not in self.columns:
            raise KeyError(name)
        return None


def _generic_col(name: str, values: pd.Series) -> _Col:
    """A raw column for people: p-values as such, shares of a ``share``/``prevalence``
    column as percentages, other numbers with 3 decimals, never scientific notation."""
    header = _words(name)
    if name in ("p_value", "p_adj") or name.startswith("p_vs") or name.startswith("p_adj"):
        return _p_col(header, name)
    if pd.api.types.is_bool_dtype(values):
        return _yes_col(header, name)
    if pd.api.types.is_integer_dtype(values):
        return _count_col(header, name)
    if pd.api.types.is_float_dtype(values):
        return _Col(header, lambda r: format_number(r.get(name), 3), _raw(name))
    return _text_col(header, name)


def _sortable_table(key: str, cmp: "OutletComparison", frame: pd.DataFrame) -> str:
    """``frame`` as a sortable table for people: every cell escaped and carrying its raw
    value in ``data-sort`` (the inline :data:`_SORT_SCRIPT` sorts by it; without
    JavaScript the table simply stays in its order)."""
    cols = _table_columns(key, cmp, frame)
    css = [f' class="{escape(c.css)}"' if c.css else "" for c in cols]
    head = "".join(f'<th scope="col"{k} data-sortable="1" title="sort by {escape(c.header)}">'
                   f"{escape(c.header)}</th>" for c, k in zip(cols, css))
    body = []
    for _, r in frame.iterrows():
        cells = "".join(f'<td{k} data-sort="{escape(_sort_value(c.sort(r)))}">'
                        f"{escape(c.text(r))}</td>" for c, k in zip(cols, css))
        body.append(f"<tr>{cells}</tr>")
    return (f'<div class="scroll"><table class="data sortable" id="data-{escape(key)}">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")


def _csv_link(key: str, frame: pd.DataFrame) -> str:
    """A link that downloads the whole raw ``frame`` as ``<key>.csv`` (a ``data:`` URL)."""
    data = quote(frame.to_csv(index=False), safe="")
    return (f'<p class="meta"><a class="csv" download="{escape(key)}.csv" '
            f'href="data:text/csv;charset=utf-8,{data}">Download the raw table '
            f"({escape(key)}.csv, {len(frame):,} rows)</a></p>")


def _table_html(key: str, cmp: "OutletComparison", frame: pd.DataFrame, max_rows: int) -> str:
    extra = ""
    shown = frame
    if len(frame) > max_rows:
        extra = (f'<p class="meta">First {max_rows} of {len(frame)} rows (sorted by p-value); '
                 "the full table is in the CSV download.</p>")
        sort = next((c for c in ("p_adj", "p_adj_vs_rest") if c in frame.columns), None)
        shown = (frame.sort_values(sort, kind="stable") if sort else frame).head(max_rows)
    return _csv_link(key, frame) + extra + _sortable_table(key, cmp, shown)


#: Sorts a ``table.sortable`` by the clicked header, numerically when both cells' raw
#: ``data-sort`` values are numbers; a second click reverses; missing values stay last.
_SORT_SCRIPT = """<script>
document.addEventListener("click",function(e){
var th=e.target.closest&&e.target.closest("table.sortable th[data-sortable]");if(!th)return;
var t=th.closest("table"),b=t.tBodies[0],i=th.cellIndex,
d=th.getAttribute("aria-sort")==="ascending"?-1:1;
Array.prototype.forEach.call(th.parentNode.cells,function(c){c.removeAttribute("aria-sort");});
th.setAttribute("aria-sort",d>0?"ascending":"descending");
function k(r){var c=r.cells[i];return c?(c.getAttribute("data-sort")||""):"";}
var rows=Array.prototype.slice.call(b.rows);
rows.sort(function(x,y){var a=k(x),c=k(y);if(a==="")return c===""?0:1;if(c==="")return -1;
var p=Number(a),q=Number(c);return d*(!isNaN(p)&&!isNaN(q)?(p<q?-1:p>q?1:0):a.localeCompare(c));});
rows.forEach(function(r){b.appendChild(r);});});
</script>"""


# -- method ----------------------------------------------------------------------------
def _methods(values: pd.Series) -> str:
    names = [_METHOD_NAMES.get(str(v), str(v)) for v in dict.fromkeys(values.dropna())
             if v != "none"]
    return " or ".join(names) if names else "none"


def _models(manifest: dict[str, Any] | None) -> list[str]:
    """``name: path (sha256 …)`` per model artefact the manifest records, and the cue
    catalogue's hash."""
    analyzer = (manifest or {}).get("analyzer") if isinstance(manifest, dict) else None
    if not isinstance(analyzer, dict):
        return []
    out = []
    for name, entry in (analyzer.get("model_files") or {}).items():
        entry = entry if isinstance(entry, dict) else {"path": entry}
        digest = entry.get("sha256")
        out.append(f"{name}: {local_paths(str(entry.get('path', '')))}"
                   + (f" (sha256 {digest})" if digest else " (no content hash)"))
    if analyzer.get("catalogue_sha256"):
        out.append(f"cue catalogue: {local_paths(str(analyzer.get('catalogue', '')))} "
                   f"(sha256 {analyzer['catalogue_sha256']})")
    return out


# -- local paths -------------------------------------------------------------------------
def _json_for_people(value: Any) -> str:
    """``value`` as indented JSON with the absolute local paths in its texts shortened
    (see :func:`framing.core.formatting.local_paths`)."""
    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return local_paths(v)
        if isinstance(v, Mapping):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [walk(x) for x in v]
        return v
    return json.dumps(walk(value), indent=2, default=lambda v: local_paths(str(v)))


def _trend_method(cmp: "OutletComparison") -> list[str]:
    """The Method lines on trends over time (none without time bins)."""
    trends = getattr(cmp, "trends", None)
    if cmp.time is None or trends is None or not len(trends):
        return []
    unit = period_unit(cmp.freq)
    kinds = list(dict.fromkeys(trends["kind"]))
    shares = " and ".join(f"{k}s" for k in kinds if k != "tone")
    families = [f"{k} trends" for k in kinds]
    families = (", ".join(families[:-1]) + " and " + families[-1]) if len(families) > 1 \
        else families[0]
    return [f"Trends over time: time is counted in {unit}s from each group's first "
            f"{freq_name(cmp.freq)} time bin with articles, and a straight line is fitted "
            "through the articles themselves."
            + (" Tone: least-squares slope with a t interval and the t-test of a zero slope."
               if "tone" in kinds else "")
            + (f" {shares[:1].upper()}{shares[1:]}: slope of the share of articles (linear "
               f"probability model, in percentage points per {unit}) with an HC3 interval, "
               "tested with the Cochran–Armitage trend test." if shares else "")
            + " A trend needs at least 3 time bins with data and enough articles (the note "
            f"column says why a trend is blank); {families} each form a family for the "
            "Benjamini–Hochberg correction."]


def _method_html(cmp: "OutletComparison") -> str:
    """The section "Method": what was left out and why, the statistics, the correction
    for detector errors and the models (from the manifest, when there is one)."""
    pct = int(round(100 * (1 - cmp.alpha)))
    n_in, n_out = int(cmp.n_articles), int(cmp.n_excluded or 0)
    analysed = (f"{format_count(n_in)} article{'' if n_in == 1 else 's'} "
                f"{'was' if n_in == 1 else 'were'} analysed; ")
    excluded = [analysed + (f"{counted(n_out, 'row')} {'was' if n_out == 1 else 'were'} "
                            "excluded because scoring recorded an error for "
                            + ("it." if n_out == 1 else "them.") if n_out else
                            "no row was excluded for an error in scoring.")]
    if cmp.n_excluded and "n_excluded" in cmp.groups.columns:
        per = [f"{g}: {format_count(n)}" for g, n in
               zip(_group_labels(cmp, cmp.groups), cmp.groups["n_excluded"]) if n]
        if per:
            excluded.append("Excluded per group: " + ", ".join(per) + ".")
    excluded += [f"{n[0].upper()}{n[1:]}." for n in cmp.notes
                 if "row(s)" in n and "with an error" not in n]
    g, c = cmp.groups, cmp.cues
    tone_ci = _methods(g["tone_ci_method"]) if "tone_ci_method" in g.columns else "none"
    pair_ci = (_methods(cmp.pairwise_tone["diff_ci_method"])
               if "diff_ci_method" in cmp.pairwise_tone.columns else "none")
    tone_tests = pd.concat([g.get("tone_test_vs_rest", pd.Series(dtype=object)),
                            cmp.pairwise_tone.get("test", pd.Series(dtype=object))])
    share_tests = pd.concat([t.get(col, pd.Series(dtype=object)) for t, col in
                             ((c, "test_vs_rest"), (cmp.frames, "test_vs_rest"),
                              (cmp.pairwise_cues, "test"), (cmp.pairwise_frames, "test"))])
    s = cmp.settings
    stats = [f"All intervals are {pct}% intervals (alpha = {format_number(cmp.alpha, 3)}).",
             f"Mean tone: {tone_ci} intervals"
             + (f" ({format_count(s['n_boot'])} resamples)" if s.get("n_boot") else "")
             + f"; pairwise tone differences: {pair_ci} intervals; Hedges' g: "
             "normal-approximation intervals.",
             "Shares and prevalences: Wilson score intervals; cue rates per 1,000 sentences: "
             "exact (Garwood) Poisson intervals; differences of prevalences: Newcombe hybrid "
             "score intervals; risk ratios: Katz log intervals; odds ratios: Woolf log "
             "intervals (0.5 added to every cell of a table with a zero).",
             f"Tone tests: {_tests(tone_tests)}"
             + (f" ({format_count(s['n_permutations'])} permutations)"
                if s.get("n_permutations") and "permutation" in set(tone_tests.dropna()) else "")
             + f"; prevalence tests: {_tests(share_tests)}.",
             "Each family of tests (pairwise tone, cues"
             + (" and frames; tone, cues and frames" if len(cmp.frames) else "; tone and cues")
             + " against the pooled other groups) is corrected on its own with the "
             f"Benjamini–Hochberg procedure; a difference counts as significant when its "
             f"adjusted p-value is below {format_number(cmp.alpha, 3)}."]
    stats += _trend_method(cmp)
    names = cue_names(cmp)
    corrected = [t for t in (c, cmp.frames) if "prevalence_adj" in t.columns
                 and t["prevalence_adj"].notna().any()]
    if corrected:
        rated = sorted(cmp.error_rates) if cmp.error_rates else []
        correction = ("Prevalences were corrected for detector errors (adjusted "
                      "classify-and-count with each detector's true- and false-positive "
                      "rates, taken as known)"
                      + (f", error rates from {local_paths(cmp.error_rates_source)}"
                         if cmp.error_rates_source else "")
                      + (f", for {', '.join(_cue_label(x, names) for x in rated)}"
                         if rated else "")
                      + ".")
    else:
        correction = ("Prevalences were not corrected for detector errors"
                      + (f" (error rates: {local_paths(cmp.error_rates_source)})"
                         if cmp.error_rates_source else "") + ".")
    parts = ['<h2 id="method">Method</h2>',
             "<h3>Articles</h3>" + "".join(f"<p>{escape(t)}</p>" for t in excluded),
             "<h3>Statistics</h3><ul>" + "".join(f"<li>{escape(t)}</li>" for t in stats)
             + "</ul>",
             f"<h3>Detector errors</h3><p>{escape(correction)}</p>"]
    models = _models(cmp.manifest)
    if models:
        parts.append("<h3>Models</h3><ul>" + "".join(f"<li>{escape(m)}</li>" for m in models)
                     + '</ul><p class="meta">As recorded in the scores\' manifest '
                     '(<a href="#manifest">below</a>).</p>')
    elif cmp.manifest is None:
        parts.append('<h3>Models</h3><p class="meta">No manifest came with the scores: the '
                     "models are not recorded.</p>")
    return "\n".join(parts)


#: The most articles an evidence panel of the HTML report lists.
EVIDENCE_PANEL_ROWS = 5


#: The columns of an evidence table: (header, CSS class); the score column (cue
#: probability or tone) is the one number, right-aligned.
_EVIDENCE_COLUMNS = (("id", _TEXT), ("title", f"{_TEXT} title"), ("date", _TEXT),
                     (None, ""), ("sentence", f"{_TEXT} sentence"))


def _class(css: str) -> str:
    """A ``class`` attribute for ``css`` (nothing when empty)."""
    return f' class="{html.escape(css)}"' if css else ""


def _evidence_panel(cmp: "OutletComparison", key: tuple, measure: str, n: int) -> str:
    """One ``<details>`` panel: the evidence rows of group ``key`` for ``measure`` (a cue
    or a tone end), every piece of text escaped; empty when the group has none. The
    group is named by the heading the panel sits under (:func:`_evidence_html`)."""
    group = key if len(key) > 1 else key[0]
    rows = cmp.evidence(group, measure, n)
    if not len(rows):
        return ""
    score = rows.columns[3]
    what = {"most_promotional": "Highest tone (most promotional sentence)",
            "most_critical": "Lowest tone (most critical sentence)"}.get(
                measure, _cue_label(measure, cue_names(cmp)))
    head = "".join(f'<th scope="col"{_class(c)}>{html.escape(h or score)}</th>'
                   for h, c in _EVIDENCE_COLUMNS)

    def cell(value: Any, css: str) -> str:
        text = "" if value is None or is_missing(value) else str(value)
        return f"<td{_class(css)}>{html.escape(text)}</td>"

    body = "".join(
        "<tr>" + "".join(cell(v, c) for v, (_, c) in zip(
            (r.id, r.title, r.date, format_number(getattr(r, score), 3), r.sentence),
            _EVIDENCE_COLUMNS)) + "</tr>"
        for r in rows.itertuples(index=False))
    return (f'<details class="evidence"><summary>{html.escape(what)} '
            f"({counted(len(rows), 'article')})</summary>"
            f'<div class="scroll"><table class="data"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div></details>")


def _evidence_html(cmp: "OutletComparison", n: int = EVIDENCE_PANEL_ROWS) -> str:
    """The section "The sentences behind the numbers": per group, under a heading of its
    own (``<h4>``, below this section's ``<h3>``), a panel per cue with at least one
    article with its top ``n`` evidence sentences (and, when the scores carry them, the
    articles at either end of the tone scale); empty without any."""
    table = cmp.evidence_table
    if not len(table):
        return ""
    with_sentence = table["sentence"].notna()
    measures = list(cmp.cue_ids) + [m for m in TONE_ENDS
                                    if bool(with_sentence[table["measure"] == m].any())]
    keys = [tuple(str(v) for v in row)
            for row in cmp.groups[cmp.keys].itertuples(index=False)]
    groups = []
    for key in keys:
        panels = [p for p in (_evidence_panel(cmp, key, m, n) for m in measures) if p]
        if panels:
            label = html.escape(" / ".join(key))
            groups.append(f'<section class="evidence-group"><h4>{label}</h4>\n'
                          + "\n".join(panels) + "</section>")
    if not groups:
        return ""
    return ('<h3 id="evidence">The sentences behind the numbers</h3>'
            f'<p class="meta">Per group and cue, the (at most {n}) articles where the cue is '
            "present with the highest cue probability, and the sentence that carries it "
            "most; open a panel to read them.</p>\n" + "\n".join(groups))


def _figure_html(name: str, heading: str, fig: "Figure") -> str:
    """A plot as an inline PNG ``<figure id="plot-<name>">`` with its caption."""
    data = base64.b64encode(figure_png(fig)).decode("ascii")
    width = int(round(fig.get_figwidth() * 96))  # one inch = 96 CSS px, whatever the dpi
    caption = figure_caption(fig)
    return (f'<figure id="plot-{name}"><img alt="{html.escape(heading)}" width="{width}" '
            f'src="data:image/png;base64,{data}"><figcaption><strong>'
            f"{html.escape(heading)}.</strong> {html.escape(caption)}"
            "</figcaption></figure>")


def _has_time_bins(cmp: "OutletComparison") -> bool:
    """Whether the comparison was binned by time and has a bin with articles."""
    return cmp.time is not None and bool(len(cmp.over_time))


def _trends_html(cmp: "OutletComparison", figs: Sequence[tuple[str, str, "Figure"]],
                 max_rows: int) -> str:
    """The section "Trends over time": the trends in words, the over-time plot (when
    drawn) and the ``trends`` table for people with its raw CSV."""
    items = trend_findings(cmp)
    parts = ['<h2 id="trends">Trends over time</h2>',
             lines_html([f.text for f in items], "findings trends")
             if items else "<p>No trend over time could be tested.</p>"]
    parts += [_figure_html(name, heading, fig) for name, heading, fig in figs]
    trends = getattr(cmp, "trends", pd.DataFrame())
    pct = int(round(100 * (1 - cmp.alpha)))
    parts.append(f'<h3 id="table-trends">Trend per group and measure</h3><p class="meta">Slope '
                 f"per {html.escape(period_unit(cmp.freq))} of a straight line through the "
                 f"articles, with its {pct}% interval; first and last bin: the observed mean "
                 "tone or share there.</p>"
                 + (_table_html("trends", cmp, trends, max_rows) if len(trends)
                    else _csv_link("trends", trends) + "<p>(empty)</p>"))
    return "\n".join(parts)


def to_html(cmp: "OutletComparison", path: str | os.PathLike | None = None, *,
            title: str | None = None, plots: bool = True, max_rows: int = 500) -> str:
    """A self-contained HTML report: findings, summary, trends over time (with time
    bins: the trends in words, the over-time plot and the trends table), plots (inline
    PNG), full tables (up to ``max_rows`` rows each), method, settings and the shard
    manifest if there is one.

    Returns the HTML; also writes it to ``path`` when given."""
    title = title or f"Outlet comparison by {cmp.by}"
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    body = [f"<h1>{html.escape(title)}</h1>",
            f'<p class="meta">framing {html.escape(__version__)} · {stamp} · '
            f"{cmp.n_articles} articles, {len(cmp.groups)} groups, {len(cmp.cue_ids)} cues"
            + (f", {len(cmp.frame_ids)} frames" if len(cmp.frames) else "")
            + (f", {cmp.n_excluded} excluded for errors" if cmp.n_excluded else "") + "</p>"]
    items = findings(cmp)
    body.append('<h2 id="findings">Findings</h2>'
                + (lines_html([f.text for f in items], "findings")
                   if items else "<p>No contrasts could be tested.</p>"))
    sections = summary_sections(cmp, max_pairs=25, names=cue_names(cmp))
    notes = [s for s in sections if s.title == "Notes"]
    body.append("<h2>Summary</h2>")
    for i, sec in enumerate(sections):
        if sec.title == "Notes" or sec.key == "trends":  # trends get a section of their own
            continue
        anchor = f' id="summary-{html.escape(sec.key)}"' if sec.key else ""
        head = "" if i == 0 else f"<h3{anchor}>{html.escape(sec.title)}</h3>"  # first repeats <h1>
        body.append(head + _section_html(sec))
        if sec.title.startswith("Cue prevalence"):
            evidence = _evidence_html(cmp)
            if evidence:
                body.append(evidence)
    if notes:
        lines = [local_paths(t) for t in notes[0].text.split("\n")]
        body.append("<h3>Notes</h3>" + lines_html(lines, "notes", numbered=False))
    figs = _plots(cmp) if plots else []
    timed = [f for f in figs if f[0] == "over_time"]
    if _has_time_bins(cmp):
        body.append(_trends_html(cmp, timed, max_rows))
    figs = [f for f in figs if f[0] != "over_time"]
    if figs:
        body.append("<h2>Plots</h2>")
    body += [_figure_html(name, heading, fig) for name, heading, fig in figs]
    body.append("<h2>Tables</h2>")
    tables = [("groups", "Per group", cmp.groups), ("cues", "Per group and cue", cmp.cues),
              ("pairwise_tone", "Pairwise tone", cmp.pairwise_tone),
              ("pairwise_cues", "Pairwise cues", cmp.pairwise_cues)]
    if len(cmp.frames):
        tables += [("frames", "Per group and frame", cmp.frames),
                   ("pairwise_frames", "Pairwise frames", cmp.pairwise_frames)]
    if cmp.time is not None:
        tables.append(("over_time", "Over time", cmp.over_time))
    for key, name, frame in tables:
        body.append(f'<h3 id="table-{key}">{html.escape(name)}</h3>'
                    + (_table_html(key, cmp, frame, max_rows) if len(frame)
                       else _csv_link(key, frame) + "<p>(empty)</p>"))
    body.append(_method_html(cmp))
    settings = dict(cmp.settings, by=cmp.by, within=cmp.within, time=cmp.time, freq=cmp.freq,
                    error_rates=cmp.error_rates_source)
    body.append("<h2>Settings</h2><pre>" + html.escape(_json_for_people(settings)) + "</pre>")
    if cmp.manifest is not None:
        body.append('<h2>Manifest</h2><p class="meta">Local paths are shown relative to the '
                    "framing installation or by their last part only.</p>"
                    '<pre id="manifest">' + html.escape(_json_for_people(cmp.manifest))
                    + "</pre>")
    doc = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>\n"
           + "\n".join(body) + "\n" + _SORT_SCRIPT + "\n</body></html>\n")
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(doc, encoding="utf-8")
    return doc
