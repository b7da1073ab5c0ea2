"""Trained, target-aware tone models (framing.heads.tone.model, framing.training.tone).

Everything trains on the tiny random 2-layer BERT of ``tiny_model_dir`` (used through
``tiny_dir``, the same weights with a tokenizer that knows its vocabulary) and on short
sentences written for these tests, so the whole file runs in seconds. The tests of the
shipped NewsMTSC model skip while ``models/tone-newsmtsc`` has no config.json.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import framing
from tiny_models import with_working_tokenizer
from framing.errors import ColumnError, ModelLoadError
from framing.heads.tone.factory import shipped_tone_model_path
from framing.heads.tone.scorers import aggregate_tone
from framing.heads.tone.model import (
    FrozenToneHead,
    TrainedTone,
    branch_classes,
    is_tone_model_dir,
    load_tone_model,
    target_token_mask,
)
from framing.core.labels import TONE_LABELS as LABELS
from framing.heads.calibration import fit_temperature
from framing.training.tone import (
    ToneExample,
    TrainingResult,
    padded_batch,
    StateCollector,
    load_tone_examples,
    newsmtsc_examples,
    split_examples,
    train_tone,
)

# -- data written for these tests ---------------------------------------------------
# Words from the tiny tokenizer's vocabulary where possible, so texts differ in tokens.
_TEMPLATES = {
    0: ["the people say {n} is no good", "{n} never did any work for them",
        "{n} left the old home in a bad way", "no one can think well of {n} now"],
    1: ["{n} came back on the third day", "{n} said the number was two",
        "{n} went to the place by the water", "{n} read the words out at home"],
    2: ["all the people say {n} is great", "{n} did good work for the people",
        "{n} made the new home very good", "{n} will help people find water"],
}
_NAMES = ["Anna", "Boris", "Carla", "Dmitri", "Elena"]

ARTICLE = ("Anna did good work for the people. Boris came back on the third day. "
           "Later Anna never did any work for them.")


def _examples() -> list[ToneExample]:
    out, g = [], 0
    for label, templates in _TEMPLATES.items():
        for t in templates:
            for name in _NAMES:
                text = t.format(n=name)
                i = text.index(name)
                span = (i, i + len(name)) if g % 2 == 0 else None
                out.append(ToneExample(text, label, span, group=f"g{g}"))
                g += 1
    return out


# -- fixtures -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_dir(tiny_model_dir, tmp_path_factory) -> Path:
    return with_working_tokenizer(tiny_model_dir, tmp_path_factory.mktemp("tiny-bert-vocab"))


@pytest.fixture(scope="module")
def tone_encoder(tiny_dir) -> framing.Encoder:
    return framing.Encoder(tiny_dir)


@pytest.fixture(scope="module")
def split():
    ex = _examples()
    assert len(ex) == 60
    return split_examples(ex, 0.3, seed=1)


@pytest.fixture(scope="module")
def frozen_result(split, tone_encoder) -> TrainingResult:
    train, dev = split
    return train_tone(train, dev, tone_encoder, design="frozen", name="tiny-frozen",
                      progress=False)


@pytest.fixture(scope="module")
def branch_result(split, tone_encoder) -> TrainingResult:
    train, dev = split
    return train_tone(train, dev, tone_encoder, design="branch", n_layers=1, epochs=2,
                      name="tiny-branch", progress=False)


@pytest.fixture(scope="module")
def frozen_dir(frozen_result, tmp_path_factory) -> Path:
    return frozen_result.save(tmp_path_factory.mktemp("frozen-model"))


@pytest.fixture(scope="module")
def branch_dir(branch_result, tmp_path_factory) -> Path:
    return branch_result.save(tmp_path_factory.mktemp("branch-model"))


@pytest.fixture(scope="module")
def trained_analyzer(tiny_dir, frozen_dir) -> framing.Analyzer:
    return framing.Analyzer(tiny_dir, tone=str(frozen_dir), cues=False)


def _copy_model(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for name in ("config.json", "model.safetensors", "README.md"):
        (dst / name).write_bytes((src / name).read_bytes())
    return dst


def test_conftest_tiny_tokenizer_knows_its_words(tiny_model_dir):
    enc = framing.Encoder(tiny_model_dir)
    assert "[UNK]" not in enc.tokenizer.tokenize("the people did good work")


def test_tiny_dir_tells_sentences_of_one_length_apart(tone_encoder):
    a, b = tone_encoder.encode(["the people did good work", "the men came back home"])
    assert not np.allclose(a, b, atol=1e-4)


# -- the copied transformer layer ---------------------------------------------------
def test_bert_style_layer_reproduces_the_hf_layer(tone_encoder):
    BertStyleLayer, _ = branch_classes()
    texts = ["the people came home after a long day",
             "why",
             "many words were read out in the old place by the water before night"]
    after1, after2 = StateCollector(1), StateCollector(2)
    tone_encoder.encode(texts, taps=[after1, after2])
    rows = list(range(len(texts)))
    states1 = [after1.states[i] for i in rows]
    states2 = [after2.states[i] for i in rows]
    h1, mask, _ = padded_batch(states1, [None] * len(texts), rows)  # padded to one width
    h2, _, _ = padded_batch(states2, [None] * len(texts), rows)
    cfg = tone_encoder.model.config
    hf_layers = tone_encoder.model.encoder.layer
    layer = BertStyleLayer.from_bert_layer(hf_layers[1], cfg).eval()
    other = BertStyleLayer.from_bert_layer(hf_layers[0], cfg).eval()
    import torch

    with torch.no_grad():
        out = layer(h1, mask)
        wrong = other(h1, mask)
    real = mask.numpy()
    assert np.allclose(out.numpy()[real], h2.numpy()[real], atol=1e-2)
    # the comparison can fail: the other layer's weights do not reproduce layer 2
    assert not np.allclose(wrong.numpy()[real], h2.numpy()[real], atol=1e-2)


def test_target_token_mask_marks_overlapping_tokens_only():
    offsets = [(0, 0), (0, 3), (4, 8), (9, 12), (0, 0)]  # [CLS] the anna ran [SEP]
    assert target_token_mask(offsets, (4, 8), 5).tolist() == [0, 0, 1, 0, 0]
    assert target_token_mask(offsets, None, 5).tolist() == [0, 1, 1, 1, 0]
    # a span that overlaps no token falls back to the whole sentence
    assert target_token_mask(offsets, (40, 50), 5).tolist() == [0, 1, 1, 1, 0]


# -- training -----------------------------------------------------------------------
@pytest.mark.parametrize("design", ["frozen", "branch"])
def test_train_tone_metrics(design, request, split):
    result = request.getfixturevalue(f"{design}_result")
    train, dev = split
    m = result.metrics
    f1 = m["dev_macro_f1"]
    assert 0.0 <= f1["low"] <= f1["value"] <= f1["high"] <= 1.0
    assert m["temperature"] > 0 and math.isfinite(m["temperature"])
    assert result.model.temperature == m["temperature"] == result.config["temperature"]
    for key in ("ece_before", "ece_after", "ece_top_before", "ece_top_after"):
        assert 0.0 <= m[key] <= 1.0
    assert (m["train_n"], m["dev_n"]) == (len(train), len(dev))
    assert np.asarray(m["dev_confusion"]).sum() == len(dev)
    assert isinstance(result.model, TrainedTone)
    assert result.model.name == f"trained:tiny-{design}"
    if design == "frozen":
        assert (result.config["layer"], result.config["n_layers"]) == (2, 0)
        assert result.history == []
    else:
        assert (result.config["layer"], result.config["n_layers"]) == (1, 1)
        assert [h["epoch"] for h in result.history] == [1, 2]


def test_train_tone_rejects_bad_arguments(split, tone_encoder):
    train, dev = split
    with pytest.raises(ValueError, match="design"):
        train_tone(train, dev, tone_encoder, design="deep", progress=False)
    with pytest.raises(ValueError, match="non-empty"):
        train_tone(train, [], tone_encoder, design="frozen", progress=False)
    with pytest.raises(ValueError, match="n_layers"):  # the tiny encoder has 2 layers
        train_tone(train, dev, tone_encoder, design="branch", n_layers=2, progress=False)


@pytest.mark.parametrize("design", ["frozen", "branch"])
def test_save_writes_the_artefact(design, request):
    result = request.getfixturevalue(f"{design}_result")
    path = request.getfixturevalue(f"{design}_dir")
    assert {p.name for p in path.iterdir()} >= {"config.json", "model.safetensors", "README.md"}
    cfg = json.loads((path / "config.json").read_text())
    assert cfg["format"] == "framing-tone"
    assert cfg["design"] == design
    assert cfg["encoder"] == result.config["encoder"]
    assert is_tone_model_dir(path)
    card = (path / "README.md").read_text()
    assert f"tiny-{design}" in card and "macro-F1" in card


@pytest.mark.parametrize("design,atol", [("frozen", 1e-7), ("branch", 2e-3)])
def test_loaded_model_scores_like_the_in_memory_one(design, atol, request, tiny_dir,
                                                    tone_encoder):
    result = request.getfixturevalue(f"{design}_result")
    path = request.getfixturevalue(f"{design}_dir")
    loaded = load_tone_model(path)
    assert loaded.temperature == pytest.approx(result.model.temperature)
    assert (loaded.layer, loaded.name) == (result.model.layer, result.model.name)
    from_disk = framing.Analyzer(tiny_dir, tone=str(path), cues=False)
    in_memory = framing.Analyzer(tiny_dir, tone=result.model, cues=False,
                                 encoder=tone_encoder)
    assert from_disk.tone_name == in_memory.tone_name == f"trained:tiny-{design}"
    for target in (None, "Anna"):
        a, b = from_disk.score(ARTICLE, target), in_memory.score(ARTICLE, target)
        pa = [a.tone_probabilities[k] for k in LABELS]
        pb = [b.tone_probabilities[k] for k in LABELS]
        assert np.allclose(pa, pb, atol=atol, rtol=0)
        assert a.tone == pytest.approx(b.tone, abs=2 * atol)
        assert np.allclose([s.tone for s in a.sentences], [s.tone for s in b.sentences],
                           atol=2 * atol, rtol=0)


def test_branch_matrices_stored_in_int8_rest_in_float32(branch_dir, frozen_dir):
    from safetensors import safe_open

    with safe_open(str(branch_dir / "model.safetensors"), framework="pt") as f:
        dtypes = {k: f.get_slice(k).get_dtype() for k in f.keys()}
        shapes = {k: f.get_slice(k).get_shape() for k in f.keys()}
    layer_keys = [k for k in dtypes if k.startswith("layers.")]
    assert layer_keys, "the branch model saved no layer tensors"
    matrices = [k for k in layer_keys if len(shapes[k]) == 2]
    assert matrices and {dtypes[k] for k in matrices} == {"I8"}
    for k in matrices:  # one float32 scale per output row
        assert dtypes[k + ".int8_scale"] == "F32"
        assert shapes[k + ".int8_scale"] == [shapes[k][0]]
    vectors = [k for k in layer_keys if len(shapes[k]) == 1]
    assert {dtypes[k] for k in vectors} == {"F32"}
    assert dtypes["head.weight"] == dtypes["head.bias"] == dtypes["marker"] == "F32"
    with safe_open(str(frozen_dir / "model.safetensors"), framework="pt") as f:
        assert not any(k.startswith("layers.") for k in f.keys())
        assert f.get_slice("head.weight").get_shape() == [3, 64]  # [sentence; target] x 32


# -- target-aware scoring -----------------------------------------------------------
def test_target_name_scores_only_mentioning_sentences(trained_analyzer):
    res = trained_analyzer.score(ARTICLE, target="Anna")
    assert res.target == "Anna"
    assert len(res.sentences) == 3
    tt = [s.target_tone for s in res.sentences]
    assert tt[0] is not None and tt[2] is not None and tt[1] is None
    assert all(s.tone is not None for s in res.sentences)  # sentence tone stays
    assert res.tone == pytest.approx(aggregate_tone(np.array([tt[0], tt[2]])))
    assert "no_target_mention" not in res.flags
    whole = trained_analyzer.score(ARTICLE)
    assert whole.tone == pytest.approx(aggregate_tone(np.array([s.tone for s in whole.sentences])))
    assert all(s.target_tone is None for s in whole.sentences)


def test_target_is_matched_as_a_whole_word_ignoring_case(trained_analyzer):
    lower = trained_analyzer.score(ARTICLE, target="anna")
    exact = trained_analyzer.score(ARTICLE, target="Anna")
    assert [s.target_tone for s in lower.sentences] == [s.target_tone for s in exact.sentences]
    part = trained_analyzer.score(ARTICLE, target="Ann")  # only inside "Anna"
    assert part.tone is None and "no_target_mention" in part.flags


def test_target_changes_the_score_within_a_sentence(trained_analyzer):
    text = "Anna said the people did good work, but Boris left the old home in a bad way."
    a = trained_analyzer.score(text, target="Anna")
    b = trained_analyzer.score(text, target="Boris")
    assert len(a.sentences) == 1
    assert a.sentences[0].target_tone is not None and b.sentences[0].target_tone is not None
    assert a.sentences[0].target_tone != pytest.approx(b.sentences[0].target_tone, abs=1e-6)
    assert a.sentences[0].tone == pytest.approx(b.sentences[0].tone)  # same sentence tone


def test_target_offsets_equal_the_name_for_a_single_mention(trained_analyzer):
    start = ARTICLE.index("Boris")
    by_name = trained_analyzer.score(ARTICLE, target="Boris")
    by_offsets = trained_analyzer.score(ARTICLE, target=(start, start + len("Boris")))
    assert by_offsets.target == (start, start + 5)
    name_tt = [s.target_tone for s in by_name.sentences]
    offs_tt = [s.target_tone for s in by_offsets.sentences]
    assert name_tt[0] is None and name_tt[2] is None and name_tt[1] is not None
    assert offs_tt[0] is None and offs_tt[2] is None
    assert offs_tt[1] == pytest.approx(name_tt[1], abs=1e-6)
    assert by_offsets.tone == pytest.approx(by_name.tone)
    assert by_offsets.tone_probabilities == pytest.approx(by_name.tone_probabilities)
    # offsets pick one mention: the first "Anna" only
    first = trained_analyzer.score(ARTICLE, target=(0, 4))
    tt = [s.target_tone for s in first.sentences]
    assert tt[0] is not None and tt[1] is None and tt[2] is None


def test_unmentioned_target_gives_no_tone(trained_analyzer):
    res = trained_analyzer.score(ARTICLE, target="Zenobia")
    assert res.tone is None and res.tone_label is None
    assert res.tone_probabilities is None
    assert "no_target_mention" in res.flags
    assert all(s.target_tone is None for s in res.sentences)
    assert res.most_promotional == [] and res.most_critical == []


@pytest.mark.parametrize("target,error", [
    (5, TypeError), (3.5, TypeError), ("", ValueError), ("   ", ValueError),
    ((5, 2), ValueError), ((4, 4), ValueError), ((-1, 3), ValueError),
])
def test_bad_targets_raise(trained_analyzer, target, error):
    with pytest.raises(error):
        trained_analyzer.score(ARTICLE, target=target)
    with pytest.raises(error):
        trained_analyzer.score_many([ARTICLE], targets=[target], errors="raise")
    # in a batch (the default errors="flag") a bad target spoils only its own row
    flagged = trained_analyzer.score_many([ARTICLE], targets=[target])[0]
    assert flagged.error is not None and flagged.error.startswith(error.__name__)


def test_numpy_integer_offsets_work_like_ints(trained_analyzer):
    start = ARTICLE.index("Boris")
    want = trained_analyzer.score(ARTICLE, target=(start, start + 5))
    got = trained_analyzer.score(ARTICLE, target=(np.int64(start), np.int64(start + 5)))
    assert got.tone == pytest.approx(want.tone)


def test_probabilities_and_tone_ranges(trained_analyzer):
    texts = [ARTICLE, "Elena will help people find water.", "No one can think well of Carla now."]
    for target in (None, "Anna", "Elena", "Carla"):
        for res in trained_analyzer.score_many(texts, targets=[target] * 3):
            if res.tone is None:
                assert "no_target_mention" in res.flags
                continue
            assert -1.0 <= res.tone <= 1.0
            p = res.tone_probabilities
            assert set(p) == set(LABELS)
            assert all(0.0 <= v <= 1.0 for v in p.values())
            assert sum(p.values()) == pytest.approx(1.0)
            assert res.tone_label in LABELS
            for s in res.sentences:
                assert -1.0 <= s.tone <= 1.0
                assert s.target_tone is None or -1.0 <= s.target_tone <= 1.0


def test_score_many_with_targets_equals_single_calls(trained_analyzer):
    start = ARTICLE.index("Boris")
    texts = [ARTICLE, ARTICLE, "Carla went to the place by the water. Carla read the words out.",
             ARTICLE, "Dmitri made the new home very good."]
    targets = ["Anna", (start, start + 5), "carla", None, "Zenobia"]
    many = trained_analyzer.score_many(texts, targets=targets)
    for text, target, got in zip(texts, targets, many):
        one = trained_analyzer.score(text, target)
        assert got.target == one.target
        assert got.flags == one.flags
        assert (got.tone is None) == (one.tone is None)
        if one.tone is not None:
            assert got.tone == pytest.approx(one.tone, abs=1e-5)
            assert got.tone_probabilities == pytest.approx(one.tone_probabilities, abs=1e-5)
        for a, b in zip(got.sentences, one.sentences):
            assert a.tone == pytest.approx(b.tone, abs=1e-5)
            assert (a.target_tone is None) == (b.target_tone is None)
            if b.target_tone is not None:
                assert a.target_tone == pytest.approx(b.target_tone, abs=1e-5)
    with pytest.raises(ValueError):
        trained_analyzer.score_many(texts, targets=targets[:2])


def test_one_encoder_pass_per_call_even_with_targets(tiny_dir, frozen_dir):
    an = framing.Analyzer(tiny_dir, tone=str(frozen_dir), cues=False)
    enc = an.encoder

    def distinct(texts):
        return len({s.clean for t in texts for s in an.prepare(t).sentences})

    calls = [
        ([ARTICLE], ["Anna"]),
        ([ARTICLE, ARTICLE, "Anna came back on the third day."], ["Anna", "Boris", (0, 4)]),
        (["Boris said the number was two. Boris said the number was two."], ["Boris"]),
        ([ARTICLE], [None]),
    ]
    for texts, targets in calls:
        before = enc.sentences_encoded
        an.score_many(texts, targets=targets)
        assert enc.sentences_encoded - before == distinct(texts)
    before = enc.sentences_encoded
    an.score(ARTICLE, target="Anna")
    assert enc.sentences_encoded - before == 3


# -- FrozenToneHead, the scikit-learn estimator -------------------------------------
def _separable(n_per_class: int = 60, dim: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, size=(3, dim))
    X = np.concatenate([c + rng.normal(0, 1, size=(n_per_class, dim)) for c in centres])
    y = np.repeat([0, 1, 2], n_per_class)
    order = rng.permutation(len(y))
    return X[order], y[order]


def test_frozen_head_clone_and_params():
    from sklearn.base import clone

    head = FrozenToneHead(C=0.3, class_weight=None, max_iter=500)
    assert head.get_params() == {"C": 0.3, "class_weight": None, "max_iter": 500}
    copy = clone(head)
    assert copy is not head and copy.get_params() == head.get_params()
    assert not hasattr(copy, "lr_")
    assert head.set_params(C=2.0) is head and head.C == 2.0
    X, y = _separable()
    fitted = FrozenToneHead().fit(X, y)
    unfitted = clone(fitted)
    assert not hasattr(unfitted, "lr_") and hasattr(fitted, "lr_")




def test_frozen_head_cross_val_score():
    from sklearn.model_selection import cross_val_score

    X, y = _separable()
    scores = cross_val_score(FrozenToneHead(), X, y, cv=3)
    assert len(scores) == 3 and scores.min() > 0.8


def test_frozen_head_grid_search():
    from sklearn.model_selection import GridSearchCV

    X, y = _separable()
    grid = GridSearchCV(FrozenToneHead(), {"C": [0.1, 1.0]}, cv=3).fit(X, y)
    assert grid.best_params_["C"] in (0.1, 1.0) and grid.best_score_ > 0.8


def test_frozen_head_separates_held_out_folds():
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold

    X, y = _separable()
    scores = []
    for tr, te in StratifiedKFold(3, shuffle=True, random_state=0).split(X, y):
        head = clone(FrozenToneHead()).fit(X[tr], y[tr])
        scores.append(head.score(X[te], y[te]))
    assert min(scores) > 0.8
    assert list(head.classes_) == [0, 1, 2]


def test_frozen_head_branch_state_matches_decision_function():
    X, y = _separable(dim=6, seed=3)
    head = FrozenToneHead(C=0.5).fit(X, y)
    state = head.to_branch_state()
    W, b = state["head.weight"], state["head.bias"]
    assert W.shape == (3, 6) and b.shape == (3,)
    assert W.dtype == b.dtype == np.float32
    raw = X @ W.T.astype(np.float64) + b
    assert np.allclose(raw, head.decision_function(X), atol=1e-3, rtol=1e-4)
    assert (raw.argmax(1) == head.predict(X)).all()
    probs = head.predict_proba(X)
    assert probs.shape == (len(y), 3) and np.allclose(probs.sum(1), 1)
    assert head.score(X, y) > 0.9
    two = FrozenToneHead().fit(X[y < 2], y[y < 2])
    with pytest.raises(ValueError, match="three classes"):
        two.to_branch_state()


# -- temperature --------------------------------------------------------------------
def _nll(logits, y, t):
    z = logits / t
    z = z - z.max(1, keepdims=True)
    return float(-(z - np.log(np.exp(z).sum(1, keepdims=True)))[np.arange(len(y)), y].mean())


def _calibrated_logits(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.5, size=(n, 3))
    p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in p])
    return z, y


def test_fit_temperature_softens_overconfident_logits():
    z, y = _calibrated_logits()
    over = 4.0 * z
    t = fit_temperature(over, y)
    assert t > 2.5
    assert _nll(over, y, t) < _nll(over, y, 1.0) - 0.05


def test_fit_temperature_leaves_calibrated_logits_alone():
    z, y = _calibrated_logits(seed=1)
    t = fit_temperature(z, y)
    assert abs(t - 1.0) < 0.2
    assert _nll(z, y, t) <= _nll(z, y, 1.0) + 1e-9


# -- load errors --------------------------------------------------------------------
def test_load_rejects_invalid_json(frozen_dir, tmp_path):
    d = _copy_model(frozen_dir, tmp_path / "m")
    (d / "config.json").write_text('{"format": "framing-tone", "layer": ')
    with pytest.raises(ModelLoadError, match="config.json"):
        load_tone_model(d)


def test_load_rejects_other_formats(frozen_dir, tmp_path):
    d = _copy_model(frozen_dir, tmp_path / "m")
    cfg = json.loads((d / "config.json").read_text())
    cfg["format"] = "something-else"
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="config.json"):
        load_tone_model(d)
    assert not is_tone_model_dir(d)


def test_load_rejects_missing_config(tmp_path):
    with pytest.raises(ModelLoadError, match="config.json"):
        load_tone_model(tmp_path)


def test_load_rejects_truncated_weights(branch_dir, tmp_path):
    d = _copy_model(branch_dir, tmp_path / "m")
    data = (d / "model.safetensors").read_bytes()
    (d / "model.safetensors").write_bytes(data[:100])
    with pytest.raises(ModelLoadError, match="model.safetensors"):
        load_tone_model(d)


def test_load_refuses_pickle_only(frozen_dir, tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    (d / "config.json").write_bytes((frozen_dir / "config.json").read_bytes())
    (d / "model.bin").write_bytes(b"\x80\x04K\x01.")  # a pickle
    with pytest.raises(ModelLoadError) as info:
        load_tone_model(d)
    assert "model.bin" in str(info.value) and str(d) in str(info.value)


def test_load_rejects_weights_that_do_not_fit_the_config(frozen_dir, tmp_path):
    d = _copy_model(frozen_dir, tmp_path / "m")
    cfg = json.loads((d / "config.json").read_text())
    cfg["hidden"] = 48
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="model.safetensors"):
        load_tone_model(d)


def test_load_rejects_bad_temperature(frozen_dir, tmp_path):
    d = _copy_model(frozen_dir, tmp_path / "m")
    cfg = json.loads((d / "config.json").read_text())
    cfg["temperature"] = -1.0
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match="temperature"):
        load_tone_model(d)


def _corrupt(kind: str, d: Path) -> None:
    if kind == "invalid-json":
        (d / "config.json").write_text('{"format": "framing-tone", ')
    elif kind == "truncated":
        (d / "model.safetensors").write_bytes((d / "model.safetensors").read_bytes()[:100])
    elif kind == "pickle-only":
        (d / "model.safetensors").unlink()
        (d / "model.bin").write_bytes(b"\x80\x04K\x01.")
    elif kind == "wrong-hidden":
        cfg = json.loads((d / "config.json").read_text())
        cfg["hidden"] = 48
        (d / "config.json").write_text(json.dumps(cfg))


@pytest.mark.parametrize("kind", ["invalid-json", "truncated", "pickle-only", "wrong-hidden"])
def test_analyzer_reports_broken_model_dirs(kind, frozen_dir, tone_encoder, tmp_path):
    d = _copy_model(frozen_dir, tmp_path / "m")
    _corrupt(kind, d)
    with pytest.raises(ModelLoadError) as info:
        framing.Analyzer(tone=str(d), encoder=tone_encoder, cues=False)
    assert str(d) in str(info.value)


def test_encoder_mismatch_is_refused(frozen_dir, default_analyzer):
    with pytest.raises(ModelLoadError, match="encoder") as info:
        framing.Analyzer(tone=str(frozen_dir), encoder=default_analyzer.encoder, cues=False)
    assert str(frozen_dir) in str(info.value)


def test_encoder_mismatch_is_refused_for_an_in_memory_model(frozen_result, default_analyzer):
    with pytest.raises(ModelLoadError, match="encoder"):
        framing.Analyzer(tone=frozen_result.model, encoder=default_analyzer.encoder, cues=False)


# -- training data ------------------------------------------------------------------
def _write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_load_tone_examples_jsonl(tmp_path):
    rows = [
        {"text": "Anna did good work.", "label": "pos", "target": "Anna"},
        {"text": "The day was long.", "label": "neu"},
        {"text": "They said Boris is no good.", "label": "neg", "target": "boris"},
        {"text": "Carla met Carla's friend.", "label": "positive", "target_start": 10,
         "target_end": 15},
    ]
    ex = load_tone_examples(_write_jsonl(tmp_path / "d.jsonl", rows))
    assert [e.label for e in ex] == [2, 1, 0, 2]
    assert ex[0].span == (0, 4)
    assert ex[1].span is None
    assert ex[2].span == (10, 15) and ex[2].text[10:15] == "Boris"  # case-insensitive find
    assert ex[3].span == (10, 15)  # offsets win over searching
    assert len({e.group for e in ex}) == 4


def test_load_tone_examples_csv_and_label_map(tmp_path):
    df = pd.DataFrame({
        "body": ["Elena will help people.", "Dmitri read the words.", "No one likes Anna."],
        "verdict": ["good", "meh", "bad"],
        "who": ["Elena", "Dmitri", "Anna"],
    })
    df.to_csv(tmp_path / "d.csv", index=False)
    ex = load_tone_examples(tmp_path / "d.csv", text="body", label="verdict", target="who",
                            label_map={"good": "promotional", "meh": "neutral",
                                       "bad": "critical"})
    assert [e.label for e in ex] == [2, 1, 0]
    assert [e.text[slice(*e.span)] for e in ex] == ["Elena", "Dmitri", "Anna"]
    with pytest.raises(ValueError, match="row 1"):  # without the map "good" is unknown
        load_tone_examples(tmp_path / "d.csv", text="body", label="verdict", target="who")


def test_load_tone_examples_offset_columns_csv(tmp_path):
    (tmp_path / "d.csv").write_text(
        "text,label,target_start,target_end\n"
        "Anna did good work,pos,0,4\n"
        "Boris and Carla left,neg,10,15\n", encoding="utf-8")
    ex = load_tone_examples(tmp_path / "d.csv")
    assert [e.span for e in ex] == [(0, 4), (10, 15)]
    assert [e.label for e in ex] == [2, 0]


def test_load_tone_examples_errors(tmp_path):
    bad_label = _write_jsonl(tmp_path / "a.jsonl", [
        {"text": "Anna did good work.", "label": "pos"},
        {"text": "The day was long.", "label": "so-so"}])
    with pytest.raises(ValueError, match=r"row 2.*so-so"):
        load_tone_examples(bad_label)
    absent = _write_jsonl(tmp_path / "b.jsonl", [
        {"text": "Anna did good work.", "label": "pos", "target": "Anna"},
        {"text": "The day was long.", "label": "neu", "target": "Zenobia"}])
    with pytest.raises(ValueError, match=r"row 2.*Zenobia"):
        load_tone_examples(absent)
    no_label = _write_jsonl(tmp_path / "c.jsonl", [{"text": "Anna did good work.", "y": "pos"}])
    with pytest.raises(ColumnError, match="label"):
        load_tone_examples(no_label)
    with pytest.raises(ColumnError, match="body"):
        load_tone_examples(no_label, text="body", label="y")


def test_load_tone_examples_csv_rows_without_offsets(tmp_path):
    (tmp_path / "d.csv").write_text(
        "text,label,target_start,target_end\n"
        "Anna did good work,pos,0,4\n"
        "The day was long,neu,,\n", encoding="utf-8")
    ex = load_tone_examples(tmp_path / "d.csv")
    assert [e.span for e in ex] == [(0, 4), None]


@pytest.mark.parametrize("start,end", [(50, 60), (3, 1)])
def test_load_tone_examples_rejects_offsets_outside_the_text(tmp_path, start, end):
    path = _write_jsonl(tmp_path / "d.jsonl", [
        {"text": "Anna did good work", "label": "pos", "target_start": start,
         "target_end": end}])
    with pytest.raises(ValueError, match="row 1"):
        load_tone_examples(path)


def test_split_examples_keeps_groups_apart_and_is_seeded():
    ex = _examples()
    # two examples per sentence group (a target and a whole-sentence one)
    ex = ex + [ToneExample(e.text, e.label, None, e.group) for e in ex]
    train, dev = split_examples(ex, 0.25, seed=5)
    assert len(train) + len(dev) == len(ex)
    assert not {e.group for e in train} & {e.group for e in dev}
    assert len({e.group for e in dev}) == 15  # round(0.25 * 60)
    again = split_examples(ex, 0.25, seed=5)
    assert again == (train, dev)
    other = split_examples(ex, 0.25, seed=6)
    assert {e.group for e in other[1]} != {e.group for e in dev}


def test_newsmtsc_examples(tmp_path):
    s1 = "Anna praised Boris for his work."
    s2 = "Carla and Dmitri signed the deal."
    s3 = "Elena said nothing."
    rows = [
        {"primary_gid": "a1", "sentence_normalized": s1, "targets": [
            {"from": 0, "to": 4, "mention": "Anna", "polarity": 4.0},
            {"from": 13, "to": 18, "mention": "Boris", "polarity": 6.0}]},
        {"primary_gid": "a2", "sentence_normalized": s2, "targets": [
            {"from": 0, "to": 5, "mention": "Carla", "polarity": 2.0},
            {"from": 10, "to": 16, "mention": "Dmitri", "polarity": 2.0}]},
        {"primary_gid": "a3", "sentence_normalized": s3, "targets": [
            {"from": 0, "to": 5, "mention": "Elena", "polarity": 4}]},
    ]
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "\n", encoding="utf-8")
    ex = newsmtsc_examples(path)
    targeted = [e for e in ex if e.span is not None]
    whole = [e for e in ex if e.span is None]
    assert len(targeted) == 5
    assert [(e.text[slice(*e.span)], e.label) for e in targeted] == [
        ("Anna", 1), ("Boris", 2), ("Carla", 0), ("Dmitri", 0), ("Elena", 1)]
    # sentence-level examples only where every target agrees (not for s1)
    assert [(e.text, e.label, e.group) for e in whole] == [(s2, 0, "a2"), (s3, 1, "a3")]
    assert {e.group for e in ex if e.text == s1} == {"a1"}
    assert len(newsmtsc_examples(path, sentence_level=False)) == 5


# -- the harness --------------------------------------------------------------------
def test_load_samples_offset_targets_and_evaluate(trained_analyzer):
    texts = [t.format(n=n) + " The day was long."
             for t, n in zip([*_TEMPLATES[0][:3], *_TEMPLATES[1][:3], *_TEMPLATES[2][:3]],
                             _NAMES * 2)]
    labels = ["critical"] * 3 + ["neutral"] * 3 + ["promotional"] * 3
    names = (_NAMES * 2)[:9]
    starts = [t.index(n) for t, n in zip(texts, names)]
    ts = [float(s) for s in starts]
    te = [float(s + len(n)) for s, n in zip(starts, names)]
    ts[4] = te[4] = float("nan")  # one row without a target
    df = pd.DataFrame({"id": range(9), "text": texts, "label": labels, "ts": ts, "te": te})
    samples = framing.load_samples(df, "tone", target_start="ts", target_end="te")
    assert samples.targets[4] is None
    for i in (0, 1, 8):
        assert samples.targets[i] == (starts[i], starts[i] + len(names[i]))
        assert all(type(x) is int for x in samples.targets[i])
    report = framing.evaluate({"tiny": trained_analyzer}, samples, n_boot=50)
    res = report.results["tiny"]
    assert report.n == 9
    assert 0.0 <= res["macro_f1"].value <= 1.0
    # the harness scored toward the targets: its predictions are those of direct calls
    direct = trained_analyzer.score_many(texts, targets=samples.targets)
    assert [r.target for r in direct] == samples.targets
    # a trained model labels by its likeliest class, as the analyzer's tone_label does
    assert trained_analyzer.tone_scorer.label_by_argmax
    want = [samples.label_set.index(r.tone_label) for r in direct]
    assert report._pred["tiny"].tolist() == want
    assert report.results["tiny"]["label_rule"] == "likeliest class"
    whole = trained_analyzer.score_many(texts)
    assert not np.allclose([r.tone for r in whole], [r.tone for r in direct])
    assert "probability" in res  # the trained model gives class probabilities


def test_load_samples_csv_rows_without_offsets(tmp_path):
    (tmp_path / "s.csv").write_text(
        "id,text,label,ts,te\n"
        "1,Anna did good work,promotional,0,4\n"
        "2,The day was long,neutral,,\n", encoding="utf-8")
    samples = framing.load_samples(tmp_path / "s.csv", "tone", target_start="ts",
                                   target_end="te")
    assert samples.targets == [(0, 4), None]


# -- the shipped model (runs once models/tone-newsmtsc exists) ----------------------
@pytest.fixture(scope="module")
def shipped(request) -> Path:
    path = shipped_tone_model_path()
    # the model ships with the package: its absence is a failure, not a reason to skip
    assert (path / "config.json").is_file(), f"the shipped tone model is missing from {path}"
    return path


@pytest.fixture(scope="module")
def shipped_analyzer(shipped, default_analyzer) -> framing.Analyzer:
    default = default_analyzer
    return framing.Analyzer(tone="trained", encoder=default.encoder, cues=False)


def test_shipped_model_is_the_default(shipped, default_analyzer):
    default = default_analyzer  # framing.Analyzer()
    assert default.tone_name.startswith("trained:")
    assert isinstance(default.tone_scorer, TrainedTone)
    assert default.config()["tone_scorer"].startswith("trained:")
    assert Path(default.tone_scorer.path).resolve() == shipped.resolve()


def test_shipped_model_loads_by_name(shipped_analyzer, shipped):
    assert shipped_analyzer.tone_name.startswith("trained:")
    assert Path(shipped_analyzer.tone_scorer.path).resolve() == shipped.resolve()


def test_shipped_model_files(shipped):
    weights = shipped / "model.safetensors"
    assert weights.is_file()
    assert weights.stat().st_size <= 10 * 1024 * 1024
    cfg = json.loads((shipped / "config.json").read_text(encoding="utf-8"))
    assert cfg["format"] == "framing-tone"
    assert cfg["encoder"]["name"] == "all-MiniLM-L6-v2"
    card = (shipped / "README.md").read_text(encoding="utf-8")
    assert "NewsMTSC" in card
    assert "licen" in card.lower() and "MIT" in card
    assert "Hamborg" in card  # the citation
    model = load_tone_model(shipped)
    assert model.temperature > 0


def test_shipped_model_labels_clear_sentences(shipped_analyzer):
    praise = ("The mayor's brilliant new programme has been a remarkable success, and "
              "residents warmly thanked her for the wonderful improvements.")
    attack = ("The mayor was fiercely condemned for lying to residents and wasting millions "
              "on a corrupt, failed programme.")
    p, c = shipped_analyzer.score_many([praise, attack])
    assert p.tone_label == "promotional", p.tone
    assert c.tone_label == "critical", c.tone
    pt = shipped_analyzer.score(praise, target="mayor")
    ct = shipped_analyzer.score(attack, target="mayor")
    assert pt.tone > ct.tone


def test_tone_model_keyword_loads_a_directory(tiny_dir, frozen_dir):
    an = framing.Analyzer(tiny_dir, tone_model=str(frozen_dir), cues=False)
    assert an.tone_name.startswith("trained:")
    assert an.score("Anna praised the plan.").tone_probabilities is not None
