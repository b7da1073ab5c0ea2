"""Lexical evidence for the tone of whole sentences: fitting over the tone classes, the
tone model's use of it, attaching and detaching it, damaged files, and the analyzer
(torch and ONNX) applying it to whole sentences but never to tone toward a target."""

from __future__ import annotations

import json

import numpy as np
import pytest

import framing
from framing.core.labels import TONE_LABELS
from framing.errors import ModelLoadError
from framing.heads.lexical import LEXICAL_CONFIG, LEXICAL_WEIGHTS, fit_lexical_classes
from framing.heads.tone.model import attach_lexical, load_tone_model
from tiny_models import tiny_tone_branch

CRIT, NEUT, PROM = (TONE_LABELS.index(x) for x in ("critical", "neutral", "promotional"))
TEXTS = (["The plan was a dreadful failure.", "A dreadful record of broken promises.",
          "Critics called it dreadful."] * 3
         + ["The meeting starts at nine.", "The report has four chapters.",
            "The road runs north."] * 3
         + ["A splendid success for the region.", "Splendid results lifted the town.",
            "Leaders hailed a splendid deal."] * 3)
LABELS = [CRIT] * 9 + [NEUT] * 9 + [PROM] * 9


@pytest.fixture(scope="module")
def lexical():
    return fit_lexical_classes(TEXTS, LABELS, len(TONE_LABELS), C=3.0, min_df=2)


@pytest.fixture(scope="module")
def branch(tiny_encoder, tmp_path_factory):
    return tiny_tone_branch(tiny_encoder, tmp_path_factory.mktemp("tone") / "t")


def test_class_evidence_points_to_the_class_the_words_carry(lexical):
    z = lexical.logits(["Another splendid day.", "Another dreadful day.", "Another day."])
    assert z.shape == (3, 3)
    assert z[0].argmax() == PROM and z[1].argmax() == CRIT
    assert z[0, PROM] > z[2, PROM] and z[1, CRIT] > z[2, CRIT]


def test_class_fit_refuses_bad_labels():
    with pytest.raises(ValueError, match="one class per text"):
        fit_lexical_classes(TEXTS, LABELS[:-1], 3)
    with pytest.raises(ValueError, match="missing: \\[2\\]"):
        fit_lexical_classes(TEXTS[:18], LABELS[:18], 3)


def test_with_words_adds_the_logits_to_the_log_probabilities(branch, lexical):
    model = load_tone_model(branch)
    probs = np.array([[0.2, 0.5, 0.3], [0.3, 0.4, 0.3]])
    texts = ["Splendid news.", "Dreadful news."]
    assert model.with_words(probs, texts) is probs  # no evidence: unchanged
    model.lexical = lexical
    out = model.with_words(probs, texts)
    want = probs * np.exp(lexical.logits(texts))
    assert np.allclose(out, want / want.sum(axis=1, keepdims=True))
    assert out[0, PROM] > probs[0, PROM] and out[1, CRIT] > probs[1, CRIT]
    assert model.with_words(probs[:0], []).shape == (0, 3)


def test_attaching_and_detaching_keep_the_weights(branch, lexical, tmp_path):
    import shutil

    d = tmp_path / "t"
    shutil.copytree(branch, d)
    digest = load_tone_model(d).digest
    attach_lexical(d, lexical)
    loaded = load_tone_model(d, lazy=True)
    assert loaded.digest == digest and loaded.lexical is not None
    assert loaded.lexical.vocabulary == lexical.vocabulary
    assert json.loads((d / "config.json").read_text())["lexical"]["training"]["kind"] == "classes"
    attach_lexical(d, None)
    assert load_tone_model(d).lexical is None
    assert not (d / LEXICAL_CONFIG).exists() and not (d / LEXICAL_WEIGHTS).exists()
    with pytest.raises(ValueError, match="one logit per tone class"):
        attach_lexical(d, fit_lexical_classes(TEXTS[:18], [0] * 9 + [1] * 9, 2, min_df=2))
    with pytest.raises(ModelLoadError, match="not a tone model directory"):
        attach_lexical(tmp_path / "nothing", lexical)


def test_a_damaged_evidence_file_is_named(branch, lexical, tmp_path):
    import shutil

    d = tmp_path / "t"
    shutil.copytree(branch, d)
    attach_lexical(d, lexical)
    (d / LEXICAL_WEIGHTS).write_bytes((d / LEXICAL_WEIGHTS).read_bytes()[:30])
    with pytest.raises(ModelLoadError, match=LEXICAL_WEIGHTS):
        load_tone_model(d)
    (d / LEXICAL_CONFIG).unlink()
    with pytest.raises(ModelLoadError, match=LEXICAL_CONFIG):
        load_tone_model(d)


def _analyzers(encoder, branch, lexical, tmp_path, **kwargs):
    import shutil

    d = tmp_path / "with-words"
    shutil.copytree(branch, d)
    attach_lexical(d, lexical)
    plain = framing.Analyzer(encoder=encoder, tone=str(branch), cues=None, frames=None, **kwargs)
    words = framing.Analyzer(encoder=encoder, tone=str(d), cues=None, frames=None, **kwargs)
    return plain, words


ARTICLE = "Leaders hailed a splendid deal with Borvia. The road runs north."


def test_the_analyzer_moves_whole_sentences_but_not_tone_toward_a_target(
        tiny_encoder, branch, lexical, tmp_path):
    plain, words = _analyzers(tiny_encoder, branch, lexical, tmp_path)
    a, b = plain.score(ARTICLE), words.score(ARTICLE)
    assert b.tone_probabilities["promotional"] > a.tone_probabilities["promotional"]
    assert b.sentences[0].tone > a.sentences[0].tone
    ta, tb = plain.score(ARTICLE, target="Borvia"), words.score(ARTICLE, target="Borvia")
    assert ta.sentences[0].target_tone == pytest.approx(tb.sentences[0].target_tone)
    assert ta.tone == pytest.approx(tb.tone)


@pytest.mark.optional
def test_the_onnx_backend_applies_the_same_evidence(tiny_model_dir, branch, lexical, tmp_path,
                                                    monkeypatch):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    monkeypatch.setenv("FRAMING_CACHE", str(tmp_path / "cache"))
    enc = framing.Encoder(tiny_model_dir)
    _, torch_words = _analyzers(enc, branch, lexical, tmp_path / "a", backend="torch")
    _, onnx_words = _analyzers(enc, branch, lexical, tmp_path / "b", backend="onnx")
    a, b = torch_words.score(ARTICLE), onnx_words.score(ARTICLE)
    for label in TONE_LABELS:
        assert b.tone_probabilities[label] == pytest.approx(a.tone_probabilities[label],
                                                            abs=0.02)
