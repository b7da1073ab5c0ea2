"""The pipeline on an MPNet encoder (the accurate tier's architecture), with a tiny random
MPNet built here: the truncated pass, a tone branch over it, and the ONNX graph."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

import framing  # noqa: E402
from framing.encoding.fingerprints import encoder_fingerprint  # noqa: E402
from framing.heads.tone.model import save_tone_model  # noqa: E402
from framing.training.tone import ToneTrainingArgs, copy_top_layers, new_branch  # noqa: E402

WORDS = ("the a of and to in is was for on that with said would new trade talks city "
         "people leaders agreement partners minister report critics growth peace").split()
TEXTS = ["The minister said the trade agreement was a new start for both partners.",
         "Critics said the report was late.",
         "Leaders met in the city and talks on peace and growth would go on for days."]


@pytest.fixture(scope="module")
def mpnet_dir(tmp_path_factory):
    """A tiny 3-layer MPNet with a fast tokenizer (padding id 1, as MPNet expects)."""
    path = tmp_path_factory.mktemp("tiny-mpnet")
    letters = [chr(c) for c in range(97, 123)]
    vocab = ["<s>", "<pad>", "</s>", "[UNK]", "<mask>", *letters, *(f"##{c}" for c in letters),
             ".", ",", *WORDS]
    vocab = list(dict.fromkeys(vocab))
    torch.manual_seed(0)
    cfg = transformers.MPNetConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=3,
                                   num_attention_heads=4, intermediate_size=48,
                                   max_position_embeddings=130, pad_token_id=1)
    model = transformers.MPNetModel(cfg, add_pooling_layer=False)
    with torch.no_grad():
        model.encoder.relative_attention_bias.weight.normal_(0, 1.0)
    model.save_pretrained(path, safe_serialization=True)
    tok = transformers.MPNetTokenizerFast(vocab={w: i for i, w in enumerate(vocab)},
                                          do_lower_case=True)
    tok.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def encoder(mpnet_dir):
    return framing.Encoder(mpnet_dir)


@pytest.fixture(scope="module")
def branch_dir(encoder, tmp_path_factory):
    """A one-layer tone branch over layer 2 of the tiny MPNet (untrained head)."""
    BertStyleLayer, module, layer, n = new_branch(encoder, ToneTrainingArgs(n_layers=1))
    copy_top_layers(module, BertStyleLayer, encoder, layer)
    with torch.no_grad():
        module.head.weight.normal_(0, 0.5)
    cfg = encoder.model.config
    path = tmp_path_factory.mktemp("mpnet-branch")
    save_tone_model(path, module, {
        "name": "tiny-mpnet-branch", "design": "branch", "layer": layer, "n_layers": n,
        "hidden": cfg.hidden_size, "heads": cfg.num_attention_heads,
        "intermediate": cfg.intermediate_size, "eps": cfg.layer_norm_eps, "temperature": 1.0,
        "rel_buckets": cfg.relative_attention_num_buckets,
        "encoder": encoder_fingerprint(encoder)}, "# tiny\n")
    return path


def test_truncated_pass_on_mpnet_matches_the_full_pass(encoder):
    from framing.training.tone import StateCollector

    full, part = StateCollector(2), StateCollector(2)
    encoder.encode(TEXTS, taps=[full])
    encoder.encode(TEXTS, taps=[part], stop_layer=2)
    for i in range(len(TEXTS)):
        assert np.allclose(full.states[i][0], part.states[i][0], atol=1e-3)


def test_branch_over_mpnet_reproduces_the_top_layer(encoder, branch_dir):
    """Untouched copied layers: the branch's pooled sentence state is the encoder's own
    mean-pooled last layer (the marker is zero, the bias table is the encoder's)."""
    tone = framing.Analyzer(encoder=encoder, tone=str(branch_dir), cues=False,
                            frames=None).tone_scorer
    got = tone.sentence_features(encoder, TEXTS)
    want = encoder.encode(TEXTS)  # unit-normalised mean of the last layer
    assert np.allclose(got, want, atol=2e-3)


@pytest.mark.optional
def test_onnx_graph_on_mpnet_matches_torch(encoder, branch_dir, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    from framing.pipeline.onnx_backend import OnnxBranchRunner

    monkeypatch.setenv("FRAMING_CACHE", str(tmp_path / "cache"))
    kwargs = dict(encoder=encoder, tone=str(branch_dir), cues=False, frames=None)
    ref = framing.Analyzer(**kwargs)
    an = framing.Analyzer(backend="onnx", **kwargs)
    an._onnx = OnnxBranchRunner(encoder, an.tone_scorer, quantize=False,
                                cache_dir=tmp_path / "fp32")
    targets = [None, "report", None]
    want = ref.score_many(TEXTS, targets=targets)
    got = an.score_many(TEXTS, targets=targets)
    for a, b in zip(want, got):
        for s, t in zip(a.sentences, b.sentences):
            assert t.tone == pytest.approx(s.tone, abs=1e-4)
        for k, v in a.tone_probabilities.items():
            assert b.tone_probabilities[k] == pytest.approx(v, abs=1e-4)
