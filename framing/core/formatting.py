"""Numbers and text formatted for people, and the small HTML pieces notebooks render.

One place for how a share, a signed score, an interval and a p-value read, so that the
article card (:meth:`framing.pipeline.results.ArticleResult._repr_html_`) and the outlet
comparison (:meth:`framing.analysis.compare.OutletComparison._repr_html_`) agree:

>>> format_percent_interval(0.58, 0.32, 0.81)
'58% [32–81%]'
>>> format_signed_interval(0.49, 0.31, 0.63)
'+0.49 [+0.31, +0.63]'
>>> format_p_value(2.776e-17), format_p_value(0.04321)
('< 0.001', '0.043')

A missing value (None, NaN, ``pd.NA``) reads :data:`MISSING`. A value that rounds to
zero at the shown precision is written as zero, without a sign, so a bound of ``1e-17``
or ``-3e-9`` never shows up in scientific notation or as ``-0``. Negative numbers carry
the true minus sign :data:`MINUS` (U+2212), as the written findings do, not a hyphen:

>>> format_signed_interval(-0.1234, -0.3, 0.05)
'−0.12 [−0.30, +0.05]'

The HTML helpers escape every piece of text they are given unless it is wrapped in
:class:`Html` (markup the caller built from escaped parts). The output needs no external
resource and no JavaScript. Standard library only.
"""

from __future__ import annotations

import html
import math
import os
import re
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Iterable, Sequence

__all__ = [
    "local_path",
    "local_paths",
    "HTML_STYLE",
    "counted",
    "MINUS",
    "MISSING",
    "Html",
    "escape",
    "format_count",
    "format_number",
    "format_p_value",
    "format_percent",
    "format_percent_interval",
    "format_signed",
    "format_signed_interval",
    "html_table",
    "is_missing",
]

#: What stands for a missing number (an en dash).
MISSING = "–"
#: The sign of a negative number (U+2212 MINUS SIGN, not the hyphen-minus).
MINUS = "\u2212"


def _minus(text: str) -> str:
    """``text`` with its hyphen-minus signs written as :data:`MINUS`."""
    return text.replace("-", MINUS)


def is_missing(value: Any) -> bool:
    """True for None, NaN and values such as ``pd.NA`` whose truth is undefined."""
    if value is None:
        return True
    try:
        return bool(value != value)  # only NaN differs from itself
    except (TypeError, ValueError):  # pd.NA: its comparisons have no truth value
        return True


def _rounded(value: Any, digits: int) -> float:
    """``value`` rounded to ``digits`` decimals, with a result of zero made ``+0.0``."""
    r = round(float(value), digits)
    return 0.0 if r == 0 else r


def format_number(value: Any, digits: int = 2) -> str:
    """``value`` with ``digits`` decimals (``0.4567`` -> ``0.46``, ``-0.3`` -> ``−0.30``,
    with :data:`MINUS`); never scientific notation; :data:`MISSING` for a missing value."""
    if is_missing(value):
        return MISSING
    v = float(value)
    if math.isinf(v):
        return "∞" if v > 0 else MINUS + "∞"
    return _minus(f"{_rounded(v, digits):.{digits}f}")


def format_signed(value: Any, digits: int = 2) -> str:
    """``value`` with an explicit sign and ``digits`` decimals (``0.49`` -> ``+0.49``,
    ``-0.3`` -> ``−0.30``, with :data:`MINUS`); a value that rounds to zero is written
    unsigned (``0.00``); :data:`MISSING` for a missing value."""
    if is_missing(value):
        return MISSING
    v = float(value)
    if math.isinf(v):
        return "+∞" if v > 0 else MINUS + "∞"
    r = _rounded(v, digits)
    return f"{r:.{digits}f}" if r == 0 else _minus(f"{r:+.{digits}f}")


def format_signed_interval(value: Any, low: Any, high: Any, digits: int = 2) -> str:
    """A signed estimate with its interval: ``+0.49 [+0.31, +0.63]``. Without either
    bound the estimate stands alone; a missing estimate reads :data:`MISSING`."""
    if is_missing(value):
        return MISSING
    text = format_signed(value, digits)
    if is_missing(low) and is_missing(high):
        return text
    return f"{text} [{format_signed(low, digits)}, {format_signed(high, digits)}]"


def format_percent(share: Any, digits: int = 0) -> str:
    """A share in [0, 1] as a percentage with ``digits`` decimals (``0.584`` -> ``58%``);
    a tiny share reads ``0%``; :data:`MISSING` for a missing value."""
    if is_missing(share):
        return MISSING
    return f"{_rounded(100 * float(share), digits):.{digits}f}%"


def format_percent_interval(share: Any, low: Any, high: Any, digits: int = 0) -> str:
    """A share with its interval, the percent sign once at the end: ``58% [32–81%]``.
    Without either bound the share stands alone; a missing share reads :data:`MISSING`."""
    if is_missing(share):
        return MISSING
    text = format_percent(share, digits)
    if is_missing(low) and is_missing(high):
        return text
    lo = format_percent(low, digits).rstrip("%")
    hi = format_percent(high, digits)
    return f"{text} [{lo}–{hi}]"


def format_p_value(p: Any, floor: float = 0.001) -> str:
    """A p-value with 3 decimals (``0.04321`` -> ``0.043``), or ``< 0.001`` below
    ``floor``; never scientific notation; :data:`MISSING` for a missing value."""
    if is_missing(p):
        return MISSING
    v = min(float(p), 1.0)
    if v < floor:
        return f"< {floor:g}"
    return f"{v:.3f}"


def format_count(n: Any) -> str:
    """A whole number with thousands separators (``12345`` -> ``12,345``);
    :data:`MISSING` for a missing value."""
    if is_missing(n):
        return MISSING
    return f"{int(n):,}"


class Html(str):
    """Text that is already HTML (built from escaped parts): :func:`escape` keeps it."""

    __slots__ = ()


def escape(value: Any) -> str:
    """``value`` as HTML-safe text (``<``, ``>``, ``&`` and quotes escaped), unless it is
    :class:`Html` already; None reads as an empty string."""
    if isinstance(value, Html):
        return str(value)
    return "" if value is None else html.escape(str(value), quote=True)


def html_table(header: Sequence[Any], rows: Iterable[Sequence[Any]], *,
               numeric: Sequence[bool] | None = None, caption: Any = None) -> Html:
    """A plain ``<table>``: every header and cell is escaped (see :func:`escape`);
    ``numeric`` marks right-aligned columns (default: all but the first)."""
    numeric = list(numeric) if numeric is not None else [i > 0 for i in range(len(header))]

    def cls(i: int) -> str:
        return ' class="num"' if i < len(numeric) and numeric[i] else ""

    parts = ["<table>"]
    if caption is not None:
        parts.append(f"<caption>{escape(caption)}</caption>")
    parts.append("<thead><tr>" + "".join(f"<th{cls(i)}>{escape(h)}</th>"
                                         for i, h in enumerate(header)) + "</tr></thead>")
    parts.append("<tbody>")
    for row in rows:
        parts.append("<tr>" + "".join(f"<td{cls(i)}>{escape(c)}</td>"
                                      for i, c in enumerate(row)) + "</tr>")
    parts.append("</tbody></table>")
    return Html("".join(parts))


#: A small stylesheet scoped to ``.framing-html`` (no fonts or images fetched).
HTML_STYLE = Html(
    "<style>"
    ".framing-html{font-family:sans-serif;font-size:13px;line-height:1.4;max-width:60em}"
    ".framing-html table{border-collapse:collapse;margin:.3em 0 .8em}"
    ".framing-html th,.framing-html td{border-bottom:1px solid #ddd;padding:2px 8px;"
    "text-align:left;vertical-align:top}"
    ".framing-html th{font-weight:600}"
    ".framing-html .num{text-align:right;white-space:nowrap}"
    ".framing-html .tag{display:inline-block;border:1px solid #bbb;border-radius:3px;"
    "padding:0 4px;margin-right:3px;font-size:12px}"
    ".framing-html .muted{color:#666}"
    ".framing-html blockquote{margin:.2em 0 .5em 1em;font-style:italic}"
    ".framing-html h4{margin:.6em 0 .2em}"
    "</style>"
)


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun``, the noun in the plural unless ``n`` is 1: ``"1 article"``,
    ``"2 articles"``; ``plural`` for nouns that take more than an ``s``."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


# -- paths in reports that may be shared --------------------------------------------
#: An absolute local path in a piece of text: POSIX (``/home/...``) or Windows
#: (``C:\...``), not the slash of ``a / b``, ``4/12``, ``and/or`` or a URL.
_ABS_PATH = re.compile(r"(?<![\w./:\\~-])(?:/|[A-Za-z]:[\\/])[^\s\"'<>|*?]+")
_PATH_END = ".,;:)]}"


def _path_roots() -> list[Path]:
    """Folders a local path is shown relative to, in order: the folder holding the
    ``framing`` package (the repository, or ``site-packages``) and the working folder
    (unless it is a top-level folder, which would show most of the path)."""
    roots = [Path(__file__).resolve().parents[2]]
    try:
        cwd = Path.cwd()
    except OSError:  # pragma: no cover - a deleted working folder
        cwd = None
    if cwd is not None and len(cwd.parts) > 2:
        roots.append(cwd)
    return roots


def local_path(path: str) -> str:
    """An absolute local path for a report that may be shared: relative to the
    ``framing`` installation or the working folder when inside one
    (``models/cues-builtin/error_rates.json``), the part after ``site-packages`` for an
    installed package, else its last part only (``rates.json``)."""
    windows = bool(re.match(r"[A-Za-z]:[\\/]", path))
    p = PureWindowsPath(path) if windows else PurePosixPath(path)
    if not windows:
        for root in _path_roots():
            for base in dict.fromkeys((root, Path(os.path.abspath(root)))):
                try:
                    rel = p.relative_to(PurePosixPath(base))
                except ValueError:
                    continue
                if rel.parts:
                    return rel.as_posix()
    parts = p.parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts[:-1]:
            return "/".join(parts[parts.index(marker) + 1:])
    return p.name or path


def local_paths(text: str) -> str:
    """``text`` with every absolute local path in it shortened (see :func:`local_path`),
    so that the report shows no user or machine folders."""
    def short(m: re.Match) -> str:
        path = m.group(0)
        end = len(path)
        while end > 1 and path[end - 1] in _PATH_END:
            end -= 1
        return local_path(path[:end]) + path[end:]
    return _ABS_PATH.sub(short, str(text))
