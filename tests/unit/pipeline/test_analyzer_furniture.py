"""Page furniture in the pipeline: flagged sentences are listed but kept out of the
article's tone, cues, frames and evidence; ``Analyzer(furniture=False)`` turns that off.

A lexicon tone scorer and a keyword frame scorer (written here) make the expected
direction of every change certain; the encoder is the tiny test BERT. Every article here
was written for these tests."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import framing
from framing.heads.cues.detector import CueDetector
from framing.heads.frames.scorers import FrameScorer
from framing.heads.tone.scorers import aggregate_tone
from framing.pipeline.results import flat_row
from framing.pipeline.schema import output_columns
from framing.text import prepare as prepare_module
from framing.text.prepare import main_content_extractor

PRAISE = {"award-winning", "brilliant", "celebrated", "champion", "inspiring", "praised",
          "win-win", "success", "tireless"}
BLAME = {"failed", "condemned", "missing", "waste", "broken", "corrupt", "angry"}


class LexiconTone:
    """Tone from word lists: +0.5 per praise word, -0.5 per blame word, clipped."""

    name = "test-lexicon"
    uses_embeddings = False
    neutral_band = 0.1

    def sentence_tone(self, sentences, embeddings):
        out = []
        for s in sentences:
            words = re.findall(r"[a-z\-]+", s.lower())
            out.append(0.5 * sum(w in PRAISE for w in words) - 0.5 * sum(w in BLAME for w in words))
        return np.clip(np.array(out, dtype=float), -1.0, 1.0)


class KeywordFrames(FrameScorer):
    """One frame, ``praise``: a sentence carries it when it says "champion"; the article
    when any of its sentences does."""

    scheme = "test"
    ids = ["praise"]
    names = ["Praise"]
    thresholds = np.array([0.5])
    name = "test-keywords"

    def score(self, embeddings, sentences):
        per = np.array([[1.0 if "champion" in s else 0.0] for s in sentences]).reshape(-1, 1)
        return (per.max(axis=0) if len(per) else np.zeros(1)), per


ARTICLE = (
    "By Petra Ilsen\n\n"
    "Published: 5 March 2024\n\n"
    "The harbour council failed to publish its accounts for a third year.\n\n"
    "Auditors condemned the missing records and warned of waste.\n\n"
    "Residents said the council had broken its promises to the fishing families.\n\n"
    "Photo: Jon Marrow/Coastal Ledger\n\n"
    "Petra Ilsen is an award-winning journalist, a brilliant and celebrated champion of "
    "win-win partnerships whose inspiring work is praised across the region."
)
PROSE = [2, 3, 4]
REASONS = ["byline", "timestamp", None, None, None, "photo_credit", "author_bio"]

FURNITURE_ONLY = ("By Petra Ilsen\n\nPublished: 5 March 2024\n\n"
                  "Sign up for our morning newsletter.\n\n\u00a9 2024 The Coastal Ledger")


def _make(encoder, **kwargs) -> framing.Analyzer:
    cues = CueDetector(None, encoder, use_similarity=False)
    return framing.Analyzer(encoder=encoder, tone=LexiconTone(), cue_detector=cues,
                            frames=[KeywordFrames()], language_check=False, **kwargs)


@pytest.fixture(scope="module")
def filtered(tiny_encoder):
    return _make(tiny_encoder)


@pytest.fixture(scope="module")
def unfiltered(tiny_encoder):
    return _make(tiny_encoder, furniture=False)


@pytest.fixture(scope="module")
def result(filtered):
    return filtered.score(ARTICLE)


@pytest.fixture(scope="module")
def raw(unfiltered):
    return unfiltered.score(ARTICLE)


def test_sentences_carry_their_furniture_reason(result, raw):
    assert [s.furniture for s in result.sentences] == REASONS
    assert result.n_furniture == 4
    assert len(result.sentences) == len(raw.sentences) == len(REASONS)  # all still listed
    assert [s.furniture for s in raw.sentences] == [None] * len(REASONS)
    for s in result.sentences:  # furniture is still scored and still points into the text
        assert ARTICLE[s.start:s.end] == s.text
        assert s.tone is not None
    assert result.to_dict()["sentences"][-1]["furniture"] == "author_bio"


def test_author_bio_is_left_out_of_the_tone(result, raw):
    tones = np.array([s.tone for s in result.sentences])
    assert tones[-1] > 0.9  # the bio alone is the most promotional sentence
    assert result.tone == pytest.approx(aggregate_tone(tones[PROSE]))
    assert raw.tone == pytest.approx(aggregate_tone(tones))
    assert result.tone < raw.tone  # the bio pulled the unfiltered article toward praise
    assert result.tone_label == "critical"
    assert raw.most_promotional and raw.most_promotional[0].text == result.sentences[-1].text
    assert all(e.sentence in PROSE for e in result.most_promotional + result.most_critical)
    assert not result.most_promotional
    assert result.most_critical[0].sentence in PROSE


def test_author_bio_is_no_cue_evidence(result, raw):
    assert raw.cues["win_win"].present
    assert raw.cues["win_win"].evidence[0].sentence == len(REASONS) - 1
    assert not result.cues["win_win"].present
    assert result.cues["win_win"].probability == 0.0
    assert result.cues["win_win"].evidence == []
    assert "win_win" not in result.present_cues()


def test_author_bio_carries_no_frame(result, raw):
    assert raw.frames["test"]["praise"].present
    assert raw.frames["test"]["praise"].evidence[0].sentence == len(REASONS) - 1
    assert not result.frames["test"]["praise"].present
    assert result.frames["test"]["praise"].probability == 0.0
    assert result.present_frames() == []


def test_flat_row_counts_furniture(filtered, result, raw):
    frame = framing.results_to_frame([result, raw])
    assert list(frame["n_furniture"]) == [4, 0]
    assert list(frame["n_sentences"]) == [7, 7]
    assert flat_row(result)["most_promotional"] is None
    assert frame.loc[1, "most_promotional"] == result.sentences[-1].text
    names = [c for c, _ in output_columns(filtered.cue_ids, [], True)]
    assert ("n_furniture", "int64") in output_columns(filtered.cue_ids, [], True)
    assert names.index("n_furniture") == names.index("n_sentences") + 1


def test_all_furniture_article_is_flagged_not_scored(filtered):
    r = filtered.score(FURNITURE_ONLY)
    assert r.error is None
    assert "furniture_only" in r.flags
    assert [s.furniture for s in r.sentences] == ["byline", "timestamp", "newsletter_prompt",
                                                  "copyright"]
    assert r.tone is None and r.tone_label is None
    assert r.most_promotional == [] and r.most_critical == []
    assert r.present_cues() == [] and r.present_frames() == []
    assert all(c.probability == 0.0 and not c.evidence for c in r.cues.values())
    row = framing.results_to_frame([r]).iloc[0]
    assert row["n_furniture"] == 4 and "furniture_only" in row["flags"]


def test_target_mentioned_only_in_furniture(filtered, unfiltered):
    r = filtered.score(ARTICLE, target="Ilsen")
    assert r.tone is None and "no_target_mention" in r.flags
    assert unfiltered.score(ARTICLE, target="Ilsen").tone is not None
    council = filtered.score(ARTICLE, target="council")
    assert council.tone is not None and council.tone < 0


def test_score_many_matches_single_scores(filtered, result):
    texts = [ARTICLE, FURNITURE_ONLY, "The council failed again.", ARTICLE]
    many = filtered.score_many(texts)
    assert many[0].to_dict() == many[3].to_dict() == result.to_dict()
    for text, r in zip(texts, many):
        assert r.to_dict() == filtered.score(text).to_dict()


def test_config_records_the_settings(filtered, unfiltered):
    on, off = filtered.config(), unfiltered.config()
    assert on["furniture"] is True and off["furniture"] is False
    assert on["html_main_content"] == (main_content_extractor() or "unavailable")
    assert _make(filtered.encoder, main_content=False).config()["html_main_content"] == "off"
    json.dumps(on)


def test_empty_and_bad_inputs_are_unchanged(filtered):
    empty, bad = filtered.score_many(["   ", None])
    assert "empty" in empty.flags and "furniture_only" not in empty.flags
    assert empty.n_furniture == 0 and empty.tone is None
    assert bad.error is not None and bad.n_furniture == 0


# -- web pages -------------------------------------------------------------------------
PAGE = """<!DOCTYPE html><html><head><title>Council accounts | Harbour Weekly</title>
<script>var ads = [];</script></head><body>
<div class="cookies">This site uses cookies. Accept all cookies to continue.</div>
<header><nav><a href="/">Home</a> <a href="/local">Local politics</a>
<a href="/jobs">Jobs board</a></nav></header>
<main><article>
<h1>Council accounts missing again</h1>
<p>The harbour council failed to publish its accounts for a third year, leaving residents
without any record of how the fishing levy was spent.</p>
<p>Auditors condemned the missing records and warned of waste in the dredging budget,
which has doubled since the last election.</p>
<p>Residents said the council had broken its promises to the families who work the bay.</p>
<p>Petra Ilsen is an award-winning journalist and a brilliant, celebrated champion of
win-win partnerships whose inspiring work is praised across the region.</p>
</article>
<aside><h3>Most read</h3><a href="/x">Celebrated chef praised for brilliant new menu</a></aside>
</main>
<footer>&copy; 2024 Harbour Weekly. All rights reserved.
<a href="/privacy">Privacy</a></footer></body></html>"""


@pytest.mark.skipif(main_content_extractor() is None, reason="trafilatura is not installed")
def test_web_page_scores_its_article_only(filtered):
    r = filtered.score(PAGE)
    assert "html" in r.flags and "html_fallback" not in r.flags
    texts = " ".join(s.text for s in r.sentences)
    for words in ("cookies", "Local politics", "Jobs board", "Most read", "chef",
                  "All rights reserved", "Privacy"):
        assert words not in texts, words
    assert r.sentences[0].text == "Council accounts missing again"
    assert [s.furniture for s in r.sentences][-1] == "author_bio"
    assert r.tone < 0 and not r.most_promotional
    cited = [*r.most_critical, *(e for c in r.cues.values() for e in c.evidence),
             *(e for f in r.frames.values() for fr in f.values() for e in fr.evidence)]
    for item in [*r.sentences, *cited]:
        assert PAGE[item.start:item.end] == item.text
        assert re.sub(r"<[^>]*>", "", item.text).strip()
    for e in r.cues["win_win"].evidence:
        for sp in e.spans:
            assert PAGE[sp.start:sp.end] == sp.text


def test_web_page_without_main_content_is_flagged(monkeypatch, filtered):
    monkeypatch.setattr(prepare_module, "_trafilatura", lambda: None)
    r = filtered.score(PAGE)
    assert {"html", "html_fallback"} <= set(r.flags)
    assert any("Jobs board" in s.text for s in r.sentences)
    for s in r.sentences:
        assert PAGE[s.start:s.end] == s.text
    off = _make(filtered.encoder, main_content=False).score(PAGE)
    assert "html_fallback" not in off.flags
    assert [s.text for s in off.sentences] == [s.text for s in r.sentences]
