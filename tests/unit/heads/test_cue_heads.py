"""Trained cue heads: fitting, saving, loading, and their use by the detector."""

from __future__ import annotations

import json

import numpy as np
import pytest

import framing
from framing.heads.cues.heads import (
    CueHeads,
    fit_cue_heads,
    is_cue_heads_dir,
    load_cue_heads,
    shipped_cue_heads_path,
)
from framing.errors import ModelLoadError


def _synthetic(n=240, dim=16, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, dim))
    W = rng.normal(size=(k, dim))
    Y = (X @ W.T + rng.normal(scale=0.5, size=(n, k))) > 0.8
    return X, Y


@pytest.fixture(scope="module")
def fitted():
    X, Y = _synthetic()
    heads = fit_cue_heads(X[:160], Y[:160], X[160:], Y[160:], ["a", "b", "c"])
    return heads, X, Y


def test_fitted_heads_separate_and_calibrate(fitted):
    heads, X, Y = fitted
    p = heads.predict_proba(X[160:])
    assert p.shape == (80, 3) and (p >= 0).all() and (p <= 1).all()
    pred = p >= heads.thresholds[None, :]
    f1 = [2 * (pred[:, j] & Y[160:, j]).sum() / (pred[:, j].sum() + Y[160:, j].sum())
          for j in range(3)]
    assert min(f1) > 0.7
    assert all(0.05 <= t <= 0.95 for t in heads.thresholds)


def test_a_cue_without_positives_is_refused():
    X, Y = _synthetic()
    Y[:, 1] = False
    with pytest.raises(ValueError, match="'b'"):
        fit_cue_heads(X[:160], Y[:160], X[160:], Y[160:], ["a", "b", "c"])


def test_save_load_round_trip(fitted, tmp_path):
    heads, X, _ = fitted
    heads.save(tmp_path / "h", "# card\n")
    assert is_cue_heads_dir(tmp_path / "h")
    back = load_cue_heads(tmp_path / "h")
    assert back.ids == ["a", "b", "c"]
    assert np.allclose(back.predict_proba(X), heads.predict_proba(X), atol=1e-5)
    assert np.allclose(back.thresholds, heads.thresholds)


@pytest.mark.parametrize("damage", ["config", "format", "weights", "shape"])
def test_damaged_heads_are_refused_naming_the_file(fitted, tmp_path, damage):
    heads, _, _ = fitted
    d = heads.save(tmp_path / "h", "# card\n")
    if damage == "config":
        (d / "config.json").write_text("{not json")
    elif damage == "format":
        (d / "config.json").write_text(json.dumps({"format": "something-else"}))
    elif damage == "weights":
        (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:50])
    else:
        cfg = json.loads((d / "config.json").read_text())
        cfg["cues"] = ["a", "b"]
        cfg["thresholds"] = [0.5, 0.5]
        (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match=str(tmp_path)):
        load_cue_heads(d)


def test_shipped_heads_serve_the_builtin_catalogue_by_default(default_analyzer):
    assert is_cue_heads_dir(shipped_cue_heads_path())
    det = default_analyzer.cue_detector
    assert det.heads is not None and det.name == "trained-heads+patterns"
    assert det.heads.ids == framing.load_catalogue().ids
    assert np.allclose(det.thresholds, det.heads.thresholds)
    # a plain mutual-benefit claim (a subtler paraphrase, "would leave both countries
    # better off", sits at 0.49 under the distilled heads, just below the threshold)
    r = default_analyzer.score(
        "Both sides will gain from the new grid link, the ministers said, calling it "
        "mutually beneficial.")
    assert r.cues["win_win"].present
    assert r.cues["win_win"].probability >= det.thresholds[0]


def test_other_catalogues_and_few_shot_do_not_use_the_heads(default_analyzer):
    enc = default_analyzer.encoder
    frames = framing.Analyzer(tone=None, catalogue="policy_frames", encoder=enc)
    assert frames.cue_detector.heads is None
    few = framing.Analyzer(tone=None, cues="few-shot", encoder=enc)
    assert few.cue_detector.heads is None
    assert few.cue_detector.name == "exemplar-similarity+patterns"


def test_heads_for_other_cues_are_refused(fitted, default_analyzer):
    heads, _, _ = fitted
    with pytest.raises(ModelLoadError, match="trained for cues"):
        framing.CueDetector(None, default_analyzer.encoder, heads=heads)


def test_heads_refuse_another_encoder(default_analyzer, tiny_model_dir):
    heads = load_cue_heads(shipped_cue_heads_path())
    assert isinstance(heads, CueHeads)
    with pytest.raises(ModelLoadError, match="encoder"):
        framing.CueDetector(None, framing.Encoder(tiny_model_dir), heads=heads)


# --------------------------------------------------------------------------------------
# per-cue pattern weights, fitted on dev


def test_pattern_weights_follow_what_the_patterns_are_worth():
    from framing.heads.cues.heads import fit_pattern_weights, lift

    rng = np.random.default_rng(3)
    n = 400
    Y = np.zeros((n, 2), dtype=bool)
    Y[:100] = True
    probs = np.clip(np.where(Y, 0.55, 0.3) + rng.normal(scale=0.15, size=(n, 2)), 0.01, 0.99)
    matched = np.zeros((n, 2), dtype=bool)
    matched[:90, 0] = True            # cue 0: its pattern fires on positives only
    matched[100:300, 1] = True        # cue 1: its pattern fires on 200 negatives
    heads = CueHeads(["good", "noisy"], np.zeros((2, 3)), np.zeros(2), np.ones(2), np.zeros(2),
                     np.full(2, 0.5))
    fit_pattern_weights(heads, probs, matched, Y)
    assert heads.pattern_weights[0] > 0 and heads.pattern_weights[1] == 0.0
    lifted = lift(probs, matched, np.asarray(heads.pattern_weights))
    assert (lifted[:90, 0] >= heads.pattern_weights[0]).all()
    assert np.allclose(lifted[:, 1], probs[:, 1])


def test_pattern_weights_survive_save_and_reach_the_detector(fitted, tmp_path):
    heads, X, _ = fitted
    heads = CueHeads(heads.ids, heads.W, heads.b, heads.platt_a, heads.platt_c, heads.thresholds,
                     name="h", pattern_weights=[0.0, 0.5, 0.9])
    heads.save(tmp_path / "h", "# card\n")
    back = load_cue_heads(tmp_path / "h")
    assert back.pattern_weights == [0.0, 0.5, 0.9]
    cfg = json.loads((tmp_path / "h" / "config.json").read_text())
    cfg["pattern_weights"] = [0.0, 2.0, 0.9]
    (tmp_path / "h" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="pattern_weights"):
        load_cue_heads(tmp_path / "h")
    cfg["pattern_weights"] = [0.0, 0.5]
    (tmp_path / "h" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="pattern_weights"):
        load_cue_heads(tmp_path / "h")


def test_detector_uses_the_heads_pattern_weights():
    det = framing.CueDetector(None, None, use_similarity=False)
    assert np.allclose(det.pattern_weights, det.pattern_weight)
    k = len(det.catalogue.ids)
    weights = [0.0] * k
    weights[0] = 0.6
    det.heads = CueHeads(det.catalogue.ids, np.zeros((k, 2)), np.zeros(k), np.ones(k),
                         np.zeros(k), np.full(k, 0.5), pattern_weights=weights)
    assert np.allclose(det.pattern_weights, weights)
    probs, matches = det.predict(["The two sides called the deal a win-win arrangement."])
    assert matches[0] and matches[0][0].cue == det.catalogue.ids[0]
    assert probs[0, 0] == pytest.approx(0.6)


def test_pattern_matrix_marks_each_sentence_and_cue():
    det = framing.CueDetector(None, None, use_similarity=False)
    texts = ["The two sides called the deal a win-win arrangement.", "The ferry leaves at noon."]
    m = det.pattern_matrix(texts)
    assert m.shape == (2, len(det.catalogue.ids)) and m.dtype == bool
    assert m[0, det.catalogue.ids.index("win_win")] and not m[1].any()
    assert (m == det.matched([det.match_patterns(t) for t in texts])).all()
