"""Tests for framing.text: normalisation, HTML handling, segmentation, splitting."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from framing.text.prepare import (
    PreparedText,
    detect_language,
    looks_like_html,
    normalise,
    prepare,
    segment,
    split_long_sentences,
)

# --------------------------------------------------------------------------------------
# helpers


def check_invariants(t: str, p: PreparedText) -> None:
    """The structural promises prepare() makes for any input string."""
    assert p.original is t
    assert len(p.src_start) == len(p.clean) == len(p.src_end)
    prev_end = 0
    prev_clean_end = 0
    for i, s in enumerate(p.sentences):
        assert s.index == i
        assert 0 <= s.start < s.end <= len(t), s
        assert t[s.start:s.end] == s.text
        assert s.start >= prev_end, "sentences overlap or are out of order"
        prev_end = s.end
        assert s.clean, s
        assert s.clean == s.clean.strip(), s
        assert 0 <= s.clean_start < s.clean_end <= len(p.clean)
        assert s.clean_start >= prev_clean_end
        prev_clean_end = s.clean_end
        assert p.clean[s.clean_start:s.clean_end] == s.clean
    # No letter or digit of the cleaned text falls outside every sentence.
    covered = [False] * len(p.clean)
    for s in p.sentences:
        for k in range(s.clean_start, s.clean_end):
            covered[k] = True
    lost = [(k, ch) for k, ch in enumerate(p.clean) if ch.isalnum() and not covered[k]]
    assert not lost, f"alphanumeric characters outside every sentence: {lost[:10]}"


_FRAGMENTS = [
    "The minister spoke on Tuesday. ",
    "Dr. Smith met U.S. officials on Jan. 5. ",
    "Revenue rose to 3.5 billion dollars! ",
    "Is that so? ",
    "no terminal punctuation",
    " ", "   ", "\t", "\n", "\n\n", "\n \n", "\r\n", "\u00a0", "\u2029", "\u3000",
    "\u200b", "\u200d", "\ufeff", "\u202e", "\u202a", "\u2066", "\u200f",
    "\u201c", "\u201d", "\u2018", "\u2019", "\u2014", "\u2013", "\u00ab", "\u00bb",
    "\U0001F600", "\U0001F44D\U0001F3FD", "\U0001F1E9\U0001F1EA",
    "\u4e2d\u6587\u53e5\u5b50\u3002", "\u65e5\u672c\u8a9e\u3067\u3059\u3002", "\u3001",
    "e\u0301", "\u0301", "\u0308a", "\ufb01", "\u2026", "\u2460", "\uff21\uff22",
    "\x00", "\x07", "\x1b", "\x7f", "\x85",
    "<p>", "</p>", "<br>", "<br/>", "<div class='x'>", "</div>", "<b>", "</b>",
    "<script>var x = 'hidden';</script>", "<style>p {color: red}</style>",
    "<!-- comment -->", "&amp;", "&#8220;", "&#x201D;", "&nbsp;", "&bogus;", "&#99999999;",
    "a < b", "AT&T", "<", ">", "&", ".", "!", "?", ",", "...",
]

mixed_text = st.lists(
    st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=4)), max_size=40
).map("".join)


# --------------------------------------------------------------------------------------
# property tests


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_prepare_invariants_on_arbitrary_text(t):
    check_invariants(t, prepare(t))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_text)
def test_prepare_invariants_on_messy_text(t):
    check_invariants(t, prepare(t))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_text)
def test_prepare_invariants_when_html_forced_either_way(t):
    for html in (True, False):
        check_invariants(t, prepare(t, html=html))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_text)
def test_plain_text_sentence_renormalises_to_its_clean_form(t):
    """For plain text, each sentence's original slice normalises to its clean text."""
    p = prepare(t, html=False)
    squash = lambda x: re.sub(r"\s+", " ", x).strip()  # noqa: E731
    for s in p.sentences:
        assert squash(normalise(s.text, html=False)[0]) == squash(s.clean)


# --------------------------------------------------------------------------------------
# normalisation


def test_nfkc_ligature_and_fullwidth():
    p = prepare("The \ufb01nal \uff21\uff22\uff23 report.")
    assert p.clean == "The final ABC report."
    (s,) = p.sentences
    assert s.text == "The \ufb01nal \uff21\uff22\uff23 report."


def test_curly_quotes_and_dashes_fold_to_ascii():
    p = prepare("She said \u201cyes\u201d \u2014 it\u2019s done \u2013 really.")
    assert p.clean == "She said \"yes\" - it's done - really."


def test_zero_width_bidi_and_control_chars_dropped():
    t = "Zero\u200bwidth\u200d and \u202ebidi\u202c\u2066x\u2069 plus\x00 ctrl\x07\x1b here.\ufeff"
    p = prepare(t)
    assert p.clean == "Zerowidth and bidix plus ctrl here."
    for bad in "\u200b\u200d\u202e\u202c\u2066\u2069\x00\x07\x1b\ufeff":
        assert bad not in p.clean


def test_whitespace_collapsed_and_blank_line_is_paragraph_break():
    t = "  First   sentence\t here.\nStill\u00a0\u00a0same.\n\n\n  Second   paragraph.  "
    p = prepare(t)
    assert p.clean == "First sentence here. Still same.\n\nSecond paragraph."
    assert [s.clean for s in p.sentences] == [
        "First sentence here.", "Still same.", "Second paragraph."]


def test_whitespace_line_with_spaces_counts_as_blank_line():
    p = prepare("One para here\n   \t\nTwo para here")
    assert p.clean == "One para here\n\nTwo para here"
    assert [s.clean for s in p.sentences] == ["One para here", "Two para here"]


@pytest.mark.parametrize("t", ["\u00b8", "a \u00b4 b"])
def test_nfkc_space_from_spacing_diacritic_is_collapsed(t):
    clean = prepare(t).clean
    assert clean == clean.strip()
    assert "  " not in clean


def test_single_newline_is_not_a_paragraph_break():
    assert prepare("line one\nline two").clean == "line one line two"


def test_offsets_after_dropped_and_folded_characters_index_the_original():
    t = ("\u200b\u202e\x00 \ufb01rst one\u2026 \u201cQuoted\u201d \u2014 line. "
         "\u200b\u200bPlain \u2018tail\u2019 sentence.")
    p = prepare(t)
    texts = [s.text for s in p.sentences]
    assert texts[-1] == "Plain \u2018tail\u2019 sentence."
    last = p.sentences[-1]
    assert t[last.start:last.end] == "Plain \u2018tail\u2019 sentence."
    assert last.start == t.index("Plain")
    assert last.clean == "Plain 'tail' sentence."
    first = p.sentences[0]
    assert first.start == t.index("\ufb01")  # leading dropped chars are skipped
    for s in p.sentences:
        assert t[s.start:s.end] == s.text


def test_to_original_maps_clean_spans_back():
    t = "a\u200bb \ufb01 c"
    p = prepare(t)
    assert p.clean == "ab fi c"
    # "fi" in the clean text comes from the single ligature character
    i = p.clean.index("fi")
    assert p.to_original(i, i + 2) == (t.index("\ufb01"), t.index("\ufb01") + 1)
    # an empty span maps to an empty span
    a, b = p.to_original(1, 1)
    assert a == b


# --------------------------------------------------------------------------------------
# HTML

HTML_DOC = """<!DOCTYPE html>
<html><head><title>Ignored title</title>
<style>body { font-family: "SecretStyle"; }</style>
<script type="text/javascript">var secretToken = "DoNotShow"; if (a < b) {}</script>
</head>
<body>
<p>Smith &amp; Sons said &#8220;we are ready&#8221; on Monday.&nbsp;Shares rose.</p>
<p>Second paragraph<br>after a line break.</p>
</body></html>"""


def test_looks_like_html():
    assert looks_like_html(HTML_DOC)
    assert looks_like_html("plain <p>para</p>")
    assert looks_like_html("Tom &amp; Jerry")
    assert looks_like_html("quote &#8220;x&#8221;")
    assert not looks_like_html("Just a plain sentence about AT&T and 3 < 4.")
    assert not looks_like_html("")


def test_html_document_to_clean_text():
    p = prepare(HTML_DOC)
    assert p.is_html
    assert "SecretStyle" not in p.clean and "font-family" not in p.clean
    assert "secretToken" not in p.clean and "DoNotShow" not in p.clean
    assert "Ignored title" not in p.clean  # <head> is skipped
    assert "<" not in p.clean and "&amp;" not in p.clean and "&#8220;" not in p.clean
    assert 'Smith & Sons said "we are ready" on Monday.' in p.clean
    assert "\u00a0" not in p.clean
    cleans = [s.clean for s in p.sentences]
    assert cleans == [
        'Smith & Sons said "we are ready" on Monday.',
        "Shares rose.",
        "Second paragraph",
        "after a line break.",
    ]
    # paragraphs are separated by a paragraph break in the clean text
    assert "\n\n" in p.clean
    assert p.clean.index("Shares rose.") < p.clean.index("\n\n") < p.clean.index("Second")


def test_html_sentence_offsets_point_into_raw_html():
    p = prepare(HTML_DOC)
    first = p.sentences[0]
    assert first.text == "Smith &amp; Sons said &#8220;we are ready&#8221; on Monday."
    assert HTML_DOC[first.start:first.end] == first.text
    assert first.start == HTML_DOC.index("Smith")
    assert "&amp;" in first.text and "&#8220;" in first.text
    for s in p.sentences:
        assert HTML_DOC[s.start:s.end] == s.text
        # a sentence never contains the hidden script/style source
        assert "secretToken" not in s.text


def test_html_flag_overrides_detection():
    t = "<p>Hello there.</p>"
    assert prepare(t, html=False).clean == "<p>Hello there.</p>"
    assert prepare(t, html=True).clean == "Hello there."
    assert prepare("Plain text.", html=True).clean == "Plain text."


def test_entity_without_semicolon():
    t = "<p>Fish &amp chips here.</p>"
    p = prepare(t)
    assert p.clean == "Fish & chips here."
    assert p.sentences[0].text == "Fish &amp chips here."


def test_unknown_entity_kept_verbatim():
    p = prepare("<p>Fish &unknownent; here.</p>")
    assert p.clean == "Fish &unknownent; here."


@pytest.mark.parametrize("t", [
    "If a < b then the rule holds.",
    "AT&T reported results today.",
    "AT&T said a < b and c > d.",
    "Profits rose 5% & costs fell; x<y.",
])
def test_plain_text_with_html_like_characters_is_not_mangled(t):
    p = prepare(t)
    assert p.clean == t
    assert "".join(s.clean for s in p.sentences).replace(" ", "") == t.replace(" ", "")


# --------------------------------------------------------------------------------------
# segmentation


def test_abbreviations_and_decimals_do_not_split():
    t = ("Dr. Smith met U.S. officials in Washington on Jan. 5 to discuss trade. "
         "Revenue rose to 3.5 billion dollars last year. Is that true? Yes! It is.")
    p = prepare(t)
    assert [s.text for s in p.sentences] == [
        "Dr. Smith met U.S. officials in Washington on Jan. 5 to discuss trade.",
        "Revenue rose to 3.5 billion dollars last year.",
        "Is that true?",
        "Yes!",
        "It is.",
    ]


@pytest.mark.parametrize("phrase", ["Dr. Jones", "U.S. officials", "Jan. 5", "3.5 billion",
                                    "Mr. Lee", "e.g. this"])
def test_no_split_inside_abbreviation(phrase):
    t = f"We saw {phrase} here today. Then we left."
    spans = [s.text for s in prepare(t).sentences]
    assert len(spans) == 2
    assert phrase in spans[0]


def test_question_and_exclamation_end_sentences():
    p = prepare("Why now? Because it matters! And so it goes.")
    assert [s.clean for s in p.sentences] == ["Why now?", "Because it matters!", "And so it goes."]


def test_segment_returns_stripped_ordered_spans():
    clean = "One two. Three four!\n\nFive six?"
    spans = segment(clean)
    assert [clean[a:b] for a, b in spans] == ["One two.", "Three four!", "Five six?"]
    assert segment("") == [] and segment("   ") == []


# --------------------------------------------------------------------------------------
# long-sentence splitting


def ws_tokens(text: str) -> list[tuple[int, int]]:
    """Fake tokenizer: one token per whitespace-separated word."""
    return [m.span() for m in re.finditer(r"\S+", text)]


def punct_tokens(text: str) -> list[tuple[int, int]]:
    """Fake tokenizer that, like WordPiece, makes punctuation its own token."""
    return [m.span() for m in re.finditer(r"\w+|[^\w\s]", text)]


def _check_pieces(clean, span, pieces, max_tokens, tok):
    s, e = span
    assert [p[2] for p in pieces] == list(range(1, len(pieces) + 1))
    prev = s
    for a, b, _ in pieces:
        assert s <= prev <= a < b <= e
        assert clean[prev:a].strip() == "", "text lost between pieces"
        assert len(tok(clean[a:b])) <= max_tokens
        prev = b
    assert pieces[0][0] == s and pieces[-1][1] == e
    joined = " ".join(clean[a:b] for a, b, _ in pieces).split()
    assert joined == clean[s:e].split()


def test_split_long_sentence_into_windows():
    words = [f"w{i}" for i in range(1000)]
    clean = " ".join(words) + "."
    pieces = split_long_sentences([(0, len(clean))], clean, 50, ws_tokens)
    assert len(pieces) == 20
    _check_pieces(clean, (0, len(clean)), pieces, 50, ws_tokens)
    assert all(len(ws_tokens(clean[a:b])) == 50 for a, b, _ in pieces)


def test_split_prefers_comma_in_last_quarter():
    words = [f"w{i}" for i in range(200)]
    words.insert(45, ",")  # token index 45 is in the window's last quarter (37..49)
    clean = " ".join(words)
    pieces = split_long_sentences([(0, len(clean))], clean, 50, ws_tokens)
    _check_pieces(clean, (0, len(clean)), pieces, 50, ws_tokens)
    a, b, _ = pieces[0]
    assert clean[a:b].endswith(",")
    assert len(ws_tokens(clean[a:b])) == 46


def test_split_ignores_comma_outside_last_quarter():
    words = [f"w{i}" for i in range(200)]
    words.insert(10, ",")
    clean = " ".join(words)
    pieces = split_long_sentences([(0, len(clean))], clean, 50, ws_tokens)
    a, b, _ = pieces[0]
    assert len(ws_tokens(clean[a:b])) == 50
    assert not clean[a:b].endswith(",")


def test_split_prefers_attached_comma_with_punctuation_tokenizer():
    words = [f"w{i}" for i in range(300)]
    words[40] += ","  # "w40," -> tokens "w40", ","
    clean = " ".join(words)
    pieces = split_long_sentences([(0, len(clean))], clean, 50, punct_tokens)
    _check_pieces(clean, (0, len(clean)), pieces, 50, punct_tokens)
    a, b, _ = pieces[0]
    assert clean[a:b].endswith("w40,")


def test_short_sentence_stays_part_zero():
    clean = "A short sentence. Another one here."
    spans = segment(clean)
    assert split_long_sentences(spans, clean, 50, ws_tokens) == [(a, b, 0) for a, b in spans]
    # no tokenizer: nothing is split
    long = " ".join(["x"] * 500)
    assert split_long_sentences([(0, len(long))], long, 50, None) == [(0, len(long), 0)]


def test_prepare_with_max_tokens_end_to_end():
    long_sentence = " ".join(f"Word{i}" for i in range(300)) + "."
    t = "\u200bShort intro here. " + long_sentence + " Short outro here."
    p = prepare(t, max_tokens=50, token_offsets=ws_tokens)
    check_invariants(t, p)
    parts = [s.part for s in p.sentences]
    assert parts[0] == 0 and parts[-1] == 0
    middle = p.sentences[1:-1]
    assert [s.part for s in middle] == list(range(1, len(middle) + 1))
    assert len(middle) == 6
    assert all(len(ws_tokens(s.clean)) <= 50 for s in middle)
    assert " ".join(s.text for s in middle) == long_sentence
    assert p.sentences[0].text == "Short intro here."
    assert p.sentences[-1].text == "Short outro here."
    # without max_tokens the long sentence is one sentence
    assert len(prepare(t).sentences) == 3


# --------------------------------------------------------------------------------------
# truncation


def test_max_chars_truncation():
    sent = "The \u201cquick\u201d fox jumped over the lazy dog today. "
    t = "\u200b" + sent * 200
    p = prepare(t, max_chars=1000)
    assert p.truncated_at is not None
    assert 0 < p.truncated_at < len(t)
    assert len(p.clean) <= 1000
    assert p.sentences
    assert all(s.end <= p.truncated_at for s in p.sentences)
    # truncated_at indexes the original: the cleaned text continues from there
    full = prepare(t)
    assert full.clean.startswith(p.clean)
    assert full.truncated_at is None
    check_invariants(t, p)


def test_max_chars_not_reached_leaves_text_untruncated():
    p = prepare("Short text.", max_chars=1000)
    assert p.truncated_at is None
    assert [s.text for s in p.sentences] == ["Short text."]


def test_max_chars_truncation_inside_expanded_character():
    t = "Wait\u2026 more text follows here."
    p = prepare(t, max_chars=5)  # clean "Wait." cuts the "..." of the ellipsis
    assert all(s.end <= p.truncated_at for s in p.sentences)


# --------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize("bad", [None, 123, b"bytes", ["a list"]])
def test_non_string_raises_type_error(bad):
    with pytest.raises(TypeError):
        prepare(bad)


@pytest.mark.parametrize("t", ["", "   \n\t ", "\u200b\u202e", "\x00\x01", "<p></p>",
                               "<script>only script</script>"])
def test_empty_or_blank_input_gives_no_sentences(t):
    p = prepare(t)
    assert p.sentences == []
    assert p.clean == ""


@pytest.mark.slow
def test_one_megabyte_article():
    para = ("Dr. Smith met U.S. officials on Jan. 5 in Washington. Revenue rose to 3.5 "
            "billion dollars, analysts said. Is it true? Yes! The \u201cdeal\u201d \u2014 "
            "signed today \u2014 covers trade. ") * 4 + "\n\n"
    t = (para * (1_000_000 // len(para) + 1))[:1_000_000]
    t0 = time.perf_counter()
    p = prepare(t)
    elapsed = time.perf_counter() - t0
    assert len(p.sentences) > 1000
    assert elapsed < 120, f"1 MB took {elapsed:.1f}s"
    step = max(1, len(p.sentences) // 200)
    for s in p.sentences[::step] + p.sentences[-5:]:
        assert 0 <= s.start < s.end <= len(t)
        assert t[s.start:s.end] == s.text
    ends = [s.end for s in p.sentences]
    starts = [s.start for s in p.sentences]
    assert all(e <= s for e, s in zip(ends, starts[1:]))


# --------------------------------------------------------------------------------------
# language detection


@pytest.mark.parametrize("text,lang", [
    ("The government announced a new policy on renewable energy and farm subsidies yesterday.",
     "en"),
    ("Die Regierung hat gestern eine neue Politik zur Förderung erneuerbarer Energien "
     "angekündigt.", "de"),
    ("Le gouvernement a annoncé hier une nouvelle politique en faveur des énergies "
     "renouvelables.", "fr"),
])
def test_detect_language(text, lang):
    code, prob = detect_language(text)
    assert code == lang
    assert 0.5 < prob <= 1.0


@pytest.mark.parametrize("t", ["12345 678.90", "", "   ", "!!! ???"])
def test_detect_language_without_letters_is_und(t):
    assert detect_language(t) == ("und", 0.0)


def test_detect_language_deterministic():
    t = "Ein kurzer Satz mit wenigen Wörtern"
    assert detect_language(t) == detect_language(t)
    short = "ok"
    assert detect_language(short) == detect_language(short)
