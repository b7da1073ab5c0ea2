"""Tests for the phrase-pattern side of framing.CueDetector (no encoder needed)."""

from __future__ import annotations

import numpy as np
import pytest

import framing
from framing import CueDetector, load_catalogue
from framing.heads.cues.detector import PatternMatch


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


@pytest.fixture(scope="module")
def detector(catalogue):
    return CueDetector(catalogue, use_similarity=False)


# Sentences written for these tests: (cue id, sentence, the phrase the pattern matches).
STOCK = [
    ("win_win", "Officials hailed the WIN-WIN arrangement on Tuesday.", "WIN-WIN"),
    ("win_win", "Both ministers called the rail deal mutually beneficial.", "mutually beneficial"),
    ("mutual_respect", "Relations should rest on Mutual Respect, the envoy told lawmakers.",
     "Mutual Respect"),
    ("counter_criticism", "The spokesman called the claims GROUNDLESS.", "GROUNDLESS"),
    ("peaceful_coexistence", "They urged Peace and Stability across the region.",
     "Peace and Stability"),
    ("shared_future", "The treaty serves the common good, she said.", "common good"),
    ("achievement", "The bridge project passed a Milestone on Friday.", "Milestone"),
    ("commitment", "The minister Pledged fresh money for rural schools.", "Pledged"),
    ("challenge_acknowledged", "Whether the plan works Remains To Be Seen.",
     "Remains To Be Seen"),
    ("external_criticism", "Critics Say the law is too vague.", "Critics Say"),
]

ORDINARY = [
    "Heavy rain is expected across the north on Sunday, forecasters said.",
    "The visitors scored twice in the second half to win 2-1 at home.",
    "Temperatures will climb to 31 degrees by Thursday afternoon.",
    "The striker signed a new contract and will stay until 2027.",
    "Snow closed the mountain pass for three hours overnight.",
    "The marathon was won in two hours and six minutes.",
]


def test_detector_without_similarity_needs_no_encoder(detector, catalogue):
    assert detector.encoder is None
    assert detector.name == "patterns-only"
    assert detector.ids == catalogue.ids
    assert detector.fit() is detector


def test_similarity_without_encoder_is_refused(catalogue):
    with pytest.raises(ValueError):
        CueDetector(catalogue)


@pytest.mark.parametrize("cue_id,sentence,phrase", STOCK, ids=[f"{c}-{p}" for c, _, p in STOCK])
def test_stock_phrase_exact_span(detector, cue_id, sentence, phrase):
    hits = detector.match_patterns(sentence)
    assert hits, f"nothing matched {sentence!r}"
    assert all(isinstance(h, PatternMatch) for h in hits)
    assert {h.cue for h in hits} == {cue_id}
    spans = {(h.start, h.end) for h in hits if h.cue == cue_id}
    start = sentence.index(phrase)
    assert (start, start + len(phrase)) in spans
    for h in hits:
        assert 0 <= h.start < h.end <= len(sentence)
        assert h.pattern in detector.catalogue[h.cue].patterns
        assert sentence[h.start:h.end].lower() == sentence[h.start:h.end].lower().strip()


@pytest.mark.parametrize("cue_id,sentence,phrase", STOCK[:4])
def test_matching_is_case_insensitive(detector, cue_id, sentence, phrase):
    for variant in (sentence.lower(), sentence.upper()):
        hits = detector.match_patterns(variant)
        start = sentence.index(phrase)
        assert any(h.cue == cue_id and (h.start, h.end) == (start, start + len(phrase))
                   for h in hits)


def test_predict_probabilities(detector, catalogue):
    sentences = [s for _, s, _ in STOCK] + ORDINARY
    probs, matches = detector.predict(sentences)
    assert isinstance(probs, np.ndarray)
    assert probs.shape == (len(sentences), len(catalogue))
    assert len(matches) == len(sentences)
    col = {cid: j for j, cid in enumerate(catalogue.ids)}
    for i, (cue_id, _, _) in enumerate(STOCK):
        expected = np.zeros(len(catalogue))
        expected[col[cue_id]] = 0.9
        np.testing.assert_allclose(probs[i], expected)
    np.testing.assert_array_equal(probs[len(STOCK):], 0.0)
    assert all(m == [] for m in matches[len(STOCK):])


def test_predict_several_cues_in_one_sentence(detector, catalogue):
    s = "Critics say the win-win pact is a milestone, but its future remains to be seen."
    probs, matches = detector.predict([s])
    found = {h.cue for h in matches[0]}
    assert found == {"external_criticism", "win_win", "achievement", "challenge_acknowledged"}
    for j, cid in enumerate(catalogue.ids):
        assert probs[0, j] == pytest.approx(0.9 if cid in found else 0.0)


def test_repeated_matches_do_not_compound(detector, catalogue):
    s = "A win-win deal, a win-win plan and a win-win future."
    probs, matches = detector.predict([s])
    ww = [h for h in matches[0] if h.cue == "win_win"]
    assert len(ww) >= 3
    assert [s[h.start:h.end] for h in ww[:3]] == ["win-win"] * 3
    assert probs[0, catalogue.ids.index("win_win")] == pytest.approx(0.9)


def test_pattern_weight_and_switches(catalogue):
    s = "The minister pledged support."
    d = CueDetector(catalogue, use_similarity=False, pattern_weight=0.7)
    probs, _ = d.predict([s])
    assert probs[0, catalogue.ids.index("commitment")] == pytest.approx(0.7)
    off = CueDetector(catalogue, use_similarity=False, use_patterns=False)
    assert off.match_patterns(s) == []
    probs, matches = off.predict([s])
    assert matches == [[]] and not probs.any()


def test_predict_empty_list(detector, catalogue):
    probs, matches = detector.predict([])
    assert probs.shape == (0, len(catalogue))
    assert matches == []


@pytest.mark.parametrize("sentence", ORDINARY)
def test_ordinary_sentences_match_nothing(detector, sentence):
    assert detector.match_patterns(sentence) == []


def test_matching_works_on_prepared_text(detector):
    """Typographic dashes are folded by prepare(), so ASCII patterns still match."""
    raw = "Officials praised the win\u2011win deal \u2014 and its mutual\u00a0benefit."
    (sent,) = framing.prepare(raw).sentences
    hits = detector.match_patterns(sent.clean)
    got = {sent.clean[h.start:h.end] for h in hits if h.cue == "win_win"}
    assert got == {"win-win", "mutual benefit"}


def test_user_catalogue_pattern(tmp_path):
    data = {
        "name": "prices",
        "cues": [
            {
                "id": "price_rise",
                "name": "Price rise",
                "description": "Reports rising prices.",
                "patterns": [r"\bprices? (rose|soared|jumped)\b"],
                "exemplars": ["Bread prices rose again."],
            },
            {
                "id": "price_fall",
                "name": "Price fall",
                "description": "Reports falling prices.",
                "patterns": [r"\bprices? (fell|slumped)\b"],
                "exemplars": ["Oil prices fell."],
            },
        ],
    }
    det = CueDetector(load_catalogue(data), use_similarity=False)
    s = "Coffee PRICES SOARED in May while tea prices fell."
    hits = det.match_patterns(s)
    assert sorted((h.cue, s[h.start:h.end]) for h in hits) == [
        ("price_fall", "prices fell"), ("price_rise", "PRICES SOARED")]
    probs, _ = det.predict([s, "Nothing to see."])
    np.testing.assert_allclose(probs, [[0.9, 0.9], [0.0, 0.0]])
    # built-in cues are not part of a user catalogue
    assert det.match_patterns("A win-win deal.") == []


def test_each_builtin_cue_patterns_match_its_own_exemplars(detector, catalogue):
    for cue in catalogue:
        hit = 0
        for ex in cue.exemplars:
            own = [h for h in detector.match_patterns(ex) if h.cue == cue.id]
            for h in own:
                assert cue.compiled[cue.patterns.index(h.pattern)].fullmatch(ex[h.start:h.end])
            hit += bool(own)
        assert hit >= 3, f"{cue.id}: patterns match only {hit} of {len(cue.exemplars)} exemplars"


def test_builtin_patterns_rarely_fire_on_own_counter_exemplars(detector, catalogue):
    """Hard negatives may share words with the cue; at most one per cue may match."""
    for cue in catalogue:
        fired = sum(
            any(h.cue == cue.id for h in detector.match_patterns(ce))
            for ce in cue.counter_exemplars
        )
        assert fired <= 1, f"{cue.id}: patterns fire on {fired} counter-exemplars"
