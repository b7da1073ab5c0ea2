"""Findings first: the few contrasts of an outlet comparison worth reading, in plain words.

:func:`findings` reads the pairwise tables of an
:class:`~framing.analysis.compare.OutletComparison` (tone, cues, frames) and returns a
ranked list of :class:`Finding` items, each with one English sentence in ``text``:

1. the significant contrasts (BH-adjusted p below ``alpha``), largest absolute effect
   first (Hedges' g for tone, Cohen's h for cue and frame prevalence), at most
   ``max_items`` of them (a line counts the rest);
2. one line per family of tests saying that nothing else in it is significant, with the
   number of tests run;
3. a line for each group too small to be tested (once per group).

Tests that were skipped (p-value NaN, with a ``note``) never give a finding and are not
counted. Numbers are written in fixed notation: whole percentages, tone to two decimals,
p as ``< 0.001`` or to three decimals.

:func:`trend_findings` does the same for the ``trends`` table (a comparison run with
``time=``): each significant trend as a sentence saying which way the measure went at
a group, from the first to the last time bin, with the slope per bin, its interval and
the BH-adjusted p-value (strongest evidence first); then one line counting the trends
that are not significant and one counting those that could not be tested.

Cue names come from ``names`` when given, else from the catalogue the scores' manifest
names (when it loads and its hash matches), else from the id with ``_`` read as spaces
(:func:`cue_names` resolves them, for the report's tables and plots too). A sentence
quotes the name exactly as the tables write it (``the cue “Criticism reported”``,
``the frame “conflict” (narrative)``), so a finding can be matched to its table row.
Negative numbers carry the true minus sign (``−0.14``), as the report's tables do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Mapping

import pandas as pd

from framing.analysis.summary import period_unit
from framing.errors import CatalogueError
from framing.text.catalogue import load_catalogue

if TYPE_CHECKING:  # pragma: no cover
    from framing.analysis.compare import OutletComparison

__all__ = ["manifest_value", "DEFAULT_MAX_ITEMS", "Finding", "cue_names", "findings", "findings_markdown",
           "ranked_findings", "trend_findings"]

#: What :func:`findings` lists at most among the significant contrasts, by default.
DEFAULT_MAX_ITEMS = 10

_HEDGES = "Hedges' g"
_COHEN = "Cohen's h"
_FAMILY_TOPIC = {"tone": "tone", "cue": "cue use", "frame": "frame use"}
_TREND = "trend"


@dataclass(frozen=True)
class Finding:
    """One line of the findings.

    ``kind`` is ``"tone"``, ``"cue"`` or ``"frame"`` for a contrast, ``"trend"`` for a
    trend over time, ``"summary"`` for the line closing a family of tests and
    ``"small_group"`` for a group left out of tests.
    For a contrast, ``group_a`` is the group with the higher estimate; ``estimate_*`` and
    ``*_low`` / ``*_high`` are the groups' own estimates (mean tone, or share of
    articles) with intervals; ``diff`` and its interval are ``a - b``; ``effect`` names
    the effect size (``"Hedges' g"``, ``"Cohen's h"``) and ``effect_size`` is its value
    for ``a`` against ``b``.

    For a trend, ``group_a`` is the group, ``label`` the measure (``"tone"``, a cue id,
    a frame ``scheme:id``) and ``name`` its readable name; ``estimate_a`` /
    ``estimate_b`` are the estimates in the first and last time bin; ``diff``,
    ``diff_low`` and ``diff_high`` the slope per bin with its interval (tone units, or
    a share: 0.07 is seven points); ``effect`` says ``"slope per month"`` (or the bin
    in use) and ``effect_size`` repeats the slope. Fields that do not apply are empty
    strings or NaN.
    """

    kind: str
    text: str
    group_a: str = ""
    group_b: str = ""
    stratum: str = ""
    label: str = ""
    name: str = ""
    estimate_a: float = math.nan
    low_a: float = math.nan
    high_a: float = math.nan
    estimate_b: float = math.nan
    low_b: float = math.nan
    high_b: float = math.nan
    diff: float = math.nan
    diff_low: float = math.nan
    diff_high: float = math.nan
    effect: str = ""
    effect_size: float = math.nan
    p_adj: float = math.nan
    significant: bool = False
    n_tests: int = 0


# -- number formats ------------------------------------------------------------------------
def _num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _pct(v: float) -> str:
    return "–" if math.isnan(v) else f"{100 * v:.0f}%"


def _tone(v: float) -> str:
    return "–" if math.isnan(v) else f"{v:+.2f}".replace("-", "−")


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _effect(name: str, v: float) -> str:
    if not math.isfinite(v):
        return f"{name} not defined"
    size = abs(v)
    return f"{name} {size:.1f}" if size >= 1 else f"{name} {size:.2f}"


def _interval(fmt, low: float, high: float) -> str:
    return "" if math.isnan(low) or math.isnan(high) else f" [{fmt(low)}, {fmt(high)}]"


# -- names ---------------------------------------------------------------------------------
def manifest_value(manifest: Any, key: str) -> Any:
    """The first value under ``key`` anywhere in a (nested) manifest, or None."""
    if isinstance(manifest, Mapping):
        if isinstance(manifest.get(key), str):
            return manifest[key]
        for value in manifest.values():
            found = manifest_value(value, key)
            if found is not None:
                return found
    return None


@lru_cache(maxsize=8)
def _catalogue_names(name: str, sha256: str | None) -> tuple[tuple[str, str], ...]:
    try:
        cat = load_catalogue(name)
    except (CatalogueError, OSError, ValueError, KeyError):
        return ()
    if sha256 and cat.sha256 and cat.sha256 != sha256:
        return ()
    return tuple((c.id, c.name) for c in cat)


def cue_names(cmp: "OutletComparison", names: Mapping[str, str] | None = None
              ) -> dict[str, str]:
    """Readable names per cue id (and per frame ``scheme:id`` when ``names`` gives them):
    ``names`` itself when given, else the names of the catalogue the comparison's
    manifest records (when it loads and its hash matches), else an empty dict. Callers
    fall back to the id with ``_`` read as spaces for a label the dict lacks."""
    if names is not None:
        return dict(names)
    catalogue = manifest_value(cmp.manifest, "catalogue")
    if not catalogue:
        return {}
    return dict(_catalogue_names(catalogue, manifest_value(cmp.manifest, "catalogue_sha256")))


def _readable(label: str, names: Mapping[str, str]) -> str:
    """A cue's (frame's) name as the tables write it: the catalogue's name unchanged,
    else the id (without its scheme) with ``_`` read as spaces."""
    name = names.get(label)
    if name:
        return name
    return label.split(":", 1)[-1].replace("_", " ")


def _named(kind: str, name: str, label: str) -> str:
    """A cue or frame in a sentence, its name quoted as the tables write it: ``the cue
    “Mutual benefit”``, ``the frame “conflict” (narrative)``."""
    if kind == "cue":
        return f"the cue “{name}”"
    return f"the frame “{name}” ({label.split(':', 1)[0]})"


# -- the findings --------------------------------------------------------------------------
def _lookup(table: pd.DataFrame, cmp: "OutletComparison", stratum: Any, group: Any,
            column: str | None = None, label: Any = None) -> Mapping[str, Any]:
    """The row of a per-group table for ``group`` (in ``stratum``), or an empty dict."""
    if not len(table):
        return {}
    mask = table[cmp.by].astype(str) == str(group)
    if cmp.within:
        mask &= table[cmp.within].astype(str) == str(stratum)
    if column is not None:
        mask &= table[column] == label
    rows = table[mask]
    return rows.iloc[0].to_dict() if len(rows) else {}


def _significant(row: Mapping[str, Any], alpha: float | None) -> bool:
    p = _num(row.get("p_adj"))
    if math.isnan(p):
        return False
    return p < alpha if alpha is not None else bool(row.get("significant"))


def _prefix(cmp: "OutletComparison", stratum: str) -> str:
    return f"Within {cmp.within} {stratum}: " if cmp.within else ""


def _tone_finding(cmp: "OutletComparison", row: Mapping[str, Any], sig: bool) -> Finding:
    stratum = str(row[cmp.within]) if cmp.within else ""
    a, b = str(row["group_a"]), str(row["group_b"])
    ma, mb, g = _num(row["mean_a"]), _num(row["mean_b"]), _num(row["hedges_g"])
    diff, dlow, dhigh = (_num(row[c]) for c in ("mean_diff", "diff_ci_low", "diff_ci_high"))
    if mb > ma:  # the higher group first
        a, b, ma, mb, g, diff, dlow, dhigh = b, a, mb, ma, -g, -diff, -dhigh, -dlow
    ga, gb = (_lookup(cmp.groups, cmp, stratum, x) for x in (a, b))
    la, ha = _num(ga.get("tone_ci_low")), _num(ga.get("tone_ci_high"))
    lb, hb = _num(gb.get("tone_ci_low")), _num(gb.get("tone_ci_high"))
    p = _num(row["p_adj"])
    how = "more promotional" if ma > 0 else "less critical"
    text = (f"{_prefix(cmp, stratum)}Articles from {a} are {how} than those from {b}: mean tone "
            f"{_tone(ma)}{_interval(_tone, la, ha)} against {_tone(mb)}{_interval(_tone, lb, hb)} "
            f"({_effect(_HEDGES, g)}, BH-adjusted p {_p(p)}).")
    return Finding("tone", text, a, b, stratum, "", "tone", ma, la, ha, mb, lb, hb, diff, dlow,
                   dhigh, _HEDGES, g, p, sig)


def _prevalence_finding(cmp: "OutletComparison", row: Mapping[str, Any], kind: str,
                        per_group: pd.DataFrame, names: Mapping[str, str], sig: bool) -> Finding:
    stratum = str(row[cmp.within]) if cmp.within else ""
    label = str(row[kind])
    a, b = str(row["group_a"]), str(row["group_b"])
    pa, pb, h = _num(row["p_a"]), _num(row["p_b"]), _num(row["cohens_h"])
    diff, dlow, dhigh = (_num(row[c]) for c in ("diff", "diff_ci_low", "diff_ci_high"))
    if pb > pa:
        a, b, pa, pb, h, diff, dlow, dhigh = b, a, pb, pa, -h, -diff, -dhigh, -dlow
    ra, rb = (_lookup(per_group, cmp, stratum, x, kind, row[kind]) for x in (a, b))
    la, ha = _num(ra.get("prevalence_low")), _num(ra.get("prevalence_high"))
    lb, hb = _num(rb.get("prevalence_low")), _num(rb.get("prevalence_high"))
    name = _readable(label, names)
    scheme = str(row.get("scheme") or label.split(":", 1)[0])
    what = _named(kind, name, label if ":" in label else f"{scheme}:{label}")
    p = _num(row["p_adj"])
    text = (f"{_prefix(cmp, stratum)}{a} uses {what} in {_pct(pa)} of its articles"
            f"{_interval(_pct, la, ha)} against {_pct(pb)} for {b} "
            f"({_effect(_COHEN, h)}, BH-adjusted p {_p(p)}).")
    return Finding(kind, text, a, b, stratum, label, name, pa, la, ha, pb, lb, hb, diff, dlow,
                   dhigh, _COHEN, h, p, sig)


def _small_groups(cmp: "OutletComparison") -> list[Finding]:
    out = []
    for _, r in cmp.groups.iterrows():
        note = str(r.get("note") or "")
        if "too few" not in note:
            continue
        label = " / ".join(str(r[k]) for k in cmp.keys)
        n = int(_num(r.get("n_articles")) or 0)
        what = ("too few articles" if n < 2 else "too few articles with a tone")
        text = (f"{label} has {what} to be tested ({n} article{'s' if n != 1 else ''}); "
                "its estimates are in the tables but it enters no test"
                + (" of tone." if n >= 2 else "."))
        out.append(Finding("small_group", text, group_a=label))
    return out


def _rank(f: Finding) -> float:
    e = f.effect_size
    return abs(e) if not math.isnan(e) else -1.0


def findings(cmp: "OutletComparison", *, alpha: float | None = None,
             max_items: int = DEFAULT_MAX_ITEMS,
             names: Mapping[str, str] | None = None) -> list[Finding]:
    """The findings of ``cmp``, ranked (see the module docstring).

    ``alpha``: the significance level for the BH-adjusted p-values; None keeps the
    comparison's own ``significant`` column. ``max_items``: the most significant
    contrasts listed (a last line counts the rest). ``names``: readable names per cue id
    (or frame ``scheme:id``), overriding the catalogue's.
    """
    names = cue_names(cmp, names)
    families = [("tone", cmp.pairwise_tone, None), ("cue", cmp.pairwise_cues, cmp.cues),
                ("frame", cmp.pairwise_frames, cmp.frames)]
    significant: list[Finding] = []
    closing: list[Finding] = []
    for kind, table, per_group in families:
        if table is None or not len(table):
            continue
        ran = [r for _, r in table.iterrows() if not math.isnan(_num(r.get("p_value")))
               and not math.isnan(_num(r.get("p_adj")))]
        n_sig = 0
        for r in ran:
            if not _significant(r, alpha):
                continue
            n_sig += 1
            significant.append(_tone_finding(cmp, r, True) if kind == "tone" else
                               _prevalence_finding(cmp, r, kind, per_group, names, True))
        if not ran or n_sig == len(ran):
            continue
        other = "other " if n_sig else ""
        text = (f"No {other}difference in {_FAMILY_TOPIC[kind]} is significant after BH "
                f"correction ({len(ran)} test{'s' if len(ran) != 1 else ''} in all).")
        closing.append(Finding("summary", text, label=kind, n_tests=len(ran)))
    significant.sort(key=_rank, reverse=True)
    shown = significant[:max(max_items, 0)]
    if len(significant) > len(shown):
        more = len(significant) - len(shown)
        shown.append(Finding("summary", "1 more significant difference is in the tables."
                             if more == 1 else
                             f"{more} more significant differences are in the tables."))
    return shown + closing + _small_groups(cmp)


#: The same function, under a name that does not clash with
#: :meth:`OutletComparison.findings <framing.analysis.compare.OutletComparison.findings>`.
ranked_findings = findings


def findings_markdown(items: list[Finding], title: str = "Findings",
                      empty: str = "No contrasts could be tested.") -> str:
    """The findings as a Markdown section: a level-2 heading ``title`` and a numbered
    list (``empty`` as text when there is nothing to list)."""
    if not items:
        return f"## {title}\n\n{empty}\n"
    return f"## {title}\n\n" + "\n".join(f"{i}. {f.text}" for i, f in
                                        enumerate(items, 1)) + "\n"


# -- trends over time ----------------------------------------------------------------------
def _signed(v: float, digits: int) -> str:
    """``v`` with a sign (a minus sign, not a hyphen) and ``digits`` decimals; unsigned
    when it rounds to zero."""
    r = round(v, digits)
    if r == 0:
        return f"{0:.{digits}f}"
    return f"{r:+.{digits}f}".replace("-", "−")


def _slope_text(kind: str, slope: float, low: float, high: float, unit: str) -> str:
    """``+7 points per month [+2, +12]`` for a share, ``−0.072 per month [−0.110,
    −0.034]`` for tone (one more decimal for shares under ten points a bin)."""
    if kind == "tone":
        digits, scale, what = 3, 1.0, f"per {unit}"
    else:
        scale, what = 100.0, f"points per {unit}"
        digits = 0 if abs(100 * slope) >= 10 else 1
    fmt = (lambda v: _signed(scale * v, digits))  # noqa: E731
    return f"{fmt(slope)} {what}{_interval(fmt, low, high)}"


def _trend_subject(kind: str, label: str, name: str, group: str) -> str:
    """The subject of a trend sentence: ``Mean tone at A``, ``The cue “Mutual benefit”
    at A``, ``The frame “conflict” (narrative) at A``."""
    if kind == "tone":
        return f"Mean tone at {group}"
    what = _named("cue" if kind == "cue" else "frame", name, label)
    return f"{what[:1].upper()}{what[1:]} at {group}"


def _trend_finding(cmp: "OutletComparison", row: Mapping[str, Any], names: Mapping[str, str],
                   unit: str, sig: bool) -> Finding:
    stratum = str(row[cmp.within]) if cmp.within else ""
    group, kind, label = str(row[cmp.by]), str(row["kind"]), str(row["measure"])
    name = "tone" if kind == "tone" else _readable(label, names)
    slope, low, high = (_num(row[c]) for c in ("slope", "slope_ci_low", "slope_ci_high"))
    first, last = _num(row["estimate_first"]), _num(row["estimate_last"])
    p0, p1 = str(row["first_period"]), str(row["last_period"])
    fmt = _tone if kind == "tone" else _pct
    of = "" if kind == "tone" else " of articles"
    verb = "rose" if slope > 0 else "fell" if slope < 0 else "stayed level"
    if (last - first) * slope > 0:  # the ends agree with the line
        change = f"{verb} from {fmt(first)}{of} in {p0} to {fmt(last)} in {p1}"
    else:  # a noisy first or last bin: say where the fitted line goes
        change = (f"{verb} between {p0} and {p1}, from {fmt(_num(row['trend_first']))} to "
                  f"{fmt(_num(row['trend_last']))}{of} on the fitted line")
    p = _num(row["p_adj"])
    text = (f"{_prefix(cmp, stratum)}{_trend_subject(kind, label, name, group)} {change} "
            f"({_slope_text(kind, slope, low, high, unit)}, BH-adjusted p {_p(p)}).")
    return Finding(_TREND, text, group, "", stratum, label, name, first, math.nan, math.nan,
                   last, math.nan, math.nan, slope, low, high, f"slope per {unit}", slope, p,
                   sig)


def trend_findings(cmp: "OutletComparison", *, alpha: float | None = None,
                   max_items: int = DEFAULT_MAX_ITEMS,
                   names: Mapping[str, str] | None = None) -> list[Finding]:
    """The trends over time of ``cmp`` (its ``trends`` table) in sentences.

    First the significant trends (BH-adjusted p below ``alpha``; None keeps the table's
    own ``significant`` column), strongest evidence first (smallest adjusted p, then the
    largest test statistic), at most ``max_items`` of them (a line counts the rest);
    then one ``"summary"`` line counting the trends that are not significant and one
    counting the trends that could not be tested (too few time bins or articles). Empty
    for a comparison without ``time=``. ``names`` as for :func:`findings`.
    """
    table = getattr(cmp, "trends", None)
    if cmp.time is None or table is None or not len(table):
        return []
    names = cue_names(cmp, names)
    unit = period_unit(cmp.freq)
    rows = [r for _, r in table.iterrows()]
    ran = [r for r in rows if not math.isnan(_num(r.get("p_value")))
           and not math.isnan(_num(r.get("p_adj")))]
    sig = [r for r in ran if _significant(r, alpha)]
    sig.sort(key=lambda r: (_num(r["p_adj"]), -abs(_num(r.get("statistic")))))
    shown = [_trend_finding(cmp, r, names, unit, True) for r in sig[:max(max_items, 0)]]
    if len(sig) > len(shown):
        more = len(sig) - len(shown)
        shown.append(Finding("summary", "1 more significant trend is in the trends table."
                             if more == 1 else
                             f"{more} more significant trends are in the trends table.",
                             label=_TREND))
    if len(ran) > len(sig):
        other = "other " if sig else ""
        shown.append(Finding("summary", f"No {other}trend over time is significant after BH "
                             f"correction ({len(ran)} test{'s' if len(ran) != 1 else ''} in "
                             "all).", label=_TREND, n_tests=len(ran)))
    skipped = len(rows) - len(ran)
    if skipped:
        shown.append(Finding("summary", f"{skipped} trend{'s' if skipped != 1 else ''} could "
                             "not be tested (too few time bins or articles; the note column "
                             "of the trends table says which).", label=_TREND))
    return shown
