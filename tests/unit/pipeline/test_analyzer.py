"""End-to-end scoring with the real default encoder (bundled all-MiniLM-L6-v2)."""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest

import framing
from framing.heads.tone.scorers import aggregate_tone

# Articles written for these tests.
PROMOTIONAL = (
    "Lusaka and Hanoi signed a new trade agreement on Tuesday that both governments "
    "hailed as a win-win partnership.\n\n"
    "The foreign minister said the deal reflects mutual respect and equality between "
    "the two nations.\n\n"
    "Officials celebrated the fruitful cooperation, which they said would bring lasting "
    "gains to both peoples.\n\n"
    "The new railway has already created thousands of jobs and was warmly welcomed by "
    "local communities."
)

CRITICAL = (
    "Human rights groups accused the government of systematic abuses against "
    "protesters on Monday.\n\n"
    "Critics condemned the crackdown as brutal and unlawful, saying officials had lied "
    "about the number of arrests.\n\n"
    "The report documents torture, forced disappearances and widespread corruption "
    "among senior officers.\n\n"
    "Opposition leaders warned that the failures of the ruling party have caused "
    "lasting damage to the economy."
)

# Praise for the project, blame aimed at one named official.
TARGETED = (
    "The harbour project opened on schedule and was celebrated as a great success for "
    "the region.\n\n"
    "Residents warmly welcomed the new ferry service and praised its reliability.\n\n"
    "Auditors accused port director Telmo Quarane of hiding losses and misusing public "
    "funds.\n\n"
    "Critics condemned Quarane for lying to parliament about the contracts."
)

GERMAN = (
    "Die Regierung hat am Dienstag ein neues Handelsabkommen mit den Nachbarländern "
    "unterzeichnet. Der Minister sagte, die Zusammenarbeit sei für alle Seiten von großem "
    "Nutzen. Kritiker bemängelten jedoch die hohen Kosten und die fehlende Transparenz "
    "des Projekts."
)

HTML = (
    "<html><head><title>Port deal</title><style>p { color: red }</style></head><body>"
    "<h1>Ports &amp; partners</h1>"
    "<p>Both sides hailed the <b>win-win</b> harbour deal as a model of cooperation.</p>\n"
    "<p>Critics condemned the plan&nbsp;as costly.</p>"
    "</body></html>"
)


def _check_offsets(text: str, result: framing.ArticleResult) -> None:
    assert result.sentences
    prev_end = 0
    for i, s in enumerate(result.sentences):
        assert s.index == i
        assert 0 <= s.start < s.end <= len(text)
        assert s.start >= prev_end
        assert text[s.start:s.end] == s.text
        prev_end = s.end


@pytest.fixture(scope="module")
def promo(default_analyzer):
    return default_analyzer.score(PROMOTIONAL)


@pytest.fixture(scope="module")
def critical(default_analyzer):
    return default_analyzer.score(CRITICAL)


# -- tone and cues ---------------------------------------------------------------------------
def test_promotional_article(promo):
    assert promo.ok and promo.error is None
    assert promo.tone is not None and promo.tone > 0
    assert promo.tone_label == "promotional"
    assert -1.0 <= promo.tone <= 1.0
    assert promo.tone_scorer.startswith("trained:")  # the shipped model is the default
    assert promo.language == "en"
    assert promo.flags == []


def test_promotional_article_flags_win_win_with_evidence(promo):
    cue = promo.cues["win_win"]
    assert cue.present
    assert "win_win" in promo.present_cues()
    assert cue.probability >= 0.5
    assert cue.evidence
    ev = cue.evidence[0]
    assert ev.text == PROMOTIONAL[ev.start:ev.end]
    assert "win-win" in ev.text
    assert ev.probability == pytest.approx(cue.probability)
    assert ev.spans, "a pattern match should be kept as a span"
    for span in ev.spans:
        assert span.text == PROMOTIONAL[span.start:span.end]
        assert ev.start <= span.start < span.end <= ev.end
        assert re.search(span.pattern, span.text, re.IGNORECASE)
    assert any(span.text.lower() == "win-win" for span in ev.spans)


def test_present_cues_sorted_by_probability(promo):
    ids = promo.present_cues()
    probs = [promo.cues[c].probability for c in ids]
    assert probs == sorted(probs, reverse=True)
    assert set(ids) == {c.id for c in promo.cues.values() if c.present}
    assert set(promo.cues) == set(framing.load_catalogue().ids)


def test_evidence_is_ordered_and_above_threshold(default_analyzer, promo):
    thresholds = dict(zip(default_analyzer.cue_ids, default_analyzer.cue_detector.thresholds))
    for cid, cue in promo.cues.items():
        threshold = thresholds[cid]  # the trained heads' own, not the catalogue default
        assert len(cue.evidence) <= default_analyzer.evidence_k
        assert cue.present == (cue.probability >= threshold)
        probs = [e.probability for e in cue.evidence]
        assert probs == sorted(probs, reverse=True)
        assert all(p >= threshold for p in probs)
        for e in cue.evidence:
            assert PROMOTIONAL[e.start:e.end] == e.text
            assert promo.sentences[e.sentence].cues[cid] == pytest.approx(e.probability)


def test_critical_article(critical):
    assert critical.tone is not None and critical.tone < 0
    assert critical.tone_label == "critical"
    assert critical.most_critical
    assert not critical.most_promotional or \
        critical.most_promotional[0].tone < abs(critical.most_critical[0].tone)


def test_tone_evidence_slices_the_original(promo, critical):
    for text, result in ((PROMOTIONAL, promo), (CRITICAL, critical)):
        for ev in result.most_promotional + result.most_critical:
            assert text[ev.start:ev.end] == ev.text
            assert result.sentences[ev.sentence].text == ev.text
            assert result.sentences[ev.sentence].tone == pytest.approx(ev.tone)
    assert promo.most_promotional and all(e.tone > 0 for e in promo.most_promotional)
    assert critical.most_critical and all(e.tone < 0 for e in critical.most_critical)
    tones = [e.tone for e in promo.most_promotional]
    assert tones == sorted(tones, reverse=True)
    tones = [e.tone for e in critical.most_critical]
    assert tones == sorted(tones)


def test_article_tone_aggregates_sentence_tones(promo, critical):
    for result in (promo, critical):
        values = np.array([s.tone for s in result.sentences])
        assert np.all(np.abs(values) <= 1.0)
        assert result.tone == pytest.approx(aggregate_tone(values))


def test_sentence_offsets_are_valid(promo, critical):
    _check_offsets(PROMOTIONAL, promo)
    _check_offsets(CRITICAL, critical)
    assert len(promo.sentences) == 4
    assert promo.sentences[0].text.startswith("Lusaka and Hanoi")


# -- score_many ------------------------------------------------------------------------------
def test_score_many_matches_single_scores(default_analyzer):
    texts = [PROMOTIONAL, CRITICAL, TARGETED, "The committee met on Thursday."]
    many = default_analyzer.score_many(texts, ids=["p", "c", "t", "n"])
    assert [r.id for r in many] == ["p", "c", "t", "n"]
    for text, r in zip(texts, many):
        single = default_analyzer.score(text)
        assert r.tone == pytest.approx(single.tone, abs=1e-4)
        assert r.tone_label == single.tone_label
        assert [s.text for s in r.sentences] == [s.text for s in single.sentences]
        for cid in r.cues:
            assert r.cues[cid].probability == pytest.approx(single.cues[cid].probability, abs=1e-4)
        assert r.present_cues() == single.present_cues() or \
            set(r.present_cues()) == set(single.present_cues())
    assert many[0].tone > 0 > many[1].tone


def test_score_many_encodes_each_distinct_sentence_once(default_analyzer):
    shared = "The agreement was signed in the capital on Friday."
    texts = [
        PROMOTIONAL + "\n\n" + shared,
        CRITICAL + "\n\n" + shared + "\n\n" + shared,
        shared,
        PROMOTIONAL,
    ]
    default_analyzer.score("Warm-up so that lazy fitting is done.")
    cleans = [s.clean for t in texts for s in default_analyzer.prepare(t).sentences]
    distinct = set(cleans)
    assert len(distinct) < len(cleans)  # the test needs repeats
    before = default_analyzer.encoder.sentences_encoded
    results = default_analyzer.score_many(texts)
    assert default_analyzer.encoder.sentences_encoded - before == len(distinct)
    assert len(results) == 4
    # the repeated sentence gets the same tone wherever it appears
    tones = {round(s.tone, 6) for r in results for s in r.sentences if s.text == shared}
    assert len(tones) == 1


def test_score_many_checks_its_arguments(default_analyzer):
    with pytest.raises(ValueError):
        default_analyzer.score_many(["a.", "b."], targets=["x"])
    with pytest.raises(ValueError):
        default_analyzer.score_many(["a."], errors="ignore")
    with pytest.raises(TypeError):
        default_analyzer.score_many(["fine.", None], errors="raise")
    assert default_analyzer.score_many([]) == []


# -- output forms ----------------------------------------------------------------------------
def test_to_dict_is_json_serialisable(promo):
    data = json.loads(json.dumps(promo.to_dict()))
    assert data["tone"] == pytest.approx(promo.tone)
    assert data["tone_label"] == "promotional"
    assert data["cues"]["win_win"]["present"] is True
    assert data["cues"]["win_win"]["evidence"][0]["spans"][0]["text"].lower() == "win-win"
    assert len(data["sentences"]) == len(promo.sentences)


def test_results_to_frame(promo, critical):
    ids = framing.load_catalogue().ids
    frame = framing.results_to_frame([promo, critical])
    assert len(frame) == 2
    for cid in ids:
        assert f"cue_{cid}" in frame.columns
        assert f"cue_{cid}_present" in frame.columns
        assert f"cue_{cid}_evidence" in frame.columns
    assert list(frame["tone_label"]) == ["promotional", "critical"]
    assert frame.loc[0, "cue_win_win_present"]
    assert frame.loc[0, "cue_win_win"] == pytest.approx(promo.cues["win_win"].probability)
    assert "win_win" in frame.loc[0, "cues_present"].split(";")
    assert frame.loc[0, "n_sentences"] == len(promo.sentences)
    assert frame.loc[1, "most_critical"] == critical.most_critical[0].text
    lean = framing.results_to_frame([promo, critical], evidence=False)
    assert not [c for c in lean.columns if c.endswith("_evidence")]
    assert "most_promotional" not in lean.columns
    assert f"cue_{ids[0]}_present" in lean.columns


# -- tone scorers ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def vader_analyzer(default_analyzer):
    return framing.Analyzer(tone="vader", encoder=default_analyzer.encoder,
                            cue_detector=default_analyzer.cue_detector)


def test_vader_tone_option(default_analyzer, vader_analyzer, promo):
    assert vader_analyzer.encoder is default_analyzer.encoder
    assert vader_analyzer.tone_scorer.name == "baseline-vader"
    assert default_analyzer.tone_scorer.name.startswith("trained:")
    r = vader_analyzer.score(PROMOTIONAL)
    assert r.tone_scorer == "baseline-vader"
    assert r.tone > 0 and r.tone_label == "promotional"
    assert r.tone != pytest.approx(promo.tone, abs=1e-6)
    # cues come from the shared detector, so they are the same as the trained tone's on the
    # same backend (VADER tone runs the torch pass; the default may be the int8 ONNX graph)
    torch_default = framing.Analyzer(backend="torch", encoder=default_analyzer.encoder,
                                     cue_detector=default_analyzer.cue_detector)
    expected = torch_default.score(PROMOTIONAL)
    assert vader_analyzer.backend == torch_default.backend == "torch"
    for cid in r.cues:
        assert r.cues[cid].probability == pytest.approx(expected.cues[cid].probability,
                                                        abs=1e-6)
    c = vader_analyzer.score(CRITICAL)
    assert c.tone < 0 and c.tone_label == "critical"
    assert vader_analyzer.config()["tone_scorer"] == "baseline-vader"


def test_unknown_tone_name_raises(default_analyzer):
    with pytest.raises(ValueError, match="similarity"):
        framing.Analyzer(tone="sarcasm", encoder=default_analyzer.encoder,
                         cue_detector=default_analyzer.cue_detector)
    with pytest.raises(TypeError):
        framing.Analyzer(tone=object(), encoder=default_analyzer.encoder,
                         cue_detector=default_analyzer.cue_detector)


# -- target ----------------------------------------------------------------------------------
def test_target_tone_uses_only_sentences_naming_the_target(default_analyzer):
    whole = default_analyzer.score(TARGETED)
    r = default_analyzer.score(TARGETED, target="Quarane")
    assert r.target == "Quarane"
    assert "no_target_mention" not in r.flags
    mentioning = [s for s in r.sentences if "Quarane" in s.text]
    assert len(mentioning) == 2 and len(r.sentences) == 4
    # tone toward the target: each mentioning sentence scored toward its mention
    assert all(s.target_tone is not None for s in mentioning)
    assert r.tone == pytest.approx(aggregate_tone(np.array([s.target_tone for s in mentioning])))
    assert r.tone < 0 and r.tone_label == "critical"
    cited = {e.sentence for e in r.most_promotional + r.most_critical}
    assert cited <= {s.index for s in mentioning}
    # cues still cover the whole article
    for cid in r.cues:
        assert r.cues[cid].probability == pytest.approx(whole.cues[cid].probability)
    assert len(r.sentences) == len(whole.sentences)
    # whole word, case-insensitive
    lower = default_analyzer.score(TARGETED, target="quarane")
    assert lower.tone == pytest.approx(r.tone)


def test_target_never_mentioned(default_analyzer):
    for target in ("Ministry of Silence", "Quar"):  # absent, and only part of a word
        r = default_analyzer.score(TARGETED, target=target)
        assert r.tone is None
        assert r.tone_label is None
        assert "no_target_mention" in r.flags
        assert r.most_promotional == [] and r.most_critical == []
        assert r.error is None
        assert len(r.sentences) == 4  # the article was still read
        assert any(c.probability > 0 for c in r.cues.values())


def test_targets_in_score_many(default_analyzer):
    rs = default_analyzer.score_many([TARGETED, TARGETED], targets=["Quarane", None])
    assert rs[0].target == "Quarane" and rs[1].target is None
    assert rs[0].tone < rs[1].tone


# -- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [None, 123, b"bytes are not text", ["a list"]])
def test_score_rejects_non_strings(default_analyzer, bad):
    with pytest.raises(TypeError):
        default_analyzer.score(bad)


def test_score_many_flags_bad_and_empty_inputs(default_analyzer):
    rs = default_analyzer.score_many([None, 123, "", "  \n\t ", "ok text."],
                                     ids=["a", "b", "c", "d", "e"])
    assert len(rs) == 5
    assert [r.id for r in rs] == ["a", "b", "c", "d", "e"]
    for r in rs[:2]:
        assert r.error and "error" in r.flags
        assert not r.ok
        assert r.tone is None and r.sentences == []
        assert set(r.cues) == set(default_analyzer.catalogue.ids)
        assert not r.present_cues()
    assert "None" in rs[0].error
    assert "int" in rs[1].error
    for r in rs[2:4]:
        assert r.error is None
        assert "empty" in r.flags
        assert r.tone is None and r.sentences == []
    last = rs[4]
    assert last.ok
    assert "empty" not in last.flags and "error" not in last.flags
    assert last.tone is not None
    assert [s.text for s in last.sentences] == ["ok text."]


def test_huge_article_is_truncated(default_analyzer):
    paragraph = (
        "The delegation toured the new port and met local traders on its third day. "
        "Officials from both countries discussed shipping schedules and customs rules. "
        "A joint statement praised the progress made since the last meeting.\n\n"
    )
    article = paragraph * (1_000_000 // len(paragraph) + 1)
    assert len(article) >= 1_000_000
    start = time.perf_counter()
    r = default_analyzer.score(article)
    elapsed = time.perf_counter() - start
    assert elapsed < 90, f"scoring a 1 MB article took {elapsed:.0f} s"
    assert "truncated" in r.flags
    assert r.error is None and r.tone is not None
    last_end = max(s.end for s in r.sentences)
    assert 90_000 < last_end <= 100_500
    for s in r.sentences[-3:]:
        assert article[s.start:s.end] == s.text


def test_short_article_is_not_truncated(promo):
    assert "truncated" not in promo.flags


def test_html_input(default_analyzer):
    r = default_analyzer.score(HTML)
    assert "html" in r.flags
    _check_offsets(HTML, r)
    texts = [s.text for s in r.sentences]
    assert not any("color: red" in t for t in texts)  # style is skipped
    assert not any("<p>" in t for t in texts)
    deal = next(s for s in r.sentences if "harbour deal" in s.text)
    assert deal.start == HTML.index("Both sides")
    assert deal.text.endswith("cooperation.")
    assert "<b>win-win</b>" in deal.text  # the raw slice keeps the markup
    cue = r.cues["win_win"]
    spans = [sp for e in cue.evidence for sp in e.spans]
    assert spans
    for sp in spans:
        assert HTML[sp.start:sp.end] == sp.text == "win-win"
    critic = next(s for s in r.sentences if "Critics" in s.text)
    assert critic.text == "Critics condemned the plan&nbsp;as costly."


def test_german_article_is_flagged_but_scored(default_analyzer):
    r = default_analyzer.score(GERMAN)
    assert "non_english" in r.flags
    assert r.language == "de"
    assert r.error is None
    assert r.tone is not None and len(r.sentences) == 3
    _check_offsets(GERMAN, r)


def test_language_check_can_be_switched_off(default_analyzer):
    quiet = framing.Analyzer(encoder=default_analyzer.encoder,
                             cue_detector=default_analyzer.cue_detector, language_check=False)
    r = quiet.score(GERMAN)
    assert "non_english" not in r.flags
    assert r.language is None


def test_config_describes_the_analyzer(default_analyzer):
    cfg = default_analyzer.config()
    assert cfg["encoder"] == "all-MiniLM-L6-v2"
    assert cfg["framing_version"] == framing.__version__
    assert cfg["max_chars"] == 100_000
    assert cfg["max_length"] == 256
    assert len(cfg["catalogue_sha256"]) == 64
    json.dumps(cfg)


# -- optional parts --------------------------------------------------------------------------
def test_similarity_tone_gives_class_probabilities(promo, critical):
    for result, top in ((promo, "promotional"), (critical, "critical")):
        probs = result.tone_probabilities
        assert probs is not None
        assert set(probs) == {"critical", "neutral", "promotional"}
        assert sum(probs.values()) == pytest.approx(1.0, abs=1e-6)
        assert max(probs, key=probs.get) == top


def test_vader_gives_no_class_probabilities(vader_analyzer):
    assert vader_analyzer.score(PROMOTIONAL).tone_probabilities is None


def test_tone_can_be_switched_off(default_analyzer):
    an = framing.Analyzer(tone=None, encoder=default_analyzer.encoder,
                          cue_detector=default_analyzer.cue_detector)
    r = an.score(PROMOTIONAL)
    assert r.tone is None and r.tone_label is None
    assert r.most_promotional == [] and r.most_critical == []
    assert all(s.tone is None for s in r.sentences)
    assert r.cues["win_win"].present  # cues still work


def test_cues_can_be_switched_off(default_analyzer):
    an = framing.Analyzer(cues=False, encoder=default_analyzer.encoder)
    r = an.score(PROMOTIONAL)
    assert r.cues == {}
    assert r.present_cues() == []
    assert r.tone is not None and r.tone > 0
    assert an.cue_ids == []
    frame = framing.results_to_frame([r])
    assert not [c for c in frame.columns if c.startswith("cue_")]


def test_target_must_be_a_non_empty_string(default_analyzer):
    with pytest.raises(TypeError, match="target"):
        default_analyzer.score("Kelmar opened a port.", target=5)
    with pytest.raises(ValueError, match="empty"):
        default_analyzer.score("Kelmar opened a port.", target="   ")


def test_bad_target_in_score_many_flags_only_its_row(default_analyzer):
    rs = default_analyzer.score_many(["Kelmar opened a port.", "Kelmar closed a port."],
                                     targets=[5, "Kelmar"])
    assert rs[0].error is not None and "target" in rs[0].error
    assert rs[1].error is None and rs[1].tone is not None
    with pytest.raises(TypeError):
        default_analyzer.score_many(["Kelmar opened a port."], targets=[5], errors="raise")
