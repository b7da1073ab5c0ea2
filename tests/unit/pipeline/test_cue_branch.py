"""Heads that carry their own branch (a cue branch) beside the analyzer's tone branch.

The accurate tier's cue heads read a branch trained for cues rather than the tone model's
branch. They carry it in their directory (``branch/``), pinned by its weights digest; the
analyzer feeds both branches from its one truncated encoder pass, on torch and in the ONNX
graph. These tests pin the save/load contract, the refusals, and that the outputs are
those of the carried branch.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

import framing
from framing.encoding.fingerprints import encoder_fingerprint
from framing.errors import ModelLoadError
from framing.heads.base import BUNDLED_BRANCH
from framing.heads.cues.heads import CueHeads, lift, load_cue_heads
from framing.heads.tone.model import load_tone_model
from framing.text.catalogue import load_catalogue
from tiny_models import tiny_tone_branch

TEXTS = ["The council said the bridge would open in spring.",
         "Critics said the plan ignored the cost.",
         "Both cities praised the deal, which brings jobs to the region.",
         "Critics said the plan ignored the cost."]  # a repeat


@pytest.fixture(scope="module")
def encoder(tiny_model_dir):
    return framing.Encoder(tiny_model_dir, batch_size=2)


@pytest.fixture(scope="module")
def tone_dir(encoder, tmp_path_factory):
    return tiny_tone_branch(encoder, tmp_path_factory.mktemp("tone"), seed=3)


@pytest.fixture(scope="module")
def cue_branch_dir(encoder, tmp_path_factory):
    """A second branch on the same layer whose own layer weights differ (so its sentence
    states differ from the tone branch's)."""
    path = tiny_tone_branch(encoder, tmp_path_factory.mktemp("cue-branch"), seed=4)
    weights = load_file(str(path / "model.safetensors"))
    rng = np.random.default_rng(7)
    for k in weights:
        if k.startswith("layers.") and weights[k].ndim == 2:
            weights[k] = (weights[k] + rng.normal(0, 0.05, weights[k].shape)).astype(weights[k].dtype)
    save_file(weights, str(path / "model.safetensors"))
    return path


def _heads(encoder, branch, source="layer+tone-branch"):
    cat = load_catalogue(None)
    rng = np.random.default_rng(1)
    k = len(cat.ids)
    width = encoder.dim * (2 if source == "layer+tone-branch" else 1)
    return CueHeads(list(cat.ids), rng.normal(0, 3, (k, width)), rng.normal(0, 0.5, k),
                    np.ones(k), np.zeros(k), np.full(k, 0.5), catalogue_sha256=cat.sha256,
                    encoder=encoder_fingerprint(encoder), name="tiny-cues",
                    feature_source=source, pattern_weights=[0.6] * k,
                    feature_model={"name": "tiny-cue-branch", "digest": branch.digest})


@pytest.fixture(scope="module")
def heads_dir(encoder, cue_branch_dir, tmp_path_factory):
    branch = load_tone_model(cue_branch_dir)
    out = tmp_path_factory.mktemp("heads") / "cues"
    _heads(encoder, branch).save(out, "# tiny heads\n", branch=cue_branch_dir)
    return out


def test_save_copies_the_branch_and_says_so(heads_dir, cue_branch_dir):
    cfg = json.loads((heads_dir / "config.json").read_text())
    assert cfg["feature_model"]["bundled"] == BUNDLED_BRANCH
    copied = heads_dir / BUNDLED_BRANCH
    assert sorted(p.name for p in copied.iterdir()) == ["README.md", "config.json",
                                                        "model.safetensors"]
    assert (copied / "model.safetensors").read_bytes() == \
        (cue_branch_dir / "model.safetensors").read_bytes()
    loaded = load_cue_heads(heads_dir)
    assert loaded.bundled_branch == heads_dir / BUNDLED_BRANCH


def test_heads_saved_elsewhere_take_their_branch_along(heads_dir, tmp_path):
    loaded = load_cue_heads(heads_dir)
    loaded.save(tmp_path / "copy", "# copy\n")
    again = load_cue_heads(tmp_path / "copy")
    assert (again.bundled_branch / "model.safetensors").read_bytes() == \
        (heads_dir / BUNDLED_BRANCH / "model.safetensors").read_bytes()


def test_only_branch_heads_carry_a_branch(encoder, cue_branch_dir, tmp_path):
    heads = _heads(encoder, load_tone_model(cue_branch_dir))
    heads.feature_source, heads.feature_model = "embedding", None
    with pytest.raises(ValueError, match="tone branch"):
        heads.save(tmp_path / "h", "# h\n", branch=cue_branch_dir)
    with pytest.raises(ValueError, match="not a tone-model directory"):
        _heads(encoder, load_tone_model(cue_branch_dir)).save(tmp_path / "h2", "# h\n",
                                                             branch=tmp_path)


def test_analyzer_reads_the_carried_branch(encoder, tone_dir, cue_branch_dir, heads_dir):
    an = framing.Analyzer(encoder=encoder, tone=str(tone_dir), cue_heads=str(heads_dir),
                          frames=None)
    feature = an.cue_detector.feature_model
    assert feature is not an.tone_scorer
    assert feature.digest == load_tone_model(cue_branch_dir).digest
    assert an.artefact_paths()["cue_branch"] == str(heads_dir / BUNDLED_BRANCH)
    results = an.score_many(TEXTS)
    # the cue probabilities are the heads on the carried branch's states
    heads = load_cue_heads(heads_dir)
    clean = [s.text for r in results for s in r.sentences]
    want = heads.predict_proba(feature.sentence_features(encoder, clean, with_layer=True))
    got = np.array([[s.cues[c] for c in heads.ids] for r in results for s in r.sentences])
    matched = an.cue_detector.pattern_matrix(clean)
    lifted = lift(want, matched, np.asarray(heads.pattern_weights))
    np.testing.assert_allclose(got, lifted, atol=1e-5)
    # and they differ from what the tone branch's states would give
    other = heads.predict_proba(an.tone_scorer.sentence_features(encoder, clean, with_layer=True))
    assert np.abs(other - want).max() > 1e-3
    # tone itself is the tone branch's: the same as an analyzer without cues
    plain = framing.Analyzer(encoder=encoder, tone=str(tone_dir), cues=False, frames=None)
    for a, b in zip(results, plain.score_many(TEXTS)):
        assert a.tone == pytest.approx(b.tone, abs=1e-6)


def test_a_missing_or_swapped_branch_is_refused(encoder, tone_dir, heads_dir, tmp_path):
    gone = tmp_path / "gone"
    shutil.copytree(heads_dir, gone)
    shutil.rmtree(gone / BUNDLED_BRANCH)
    with pytest.raises(ModelLoadError, match="branch these cue heads read is missing"):
        load_cue_heads(gone)
    swapped = tmp_path / "swapped"
    shutil.copytree(heads_dir, swapped)
    shutil.copyfile(tone_dir / "model.safetensors", swapped / BUNDLED_BRANCH / "model.safetensors")
    with pytest.raises(ModelLoadError, match="weights digest"):
        framing.Analyzer(encoder=encoder, tone=str(tone_dir), cue_heads=str(swapped), frames=None)
    corrupt = tmp_path / "corrupt"
    shutil.copytree(heads_dir, corrupt)
    (corrupt / BUNDLED_BRANCH / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(ModelLoadError, match="model.safetensors"):
        framing.Analyzer(encoder=encoder, tone=str(tone_dir), cue_heads=str(corrupt), frames=None)
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(heads_dir, elsewhere)
    cfg = json.loads((elsewhere / "config.json").read_text())
    cfg["feature_model"]["bundled"] = "../outside"
    (elsewhere / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="bundled branch lives in"):
        load_cue_heads(elsewhere)


@pytest.mark.optional
@pytest.mark.parametrize("quantize,tol", [(False, 1e-4), (True, 0.08)])
def test_onnx_graph_runs_the_carried_branch(encoder, tone_dir, heads_dir, tmp_path, monkeypatch,
                                            quantize, tol):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    monkeypatch.setenv("FRAMING_CACHE", str(tmp_path / "cache"))
    kwargs = dict(encoder=encoder, tone=str(tone_dir), cue_heads=str(heads_dir), frames=None)
    ref = framing.Analyzer(**kwargs)
    an = framing.Analyzer(backend="onnx" if quantize else "onnx-fp32", **kwargs)
    assert [m.digest for m in an._onnx.extra] == [ref.cue_detector.feature_model.digest]
    articles = [" ".join(TEXTS[:3]), TEXTS[1]]
    targets = [None, "plan"]
    want, got = ref.score_many(articles, targets=targets), an.score_many(articles, targets=targets)
    for a, b in zip(want, got):
        assert b.tone == pytest.approx(a.tone, abs=tol)
        for s, t in zip(a.sentences, b.sentences):
            for c in s.cues:
                assert t.cues[c] == pytest.approx(s.cues[c], abs=tol)
    # the graph is keyed by the extra branch too: tone alone exports another one
    alone = framing.Analyzer(encoder=encoder, tone=str(tone_dir), cues=False, frames=None,
                             backend="onnx" if quantize else "onnx-fp32")
    assert alone._onnx.path != an._onnx.path and alone._onnx.extra == []



# -- a tone model that carries a sentence branch ------------------------------------------
@pytest.fixture(scope="module")
def paired_dir(tone_dir, cue_branch_dir, tmp_path_factory):
    """A copy of the tone model with the second branch attached as its sentence branch."""
    from framing.heads.tone.model import attach_sentence_branch

    out = tmp_path_factory.mktemp("paired") / "tone"
    shutil.copytree(tone_dir, out)
    attach_sentence_branch(out, cue_branch_dir)
    return out


def test_attach_sentence_branch_records_and_loads_it(paired_dir, cue_branch_dir, tone_dir):
    cfg = json.loads((paired_dir / "config.json").read_text())
    assert cfg["sentence_branch"] == "sentence"
    model = load_tone_model(paired_dir)
    assert model.digest == load_tone_model(tone_dir).digest  # the main branch is unchanged
    assert model.sentence_model.digest == load_tone_model(cue_branch_dir).digest
    assert load_tone_model(tone_dir).sentence_model is None


def test_whole_sentences_take_the_sentence_branch_targets_the_main(encoder, paired_dir, tone_dir,
                                                                  cue_branch_dir):
    paired = framing.Analyzer(encoder=encoder, tone=str(paired_dir), cues=False, frames=None)
    main = framing.Analyzer(encoder=encoder, tone=str(tone_dir), cues=False, frames=None)
    second = framing.Analyzer(encoder=encoder, tone=str(cue_branch_dir), cues=False, frames=None)
    assert paired.artefact_paths()["tone_sentence"] == str(paired_dir / "sentence")
    assert paired.config()["tone_sentence_branch"] == "trained:tiny-branch"
    assert "tone_sentence_branch" not in main.config()
    articles, targets = [TEXTS[0], TEXTS[1]], [None, "plan"]
    got = paired.score_many(articles, targets=targets)
    whole = second.score_many(articles)
    aimed = main.score_many(articles, targets=targets)
    # the untargeted article: every sentence's tone is the sentence branch's
    assert got[0].sentences[0].tone == pytest.approx(whole[0].sentences[0].tone, abs=1e-6)
    assert got[0].sentences[0].tone != pytest.approx(aimed[0].sentences[0].tone, abs=1e-4)
    # the targeted one: tone toward the target is the main branch's, the sentence's own the other
    assert got[1].sentences[0].target_tone == pytest.approx(aimed[1].sentences[0].target_tone,
                                                            abs=1e-6)
    assert got[1].sentences[0].tone == pytest.approx(whole[1].sentences[0].tone, abs=1e-6)


def test_cue_heads_pinning_the_sentence_branch_share_its_pass(encoder, paired_dir, cue_branch_dir,
                                                              tmp_path):
    heads = _heads(encoder, load_tone_model(cue_branch_dir))
    heads.save(tmp_path / "cues", "# heads on the sentence branch\n")
    an = framing.Analyzer(encoder=encoder, tone=str(paired_dir), cue_heads=str(tmp_path / "cues"),
                          frames=None)
    assert an.cue_detector.feature_model is an.tone_scorer.sentence_model  # one tap, not two
    assert len(an.needs.branches) == 1 and "cue_branch" not in an.artefact_paths()
    calls = []
    model = an.tone_scorer.sentence_model
    original = model.logits_and_features

    def spy(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    model.logits_and_features = spy
    an.score_many([TEXTS[0]])
    assert len(calls) == 1  # the sentence branch ran once for tone and cues together


def test_a_damaged_sentence_branch_is_refused(paired_dir, tone_dir, cue_branch_dir, tmp_path):
    from framing.heads.tone.model import attach_sentence_branch

    gone = tmp_path / "gone"
    shutil.copytree(paired_dir, gone)
    shutil.rmtree(gone / "sentence")
    with pytest.raises(ModelLoadError, match="sentence branch .* is missing"):
        load_tone_model(gone)
    odd = tmp_path / "odd"
    shutil.copytree(paired_dir, odd)
    cfg = json.loads((odd / "config.json").read_text())
    cfg["sentence_branch"] = "../elsewhere"
    (odd / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="lives in"):
        load_tone_model(odd)
    other_layer = tmp_path / "other-layer"
    shutil.copytree(cue_branch_dir, other_layer)
    cfg = json.loads((other_layer / "config.json").read_text())
    cfg["layer"] = 0
    (other_layer / "config.json").write_text(json.dumps(cfg))
    other_encoder = tmp_path / "other-encoder"
    shutil.copytree(cue_branch_dir, other_encoder)
    cfg = json.loads((other_encoder / "config.json").read_text())
    cfg["encoder"]["weights_digest"] = "0" * 16
    (other_encoder / "config.json").write_text(json.dumps(cfg))
    target = tmp_path / "target"
    shutil.copytree(tone_dir, target)
    before = (target / "config.json").read_text()
    for bad in (other_layer, other_encoder):
        with pytest.raises(ModelLoadError, match="cannot be the sentence branch"):
            attach_sentence_branch(target, bad)
        assert (target / "config.json").read_text() == before
        assert not (target / "sentence").exists()
    # a config edited by hand to name such a branch is refused at load time
    shutil.copytree(other_encoder, target / "sentence")
    cfg = json.loads(before)
    cfg["sentence_branch"] = "sentence"
    (target / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="same encoder"):
        load_tone_model(target)


@pytest.fixture(scope="module")
def last_layer_dir(encoder, tmp_path_factory):
    """A head on the tiny encoder's last layer (layer 2, no layer copies)."""
    return tiny_tone_branch(encoder, tmp_path_factory.mktemp("last"), seed=5, layer=2)


@pytest.mark.parametrize("main_layer", [1, 2])
def test_a_sentence_branch_may_read_another_layer(encoder, tone_dir, last_layer_dir, main_layer,
                                                  tmp_path):
    """The main branch and the sentence branch read different layers of one pass (the
    accurate tier's four-layer sentence branch reads layer 8, its main branch layer 10):
    each gives what it gives alone, and the pass runs once, to the higher layer."""
    from framing.heads.tone.model import attach_sentence_branch

    main_dir, sentence_dir = (tone_dir, last_layer_dir) if main_layer == 1 else \
        (last_layer_dir, tone_dir)
    paired = tmp_path / "paired"
    shutil.copytree(main_dir, paired)
    attach_sentence_branch(paired, sentence_dir)
    model = load_tone_model(paired)
    assert (model.layer, model.sentence_model.layer) == (main_layer, 3 - main_layer)
    an = framing.Analyzer(encoder=encoder, tone=str(paired), cues=False, frames=None)
    alone = framing.Analyzer(encoder=encoder, tone=str(sentence_dir), cues=False, frames=None)
    aimed = framing.Analyzer(encoder=encoder, tone=str(main_dir), cues=False, frames=None)
    articles, targets = [" ".join(TEXTS[:3]), TEXTS[1]], [None, "plan"]
    before = encoder.sentences_encoded
    got = an.score_many(articles, targets=targets)
    assert encoder.sentences_encoded - before == 3  # one pass over the three distinct sentences
    whole, toward = alone.score_many(articles), aimed.score_many(articles, targets=targets)
    for g, w in zip(got, whole):
        for s, t in zip(g.sentences, w.sentences):
            assert s.tone == pytest.approx(t.tone, abs=1e-6)
    assert got[1].sentences[0].target_tone == pytest.approx(
        toward[1].sentences[0].target_tone, abs=1e-6)
    assert got[1].sentences[0].target_tone != pytest.approx(got[1].sentences[0].tone, abs=1e-4)


@pytest.mark.optional
@pytest.mark.parametrize("backend,tol", [("onnx-fp32", 1e-4), ("onnx", 0.08)])
def test_onnx_graph_runs_a_sentence_branch_on_another_layer(encoder, tone_dir, last_layer_dir,
                                                            tmp_path, monkeypatch, backend, tol):
    """The graph runs to the highest layer any branch reads and feeds each its own layer's
    states (and the cue heads those states, pooled)."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from framing.heads.tone.model import attach_sentence_branch

    monkeypatch.setenv("FRAMING_CACHE", str(tmp_path / "cache"))
    paired = tmp_path / "paired"
    shutil.copytree(tone_dir, paired)
    attach_sentence_branch(paired, last_layer_dir)
    sentence = load_tone_model(paired).sentence_model
    heads = _heads(encoder, sentence)
    heads.save(tmp_path / "cues", "# heads on the layer-2 sentence branch\n")
    kwargs = dict(encoder=encoder, tone=str(paired), cue_heads=str(tmp_path / "cues"),
                  frames=None)
    ref = framing.Analyzer(**kwargs)
    an = framing.Analyzer(backend=backend, **kwargs)
    assert an.backend == backend and [m.layer for m in an._onnx.extra] == [2]
    articles, targets = [" ".join(TEXTS[:3]), TEXTS[1]], [None, "plan"]
    for a, b in zip(ref.score_many(articles, targets=targets),
                    an.score_many(articles, targets=targets)):
        for s, t in zip(a.sentences, b.sentences):
            assert t.tone == pytest.approx(s.tone, abs=tol)
            if s.target_tone is not None:
                assert t.target_tone == pytest.approx(s.target_tone, abs=tol)
            for c in s.cues:
                assert t.cues[c] == pytest.approx(s.cues[c], abs=tol)


@pytest.mark.optional
@pytest.mark.parametrize("backend,tol", [("onnx-fp32", 1e-4), ("onnx", 0.08)])
def test_onnx_graph_runs_the_sentence_branch(encoder, paired_dir, tmp_path, monkeypatch, backend,
                                             tol):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    monkeypatch.setenv("FRAMING_CACHE", str(tmp_path / "cache"))
    ref = framing.Analyzer(encoder=encoder, tone=str(paired_dir), cues=False, frames=None)
    an = framing.Analyzer(encoder=encoder, tone=str(paired_dir), cues=False, frames=None,
                          backend=backend)
    assert an._onnx.extra == [an.tone_scorer.sentence_model]
    articles, targets = [" ".join(TEXTS[:3]), TEXTS[1]], [None, "plan"]
    for a, b in zip(ref.score_many(articles, targets=targets),
                    an.score_many(articles, targets=targets)):
        assert b.tone == pytest.approx(a.tone, abs=tol)
        for s, t in zip(a.sentences, b.sentences):
            assert t.tone == pytest.approx(s.tone, abs=tol)
            if s.target_tone is not None:
                assert t.target_tone == pytest.approx(s.target_tone, abs=tol)


def test_the_distillation_teacher_reads_the_branches_as_the_analyzer_does(
        encoder, paired_dir, cue_branch_dir, tmp_path, monkeypatch):
    """``models/distill_teacher.py`` labels soft rows with the tier's outputs: whole
    sentences from the sentence branch, targets from the main one, cue probabilities from
    the branch the heads pin."""
    import sys
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[3] / "models"))
    sys.modules.pop("distill_teacher", None)
    from distill_teacher import teacher_outputs

    tone = load_tone_model(paired_dir)
    heads = _heads(encoder, tone.sentence_model)
    texts = [TEXTS[0], TEXTS[1]]
    spans = [None, (0, 7)]  # "Critics"
    out = teacher_outputs(texts, spans, encoder, tone, heads)
    an = framing.Analyzer(encoder=encoder, tone=str(paired_dir), cues=False, frames=None)
    got = an.score_many([TEXTS[0], TEXTS[1]], targets=[None, (0, 7)])
    p = np.exp(out["tone_logits"] / np.array([[tone.sentence_model.temperature],
                                               [tone.temperature]]))
    p /= p.sum(1, keepdims=True)
    assert p[0, 2] - p[0, 0] == pytest.approx(got[0].sentences[0].tone, abs=1e-5)
    assert p[1, 2] - p[1, 0] == pytest.approx(got[1].sentences[0].target_tone, abs=1e-5)
    want = heads.predict_proba(tone.sentence_model.sentence_features(encoder, texts,
                                                                     with_layer=True))
    np.testing.assert_allclose(out["cue_probs"], want, atol=1e-5)
    other = _heads(encoder, load_tone_model(cue_branch_dir))
    other.feature_model = {"name": "x", "digest": "0" * 16}
    with pytest.raises(ValueError, match="does not carry"):
        teacher_outputs(texts, spans, encoder, tone, other)
