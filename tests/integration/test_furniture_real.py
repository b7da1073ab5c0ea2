"""Page furniture end to end with the real default models: an author bio praising its
author, at the foot of a critical article, must not make the article look promotional.

The articles were written for this test."""

from __future__ import annotations

import pytest

import framing
from framing.heads.tone.scorers import aggregate_tone
from framing.text.prepare import main_content_extractor

pytestmark = pytest.mark.real_model

CRITICAL_WITH_BIO = (
    "By Marta Kowalczyk\n\n"
    "Published: 12 May 2024\n\n"
    "The regional water board has failed for three years to repair the leaking reservoir "
    "above Dunmere, inspectors said on Tuesday.\n\n"
    "Their report accuses managers of hiding safety warnings and wasting millions on "
    "consultants while villagers boiled their drinking water.\n\n"
    "Residents condemned the board as negligent and demanded the resignation of its chair.\n\n"
    "Photo: Jon Marrow/Valley Courier\n\n"
    "Marta Kowalczyk is an award-winning journalist and a tireless, inspiring champion of "
    "rural communities whose brilliant reporting has won praise and admiration across the "
    "country."
)


@pytest.fixture(scope="module")
def unfiltered(default_analyzer):
    a = default_analyzer
    return framing.Analyzer(furniture=False, encoder=a.encoder, cue_detector=a.cue_detector,
                            tone=a.tone_scorer, frames=a.frame_scorers)


def test_author_bio_does_not_drive_the_article(default_analyzer, unfiltered):
    r = default_analyzer.score(CRITICAL_WITH_BIO)
    raw = unfiltered.score(CRITICAL_WITH_BIO)
    bio = r.sentences[-1]
    assert bio.furniture == "author_bio"
    assert [s.furniture for s in r.sentences[:2]] == ["byline", "timestamp"]
    assert r.sentences[-2].furniture == "photo_credit"
    # the bio reads as the most promotional sentence of the page ...
    assert bio.tone == max(s.tone for s in r.sentences)
    assert raw.most_promotional and raw.most_promotional[0].sentence == bio.index
    # ... but with the filter it is in none of the article's scores
    assert all(e.sentence != bio.index for e in r.most_promotional + r.most_critical)
    for cue in r.cues.values():
        assert all(e.sentence != bio.index for e in cue.evidence)
    for scheme in r.frames.values():
        for frame in scheme.values():
            assert all(e.sentence != bio.index for e in frame.evidence)
    prose = [s.tone for s in r.sentences if s.furniture is None]
    assert len(prose) == 3
    assert r.tone == pytest.approx(aggregate_tone(prose))
    assert r.tone < raw.tone  # more critical without the praise of its author
    assert r.tone_label == "critical"
    assert framing.results_to_frame([r]).loc[0, "n_furniture"] == 4


PAGE = (
    "<!DOCTYPE html><html><head><title>Reservoir | Valley Courier</title></head><body>"
    "<div class='cookie-banner'>We value your privacy. Accept all cookies?</div>"
    "<header><nav><a href='/'>Home</a><a href='/farming'>Farming news</a>"
    "<a href='/shop'>Courier shop</a></nav></header><main><article>"
    "<h1>Reservoir repairs delayed again</h1>"
    "<p>The regional water board has failed for three years to repair the leaking "
    "reservoir above Dunmere, inspectors said on Tuesday.</p>"
    "<p>Their report accuses managers of hiding safety warnings and wasting millions on "
    "consultants while villagers boiled their drinking water.</p>"
    "<p>Residents condemned the board as <em>negligent</em> and demanded the resignation "
    "of its chair.</p></article>"
    "<aside><h2>Most read</h2><ul><li><a href='/a'>Village fete wins national award for "
    "brilliant cakes</a></li></ul></aside></main>"
    "<footer><p>&copy; 2024 Valley Courier. All rights reserved.</p></footer></body></html>"
)


@pytest.mark.skipif(main_content_extractor() is None, reason="trafilatura is not installed")
def test_web_page_end_to_end(default_analyzer):
    r = default_analyzer.score(PAGE)
    assert "html" in r.flags and "html_fallback" not in r.flags
    words = " ".join(s.text for s in r.sentences)
    for junk in ("cookies", "Farming news", "Courier shop", "Most read", "cakes",
                 "All rights reserved"):
        assert junk not in words
    assert len(r.sentences) == 4
    cited = [*r.most_promotional, *r.most_critical,
             *(e for c in r.cues.values() for e in c.evidence),
             *(e for f in r.frames.values() for fr in f.values() for e in fr.evidence)]
    assert cited
    for item in [*r.sentences, *cited]:
        assert PAGE[item.start:item.end] == item.text
    assert r.tone_label == "critical"
