"""Sentence-tone heads: fitting, saving and loading, damaged files, the features they read,
and the analyzer taking the tone of whole sentences from them (torch and ONNX) while tone
toward a target stays with the branch."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import framing
from framing.core.labels import TONE_LABELS
from framing.errors import ModelLoadError
from framing.heads.artefact import MODEL_FILES, copy_model_dir
from framing.heads.lexical import LEXICAL_CONFIG, LEXICAL_WEIGHTS
from framing.heads.tone.model import (attach_sentence_branch, attach_sentence_head,
                                      load_tone_model, sentence_head_features)
from framing.heads.tone.sentence_head import (SENTENCE_HEAD, SENTENCE_HEAD_WEIGHTS,
                                              SentenceToneHead)
from framing.text.prepare import normalise
from tiny_models import tiny_tone_branch

TEXTS = ["The council said the bridge would open in spring.",
         "Critics said the plan ignored the cost.",
         "Both cities praised the deal, which brings jobs to the region."]


def _separable(n: int = 90, d: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    X = rng.normal(0, 0.3, (n, d))
    X[np.arange(n), y] += 2.0
    return X, y


def test_a_fitted_head_separates_what_is_separable_and_keeps_the_class_balance():
    X, y = _separable()
    head = SentenceToneHead.fit(X, y, "branch", C=1.0)
    P = head.probabilities(X)
    assert P.shape == (len(y), 3) and np.allclose(P.sum(1), 1)
    assert (P.argmax(1) == y).mean() > 0.95
    assert head.training["rows"] == len(y) and head.training["class_counts"] == [30, 30, 30]
    with pytest.raises(ValueError, match="reads rows of 6 features"):
        head.probabilities(X[:, :5])


def test_a_saved_head_loads_back_the_same(tmp_path):
    X, y = _separable()
    fitted = SentenceToneHead.fit(X, y, "branch")
    # Fortran order, as scikit-learn's multinomial coef_ comes: it must not be scrambled
    head = SentenceToneHead(np.asfortranarray(fitted.W), fitted.b, "branch")
    assert not head.W.flags["C_CONTIGUOUS"]
    head.save(tmp_path)
    back = SentenceToneHead.load(tmp_path, head.summary())
    assert np.allclose(back.W, head.W, atol=1e-5) and np.allclose(back.b, head.b, atol=1e-5)
    assert np.allclose(back.probabilities(X), head.probabilities(X), atol=1e-5)


def test_fitting_and_building_refuse_what_cannot_work():
    X, y = _separable()
    with pytest.raises(ValueError, match="missing: \\['promotional'\\]"):
        SentenceToneHead.fit(X[y < 2], y[y < 2], "branch")
    with pytest.raises(ValueError, match="one class per row"):
        SentenceToneHead.fit(X, y[:-1], "branch")
    with pytest.raises(ValueError, match="features must be one of"):
        SentenceToneHead(np.zeros((3, 4)), np.zeros(3), "words")
    with pytest.raises(ValueError, match="W must be"):
        SentenceToneHead(np.zeros((2, 4)), np.zeros(2), "branch")
    with pytest.raises(ValueError, match="finite"):
        SentenceToneHead(np.full((3, 4), np.nan), np.zeros(3), "branch")


def test_artefact_arrays_in_fortran_order_load_back_the_same(tmp_path):
    from safetensors.numpy import load_file

    from framing.heads.artefact import write_artefact

    W = np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4))
    write_artefact(tmp_path, {"W": W}, {"format": "test"}, "# card\n")
    assert np.array_equal(load_file(str(tmp_path / "model.safetensors"))["W"], W)


def test_the_file_names_a_model_copy_takes_are_the_heads_own():
    for name in (LEXICAL_CONFIG, LEXICAL_WEIGHTS, SENTENCE_HEAD_WEIGHTS):
        assert name in MODEL_FILES


@pytest.fixture(scope="module")
def tone_dir(tiny_encoder, tmp_path_factory):
    return tiny_tone_branch(tiny_encoder, tmp_path_factory.mktemp("tone"), seed=3)


@pytest.fixture(scope="module")
def paired_dir(tiny_encoder, tone_dir, tmp_path_factory):
    """The tiny branch with a second branch (on the last layer) as its sentence branch."""
    last = tiny_tone_branch(tiny_encoder, tmp_path_factory.mktemp("last"), seed=5, layer=2)
    paired = tmp_path_factory.mktemp("paired") / "m"
    shutil.copytree(tone_dir, paired)
    attach_sentence_branch(paired, last)
    return paired


def _head_for(model_dir, encoder, features: str) -> SentenceToneHead:
    """A head fitted on the three texts' own features, labels chosen so that it disagrees
    with the branch on at least one of them."""
    model = load_tone_model(model_dir)
    X = sentence_head_features(model, encoder, [normalise(t, html=False)[0] for t in TEXTS],
                               features)
    X = np.vstack([X] * 10)
    return SentenceToneHead.fit(X, np.array([2, 0, 1] * 10), features, C=100.0)


@pytest.mark.parametrize("features", ["branch", "branch+main"])
def test_the_analyzer_takes_whole_sentence_tone_from_the_head(tiny_encoder, tone_dir,
                                                              paired_dir, tmp_path, features):
    src = tone_dir if features == "branch" else paired_dir
    head = _head_for(src, tiny_encoder, features)
    d = tmp_path / "with-head"
    shutil.copytree(src, d)
    digest = load_tone_model(d).digest
    attach_sentence_head(d, head)
    assert load_tone_model(d).digest == digest  # the weights are untouched
    assert load_tone_model(d).sentence_head.features == features
    plain = framing.Analyzer(encoder=tiny_encoder, tone=str(src), cues=False, frames=None)
    headed = framing.Analyzer(encoder=tiny_encoder, tone=str(d), cues=False, frames=None)
    want = head.probabilities(sentence_head_features(
        load_tone_model(d), tiny_encoder, [normalise(t, html=False)[0] for t in TEXTS], features))
    for text, p in zip(TEXTS, want):
        got = headed.score(text)
        assert [got.tone_probabilities[k] for k in TONE_LABELS] == pytest.approx(p, abs=1e-5)
        assert got.sentences[0].tone == pytest.approx(p[2] - p[0], abs=1e-5)
    assert [headed.score(t).tone_label for t in TEXTS] == ["promotional", "critical", "neutral"]
    # tone toward a target stays with the branch
    ta, tb = plain.score(TEXTS[1], target="plan"), headed.score(TEXTS[1], target="plan")
    assert tb.sentences[0].target_tone == pytest.approx(ta.sentences[0].target_tone)
    assert tb.tone_probabilities == pytest.approx(ta.tone_probabilities)


def test_a_head_on_both_branches_needs_a_sentence_branch(tiny_encoder, tone_dir, paired_dir,
                                                         tmp_path):
    head = _head_for(paired_dir, tiny_encoder, "branch+main")
    d = tmp_path / "t"
    shutil.copytree(tone_dir, d)
    with pytest.raises(ModelLoadError, match="needs a sentence branch"):
        attach_sentence_head(d, head)
    assert SENTENCE_HEAD not in json.loads((d / "config.json").read_text())  # undone
    assert not (d / SENTENCE_HEAD_WEIGHTS).exists()
    with pytest.raises(ValueError, match="need a tone model with a sentence branch"):
        sentence_head_features(load_tone_model(d), tiny_encoder, TEXTS, "branch+main")


def test_damaged_head_files_are_named_and_a_head_can_be_taken_away(tiny_encoder, tone_dir,
                                                                    tmp_path):
    head = _head_for(tone_dir, tiny_encoder, "branch")
    d = tmp_path / "t"
    shutil.copytree(tone_dir, d)
    attach_sentence_head(d, head)
    copy = copy_model_dir(d, tmp_path / "copy")  # a copy takes the head along
    assert load_tone_model(copy).sentence_head.dim == head.dim
    weights = d / SENTENCE_HEAD_WEIGHTS
    good = weights.read_bytes()
    weights.write_bytes(good[:40])
    with pytest.raises(ModelLoadError, match=SENTENCE_HEAD_WEIGHTS):
        load_tone_model(d)
    weights.unlink()
    with pytest.raises(ModelLoadError, match="missing"):
        load_tone_model(d)
    weights.write_bytes(good)
    cfg = json.loads((d / "config.json").read_text())
    cfg[SENTENCE_HEAD]["dim"] = head.dim + 1
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="the config says"):
        load_tone_model(d)
    cfg[SENTENCE_HEAD] = {"features": "words"}
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="must name its features"):
        load_tone_model(d)
    cfg.pop(SENTENCE_HEAD)
    (d / "config.json").write_text(json.dumps(cfg))
    attach_sentence_head(d, head)
    attach_sentence_head(d, None)
    assert load_tone_model(d).sentence_head is None and not weights.exists()


@pytest.mark.optional
def test_the_onnx_backend_gives_the_heads_probabilities(tiny_model_dir, paired_dir, tmp_path,
                                                        monkeypatch):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    monkeypatch.setenv("FRAMING_CACHE", str(tmp_path / "cache"))
    enc = framing.Encoder(tiny_model_dir)
    d = tmp_path / "with-head"
    shutil.copytree(paired_dir, d)
    attach_sentence_head(d, _head_for(paired_dir, enc, "branch+main"))
    torch_an = framing.Analyzer(encoder=enc, tone=str(d), cues=False, frames=None,
                                backend="torch")
    onnx_an = framing.Analyzer(encoder=enc, tone=str(d), cues=False, frames=None,
                               backend="onnx-fp32")
    assert onnx_an.backend == "onnx-fp32"
    for text in TEXTS:
        a, b = torch_an.score(text), onnx_an.score(text)
        for k in TONE_LABELS:
            assert b.tone_probabilities[k] == pytest.approx(a.tone_probabilities[k], abs=1e-3)


@pytest.mark.parametrize("features", ["branch", "branch+main"])
def test_a_head_for_sentences_only_leaves_articles_to_the_branch(tiny_encoder, tone_dir,
                                                                 paired_dir, tmp_path, features):
    src = tone_dir if features == "branch" else paired_dir
    head = _head_for(src, tiny_encoder, features)
    head.articles = "branch"
    d = tmp_path / "sentences-only"
    shutil.copytree(src, d)
    attach_sentence_head(d, head)
    assert load_tone_model(d).sentence_head.articles == "branch"
    plain = framing.Analyzer(encoder=tiny_encoder, tone=str(src), cues=False, frames=None)
    headed = framing.Analyzer(encoder=tiny_encoder, tone=str(d), cues=False, frames=None)
    article = " ".join(TEXTS)
    a, h = plain.score(article), headed.score(article)
    assert len(h.sentences) == len(TEXTS) >= 2
    # two or more sentences: the article's tone is the branch's aggregate, unchanged
    assert h.tone_probabilities == pytest.approx(a.tone_probabilities)
    assert h.tone == pytest.approx(a.tone) and h.tone_label == a.tone_label
    # while each sentence's own tone, and a one-sentence text, come from the head
    want = head.probabilities(sentence_head_features(
        load_tone_model(d), tiny_encoder, [normalise(t, html=False)[0] for t in TEXTS], features))
    for s, p, text in zip(h.sentences, want, TEXTS):
        assert s.tone == pytest.approx(p[2] - p[0], abs=1e-5)
        one = headed.score(text)
        assert [one.tone_probabilities[k] for k in TONE_LABELS] == pytest.approx(p, abs=1e-5)
    assert any(abs(s.tone - t.tone) > 1e-3 for s, t in zip(h.sentences, a.sentences))


def test_what_articles_aggregate_is_checked(tiny_encoder, tone_dir, tmp_path):
    head = _head_for(tone_dir, tiny_encoder, "branch")
    with pytest.raises(ValueError, match="articles must be one of"):
        SentenceToneHead(head.W, head.b, "branch", {}, "sentences")
    d = tmp_path / "t"
    shutil.copytree(tone_dir, d)
    attach_sentence_head(d, head)
    cfg = json.loads((d / "config.json").read_text())
    assert cfg[SENTENCE_HEAD]["articles"] == "head"  # the default, recorded
    cfg[SENTENCE_HEAD].pop("articles")  # a config written before the setting: "head"
    (d / "config.json").write_text(json.dumps(cfg))
    assert load_tone_model(d).sentence_head.articles == "head"
    cfg[SENTENCE_HEAD]["articles"] = "all"
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="articles must be"):
        load_tone_model(d)
