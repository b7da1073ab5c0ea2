"""The truncated encoder pass (``stop_layer``) and heads that read a tone branch's states.

When every head reads a tone branch (tone, cue heads and frame heads with
``features="tone-branch"``), the analyzer runs the encoder only up to the branch's layer.
These tests pin that the truncated pass gives the taps exactly the full pass's states,
and that the analyzer's outputs do not change with it.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import framing
from framing.text.catalogue import load_catalogue
from framing.heads.cues.heads import CueHeads
from framing.encoding.encoder import Tap
from framing.errors import ModelLoadError
from framing.heads.frames.heads import FrameHeads, load_frame_heads
from framing.encoding.fingerprints import encoder_fingerprint
from framing.heads.tone.model import load_tone_model
from tiny_models import tiny_tone_branch

TEXTS = ["The union said talks had collapsed and the strike would go on.",
         "Hospital managers said the pay offer was final.",
         "Patients waited at home.",
         "The union said talks had collapsed and the strike would go on.",  # a repeat
         "Both sides praised the deal, which brings work and water to the region."]


class _Keep(Tap):
    def __init__(self, layer: int) -> None:
        self.layer = layer
        self.states: dict[int, np.ndarray] = {}

    def consume(self, hidden, mask, offsets, positions) -> None:
        for r, poss in enumerate(positions):
            for p in poss:
                self.states[p] = hidden[r, :int(mask[r].sum())].float().numpy().copy()


@pytest.fixture(scope="module")
def encoder(tiny_model_dir):
    return framing.Encoder(tiny_model_dir, batch_size=2)


@pytest.mark.parametrize("layer", [0, 1, 2])
def test_truncated_pass_gives_taps_the_full_pass_states(encoder, layer):
    full, part = _Keep(layer), _Keep(layer)
    encoder.encode(TEXTS, taps=[full])
    out = encoder.encode(TEXTS, taps=[part], stop_layer=layer)
    assert sorted(full.states) == sorted(part.states) == list(range(len(TEXTS)))
    for p in full.states:
        np.testing.assert_array_equal(full.states[p], part.states[p])
    assert out.shape == (len(TEXTS), encoder.dim)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_full_depth_stop_layer_is_the_ordinary_pass(encoder):
    np.testing.assert_array_equal(encoder.encode(TEXTS, stop_layer=encoder.n_layers),
                                  encoder.encode(TEXTS))
    # and the model still runs whole after a truncated call (the hooks are gone)
    before = encoder.encode(TEXTS)
    encoder.encode(TEXTS, stop_layer=1)
    np.testing.assert_array_equal(encoder.encode(TEXTS), before)


def test_stop_layer_refuses_a_tap_above_it(encoder):
    with pytest.raises(ValueError, match="above stop_layer"):
        encoder.encode(TEXTS, taps=[_Keep(2)], stop_layer=1)
    with pytest.raises(ValueError, match="stop_layer"):
        encoder.encode(TEXTS, stop_layer=encoder.n_layers + 1)


# -- a tiny tone branch, and cue and frame heads on its states ------------------------
@pytest.fixture(scope="module")
def branch_dir(encoder, tmp_path_factory):
    return tiny_tone_branch(encoder, tmp_path_factory.mktemp("tiny-branch"), card="# card\n")


@pytest.fixture(scope="module")
def tone(branch_dir):
    return load_tone_model(branch_dir)


def _cue_heads(encoder, tone):
    cat = load_catalogue(None)
    rng = np.random.default_rng(1)
    k = len(cat.ids)
    return CueHeads(list(cat.ids), rng.normal(0, 3, (k, encoder.dim)), rng.normal(0, 0.5, k),
                    np.ones(k), np.zeros(k), np.full(k, 0.5), catalogue_sha256=cat.sha256,
                    encoder=encoder_fingerprint(encoder), name="tiny-cues",
                    feature_source="tone-branch",
                    feature_model={"name": "tiny-branch", "digest": tone.digest})


def _frame_heads(encoder, tone, name="tiny-frames"):
    rng = np.random.default_rng(2)
    return FrameHeads(["alpha", "beta"], rng.normal(0, 3, (2, 2 * encoder.dim)),
                      rng.normal(0, 0.5, 2), np.ones(2), np.zeros(2), np.array([0.4, 0.6]),
                      pooling="mean_top3", names=["Alpha", "Beta"],
                      encoder=encoder_fingerprint(encoder), name=name, feature_source="tone-branch",
                      feature_model={"name": "tiny-branch", "digest": tone.digest})


def _outputs(results):
    return [(r.tone, r.tone_probabilities, [(s.tone, s.target_tone, s.cues) for s in r.sentences],
             {c: (v.probability, v.present, [e.sentence for e in v.evidence])
              for c, v in r.cues.items()},
             {s: {f: (v.probability, v.present, [e.sentence for e in v.evidence])
                  for f, v in fr.items()} for s, fr in r.frames.items()}) for r in results]


def _close(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-6
    return a == b


def test_analyzer_outputs_do_not_change_with_the_truncated_pass(encoder, branch_dir, tone):
    an = framing.Analyzer(encoder=encoder, tone=str(branch_dir),
                          cue_heads=_cue_heads(encoder, tone),
                          frames=[_frame_heads(encoder, tone)])
    assert an.cue_detector.feature_model is an.tone_scorer
    assert an.frame_scorers[0].feature_model is an.tone_scorer  # one branch pass for all
    articles = [" ".join(TEXTS), TEXTS[2] + " " + TEXTS[0], "", TEXTS[4]]
    targets = [None, "union", None, "deal"]

    calls = []
    real = encoder.encode

    def spy(*args, **kwargs):
        calls.append(kwargs.get("stop_layer"))
        return real(*args, **kwargs)

    encoder.encode = spy
    try:
        truncated = an.score_many(articles, targets=targets)
        an.truncated_pass = False
        full = an.score_many(articles, targets=targets)
    finally:
        an.truncated_pass = True
        del encoder.encode
    assert calls == [1, None]  # one pass each: stopped after the branch's layer, then whole
    assert _close(_outputs(truncated), _outputs(full))
    assert truncated[0].frames["tiny-frames"]["alpha"].probability > 0
    assert truncated[2].frames["tiny-frames"]["alpha"].probability == 0.0


def test_a_head_on_embeddings_keeps_the_full_pass(encoder, branch_dir, tone, tiny_model_dir):
    rng = np.random.default_rng(4)
    emb_heads = FrameHeads(["gamma"], rng.normal(size=(1, 2 * encoder.dim)), np.zeros(1),
                           np.ones(1), np.zeros(1), np.array([0.5]), pooling="mean_top3",
                           names=["Gamma"], encoder=encoder_fingerprint(encoder), name="emb-frames")
    an = framing.Analyzer(encoder=encoder, tone=str(branch_dir),
                          cue_heads=_cue_heads(encoder, tone),
                          frames=[_frame_heads(encoder, tone), emb_heads])
    calls = []
    real = encoder.encode
    encoder.encode = lambda *a, **k: calls.append(k.get("stop_layer")) or real(*a, **k)
    try:
        r = an.score(" ".join(TEXTS))
    finally:
        del encoder.encode
    assert calls == [None]
    emb = encoder.encode([s.clean for s in an.prepare(" ".join(TEXTS)).sentences])
    want = emb_heads.score_article(emb)["gamma"]
    assert r.frames["emb-frames"]["gamma"].probability == pytest.approx(want, abs=1e-6)


def test_branch_frame_heads_save_load_and_check_the_digest(encoder, branch_dir, tone, tmp_path):
    path = _frame_heads(encoder, tone).save(tmp_path / "fh", "# card\n")
    loaded = load_frame_heads(path)
    assert loaded.feature_source == "tone-branch"
    assert loaded.feature_model["digest"] == tone.digest
    an = framing.Analyzer(encoder=encoder, tone=str(branch_dir), cues=False, frames=[str(path)])
    assert an.frame_scorers[0].feature_model is an.tone_scorer
    # a tone model the heads were not trained on is refused, naming the digest
    with pytest.raises(ModelLoadError, match="digest"):
        framing.Analyzer(encoder=encoder, tone="similarity", cues=False, frames=[str(path)])
    bad = tmp_path / "bad"
    shutil.copytree(path, bad)
    cfg = json.loads((bad / "config.json").read_text())
    cfg["feature_model"] = None
    (bad / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="digest"):
        load_frame_heads(bad)
    cfg["features"] = "pixels"
    (bad / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="unknown features"):
        load_frame_heads(bad)


def test_embedding_frame_heads_load_as_before(encoder, tmp_path):
    rng = np.random.default_rng(5)
    h = FrameHeads(["a"], rng.normal(size=(1, 2 * encoder.dim)), np.zeros(1), np.ones(1),
                   np.zeros(1), np.array([0.5]), pooling="mean_top3")
    path = h.save(tmp_path / "e", "# card\n")
    cfg = json.loads((path / "config.json").read_text())
    del cfg["features"], cfg["feature_model"]  # a config written before the field existed
    (path / "config.json").write_text(json.dumps(cfg))
    loaded = load_frame_heads(path)
    assert loaded.feature_source == "embedding" and loaded.feature_model is None


def test_fit_threads_caps_torch_at_the_available_cpus(monkeypatch):
    import torch

    from framing.encoding.encoder import available_cpus, fit_threads

    before = torch.get_num_threads()
    try:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            monkeypatch.delenv(var, raising=False)
        torch.set_num_threads(available_cpus() + 3)
        assert fit_threads() == available_cpus()
        monkeypatch.setenv("OMP_NUM_THREADS", "7")  # the user's choice is left alone
        torch.set_num_threads(available_cpus() + 3)
        assert fit_threads() == available_cpus() + 3
    finally:
        torch.set_num_threads(before)


# -- the ONNX Runtime backend ---------------------------------------------------------
@pytest.mark.optional
@pytest.mark.parametrize("quantize, tol", [(False, 1e-4), (True, 0.15)])
def test_onnx_backend_matches_torch(encoder, branch_dir, tone, tmp_path, monkeypatch,
                                    quantize, tol):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from framing.pipeline.onnx_backend import OnnxBranchRunner

    monkeypatch.setenv("FRAMING_CACHE", str(tmp_path / "cache"))
    kwargs = dict(encoder=encoder, tone=str(branch_dir), cue_heads=_cue_heads(encoder, tone),
                  frames=[_frame_heads(encoder, tone)])
    ref = framing.Analyzer(**kwargs)
    an = framing.Analyzer(backend="onnx", **kwargs)
    if not quantize:
        an._onnx = OnnxBranchRunner(encoder, an.tone_scorer, quantize=False)
    path = an._onnx.path
    assert path.is_file() and str(path).startswith(str(tmp_path / "cache"))
    assert ("int8" in path.name) == quantize
    articles = [" ".join(TEXTS), TEXTS[2] + " " + TEXTS[0], TEXTS[4]]
    targets = [None, "union", None]
    want, got = ref.score_many(articles, targets=targets), an.score_many(articles, targets=targets)
    for a, b in zip(want, got):
        assert b.tone == pytest.approx(a.tone, abs=tol)
        for k, v in a.tone_probabilities.items():
            assert b.tone_probabilities[k] == pytest.approx(v, abs=tol)
        for s, t in zip(a.sentences, b.sentences):
            assert t.tone == pytest.approx(s.tone, abs=tol)
            assert t.target_tone == pytest.approx(s.target_tone, abs=tol) \
                if s.target_tone is not None else t.target_tone is None
            for c in s.cues:
                assert t.cues[c] == pytest.approx(s.cues[c], abs=tol)
        for f, v in a.frames["tiny-frames"].items():
            assert b.frames["tiny-frames"][f].probability == pytest.approx(v.probability, abs=tol)
    # a second analyzer reuses the cached graph
    if quantize:
        mtime = path.stat().st_mtime_ns
        again = framing.Analyzer(backend="onnx", **kwargs)
        assert again._onnx.path == path and path.stat().st_mtime_ns == mtime


def test_onnx_backend_refuses_a_baseline_tone_scorer(encoder):
    with pytest.raises(ValueError, match="onnx"):
        framing.Analyzer(encoder=encoder, tone="similarity", backend="onnx")
    with pytest.raises(ValueError, match="backend"):
        framing.Analyzer(encoder=encoder, tone="similarity", backend="tensorrt")
