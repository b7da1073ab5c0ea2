"""An :class:`~framing.analysis.compare.OutletComparison` as HTML for notebooks.

:func:`comparison_html` (what ``OutletComparison._repr_html_`` returns) shows the
per-group tone table and the cue (and frame) prevalence tables with readable headers,
percentages and intervals as ``58% [32–81%]``, tone as ``+0.49 [+0.31, +0.63]``,
BH-adjusted p-values as ``< 0.001`` or three decimals with significance stars, and the
comparison's notes. The number formats are those of :mod:`framing.core.formatting`. All
text (group names, cue ids, notes) is escaped; there is no script and no external
resource. The full report with plots is :func:`framing.analysis.report.to_html`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

import pandas as pd

from framing.analysis.summary import significance_stars
from framing.core.formatting import (
    HTML_STYLE,
    Html,
    escape,
    format_count,
    format_p_value,
    format_percent_interval,
    format_signed,
    format_signed_interval,
    html_table,
    is_missing,
)
from framing.core.labels import TONE_LABELS_DISPLAY

if TYPE_CHECKING:  # pragma: no cover
    from framing.analysis.compare import OutletComparison

__all__ = ["comparison_html"]


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _p_cell(p: Any) -> str:
    """A p-value with its stars: ``< 0.001 ***``."""
    stars = significance_stars(p)
    return format_p_value(p) + (f" {stars}" if stars else "")


def _text(v: Any) -> str:
    return "" if is_missing(v) else str(v)


def _points(diff: Any) -> str:
    """A difference of shares in percentage points: ``+12 pp``."""
    return "–" if is_missing(diff) else f"{format_signed(100 * float(diff), 0)} pp"


def _tone_table(cmp: "OutletComparison", level: str) -> Html:
    keys = cmp.keys
    header = ([_title(k) for k in keys] + ["Articles", f"Mean tone [{level} CI]"]
              + [f"{lab.capitalize()} [{level} CI]" for lab in TONE_LABELS_DISPLAY]
              + ["Tone vs rest", "p (BH) vs rest", "Note"])
    rows = []
    for _, r in cmp.groups.iterrows():
        rows.append([_text(r[k]) for k in keys]
                    + [format_count(r["n_articles"]),
                       format_signed_interval(r["tone_mean"], r["tone_ci_low"], r["tone_ci_high"])]
                    + [format_percent_interval(r[f"share_{lab}"], r[f"share_{lab}_low"],
                                               r[f"share_{lab}_high"])
                       for lab in TONE_LABELS_DISPLAY]
                    + [format_signed(r["tone_diff_vs_rest"]), _p_cell(r["tone_p_adj_vs_rest"]),
                       _text(r["note"])])
    numeric = [False] * len(keys) + [True] * (len(header) - len(keys) - 1) + [False]
    return html_table(header, rows, numeric=numeric)


def _prevalence_table(cmp: "OutletComparison", table: pd.DataFrame, column: str,
                      level: str) -> Html:
    """Per group and cue (or frame): prevalence, corrected prevalence and the rate per
    1,000 sentences where the table has them, the difference to the rest and its test."""
    keys = cmp.keys
    corrected = "prevalence_adj" in table and bool(table["prevalence_adj"].notna().any())
    rates = "rate_per_1000" in table and bool(table["rate_per_1000"].notna().any())
    header = ([_title(k) for k in keys] + [_title(column), "Articles", "With it",
                                          f"Prevalence [{level} CI]"]
              + ([f"Corrected [{level} CI]"] if corrected else [])
              + ([f"Per 1,000 sentences [{level} CI]"] if rates else [])
              + ["vs rest", "p (BH) vs rest", "Note"])
    rows = []
    for _, r in table.iterrows():
        row = [_text(r[k]) for k in keys] + [
            _text(r[column]), format_count(r["n_articles"]), format_count(r["n_present"]),
            format_percent_interval(r["prevalence"], r["prevalence_low"], r["prevalence_high"])]
        if corrected:
            row.append(format_percent_interval(r["prevalence_adj"], r["prevalence_adj_low"],
                                               r["prevalence_adj_high"]))
        if rates:
            row.append(_rate_interval(r))
        row += [_points(r["diff_vs_rest"]), _p_cell(r["p_adj_vs_rest"]), _text(r["note"])]
        rows.append(row)
    numeric = ([False] * (len(keys) + 1) + [True] * (len(header) - len(keys) - 2) + [False])
    return html_table(header, rows, numeric=numeric)


def _rate_interval(r: Mapping[str, Any]) -> str:
    def one(v: Any) -> str:
        return "–" if is_missing(v) else f"{round(float(v), 1) + 0.0:.1f}"

    if is_missing(r["rate_per_1000"]):
        return "–"
    return f"{one(r['rate_per_1000'])} [{one(r['rate_low'])}, {one(r['rate_high'])}]"


def comparison_html(cmp: "OutletComparison") -> Html:
    """``cmp`` as one self-contained HTML block: a heading line, the tone table, the cue
    and frame prevalence tables and the notes (see the module docstring)."""
    level = f"{round(100 * (1 - cmp.alpha)):g}%"
    n_groups = len(cmp.groups)
    head = (f"Outlet comparison by {cmp.by}"
            + (f" within {cmp.within}" if cmp.within else "")
            + f": {format_count(cmp.n_articles)} articles in {format_count(n_groups)} groups"
            + (f", {format_count(cmp.n_excluded)} excluded" if cmp.n_excluded else ""))
    parts = [HTML_STYLE, '<div class="framing-html framing-comparison">',
             f"<h4>{escape(head)}</h4>", "<h4>Tone per group</h4>", _tone_table(cmp, level)]
    if not cmp.cues.empty:
        parts += ["<h4>Cue prevalence (share of articles)</h4>",
                  _prevalence_table(cmp, cmp.cues, "cue", level)]
    if cmp.frames is not None and not cmp.frames.empty:
        parts += ["<h4>Frame prevalence (share of articles)</h4>",
                  _prevalence_table(cmp, cmp.frames, "frame", level)]
    parts.append('<div class="muted">p (BH): Benjamini–Hochberg adjusted within each family '
                 "of tests; * &lt; 0.05, ** &lt; 0.01, *** &lt; 0.001. \u201cvs rest\u201d: the "
                 "group against the pooled other groups (tone: difference of means; "
                 "prevalence: difference in percentage points).</div>")
    if cmp.notes:
        parts.append("<h4>Notes</h4><ul>"
                     + "".join(f"<li>{escape(n)}</li>" for n in cmp.notes) + "</ul>")
    parts.append("</div>")
    return Html("".join(parts))
