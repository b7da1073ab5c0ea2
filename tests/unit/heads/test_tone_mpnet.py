"""The tone branch on an MPNet encoder: copied top layers (with MPNet's relative-position
bias) must reproduce the encoder's own layers, and save/load must keep the bias table."""

from __future__ import annotations

import types

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from framing.heads.tone.model import (  # noqa: E402
    branch_classes,
    load_tone_model,
    relative_buckets,
    save_tone_model,
)
from framing.training.tone import ToneTrainingArgs, copy_top_layers, new_branch  # noqa: E402


@pytest.fixture(scope="module")
def tiny_mpnet():
    """A 3-layer MPNet with random weights (no tokenizer needed: the tests feed ids)."""
    torch.manual_seed(0)
    cfg = transformers.MPNetConfig(vocab_size=60, hidden_size=32, num_hidden_layers=3,
                                   num_attention_heads=4, intermediate_size=64,
                                   max_position_embeddings=80, relative_attention_num_buckets=32)
    model = transformers.MPNetModel(cfg, add_pooling_layer=False).eval()
    with torch.no_grad():  # a visible relative-position table (random init is near zero)
        model.encoder.relative_attention_bias.weight.normal_(0, 1.0)
    return types.SimpleNamespace(model=model, n_layers=3)


def _hidden(model, ids, mask):
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    return out.hidden_states


def test_relative_buckets_match_the_encoder(tiny_mpnet):
    """Our bucket function gives the encoder's buckets for every (query, key) pair, far
    beyond max_distance included."""
    enc = tiny_mpnet.model.encoder
    for n in (1, 5, 40, 300):
        pos = torch.arange(n)
        theirs = enc.relative_position_bucket(pos[None, :] - pos[:, None], num_buckets=32)
        assert torch.equal(relative_buckets(n, 32, 128), theirs)
    # the check can fail: another max distance buckets long distances differently
    pos = torch.arange(300)
    assert not torch.equal(relative_buckets(300, 32, 64),
                           enc.relative_position_bucket(pos[None, :] - pos[:, None]))


def test_branch_reproduces_mpnet_top_layers_with_padding(tiny_mpnet):
    model = tiny_mpnet.model
    ids = torch.tensor([[0, 7, 8, 9, 10, 11, 12, 2], [0, 13, 14, 2, 1, 1, 1, 1]])
    mask = torch.tensor([[1] * 8, [1] * 4 + [0] * 4])
    states = _hidden(model, ids, mask)
    args = ToneTrainingArgs(design="branch", n_layers=2)
    BertStyleLayer, module, layer, n_branch = new_branch(tiny_mpnet, args)
    assert (layer, n_branch) == (1, 2) and module.rel_bias is not None
    copy_top_layers(module, BertStyleLayer, tiny_mpnet, layer)
    module.eval()
    m = mask.bool()
    with torch.no_grad():
        x = states[layer]
        bias = module.position_bias(x.shape[1], x.device)
        for lay in module.layers:
            x = lay(x, m, bias)
        no_bias = states[layer]
        for lay in module.layers:
            no_bias = lay(no_bias, m)
    real = m.numpy()
    assert np.allclose(x.numpy()[real], states[3].numpy()[real], atol=1e-4)
    # the comparison can fail: without the relative-position bias the output differs
    assert not np.allclose(no_bias.numpy()[real], states[3].numpy()[real], atol=1e-3)


def test_mpnet_branch_saves_and_loads_with_its_bias_table(tiny_mpnet, tmp_path):
    args = ToneTrainingArgs(design="branch", n_layers=1)
    BertStyleLayer, module, layer, n_branch = new_branch(tiny_mpnet, args)
    copy_top_layers(module, BertStyleLayer, tiny_mpnet, layer)
    cfg = tiny_mpnet.model.config
    config = {"name": "tiny-mpnet", "design": "branch", "layer": layer, "n_layers": n_branch,
              "hidden": cfg.hidden_size, "heads": cfg.num_attention_heads,
              "intermediate": cfg.intermediate_size, "eps": cfg.layer_norm_eps,
              "temperature": 1.0, "rel_buckets": 32, "encoder": {}}
    save_tone_model(tmp_path / "m", module, config, "# tiny\n")
    loaded = load_tone_model(tmp_path / "m")
    assert loaded.config.rel_buckets == 32
    assert torch.equal(loaded.module.rel_bias.weight, module.rel_bias.weight)
    h = torch.randn(2, 6, cfg.hidden_size)
    m = torch.ones(2, 6, dtype=torch.bool)
    t = torch.zeros(2, 6)
    with torch.no_grad():
        a, b = module.eval()(h, m, t), loaded.module(h, m, t)
    assert torch.allclose(a, b, atol=0.05)  # int8 layer weights: close, not equal
    # a config without the bias table loads a BERT-style branch that ignores it
    config["rel_buckets"] = 0
    save_tone_model(tmp_path / "bert", branch_classes()[1](
        cfg.hidden_size, 4, cfg.intermediate_size, 1, cfg.layer_norm_eps), config, "# b\n")
    assert load_tone_model(tmp_path / "bert").module.rel_bias is None
