"""Lexical evidence for cue heads: n-grams, fitting, the heads' use of it, saving, loading
and refusing damaged files."""

from __future__ import annotations

import json

import numpy as np
import pytest

import framing
from framing.encoding.fingerprints import encoder_fingerprint
from framing.errors import ModelLoadError
from framing.heads.cues.heads import CueHeads, load_cue_heads, with_lexical
from framing.heads.lexical import (LEXICAL_CONFIG, LEXICAL_WEIGHTS, LexicalEvidence,
                                       fit_lexical, ngrams)

# a toy task where only the words tell: cue 0 is "twin gains" wording, cue 1 "old grudges"
POS0 = ["The pact brings twin gains for both ports.", "Leaders praised the twin gains again.",
        "Twin gains, said the envoy, are the point.", "It was sold as twin gains for all."]
POS1 = ["They dredged up old grudges at the summit.", "Old grudges returned in the debate.",
        "Critics said old grudges drove the vote.", "The speech rehearsed old grudges."]
NEG = ["The ferry leaves at noon on Fridays.", "Rain is expected over the hills.",
       "The museum reopened after repairs.", "Ticket prices rose by two percent.",
       "A new bridge opens next spring.", "The council meets on Tuesday evening."]


def _toy(repeat: int = 3):
    texts = (POS0 + POS1 + NEG) * repeat
    Y = np.array([[t in POS0, t in POS1] for t in texts])
    return texts, Y


@pytest.fixture(scope="module")
def lexical():
    texts, Y = _toy()
    return fit_lexical(texts, Y, C=3.0, min_df=2)


def test_ngrams_are_lowercased_words_and_their_pairs():
    assert ngrams("Win-win, a WIN!") == ["win", "win", "win", "win win", "win win"]
    assert ngrams("Shared future", max_n=1) == ["shared", "future"]
    assert ngrams("") == [] and ngrams("a b c") == []


def test_features_are_unit_rows_and_unknown_words_give_an_empty_row(lexical):
    X = lexical.features(["Twin gains at the summit.", "zzz qqq", ""]).toarray()
    assert X.shape == (3, len(lexical.vocabulary))
    assert np.linalg.norm(X[0]) == pytest.approx(1.0)
    assert not X[1].any() and not X[2].any()
    assert lexical.logits([]).shape == (0, 2)


def test_fitted_evidence_tells_the_cues_apart_on_unseen_sentences(lexical):
    z = lexical.logits(["Officials promised twin gains from the canal.",
                        "Old grudges surfaced during the talks.",
                        "The canal opens to traffic in May."])
    assert z[0, 0] > 0 > z[2, 0] and z[1, 1] > 0 > z[2, 1]
    assert z[0, 0] > z[1, 0] and z[1, 1] > z[0, 1]


def test_fit_refuses_mismatched_labels_and_an_empty_vocabulary():
    with pytest.raises(ValueError, match="one row of labels per text"):
        fit_lexical(["a text"], np.zeros((2, 1)))
    with pytest.raises(ValueError, match="no n-gram"):
        fit_lexical(["alpha beta", "gamma delta"], np.array([[1], [0]]), min_df=2)


def _heads(k: int = 2, dim: int = 4, lexical=None, ids=("c0", "c1")):
    return CueHeads(list(ids), np.zeros((k, dim)), np.zeros(k), np.ones(k), np.zeros(k),
                    np.full(k, 0.5), name="h", lexical=lexical)


def test_heads_add_the_lexical_logit_and_need_the_texts(lexical):
    heads = _heads(lexical=lexical)
    x = np.zeros((2, 4))
    texts = ["They spoke of twin gains.", "The ferry leaves at noon."]
    p = heads.predict_proba(x, texts)
    assert p[0, 0] > 0.5 > p[1, 0]
    assert np.allclose(p, 1 / (1 + np.exp(-lexical.logits(texts))))
    with pytest.raises(ValueError, match="words too"):
        heads.predict_proba(x)
    with pytest.raises(ValueError, match="one text per feature row"):
        heads.predict_proba(x, texts[:1])
    assert np.allclose(_heads().predict_proba(x), 0.5)  # without evidence: texts not needed


def test_with_lexical_refits_calibration_and_can_take_the_evidence_away(lexical):
    texts, Y = _toy(repeat=2)
    x = np.random.default_rng(0).normal(size=(len(texts), 4))  # dense features: noise
    heads = _heads()
    pred = lambda h: h.predict_proba(x, texts) >= h.thresholds[None, :]  # noqa: E731
    with_words = with_lexical(heads, lexical, x, texts, Y)
    assert with_words.lexical is lexical and heads.lexical is None  # a copy
    assert (pred(with_words) == Y).all()
    assert with_words.operating_points is None and with_words.pattern_weights is None
    back = with_lexical(with_words, None, x, texts, Y)
    assert back.lexical is None
    with pytest.raises(ValueError, match="scores 2 cues"):
        with_lexical(_heads(k=3, ids=("a", "b", "c")), lexical, np.zeros((len(texts), 4)),
                     texts, np.zeros((len(texts), 3)))


def test_heads_with_evidence_round_trip_and_say_so_in_their_config(lexical, tmp_path):
    heads = _heads(lexical=lexical)
    d = heads.save(tmp_path / "h", "# card\n")
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["lexical"]["n_features"] == len(lexical.vocabulary)
    assert cfg["lexical"]["training"]["C"] == 3.0
    back = load_cue_heads(d)
    texts = ["Twin gains and old grudges.", "Rain over the hills."]
    assert back.lexical is not None and back.lexical.vocabulary == lexical.vocabulary
    assert np.allclose(back.predict_proba(np.zeros((2, 4)), texts),
                       heads.predict_proba(np.zeros((2, 4)), texts), atol=1e-5)
    # saved again without evidence: the files go, and the heads load without them
    _heads().save(d, "# card\n")
    assert not (d / LEXICAL_CONFIG).exists() and not (d / LEXICAL_WEIGHTS).exists()
    assert load_cue_heads(d).lexical is None


@pytest.mark.parametrize("damage", ["no config", "corrupt config", "format", "vocabulary",
                                    "no weights", "truncated weights", "shape", "cues", "nan"])
def test_damaged_evidence_is_refused_naming_the_file(lexical, tmp_path, damage):
    from safetensors.numpy import load_file, save_file

    d = _heads(lexical=lexical).save(tmp_path / "h", "# card\n")
    cfg_path, weights = d / LEXICAL_CONFIG, d / LEXICAL_WEIGHTS
    cfg = json.loads(cfg_path.read_text())
    arrays = load_file(str(weights))
    if damage == "no config":
        cfg_path.unlink()
    elif damage == "corrupt config":
        cfg_path.write_text("{not json")
    elif damage == "format":
        cfg_path.write_text(json.dumps({**cfg, "format": "other"}))
    elif damage == "vocabulary":
        cfg_path.write_text(json.dumps({**cfg, "vocabulary": "twin gains"}))
    elif damage == "no weights":
        weights.unlink()
    elif damage == "truncated weights":
        weights.write_bytes(weights.read_bytes()[:40])
    elif damage == "shape":
        cfg_path.write_text(json.dumps({**cfg, "vocabulary": cfg["vocabulary"][:-1]}))
    elif damage == "cues":
        save_file({**arrays, "W": arrays["W"][:1], "b": arrays["b"][:1]}, str(weights))
    else:
        W = arrays["W"].copy()
        W[0, 0] = np.nan
        save_file({**arrays, "W": W}, str(weights))
    named = cfg_path.name if damage in ("no config", "corrupt config", "format",
                                        "vocabulary") else weights.name
    with pytest.raises(ModelLoadError, match=named):
        load_cue_heads(d)


def test_the_detector_and_the_analyzer_feed_the_sentences_to_the_evidence(tiny_encoder):
    catalogue = framing.load_catalogue()
    k = len(catalogue.ids)
    texts, Y2 = _toy()
    Y = np.zeros((len(texts), k), dtype=bool)
    Y[:, catalogue.ids.index("win_win")] = Y2[:, 0]
    Y[:, catalogue.ids.index("criticism_of_others")] = Y2[:, 1]
    Y[:len(POS0), :] |= np.eye(k, dtype=bool)[0]  # every cue needs a positive row
    for j in range(k):
        Y[len(POS0) + len(POS1) + j % len(NEG), j] = True
    lex = fit_lexical(texts, Y, min_df=2)
    dim = tiny_encoder.encode(["x"]).shape[1]
    heads = CueHeads(catalogue.ids, np.zeros((k, dim)), np.zeros(k), np.ones(k), np.zeros(k),
                     np.full(k, 0.5), name="lexical-only", lexical=lex,
                     catalogue_sha256=catalogue.sha256,
                     encoder=encoder_fingerprint(tiny_encoder), pattern_weights=[0.0] * k)
    det = framing.CueDetector(None, tiny_encoder, heads=heads)
    probs, _ = det.predict(["Envoys promised twin gains.", "The ferry leaves at noon."])
    win = catalogue.ids.index("win_win")
    assert probs[0, win] > 0.5 > probs[1, win]
    an = framing.Analyzer(encoder=tiny_encoder, tone=None, frames=None, cue_detector=det)
    r = an.score("Envoys promised twin gains. The ferry leaves at noon.")
    assert r.cues["win_win"].present
    assert [s.cues["win_win"] > 0.5 for s in r.sentences] == [True, False]


def test_inconsistent_arrays_are_listed_as_problems():
    ok = LexicalEvidence(["twin", "twin gains"], np.ones(2), np.zeros((1, 2)), np.zeros(1))
    assert ok.problems() == []
    bad = LexicalEvidence(["twin", "twin"], np.array([1.0, -1.0]), np.zeros((1, 3)),
                          np.zeros(2), max_n=9)
    found = " / ".join(bad.problems())
    for words in ("repeats", "W has shape", "b has shape", "max_n"):
        assert words in found
    assert "idf must be positive" in " / ".join(
        LexicalEvidence(["a"], np.array([0.0]), np.zeros((1, 1)), np.zeros(1)).problems())
