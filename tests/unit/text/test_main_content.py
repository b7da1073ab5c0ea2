"""Web pages cut down to their main content (trafilatura), with offsets into the page.

The page and every sentence in it were written for these tests."""

from __future__ import annotations

import html
import re

import pytest

from framing.text import prepare as prepare_module
from framing.text.furniture import find_furniture
from framing.text.prepare import (
    looks_like_page,
    main_content_extractor,
    main_content_spans,
    normalise,
    prepare,
)

needs_trafilatura = pytest.mark.skipif(main_content_extractor() is None,
                                       reason="trafilatura is not installed")

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Harbour expansion splits Valmora council | The Coastal Ledger</title>
<link rel="stylesheet" href="https://static.example.org/site.css">
<script>window.tracking = {"page": "harbour"};</script>
<style>.nav { display: flex }</style>
</head>
<body>
<div id="cookie-banner" class="cookie-consent">We use cookies to make this site work
better for you. <a href="/privacy">Accept all cookies</a> or manage your choices.</div>
<header class="site-header">
  <a class="logo" href="/">The Coastal Ledger</a>
  <nav class="main-nav"><ul>
    <li><a href="/news">News</a></li><li><a href="/politics">Politics</a></li>
    <li><a href="/business">Business</a></li><li><a href="/sport">Sport</a></li>
    <li><a href="/weather">Weather and tides</a></li>
  </ul></nav>
  <div class="trending">Trending: Harbour expansion splits Valmora council</div>
</header>
<main>
<article>
  <h1>Harbour expansion splits Valmora council</h1>
  <p class="byline">By Petra Ilsen</p>
  <p class="meta"><time datetime="2024-03-05">Published: 5 March 2024</time></p>
  <p>The Valmora town council voted by a narrow margin on Monday to approve a second
  container terminal at the old fishing harbour.</p>
  <p>Supporters said the &ldquo;long-awaited&rdquo; terminal would bring hundreds of jobs
  to a town that has lost most of its canneries. Opponents warned that dredging the bay
  would destroy mussel beds that local families have worked for generations.</p>
  <figure><img src="https://img.example.org/harbour.jpg" alt="Cranes at the harbour">
  <figcaption>Cranes stand idle at the old quay. Photo: Jon Marrow/Coastal Ledger</figcaption>
  </figure>
  <p>Councillor Ada Brenn, who voted against the plan, called the process rushed and said
  residents had been given only two weeks to respond.</p>
  <blockquote><p>We were asked to sign away the bay in a fortnight, and most of us only
  heard about it from the radio.</p></blockquote>
  <p>The port authority expects construction to begin next spring &amp; to last three
  years.</p>
  <p class="bio">Petra Ilsen is an award-winning journalist and a tireless champion of
  coastal communities whose reporting has inspired readers across the region.</p>
</article>
<aside class="related"><h3>Related stories</h3><ul>
  <li><a href="/a">Fishing quotas cut again for the northern fleet</a></li>
  <li><a href="/b">New ferry route announced for the summer season</a></li>
</ul></aside>
<div class="newsletter">Sign up for our morning newsletter and get the news in your
inbox.</div>
</main>
<footer class="site-footer"><p>&copy; 2024 The Coastal Ledger. All rights reserved.</p>
<p><a href="/about">About us</a> | <a href="/contact">Contact</a> |
<a href="/careers">Careers at the Ledger</a></p></footer>
</body>
</html>
"""

BODY_WORDS = ["narrow margin", "long-awaited", "mussel beds", "Ada Brenn", "sign away the bay",
              "next spring", "award-winning journalist"]
PAGE_FURNITURE_WORDS = ["cookies", "Politics", "Sport", "Weather and tides", "Trending",
                        "Fishing quotas", "ferry route", "morning newsletter",
                        "All rights reserved", "Careers", "About us"]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _visible(raw: str) -> str:
    """The words of a slice of the page: tags dropped, references resolved, typography
    folded as the cleaned text has it."""
    return normalise(html.unescape(re.sub(r"<[^>]*>", " ", raw)), html=False)[0]


def test_looks_like_page():
    assert looks_like_page(PAGE)
    assert looks_like_page("<body><p>Text.</p></body>")
    assert looks_like_page("<article><p>Text.</p></article>")
    assert not looks_like_page("<p>A fragment with <b>markup</b>.</p>")
    assert not looks_like_page("Plain text about a body of water.")


@needs_trafilatura
def test_page_is_cut_to_its_main_content():
    p = prepare(PAGE)
    assert p.is_html and p.html_extraction == "main_content"
    texts = " ".join(s.clean for s in p.sentences)
    for words in BODY_WORDS:
        assert words in texts
    for words in PAGE_FURNITURE_WORDS:
        assert words not in texts, words
    assert p.sentences[0].clean == "Harbour expansion splits Valmora council"  # the headline
    # taken where the article has it, not from the "Trending" box before it
    assert p.sentences[0].start == PAGE.index("<h1>") + len("<h1>")


@needs_trafilatura
def test_offsets_of_every_kept_sentence_slice_the_page():
    p = prepare(PAGE)
    assert p.sentences
    prev_end = 0
    for s in p.sentences:
        assert PAGE[s.start:s.end] == s.text
        assert s.start >= prev_end
        prev_end = s.end
        # the slice holds the sentence's words, and nothing else
        assert _squash(_visible(s.text)) == _squash(s.clean)
        assert not s.text.startswith("<") and not s.text.endswith(">")
    spans = main_content_spans(PAGE, normalise(PAGE)[0])
    assert spans == sorted(spans)
    assert all(a < b for a, b in spans)


@needs_trafilatura
def test_furniture_inside_the_article_is_still_found():
    p = prepare(PAGE)
    reasons = find_furniture(p.sentences, p.clean)
    assert p.sentences[-1].clean.startswith("Petra Ilsen is")
    assert reasons == [None] * (len(p.sentences) - 1) + ["author_bio"]


def test_main_content_off_keeps_every_text():
    p = prepare(PAGE, main_content=False)
    assert p.html_extraction == "tags"
    texts = " ".join(s.clean for s in p.sentences)
    for words in BODY_WORDS + ["Politics", "All rights reserved", "morning newsletter"]:
        assert words in texts
    for s in p.sentences:
        assert PAGE[s.start:s.end] == s.text


def test_fragments_and_plain_text_are_not_cut():
    fragment = ("<p>The mayor opened the bridge.</p><p>Yes.</p><div>A short line</div>"
                "<ul><li>one item here</li></ul>")
    p = prepare(fragment)
    assert p.html_extraction == "tags"
    assert [s.clean for s in p.sentences] == ["The mayor opened the bridge.", "Yes.",
                                               "A short line", "one item here"]
    assert prepare("Plain text, no markup.").html_extraction is None
    assert prepare("Tom &amp; Jerry went home.").html_extraction == "tags"


def test_without_trafilatura_the_page_falls_back_to_tag_stripping(monkeypatch):
    monkeypatch.setattr(prepare_module, "_trafilatura", lambda: None)
    assert main_content_extractor() is None
    p = prepare(PAGE)
    assert p.html_extraction == "tags_fallback"
    assert p.clean == prepare(PAGE, main_content=False).clean
    assert main_content_spans(PAGE, p.clean) is None


@needs_trafilatura
def test_extractor_failure_or_nothing_found_falls_back(monkeypatch):
    module = prepare_module._trafilatura()

    def boom(*args, **kwargs):
        raise RuntimeError("extractor broke")

    monkeypatch.setattr(module, "extract", boom)
    assert prepare(PAGE).html_extraction == "tags_fallback"
    monkeypatch.setattr(module, "extract", lambda *a, **k: None)
    p = prepare(PAGE)
    assert p.html_extraction == "tags_fallback"
    assert "Politics" in p.clean


@needs_trafilatura
def test_unplaceable_extraction_falls_back(monkeypatch):
    module = prepare_module._trafilatura()
    invented = ('<doc><main><p>A paragraph that appears nowhere in the page at all, '
                'written only to test the fallback.</p></main></doc>')
    monkeypatch.setattr(module, "extract", lambda *a, **k: invented)
    assert prepare(PAGE).html_extraction == "tags_fallback"


@needs_trafilatura
def test_truncation_counts_main_content_only():
    p = prepare(PAGE, max_chars=120)
    assert p.truncated_at is not None
    assert p.sentences[0].clean == "Harbour expansion splits Valmora council"
    assert all(PAGE[s.start:s.end] == s.text for s in p.sentences)


@needs_trafilatura
def test_nothing_is_fetched(no_network):
    page = PAGE.replace("<head>", '<head><base href="https://www.example.org/news/">')
    p = prepare(page)
    assert p.html_extraction == "main_content"
    assert len(no_network) == 0


@needs_trafilatura
@pytest.mark.parametrize("page", [
    "<html><body></body></html>",
    "<html><body><nav><a href='/'>Home</a></nav></body></html>",
    "<!DOCTYPE html><html><body><article>" + "<p>" * 300 + "deep</article></body></html>",
    "<html><body><p>Only one short line.</p></body></html>",
    "<html>\x00<body>&#0;&bogus;<p>\ud7ff text</p></body></html>",
])
def test_odd_pages_never_break_offsets(page):
    p = prepare(page)
    assert p.html_extraction in ("main_content", "tags_fallback")
    for s in p.sentences:
        assert page[s.start:s.end] == s.text
