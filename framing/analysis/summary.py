"""The written summary of an outlet comparison, shared by Markdown and HTML output.

:func:`summary_sections` turns an :class:`~framing.analysis.compare.OutletComparison`
into titled blocks of text and table rows; :func:`summary_markdown` prints them as
Markdown (what :meth:`OutletComparison.to_markdown` returns) and
:func:`framing.analysis.report.to_html` as HTML. The number formats, significance stars
and time-bin frequency names used there live here too, so that the comparison and the
report read them from one place. Nothing here needs matplotlib.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import pandas as pd

from framing.core.formatting import MISSING, counted, is_missing, local_paths
from framing.core.formatting import format_percent as core_format_percent

if TYPE_CHECKING:  # pragma: no cover
    from framing.analysis.compare import OutletComparison

__all__ = [
    "FREQ_ALIASES",
    "Section",
    "format_number",
    "format_percent",
    "freq_name",
    "md_table",
    "period_freq",
    "period_unit",
    "significance_stars",
    "summary_markdown",
    "summary_sections",
]

#: Offset aliases (as ``pandas.date_range`` spells them) and the period frequency each
#: one bins by; keys are upper case.
FREQ_ALIASES: dict[str, str] = {
    "ME": "M", "MS": "M", "QE": "Q", "QS": "Q", "YE": "Y", "YS": "Y",
    "A": "Y", "AS": "Y", "BA": "Y", "W-SUN": "W",
}

_FREQ_NAMES = {"D": "daily", "W": "weekly", "M": "monthly", "Q": "quarterly", "Y": "yearly"}
_FREQ_UNITS = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year"}

#: What stands for a missing number in the summary.
_MISSING = MISSING


def period_freq(freq: str | None) -> str:
    """The pandas period frequency for ``freq``: an alias of :data:`FREQ_ALIASES` is
    replaced, anything else is returned unchanged; ``None`` or empty means monthly."""
    if not freq:
        return "M"
    return FREQ_ALIASES.get(freq.upper(), freq)


def freq_name(freq: str | None) -> str:
    """``daily``, ``weekly``, ``monthly``, ``quarterly``, ``yearly``, else ``per <freq>``."""
    return _FREQ_NAMES.get(period_freq(freq).upper(), f"per {freq}")


def period_unit(freq: str | None) -> str:
    """One time bin of ``freq`` as a noun for "per ...": ``day``, ``week``, ``month``,
    ``quarter``, ``year``, else ``time bin``."""
    return _FREQ_UNITS.get(period_freq(freq).upper(), "time bin")


def format_number(v: Any, spec: str = ".2f") -> str:
    """``v`` formatted with ``spec``; a dash for None or NaN."""
    return _MISSING if is_missing(v) else format(v, spec)


def format_percent(v: Any) -> str:
    """A share in [0, 1] as a whole percentage (``0.25`` -> ``25%``); a dash for None or
    NaN (the one rule of :func:`framing.core.formatting.format_percent`)."""
    return core_format_percent(v)


def significance_stars(p: Any) -> str:
    """``***`` for p < .001, ``**`` for p < .01, ``*`` for p < .05, else (and for a
    missing p) an empty string."""
    if is_missing(p):
        return ""
    for bound, stars in ((0.001, "***"), (0.01, "**"), (0.05, "*")):
        if p < bound:
            return stars
    return ""


def md_table(header: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> str:
    """A GitHub-flavoured Markdown table; ``align`` has one letter per column, ``l`` or
    ``r`` (default: the first left, the rest right). ``|`` in cells is escaped and
    line breaks become spaces."""

    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    align = align or "l" + "r" * (len(header) - 1)
    lines = ["| " + " | ".join(cell(h) for h in header) + " |",
             "| " + " | ".join(":--" if a == "l" else "--:" for a in align) + " |"]
    lines.extend("| " + " | ".join(cell(c) for c in row) + " |" for row in rows)
    return "\n".join(lines)


@dataclass
class Section:
    """One block of the summary: a title, an optional table and an optional text."""

    title: str
    header: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    text: str = ""
    align: str | None = None
    #: an anchor for the HTML report (``id="summary-<key>"``), or empty
    key: str = ""


def _group_label(cmp: "OutletComparison", row: Mapping[str, Any]) -> str:
    return " / ".join(str(row[k]) for k in cmp.keys)


def _pair_label(cmp: "OutletComparison", row: Mapping[str, Any]) -> str:
    stratum = f"{row[cmp.within]}: " if cmp.within else ""
    return f"{stratum}{row['group_a']} − {row['group_b']}"


def _interval(est: Any, low: Any, high: Any, spec: str) -> str:
    return (f"{format_number(est, spec)} [{format_number(low, spec)}, "
            f"{format_number(high, spec)}]")


def _share_interval(est: Any, low: Any, high: Any) -> str:
    return f"{format_percent(est)} [{format_percent(low)}, {format_percent(high)}]"


def _tone_section(cmp: "OutletComparison") -> Section:
    rows = [[_group_label(cmp, r), int(r["n_articles"]),
             _interval(r["tone_mean"], r["tone_ci_low"], r["tone_ci_high"], "+.2f")
             + significance_stars(r["tone_p_adj_vs_rest"]),
             _share_interval(r["share_promotional"], r["share_promotional_low"],
                             r["share_promotional_high"]),
             _share_interval(r["share_critical"], r["share_critical_low"],
                             r["share_critical_high"])]
            for _, r in cmp.groups.iterrows()]
    return Section("Tone per group (stars: vs the pooled other groups)",
                   ["group", "n", "tone mean [CI]", "promotional [CI]", "critical [CI]"], rows)


def _named(label: Any, names: Mapping[str, str]) -> str:
    """A cue's (or frame's) readable name from ``names``, else its id unchanged."""
    return names.get(str(label)) or str(label)


def _prevalence_section(cmp: "OutletComparison", table: pd.DataFrame, column: str,
                        ids: Sequence[str], names: Mapping[str, str]) -> Section:
    """Share of articles per ``column`` (cue / frame) and group, stars vs the rest."""
    groups = [_group_label(cmp, r) for _, r in cmp.groups.iterrows()]
    corrected = bool(table["prevalence_adj"].notna().any())
    rows = []
    for label in ids:
        cells = []
        for _, r in table[table[column] == label].iterrows():
            cell = format_percent(r["prevalence"]) + significance_stars(r["p_adj_vs_rest"])
            if corrected and not pd.isna(r["prevalence_adj"]):
                cell += f" (adj {format_percent(r['prevalence_adj'])})"
            cells.append(cell)
        rows.append([_named(label, names), *cells])
    title = (f"{column.capitalize()} prevalence (share of articles; stars: vs the pooled "
             "other groups" + ("; adj: corrected for detector errors" if corrected else "") + ")")
    return Section(title, [column, *groups], rows)


def _pairwise_tone_section(cmp: "OutletComparison", max_pairs: int) -> Section:
    tests = cmp.pairwise_tone.sort_values("p_adj", kind="stable")
    more = f" (first {max_pairs} of {len(tests)})" if len(tests) > max_pairs else ""
    rows = [[_pair_label(cmp, r),
             _interval(r["mean_diff"], r["diff_ci_low"], r["diff_ci_high"], "+.2f"),
             format_number(r["hedges_g"], "+.2f"),
             format_number(r["p_adj"], ".3f") + significance_stars(r["p_adj"])]
            for _, r in tests.head(max_pairs).iterrows()]
    return Section(f"Pairwise tone differences{more}",
                   ["pair", "mean diff [CI]", "Hedges' g", "p (BH)"], rows)


def _pairwise_prevalence_section(cmp: "OutletComparison", table: pd.DataFrame, column: str,
                                 max_pairs: int, names: Mapping[str, str]) -> Section:
    """The pairwise differences in a ``column`` (cue / frame) share that survive BH."""
    kept = table[table["significant"].astype(bool)].sort_values("p_adj", kind="stable")
    if not len(kept):
        return Section(f"Pairwise {column} differences",
                       text=f"No pairwise {column} difference is significant after the BH "
                            f"correction ({int(table['p_value'].notna().sum())} tests).")
    more = f" (first {max_pairs} of {len(kept)})" if len(kept) > max_pairs else ""
    rows = []
    for _, r in kept.head(max_pairs).iterrows():
        points = [format_number(100 * r[c], "+.0f")
                  for c in ("diff", "diff_ci_low", "diff_ci_high")]
        rows.append([_pair_label(cmp, r), _named(r[column], names),
                     f"{format_percent(r['p_a'])} vs {format_percent(r['p_b'])}",
                     f"{points[0]} [{points[1]}, {points[2]}] pts",
                     format_number(r["cohens_h"], "+.2f"),
                     format_number(r["p_adj"], ".3f") + significance_stars(r["p_adj"])])
    return Section(f"Significant pairwise {column} differences{more}",
                   ["pair", column, "prevalence", "difference [CI]", "Cohen's h", "p (BH)"],
                   rows, align="llrrrr")


def _trend_cell(kind: str, value: Any) -> str:
    return format_number(value, "+.2f") if kind == "tone" else format_percent(value)


def _trends_section(cmp: "OutletComparison", max_pairs: int, names: Mapping[str, str]
                    ) -> Section:
    """The significant trends over time (BH-adjusted per family), smallest p first."""
    table = cmp.trends
    unit = period_unit(cmp.freq)
    kept = table[table["significant"].astype(bool)].sort_values("p_adj", kind="stable")
    n_tests = int(table["p_value"].notna().sum())
    if not n_tests:
        return Section("Trends over time", key="trends",
                       text="No trend over time could be tested (too few time bins or "
                            "articles; see the note column of the trends table).")
    if not len(kept):
        return Section("Trends over time", key="trends",
                       text=f"No trend over time is significant after the BH correction "
                            f"({counted(n_tests, 'test')}).")
    more = f" (first {max_pairs} of {len(kept)})" if len(kept) > max_pairs else ""
    rows = []
    for _, r in kept.head(max_pairs).iterrows():
        kind = str(r["kind"])
        if kind == "tone":
            slope = _interval(r["slope"], r["slope_ci_low"], r["slope_ci_high"], "+.3f")
        else:
            points = [format_number(100 * r[c], "+.1f")
                      for c in ("slope", "slope_ci_low", "slope_ci_high")]
            slope = f"{points[0]} [{points[1]}, {points[2]}] pts"
        rows.append([_group_label(cmp, r), "tone" if kind == "tone" else _named(r["measure"], names),
                     f"{r['first_period']} – {r['last_period']}",
                     f"{_trend_cell(kind, r['estimate_first'])} → "
                     f"{_trend_cell(kind, r['estimate_last'])}",
                     slope, format_number(r["p_adj"], ".3f") + significance_stars(r["p_adj"])])
    return Section(f"Significant trends over time{more} (slope per {unit})",
                   ["group", "measure", "time bins", "first → last", f"slope per {unit} [CI]",
                    "p (BH)"], rows, align="llllrr", key="trends")


def summary_sections(cmp: "OutletComparison", max_pairs: int = 15,
                     names: Mapping[str, str] | None = None) -> list[Section]:
    """The summary of ``cmp`` as sections: an introduction, tone per group, cue (and
    frame) prevalence per group, pairwise differences (at most ``max_pairs`` rows per
    table), the significant trends over time (with ``time=``; key ``"trends"``) and a
    last ``"Notes"`` section, if there is anything to note, whose text holds one note
    per line. ``names``: readable names per cue id (or frame ``scheme:id``) shown in
    place of the ids it names."""
    names = dict(names or {})
    level = int(round(100 * (1 - cmp.alpha)))
    intro = (f"{counted(cmp.n_articles, 'article')} in {counted(len(cmp.groups), 'group')}"
             + (f"; {cmp.n_excluded} excluded for errors" if cmp.n_excluded else "")
             + f". Intervals are {level}%; p-values are Benjamini–Hochberg adjusted per family "
               "of tests; * p<.05, ** p<.01, *** p<.001.")
    title = f"Outlet comparison by {cmp.by}" + (f" within {cmp.within}" if cmp.within else "")
    out = [Section(title, text=intro), _tone_section(cmp)]
    if len(cmp.cues):
        out.append(_prevalence_section(cmp, cmp.cues, "cue", cmp.cue_ids, names))
    if len(cmp.pairwise_tone):
        out.append(_pairwise_tone_section(cmp, max_pairs))
    if len(cmp.pairwise_cues):
        out.append(_pairwise_prevalence_section(cmp, cmp.pairwise_cues, "cue", max_pairs, names))
    if len(cmp.frames):
        section = _prevalence_section(cmp, cmp.frames, "frame", cmp.frame_ids, names)
        section.key = "frames"
        out.append(section)
    if len(cmp.pairwise_frames):
        section = _pairwise_prevalence_section(cmp, cmp.pairwise_frames, "frame", max_pairs,
                                               names)
        section.key = "pairwise-frames"
        out.append(section)
    trends = getattr(cmp, "trends", None)
    if cmp.time is not None and trends is not None and len(trends):
        out.append(_trends_section(cmp, max_pairs, names))
    notes = ([f"Detector error rates from {local_paths(cmp.error_rates_source)}."]
             if cmp.error_rates_source else []) + list(cmp.notes)
    if notes:
        out.append(Section("Notes", text="\n".join(notes)))
    return out


def summary_markdown(cmp: "OutletComparison", max_pairs: int = 15,
                     names: Mapping[str, str] | None = None) -> str:
    """The summary as Markdown: the first section a level-2 heading, the others level 3,
    notes as a bullet list; ``names`` as for :func:`summary_sections`."""
    lines: list[str] = []
    for i, sec in enumerate(summary_sections(cmp, max_pairs, names)):
        lines += [("## " if i == 0 else "### ") + sec.title, ""]
        if sec.title == "Notes":
            lines += [f"- {note}" for note in sec.text.split("\n")] + [""]
            continue
        if sec.text:
            lines += [sec.text, ""]
        if sec.header:
            lines += [md_table(sec.header, sec.rows, sec.align), ""]
    return "\n".join(lines).rstrip() + "\n"
