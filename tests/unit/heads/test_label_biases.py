"""Label biases for tone not toward a target: fitting them for macro-F1, storing them in a
tone model's config, damaged entries, and the analyzer deciding labels with them while the
probabilities, the tone score and tone toward a target stay as they were."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import framing
from framing.core.labels import TONE_LABELS
from framing.errors import ModelLoadError
from framing.heads.calibration import biased_argmax, fit_class_biases
from framing.heads.tone.model import (ARTICLE_BIASES, LABEL_BIASES, load_tone_model,
                                      set_label_biases)
from framing.stats.metrics import classification_metrics
from tiny_models import tiny_tone_branch

CRIT, NEUT, PROM = (TONE_LABELS.index(x) for x in ("critical", "neutral", "promotional"))


def _macro(y, p) -> float:
    return classification_metrics(y, p, TONE_LABELS, n_boot=1)["macro_f1"].value


def _underconfident_promotional(n: int = 300, seed: int = 0):
    """Probabilities whose argmax rarely says promotional although a third of the rows are:
    promotional rows carry p(promotional) a little under p(neutral)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    P = np.full((n, 3), 0.1)
    P[y == CRIT, CRIT] = 0.8
    P[y == NEUT, NEUT] = 0.8
    P[y == PROM, NEUT] = 0.48
    P[y == PROM, PROM] = 0.42
    P += rng.uniform(0, 0.02, P.shape)
    return P / P.sum(axis=1, keepdims=True), y


def test_biases_recover_a_class_that_argmax_misses():
    P, y = _underconfident_promotional()
    b = fit_class_biases(P, y)
    assert b[NEUT] == 0 and b[PROM] > 0
    assert _macro(y, biased_argmax(P, b)) > _macro(y, P.argmax(1)) + 0.2
    assert np.array_equal(biased_argmax(P, None), P.argmax(1))


def test_no_bias_when_argmax_is_already_best():
    y = np.array([CRIT, NEUT, PROM] * 10)
    P = np.eye(3)[y] * 0.9 + 0.05
    assert np.array_equal(fit_class_biases(P, y), np.zeros(3))  # ties: the smallest change


def test_bias_fitting_refuses_what_does_not_fit():
    P, y = _underconfident_promotional(30)
    with pytest.raises(ValueError, match="one true class per row"):
        fit_class_biases(P, y[:-1])
    with pytest.raises(ValueError, match="from 0 to 2"):
        fit_class_biases(P, np.where(y == 0, 3, y))
    with pytest.raises(ValueError, match="at most three"):
        fit_class_biases(np.full((4, 5), 0.2), np.arange(4))


@pytest.fixture(scope="module")
def branch(tiny_encoder, tmp_path_factory):
    return tiny_tone_branch(tiny_encoder, tmp_path_factory.mktemp("tone") / "t")


def test_biases_are_stored_loaded_recorded_and_removed(branch, tmp_path):
    d = tmp_path / "t"
    shutil.copytree(branch, d)
    digest = load_tone_model(d).digest
    assert load_tone_model(d).label_biases is None
    set_label_biases(d, {"critical": -0.3, "neutral": 0.0, "promotional": -0.7},
                     {"data": "test rows"})
    loaded = load_tone_model(d, lazy=True)
    assert loaded.digest == digest
    assert loaded.label_biases.tolist() == [-0.3, 0.0, -0.7]  # TONE_LABELS order
    cfg = json.loads((d / "config.json").read_text())
    assert cfg[LABEL_BIASES + "_fitted"] == {"data": "test rows"}
    set_label_biases(d, None)
    cfg = json.loads((d / "config.json").read_text())
    assert LABEL_BIASES not in cfg and LABEL_BIASES + "_fitted" not in cfg
    assert load_tone_model(d).label_biases is None


@pytest.mark.parametrize("value", [{"critical": 1.0, "neutral": 0.0},
                                   {"critical": "a", "neutral": 0, "promotional": 0},
                                   {"critical": float("nan"), "neutral": 0, "promotional": 0},
                                   [0.0, 0.0, 0.0]])
def test_a_damaged_bias_entry_is_named(branch, tmp_path, value):
    d = tmp_path / "t"
    shutil.copytree(branch, d)
    cfg = json.loads((d / "config.json").read_text())
    cfg[LABEL_BIASES] = value
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match=LABEL_BIASES):
        load_tone_model(d)
    with pytest.raises(ModelLoadError):  # set_label_biases refuses to write one, and undoes
        shutil.copytree(branch, tmp_path / "u")
        set_label_biases(tmp_path / "u", {"critical": 1.0, "neutral": 0.0})
    assert LABEL_BIASES not in json.loads((tmp_path / "u" / "config.json").read_text())


ARTICLE = "Leaders hailed a splendid deal with Borvia. The road runs north."


def test_the_analyzer_decides_labels_with_biases_but_not_toward_a_target(
        tiny_encoder, branch, tmp_path):
    plain = framing.Analyzer(encoder=tiny_encoder, tone=str(branch), cues=None, frames=None)
    a = plain.score(ARTICLE)
    # a bias that makes the label the class argmax liked least, whatever the probabilities
    worst = min(a.tone_probabilities, key=a.tone_probabilities.get)
    d = tmp_path / "biased"
    shutil.copytree(branch, d)
    set_label_biases(d, {k: (30.0 if k == worst else 0.0) for k in TONE_LABELS})
    biased = framing.Analyzer(encoder=tiny_encoder, tone=str(d), cues=None, frames=None)
    b = biased.score(ARTICLE)
    assert a.tone_label != worst and b.tone_label == worst
    assert b.tone_probabilities == pytest.approx(a.tone_probabilities)
    assert b.tone == pytest.approx(a.tone)
    ta, tb = plain.score(ARTICLE, target="Borvia"), biased.score(ARTICLE, target="Borvia")
    assert ta.tone_label != worst  # so that biases there would show
    assert tb.tone_label == ta.tone_label  # tone toward a target: no biases
    assert tb.tone == pytest.approx(ta.tone)


def test_article_biases_are_stored_apart_and_named_when_damaged(branch, tmp_path):
    d = tmp_path / "t"
    shutil.copytree(branch, d)
    set_label_biases(d, {"critical": 0.2, "neutral": 0.0, "promotional": 0.4},
                     {"data": "articles"}, articles=True)
    loaded = load_tone_model(d, lazy=True)
    assert loaded.article_biases.tolist() == [0.2, 0.0, 0.4]
    assert loaded.label_biases is None  # the sentence-level entry is a different one
    cfg = json.loads((d / "config.json").read_text())
    assert cfg[ARTICLE_BIASES + "_fitted"] == {"data": "articles"}
    cfg[ARTICLE_BIASES] = {"critical": "x", "neutral": 0, "promotional": 0}
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match=ARTICLE_BIASES):
        load_tone_model(d)
    cfg[ARTICLE_BIASES] = {"critical": 0.0, "neutral": 0.0, "promotional": 0.0}
    (d / "config.json").write_text(json.dumps(cfg))
    set_label_biases(d, None, articles=True)
    assert ARTICLE_BIASES not in json.loads((d / "config.json").read_text())
    assert load_tone_model(d).article_biases is None


def test_article_biases_decide_texts_of_two_or_more_sentences_only(
        tiny_encoder, branch, tmp_path):
    one = "Leaders hailed a splendid deal with Borvia."
    plain = framing.Analyzer(encoder=tiny_encoder, tone=str(branch), cues=None, frames=None)
    a, s = plain.score(ARTICLE), plain.score(one)
    worst_a = min(a.tone_probabilities, key=a.tone_probabilities.get)
    d = tmp_path / "article-biased"
    shutil.copytree(branch, d)
    # label biases that keep every label, article biases that force the least likely one
    set_label_biases(d, {k: 0.0 for k in TONE_LABELS})
    set_label_biases(d, {k: (30.0 if k == worst_a else 0.0) for k in TONE_LABELS},
                     articles=True)
    biased = framing.Analyzer(encoder=tiny_encoder, tone=str(d), cues=None, frames=None)
    b, t = biased.score(ARTICLE), biased.score(one)
    assert len(b.sentences) == 2 and len(t.sentences) == 1
    assert a.tone_label != worst_a and b.tone_label == worst_a
    assert b.tone_probabilities == pytest.approx(a.tone_probabilities)
    assert s.tone_label != worst_a  # so that article biases there would show
    assert t.tone_label == s.tone_label  # one sentence: label biases (here none in effect)
    ta, tb = plain.score(ARTICLE, target="Borvia"), biased.score(ARTICLE, target="Borvia")
    assert tb.tone_label == ta.tone_label  # tone toward a target: no biases
