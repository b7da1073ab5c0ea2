"""Text preparation: HTML to text, normalisation and sentence segmentation.

Every character of the cleaned text remembers which characters of the caller's
original text it came from, so that sentences and matched spans are reported as
offsets into the *original* string: ``original[s.start:s.end] == s.text`` always.

A whole web page (HTML with ``<html>``, ``<body>``, ``<nav>``, ``<article>`` ... tags) is
cut down to its main content: trafilatura finds the article's text blocks in the page,
each block is found again in the tag-stripped text, and only those stretches (with their
offset map) are segmented, so navigation, headers, footers and cookie banners are not
scored. When trafilatura is missing, fails or finds nothing that can be placed, the whole
tag-stripped text is kept, as for an HTML fragment (:attr:`PreparedText.html_extraction`
says which happened). trafilatura only ever sees the given string; nothing is fetched.

This module knows nothing of encoders or heads. Sentences longer than a model's
window are split by :func:`split_long_sentences`, which takes a tokenizer-like
callable from the caller.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Callable, Sequence

import numpy as np
import syntok.segmenter as _syntok

__all__ = [
    "Sentence",
    "PreparedText",
    "prepare",
    "looks_like_html",
    "looks_like_page",
    "main_content_extractor",
    "main_content_spans",
    "normalise",
    "segment",
    "split_long_sentences",
    "detect_language",
]

# Characters dropped outright: zero-width, bidi controls, soft hyphen, BOM.
_DROP = set("\u00ad\u180e\u200b\u200c\u200d\u2060\ufeff\u200e\u200f"
            "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c")
# Typographic punctuation folded to ASCII so patterns written with ASCII match.
_FOLD = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    "\u2015": "-", "\u2212": "-",
}
# Runs copied verbatim (printable ASCII except space), whitespace runs, anything else.
_TOKENS = re.compile(r"[!-~]+|\s+|.", re.DOTALL)

_HTML_HINT = re.compile(
    r"<\s*/?\s*(p|div|br|span|a|b|i|em|strong|html|body|head|article|section|h[1-6]|"
    r"ul|ol|li|table|tr|td|th|script|style|blockquote|figure|figcaption|header|footer|"
    r"main|nav|img|meta|title)\b[^>]*>|&(?:[a-zA-Z]{2,8}|#\d{1,7}|#x[0-9a-fA-F]{1,6});",
    re.IGNORECASE,
)
_BLOCK_TAGS = {
    "p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5",
    "h6", "article", "section", "blockquote", "header", "footer", "figure",
    "figcaption", "main", "nav", "title", "hr", "pre", "dd", "dt", "td", "th",
}
_SKIP_TAGS = {"script", "style", "noscript", "template", "head"}
# Tags that make HTML a web page (with furniture around an article), not a fragment.
_PAGE_HINT = re.compile(
    r"<\s*(?:!doctype\s+html|html|body|nav|header|footer|aside|main|article)\b", re.IGNORECASE)
#: pages longer than this (characters) are not given to trafilatura; their tags are stripped
MAIN_CONTENT_MAX_CHARS = 5_000_000
# trafilatura's text blocks, in its XML output
_XML_BLOCKS = {"p", "head", "item", "cell", "quote", "code", "list", "table", "row"}
_XML_LEAVES = {"p", "head", "item", "cell", "code"}


@dataclass(frozen=True)
class Sentence:
    """One sentence (or one window-sized piece of a long sentence).

    ``start``/``end`` are offsets into the caller's original text and ``text`` is
    exactly ``original[start:end]``; ``clean`` is the normalised form the models read.
    ``part`` is 0 for a whole sentence, and 1, 2, ... for pieces of a split one.
    """

    index: int
    start: int
    end: int
    text: str
    clean: str
    clean_start: int
    clean_end: int
    part: int = 0


@dataclass
class PreparedText:
    """The result of :func:`prepare`: cleaned text, its offset map, and sentences."""

    original: str
    clean: str
    src_start: list[int] = field(repr=False)
    src_end: list[int] = field(repr=False)
    sentences: list[Sentence] = field(default_factory=list)
    is_html: bool = False
    truncated_at: int | None = None
    #: how HTML became text: ``"main_content"`` (trafilatura's main content of a page),
    #: ``"tags"`` (tags stripped: an HTML fragment, or main content not asked for),
    #: ``"tags_fallback"`` (a page whose main content could not be had: trafilatura
    #: missing or failing, nothing found, or nothing placed in the text); None for text
    html_extraction: str | None = None

    def to_clean(self, start: int, end: int) -> tuple[int, int]:
        """Map a span of :attr:`original` to the span of :attr:`clean` it produced
        (empty, at the right place, if it produced nothing)."""
        import bisect

        a = bisect.bisect_left(self.src_end, start + 1)
        b = bisect.bisect_left(self.src_start, end)
        return a, max(a, b)

    def to_original(self, clean_start: int, clean_end: int) -> tuple[int, int]:
        """Map a half-open span of :attr:`clean` to a span of :attr:`original`."""
        if clean_end <= clean_start:
            pos = self.src_start[clean_start] if clean_start < len(self.src_start) else len(self.original)
            return pos, pos
        return self.src_start[clean_start], self.src_end[clean_end - 1]


def looks_like_html(text: str) -> bool:
    """Return True if ``text`` contains HTML tags or character references."""
    return _HTML_HINT.search(text, 0, 20000) is not None


class _HTMLPieces(HTMLParser):
    """Collect text pieces of an HTML document with their source offsets."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self.source = source
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
        self.pieces: list[tuple[str, int, int]] = []  # (text, src_start, src_end or -1 verbatim)
        self.skip_depth = 0

    def _pos(self) -> int:
        line, col = self.getpos()
        return self.line_starts[line - 1] + col

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP_TAGS:
            self.skip_depth += 1
        if tag in _BLOCK_TAGS:
            p = self._pos()
            self.pieces.append(("\n\n", p, p))

    def handle_startendtag(self, tag, attrs):
        if tag in _BLOCK_TAGS:
            p = self._pos()
            self.pieces.append(("\n\n", p, p))

    def handle_endtag(self, tag):
        if tag in _SKIP_TAGS and self.skip_depth:
            self.skip_depth -= 1
        if tag in _BLOCK_TAGS:
            p = self._pos()
            self.pieces.append(("\n\n", p, p))

    def handle_data(self, data):
        if not self.skip_depth and data:
            p = self._pos()
            self.pieces.append((data, p, -1))

    def _ref(self, raw: str) -> None:
        if self.skip_depth:
            return
        p = self._pos()
        end = p + len(raw)
        if self.source.startswith(raw + ";", p):
            end += 1
        written = self.source[p:end]
        value = html.unescape(written)
        # an unknown reference stays as written, semicolon included
        self.pieces.append((value, p, end))

    def handle_entityref(self, name):
        self._ref("&" + name)

    def handle_charref(self, name):
        self._ref("&#" + name)


def _html_pieces(text: str) -> list[tuple[str, int, int]]:
    parser = _HTMLPieces(text)
    try:
        parser.feed(text)
        parser.close()
    except Exception:  # html.parser is lenient; keep whatever it collected
        pass
    return parser.pieces


def normalise(text: str, *, html: bool | None = None) -> tuple[str, list[int], list[int], bool]:
    """Normalise ``text`` and map every output character back to the input.

    Steps: HTML to text (when ``html`` is True, or None and the text looks like HTML),
    NFKC normalisation, typographic quotes and dashes folded to ASCII, zero-width,
    bidi and control characters dropped, whitespace runs collapsed to one space
    (a run holding a blank line becomes a paragraph break ``"\\n\\n"``), ends stripped.

    Returns ``(clean, src_start, src_end, is_html)`` where clean character ``i`` came
    from ``text[src_start[i]:src_end[i]]``.
    """
    is_html = looks_like_html(text) if html is None else bool(html)
    pieces = _html_pieces(text) if is_html else [(text, 0, -1)]

    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    pending_space: tuple[str, int, int] | None = None  # (" " or "\n\n", src_start, src_end)

    def flush_space() -> None:
        nonlocal pending_space
        if pending_space is not None:
            if out:  # leading whitespace is stripped
                out.append(pending_space[0])
                starts.extend([pending_space[1]] * len(pending_space[0]))
                ends.extend([pending_space[2]] * len(pending_space[0]))
            pending_space = None

    def add_space(kind: str, s: int, e: int) -> None:
        nonlocal pending_space
        if pending_space is None:
            pending_space = (kind, s, e)
        else:
            k = "\n\n" if "\n\n" in (kind, pending_space[0]) else " "
            pending_space = (k, pending_space[1], max(e, pending_space[2]))

    for piece, base, fixed_end in pieces:
        if fixed_end >= 0 and piece == "\n\n" and fixed_end == base:
            add_space("\n\n", base, base)
            continue
        if fixed_end >= 0:  # a character reference: all output maps to the whole ref
            for ch in piece:
                _emit_char(ch, base, fixed_end, out, starts, ends, add_space, flush_space)
            continue
        for m in _TOKENS.finditer(piece):
            tok = m.group()
            s = base + m.start()
            if tok[0] > " " and tok[0] <= "~":  # printable ASCII run: copy verbatim
                flush_space()
                out.append(tok)
                starts.extend(range(s, s + len(tok)))
                ends.extend(range(s + 1, s + len(tok) + 1))
            elif tok.isspace():
                kind = "\n\n" if tok.count("\n") + tok.count("\u2029") >= 2 or "\u2029" in tok else " "
                add_space(kind, s, s + len(tok))
            else:
                _emit_char(tok, s, s + 1, out, starts, ends, add_space, flush_space)
    clean = "".join(out)
    return clean, starts, ends, is_html


def _emit_char(ch, s, e, out, starts, ends, add_space, flush_space) -> None:
    if ch in _DROP:
        return
    if ch.isspace():
        add_space("\n\n" if ch == "\u2029" else " ", s, e)
        return
    cat = unicodedata.category(ch)
    if cat in ("Cc", "Cs", "Cf"):
        return
    folded = _FOLD.get(ch)
    if folded is None:
        folded = unicodedata.normalize("NFKC", ch) if ord(ch) > 127 else ch
        # NFKC can yield whitespace or characters we drop; keep only printable ones
        folded = "".join(
            c for c in folded
            if c not in _DROP and unicodedata.category(c) not in ("Cc", "Cs", "Cf")
        )
        folded = _FOLD.get(folded, folded)
        if folded[:1].isspace():  # e.g. a spacing accent: NFKC gives space + combining mark
            add_space(" ", s, e)
            folded = folded.lstrip()
        if not folded:
            return
    flush_space()
    out.append(folded)
    starts.extend([s] * len(folded))
    ends.extend([e] * len(folded))


def looks_like_page(text: str) -> bool:
    """Return True if ``text`` is a web page rather than an HTML fragment: it has a
    doctype, ``<html>``, ``<body>``, ``<nav>``, ``<header>``, ``<footer>``, ``<aside>``,
    ``<main>`` or ``<article>`` tag."""
    return _PAGE_HINT.search(text) is not None


@functools.lru_cache(maxsize=1)
def _trafilatura():
    try:
        import trafilatura
    except Exception:  # not installed, or a dependency of it broken: strip tags instead
        return None
    return trafilatura


def main_content_extractor() -> str | None:
    """``"trafilatura <version>"`` when main-content extraction is available (the name a
    configuration records, so that runs with different extractors are not mixed), else
    None."""
    module = _trafilatura()
    if module is None:
        return None
    return f"trafilatura {getattr(module, '__version__', '?')}"


def _main_blocks(page: str) -> tuple[list[str], str | None] | None:
    """trafilatura's main-content text blocks of ``page`` in order, and the title it found
    (None if none); None when it is unavailable, fails or finds nothing."""
    module = _trafilatura()
    if module is None:
        return None
    try:
        xml = module.extract(page, output_format="xml", with_metadata=True,
                             include_comments=False, include_tables=True,
                             include_images=False, include_links=False, deduplicate=False)
        if not xml:
            return None
        root = ElementTree.fromstring(xml)
    except Exception:  # an extractor failure leaves the tag-stripped text
        return None
    main = root.find("main")
    if main is None:
        return None
    blocks = []

    def walk(el) -> None:
        for child in el:
            if child.tag in _XML_LEAVES or child.tag not in _XML_BLOCKS:
                text = "".join(child.itertext())
                if text.strip():
                    blocks.append(text)
            else:  # a container (list, table, quote): its own text, then its blocks
                if child.text and child.text.strip():
                    blocks.append(child.text)
                walk(child)
            if el is not main and child.tail and child.tail.strip():
                blocks.append(child.tail)

    walk(main)
    return blocks, root.get("title")


def _compact(text: str) -> str:
    return text.replace(" ", "").replace("\n", "")


def main_content_spans(page: str, clean: str) -> list[tuple[int, int]] | None:
    """The spans of ``clean`` (the tag-stripped, normalised ``page``: :func:`normalise`)
    that hold the page's main content as trafilatura finds it, in order, not overlapping.

    Each of trafilatura's text blocks is normalised like ``clean`` and looked up in it,
    ignoring whitespace: blocks that occur once anchor the alignment, and the others are
    searched between their anchored neighbours (before the first anchor backwards from it,
    so a headline repeated in the navigation is taken where the article has it). A block
    found nowhere is matched by its first and last 32 characters, or dropped. The title is
    kept when it stands as a paragraph of its own before the main content.

    Returns None (keep the whole text) when trafilatura is unavailable, fails, finds
    nothing, or when less than 80% of what it found can be placed in ``clean``.
    """
    if len(page) > MAIN_CONTENT_MAX_CHARS:
        return None
    found = _main_blocks(page)
    if not found:
        return None
    blocks, title = found
    keys = [_compact(normalise(b, html=False)[0]) for b in blocks]
    keys = [k for k in keys if k]
    if not keys:
        return None
    codes = np.frombuffer(clean.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    where = np.flatnonzero((codes != 32) & (codes != 10))  # compact index -> clean index
    compact = _compact(clean)
    n = len(keys)
    spans: list[tuple[int, int] | None] = [None] * n
    for i, k in enumerate(keys):  # anchors: long blocks found exactly once
        if len(k) >= 40:
            pos = compact.find(k)
            if pos >= 0 and compact.find(k, pos + 1) < 0:
                spans[i] = (pos, pos + len(k))
    last = -1  # anchors must keep the blocks' order
    for i in range(n):
        if spans[i] is not None:
            if spans[i][0] < last:
                spans[i] = None
            else:
                last = spans[i][1]
    first_anchor = next((i for i in range(n) if spans[i] is not None), n)
    hi = spans[first_anchor][0] if first_anchor < n else len(compact)
    for i in range(first_anchor - 1, -1, -1):  # before the first anchor: backwards
        pos = compact.rfind(keys[i], 0, hi)
        if pos >= 0:
            spans[i] = (pos, pos + len(keys[i]))
            hi = pos
    lo = spans[first_anchor][1] if first_anchor < n else 0
    for i in range(first_anchor + 1, n):
        if spans[i] is not None:
            lo = spans[i][1]
            continue
        nxt = next((spans[j][0] for j in range(i + 1, n) if spans[j] is not None), len(compact))
        spans[i] = _find_between(compact, keys[i], lo, nxt)
        if spans[i] is not None:
            lo = spans[i][1]
    placed = [sp for sp in spans if sp is not None]
    if sum(b - a for a, b in placed) < 0.8 * sum(map(len, keys)):
        return None
    if title:
        key = _compact(normalise(title, html=False)[0])
        start = placed[0][0]
        pos = compact.rfind(key, 0, start) if key else -1
        if pos >= 0 and compact[placed[0][0]:placed[0][1]] != key:
            a, b = int(where[pos]), int(where[pos + len(key) - 1]) + 1
            if (a == 0 or clean[a - 1] == "\n") and (b == len(clean) or clean[b] == "\n"):
                placed.insert(0, (pos, pos + len(key)))
    out: list[tuple[int, int]] = []
    for a, b in sorted(placed):
        ca, cb = int(where[a]), int(where[b - 1]) + 1
        if out and ca < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], cb))
        else:
            out.append((ca, cb))
    return out


def _find_between(compact: str, key: str, lo: int, hi: int) -> tuple[int, int] | None:
    """Where ``key`` lies in ``compact[lo:hi]``: exactly, else by its first and last 32
    characters (a block trafilatura changed inside); None if not found."""
    pos = compact.find(key, lo, hi)
    if pos >= 0:
        return pos, pos + len(key)
    if len(key) < 80:
        return None
    head, tail = key[:32], key[-32:]
    a = compact.find(head, lo, hi)
    if a < 0:
        return None
    b = compact.find(tail, a + 32, min(hi, a + 2 * len(key) + 64))
    if b < 0:
        return None
    return a, b + 32


def _keep_spans(clean: str, starts: list[int], ends: list[int],
                spans: Sequence[tuple[int, int]]) -> tuple[str, list[int], list[int]]:
    """``clean`` and its offset map cut down to ``spans``, joined by paragraph breaks (each
    mapped to the empty span where the next kept stretch begins)."""
    out: list[str] = []
    new_starts: list[int] = []
    new_ends: list[int] = []
    for a, b in spans:
        if out:
            out.append("\n\n")
            new_starts += [starts[a]] * 2
            new_ends += [starts[a]] * 2
        out.append(clean[a:b])
        new_starts += starts[a:b]
        new_ends += ends[a:b]
    return "".join(out), new_starts, new_ends


def segment(clean: str) -> list[tuple[int, int]]:
    """Split normalised text into sentences with syntok; return clean-text spans.

    Spans are half-open, stripped of surrounding whitespace, in order, and together
    cover every non-space character of ``clean`` (no text is dropped between them).
    """
    if not clean.strip():
        return []
    firsts: list[int] = []
    # Paragraphs are segmented one at a time: syntok's cost grows with the offset of a
    # paragraph within the text it is given, which is quadratic on long documents.
    base = 0
    for para in clean.split("\n\n"):
        firsts.append(base)
        try:
            for paragraph in _syntok.analyze(para):
                for sentence in paragraph:
                    for token in sentence:
                        firsts.append(base + token.offset)
                        break
        except Exception:  # a segmenter failure must not lose text: the paragraph is one span
            pass
        base += len(para) + 2
    # Token offsets should be increasing; guard against anything else.
    starts = sorted({o for o in firsts if 0 <= o < len(clean)})
    if not starts or starts[0] != 0:
        starts = [0] + starts
    spans = []
    for i, s in enumerate(starts):
        e = starts[i + 1] if i + 1 < len(starts) else len(clean)
        while s < e and clean[s].isspace():
            s += 1
        while e > s and clean[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append((s, e))
    return spans


def split_long_sentences(
    spans: Sequence[tuple[int, int]],
    clean: str,
    max_tokens: int,
    token_offsets: Callable[[str], list[tuple[int, int]]] | None,
) -> list[tuple[int, int, int]]:
    """Split spans whose text exceeds ``max_tokens`` tokens into window-sized pieces.

    ``token_offsets(text)`` returns each token's ``(start, end)`` within ``text``
    (a fast tokenizer's offset mapping). Pieces end at a token boundary, preferring
    the last comma, semicolon, colon or dash in the final quarter of the window.
    Returns ``(start, end, part)`` triples; ``part`` is 0 for an unsplit sentence.
    """
    result: list[tuple[int, int, int]] = []
    for s, e in spans:
        # A token covers at least one character, so short spans cannot overflow.
        if token_offsets is None or e - s <= max_tokens:
            result.append((s, e, 0))
            continue
        offs = [(a, b) for a, b in token_offsets(clean[s:e]) if b > a]
        if len(offs) <= max_tokens:
            result.append((s, e, 0))
            continue
        part = 1
        i = 0
        while i < len(offs):
            j = min(i + max_tokens, len(offs))
            if j < len(offs):
                lo = i + (3 * max_tokens) // 4
                for k in range(j - 1, lo - 1, -1):
                    if clean[s + offs[k][0]:s + offs[k][1]] in {",", ";", ":", "-"}:
                        j = k + 1
                        break
            a, b = s + offs[i][0], s + offs[j - 1][1]
            result.append((a, b, part))
            part += 1
            i = j
    return result


def prepare(
    text: str,
    *,
    html: bool | None = None,
    max_chars: int | None = None,
    max_tokens: int | None = None,
    token_offsets: Callable[[str], list[tuple[int, int]]] | None = None,
    main_content: bool = True,
) -> PreparedText:
    """Normalise and segment ``text``; the one entry point the analyzer uses.

    ``max_chars`` caps how much of the cleaned text is segmented (the rest is not
    scored, and :attr:`PreparedText.truncated_at` records where it stopped, as an
    offset into the original). ``max_tokens`` with ``token_offsets`` splits
    sentences longer than a model window. ``main_content`` keeps only the main content
    of a web page (see :func:`main_content_spans`; offsets still index ``text``);
    ``False`` strips the tags and keeps everything, as for an HTML fragment.

    Raises :class:`TypeError` if ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    clean, starts, ends, is_html = normalise(text, html=html)
    extraction = None
    if is_html:
        extraction = "tags"
        if main_content and looks_like_page(text):
            spans = main_content_spans(text, clean)
            extraction = "tags_fallback" if spans is None else "main_content"
            if spans is not None:
                clean, starts, ends = _keep_spans(clean, starts, ends, spans)
    truncated_at = None
    if max_chars is not None and len(clean) > max_chars:
        truncated_at = ends[max_chars - 1] if max_chars > 0 else 0
        clean, starts, ends = clean[:max_chars], starts[:max_chars], ends[:max_chars]
    spans = segment(clean)
    if max_tokens:
        pieces = split_long_sentences(spans, clean, max_tokens, token_offsets)
    else:
        pieces = [(s, e, 0) for s, e in spans]
    prepared = PreparedText(text, clean, starts, ends, is_html=is_html, truncated_at=truncated_at,
                            html_extraction=extraction)
    for i, (s, e, part) in enumerate(pieces):
        os_, oe = prepared.to_original(s, e)
        prepared.sentences.append(Sentence(i, os_, oe, text[os_:oe], clean[s:e], s, e, part))
    return prepared


_lang_ready = False
# Very frequent English function words. Running text in which at least a quarter of the
# words are among these is English; checking that first skips langdetect (about 3 ms a
# call) for the common case. Other languages share few of them ("a", "in" and "to" are
# the overlaps that matter), far below a quarter of their words.
_EN_FUNCTION_WORDS = frozenset(
    "the of and to in a is that for it on was with as by at from be this have are has had "
    "were not but or an which their its they he she his her been will would said also who "
    "more than after about into".split())
_WORD = re.compile(r"[a-z]+")


def detect_language(text: str) -> tuple[str, float]:
    """Return ``(ISO 639-1 code, probability)`` for ``text`` using langdetect.

    Looks at the first 1,000 characters. Text of eight or more words of which at least a
    quarter are common English function words is English without further ado (probability
    1.0); anything else goes to langdetect, with a fixed seed so the answer is
    deterministic. Returns ``("und", 0.0)`` for text with no letters or that the
    detector cannot place.
    """
    global _lang_ready
    sample = text[:1000]
    if not any(ch.isalpha() for ch in sample):
        return "und", 0.0
    words = _WORD.findall(sample.lower())
    if len(words) >= 8:
        share = sum(w in _EN_FUNCTION_WORDS for w in words) / len(words)
        if share >= 0.25:
            return "en", 1.0
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    if not _lang_ready:
        DetectorFactory.seed = 0
        _lang_ready = True
    try:
        best = detect_langs(sample)[0]
    except LangDetectException:
        return "und", 0.0
    return str(best.lang), float(best.prob)
