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
the styles are inline, and nothing is fetched from elsewhere.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import pandas as pd

from framing._version import __version__
from framing.analysis.evidence import TONE_ENDS
from framing.analysis.findings import findings
from framing.analysis.summary import Section, freq_name, significance_stars, summary_sections
from framing.core.formatting import format_number

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
               "welch_t": "Welch t"}


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


def _cue_label(cue: str) -> str:
    return cue.replace("_", " ")


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
    ax.set_xticks(range(len(cues)), [_cue_label(c) for c in cues], rotation=35, ha="right",
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
    names = {x: _cue_label(x[len(scheme_of[x]) + 1:] if x.startswith(f"{scheme_of[x]}:") else x)
             for x in frame_ids}
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
    up to two groups) or thin bars nudged apart per group (``bands=False``; the default
    for three to six groups; with more groups the default leaves intervals out).
    ``measures`` picks panels (``"tone"``, ``"promotional"``, ``"critical"``, cue ids or
    ``scheme:id`` frame ids; frames are left out by default); ``adjusted=True`` plots
    corrected prevalence. Raises :class:`ValueError` when the comparison has no time
    bins, or for a file type not in :data:`PLOT_FORMATS`."""
    targets = _targets(path, formats)
    ot, measures = _over_time_rows(cmp, measures)
    periods = sorted(set(ot["period"]), key=_period_key)
    groups = list(dict.fromkeys(_group_labels(cmp, cmp.groups)))
    ncols = max(1, min(ncols, len(measures)))
    nrows = math.ceil(len(measures) / ncols)
    fig = _figure(min(3.6 * ncols + 0.6, 24), min(2.5 * nrows + 1.3, 40))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True)
    show_bands, show_bars = _interval_style(len(groups), bands)
    lines = _TimeLines(groups=groups, palette=_palette(len(groups)),
                       pos={p: i for i, p in enumerate(periods)},
                       bands=show_bands, bars=show_bars)
    handles = []
    for k, measure in enumerate(measures):
        ax = axes[k // ncols][k % ncols]
        sub = ot[ot["measure"] == measure]
        kind = sub["kind"].iloc[0] if len(sub) else "cue"
        drawn = _draw_time_lines(ax, sub, lines, adjusted and kind in ("cue", "frame"))
        if k == 0:
            handles = drawn
        _style_time_panel(ax, measure, kind, periods)
    _tidy_panel_grid(axes, len(measures), nrows, ncols)
    fig.suptitle(_over_time_title(cmp, show_bands, show_bars, adjusted),
                 x=0.01, ha="left", fontsize=11)
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(groups), 4),
               fontsize=8, frameon=False)
    _set_caption(fig, _over_time_caption(cmp, measures, ot, show_bands, show_bars, adjusted))
    _write(fig, targets)
    return fig


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
        y = s[est].to_numpy(dtype=float)
        color = lines.palette[gi]
        cycle = gi // len(PALETTE)  # past the palette, colours repeat with other dashes and marks
        (line,) = ax.plot(x, y, marker="osD^v"[cycle % 5], markersize=3, linewidth=1.4,
                          color=color, linestyle=("-", "--", ":", "-.")[cycle % 4],
                          label=grp, zorder=3)
        low_, high_ = s[lo].to_numpy(dtype=float), s[hi].to_numpy(dtype=float)
        if lines.bands:
            ax.fill_between(x, low_, high_, color=color, alpha=0.12, linewidth=0)
        elif lines.bars:  # intervals as thin bars, nudged apart so groups do not hide each other
            dx = x + (gi - (n_groups - 1) / 2) * width
            ax.vlines(dx, low_, high_, color=color, alpha=0.45, linewidth=1.0, zorder=2)
        drawn.append(line)
    return drawn


def _style_time_panel(ax, measure: str, kind: str, periods: list[str]) -> None:
    """Return nothing; give one over-time panel its title, y range (tone in [-1, 1]
    with a zero line, shares as percentages), period ticks (at most about eight) and
    grid."""
    title = "mean tone" if measure == "tone" else (
        f"{measure} share" if kind == "share" else _cue_label(measure).replace(":", ": "))
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
    ``over_time.csv`` (with time bins), ``summary.md`` and, with ``plots``, the PNGs
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
.meta{color:#555;font-size:.9rem} .notes li{color:#8a4b00}
table{border-collapse:collapse;font-size:.85rem;margin:.6rem 0 1.2rem}
th,td{border:1px solid #ddd;padding:.25rem .5rem;text-align:right;white-space:nowrap}
th{background:#f3f5f7} td:first-child,th:first-child{text-align:left}
tr:nth-child(even) td{background:#fafafa}
.scroll{overflow-x:auto} figure{margin:1rem 0} img{max-width:100%;height:auto}
figcaption{color:#555;font-size:.85rem} details.evidence{margin:.3rem 0}
details.evidence summary{cursor:pointer} td.sentence{white-space:normal;text-align:left;
 min-width:20rem} pre{background:#f6f8fa;padding:.8rem;overflow-x:auto;
 font-size:.8rem}
"""


def _section_html(sec: Section) -> str:
    parts = []
    if sec.text:
        parts.append("".join(f"<p>{html.escape(t)}</p>" for t in sec.text.split("\n")))
    if sec.header:
        align = sec.align or "l" + "r" * (len(sec.header) - 1)
        css = ['left' if a == "l" else 'right' for a in align]
        head = "".join(f'<th style="text-align:{a}">{html.escape(str(h))}</th>'
                       for h, a in zip(sec.header, css))
        body = "".join("<tr>" + "".join(f'<td style="text-align:{a}">{html.escape(str(c))}</td>'
                                        for c, a in zip(row, css)) + "</tr>" for row in sec.rows)
        parts.append(f'<div class="scroll"><table class="summary"><thead><tr>{head}</tr></thead>'
                     f"<tbody>{body}</tbody></table></div>")
    return "\n".join(parts)


def _frame_html(frame: pd.DataFrame, max_rows: int) -> str:
    extra = ""
    if len(frame) > max_rows:
        extra = f"<p class=\"meta\">First {max_rows} of {len(frame)} rows (sorted by p-value); " \
                "the full table is in the CSV output.</p>"
        sort = next((c for c in ("p_adj", "p_adj_vs_rest") if c in frame.columns), None)
        frame = (frame.sort_values(sort, kind="stable") if sort else frame).head(max_rows)
    table = frame.to_html(index=False, na_rep="", border=0, classes="data",
                          float_format=lambda v: f"{v:.4g}")
    return extra + f'<div class="scroll">{table}</div>'


#: The most articles an evidence panel of the HTML report lists.
EVIDENCE_PANEL_ROWS = 5


def _evidence_panel(cmp: "OutletComparison", key: tuple, measure: str, n: int) -> str:
    """One ``<details>`` panel: the evidence rows of group ``key`` for ``measure`` (a cue
    or a tone end), every piece of text escaped; empty when the group has none."""
    group = key if len(key) > 1 else key[0]
    rows = cmp.evidence(group, measure, n)
    if not len(rows):
        return ""
    score = rows.columns[3]
    label = " / ".join(str(k) for k in key)
    what = {"most_promotional": "highest tone (most promotional sentence)",
            "most_critical": "lowest tone (most critical sentence)"}.get(measure, _cue_label(measure))
    head = "".join(f"<th>{html.escape(h)}</th>"
                   for h in ("id", "title", "date", score, "sentence"))
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape('' if v is None else str(v))}</td>"
                         for v in (r.id, r.title, r.date))
        + f"<td>{html.escape(format_number(getattr(r, score), 3))}</td>"
        + f'<td class="sentence">{html.escape("" if r.sentence is None else str(r.sentence))}'
        "</td></tr>"
        for r in rows.itertuples(index=False))
    return (f'<details class="evidence"><summary>{html.escape(label)} · {html.escape(what)} '
            f"({len(rows)} article{'s' if len(rows) != 1 else ''})</summary>"
            f'<div class="scroll"><table class="data"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div></details>")


def _evidence_html(cmp: "OutletComparison", n: int = EVIDENCE_PANEL_ROWS) -> str:
    """The section "The sentences behind the numbers": per group and cue with at least
    one article, a panel of its top ``n`` evidence sentences (and, when the scores carry
    them, the articles at either end of the tone scale); empty without any."""
    table = cmp.evidence_table
    if not len(table):
        return ""
    with_sentence = table["sentence"].notna()
    measures = list(cmp.cue_ids) + [m for m in TONE_ENDS
                                    if bool(with_sentence[table["measure"] == m].any())]
    keys = [tuple(str(v) for v in row)
            for row in cmp.groups[cmp.keys].itertuples(index=False)]
    panels = [_evidence_panel(cmp, key, m, n) for key in keys for m in measures]
    panels = [p for p in panels if p]
    if not panels:
        return ""
    return ('<h3 id="evidence">The sentences behind the numbers</h3>'
            f'<p class="meta">Per group and cue, the (at most {n}) articles where the cue is '
            "present with the highest cue probability, and the sentence that carries it "
            "most.</p>\n" + "\n".join(panels))


def to_html(cmp: "OutletComparison", path: str | os.PathLike | None = None, *,
            title: str | None = None, plots: bool = True, max_rows: int = 500) -> str:
    """A self-contained HTML report: findings, summary, plots (inline PNG), full tables (up to
    ``max_rows`` rows each), settings and the shard manifest if there is one.

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
                + ('<ol class="findings">' + "".join(f"<li>{html.escape(f.text)}</li>"
                                                     for f in items) + "</ol>"
                   if items else "<p>No contrasts could be tested.</p>"))
    sections = summary_sections(cmp, max_pairs=25)
    notes = [s for s in sections if s.title == "Notes"]
    body.append("<h2>Summary</h2>")
    for i, sec in enumerate(sections):
        if sec.title == "Notes":
            continue
        anchor = f' id="summary-{html.escape(sec.key)}"' if sec.key else ""
        head = "" if i == 0 else f"<h3{anchor}>{html.escape(sec.title)}</h3>"  # first repeats <h1>
        body.append(head + _section_html(sec))
        if sec.title.startswith("Cue prevalence"):
            evidence = _evidence_html(cmp)
            if evidence:
                body.append(evidence)
    if notes:
        items = "".join(f"<li>{html.escape(t)}</li>" for t in notes[0].text.split("\n"))
        body.append(f'<h3>Notes</h3><ul class="notes">{items}</ul>')
    if plots:
        figs = _plots(cmp)
        if figs:
            body.append("<h2>Plots</h2>")
        for name, heading, fig in figs:
            data = base64.b64encode(figure_png(fig)).decode("ascii")
            width = int(round(fig.get_figwidth() * 96))  # one inch = 96 CSS px, whatever the dpi
            caption = figure_caption(fig)
            body.append(f'<figure id="plot-{name}"><img alt="{html.escape(heading)}" width="{width}" '
                        f'src="data:image/png;base64,{data}"><figcaption><strong>'
                        f"{html.escape(heading)}.</strong> {html.escape(caption)}"
                        "</figcaption></figure>")
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
                    + (_frame_html(frame, max_rows) if len(frame) else "<p>(empty)</p>"))
    settings = dict(cmp.settings, by=cmp.by, within=cmp.within, time=cmp.time, freq=cmp.freq,
                    error_rates=cmp.error_rates_source)
    body.append("<h2>Settings</h2><pre>" + html.escape(json.dumps(settings, indent=2, default=str))
                + "</pre>")
    if cmp.manifest is not None:
        body.append('<h2>Manifest</h2><pre id="manifest">'
                    + html.escape(json.dumps(cmp.manifest, indent=2, default=str)) + "</pre>")
    doc = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
           f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>\n"
           + "\n".join(body) + "\n</body></html>\n")
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(doc, encoding="utf-8")
    return doc
