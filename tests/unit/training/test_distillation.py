"""Knowledge distillation: train_tone with a teacher's soft targets (tone logits and cue
probabilities), resuming from per-epoch checkpoints, and cue heads fitted with soft rows.
Everything runs on the tiny random BERT and sentences written for these tests."""

from __future__ import annotations

import json

import numpy as np
import pytest

import framing
from tiny_models import die_after_epoch, with_working_tokenizer
from framing.core.labels import TONE_LABELS as LABELS
from framing.heads.cues.heads import fit_cue_heads
from framing.heads.calibration import sigmoid
from framing.training.tone import (
    SoftTargets,
    StateCollector,
    ToneExample,
    padded_batch,
    split_examples,
    train_tone,
)

NEUTRAL = LABELS.index("neutral")

_GOLD = {
    0: ["the people say {n} is no good", "{n} never did any work for them",
        "{n} left the old home in a bad way"],
    1: ["{n} came back on the third day", "{n} said the number was two",
        "{n} read the words out at home"],
    2: ["all the people say {n} is great", "{n} did good work for the people",
        "{n} made the new home very good"],
}
_NAMES = ["Anna", "Boris", "Carla", "Dmitri"]
# unlabelled sentences the teacher scores; not like any gold sentence
_SOFT = ["{n} went along the street with the men", "the small place {n} saw was here",
         "{n} thought about the line below", "both men and {n} set out to sea",
         "{n} might give the air back", "those men always tell {n} things",
         "{n} found the end of the big line", "there {n} put the last sound"]


def _gold() -> list[ToneExample]:
    out = []
    for label, templates in _GOLD.items():
        for t in templates:
            for name in _NAMES:
                text = t.format(n=name)
                out.append(ToneExample(text, label, group=f"{label}-{text}"))
    return out


def _soft_texts() -> list[str]:
    return [t.format(n=n) for t in _SOFT for n in _NAMES]


def _soft(label: int = NEUTRAL, margin: float = 6.0, cue_probs=None, spans=None) -> SoftTargets:
    texts = _soft_texts()
    logits = np.full((len(texts), 3), -margin / 2, dtype=np.float32)
    logits[:, label] = margin / 2
    return SoftTargets(texts, spans or [None] * len(texts), logits, cue_probs,
                       teacher="tiny-teacher (0123456789abcdef)")


@pytest.fixture(scope="module")
def encoder(tiny_model_dir, tmp_path_factory) -> framing.Encoder:
    return framing.Encoder(with_working_tokenizer(tiny_model_dir,
                                                  tmp_path_factory.mktemp("tiny-kd")))


@pytest.fixture(scope="module")
def split():
    return split_examples(_gold(), 0.25, seed=3)


KW = dict(design="branch", n_layers=1, epochs=3, lr=1e-3, head_lr=1e-2, batch_size=8,
          soft_batch_size=8, seed=5, progress=False)


def _predictions(result, encoder, texts) -> np.ndarray:
    """The trained branch's class for each text (as a sentence, no target)."""
    import torch

    tap = StateCollector(result.model.layer)
    encoder.encode(texts, taps=[tap])
    states = [tap.states[i] for i in range(len(texts))]
    h, m, t = padded_batch(states, [None] * len(texts), list(range(len(texts))))
    with torch.inference_mode():
        return result.model.module.eval()(h, m, t).argmax(1).numpy()


def _weights(result) -> dict:
    return {k: v.detach().clone() for k, v in result.model.module.state_dict().items()}


@pytest.fixture(scope="module")
def distilled(split, encoder):
    train, dev = split
    return train_tone(train, dev, encoder, soft=_soft(), kd_weight=0.5, name="tiny-kd", **KW)


@pytest.fixture(scope="module")
def gold_only(split, encoder):
    train, dev = split
    return train_tone(train, dev, encoder, name="tiny-gold", **KW)


# -- train_tone with soft targets ---------------------------------------------------
def test_distillation_is_recorded_in_the_config(distilled, gold_only, tmp_path):
    kd = distilled.config["distillation"]
    assert kd == {"rows": len(_soft_texts()), "cue_rows": 0, "temperature": 2.0, "weight": 0.5,
                  "batch_size": 8, "soft_per_epoch": None,
                  "teacher": "tiny-teacher (0123456789abcdef)"}
    assert "distillation" not in gold_only.config  # gold-only configs are as before
    saved = json.loads((distilled.save(tmp_path / "m") / "config.json").read_text())
    assert saved["distillation"] == kd
    assert "Distilled from tiny-teacher" in (tmp_path / "m" / "README.md").read_text()
    # an epoch is one pass over the soft rows; the losses of each part are kept
    assert [h["epoch"] for h in distilled.history] == [1, 2, 3]
    assert {"gold_loss", "kd_tone_loss", "kd_cue_loss"} <= set(distilled.history[0])
    assert distilled.history[-1]["kd_tone_loss"] < distilled.history[0]["kd_tone_loss"]


def test_the_student_moves_toward_the_teacher(distilled, gold_only, encoder):
    """The teacher calls every soft sentence neutral with a wide margin; trained on the gold
    rows alone the (tiny, random) student calls few of them neutral, distilled nearly all."""
    texts = _soft_texts()
    with_kd = (_predictions(distilled, encoder, texts) == NEUTRAL).mean()
    without = (_predictions(gold_only, encoder, texts) == NEUTRAL).mean()
    assert with_kd >= 0.9
    assert without <= 0.5


def test_kd_weight_zero_never_uses_the_soft_targets(split, encoder):
    train, dev = split
    a = train_tone(train, dev, encoder, soft=_soft(NEUTRAL), kd_weight=0.0, **KW)
    b = train_tone(train, dev, encoder, soft=_soft(0), kd_weight=0.0, **KW)
    wa, wb = _weights(a), _weights(b)
    assert all(np.array_equal(wa[k].numpy(), wb[k].numpy()) for k in wa)
    assert all(h["kd_tone_loss"] == 0.0 for h in a.history)
    # the gold loss is the whole loss
    assert all(h["train_loss"] == pytest.approx(h["gold_loss"]) for h in a.history)
    # with weight the teacher's logits do change the student
    c = train_tone(train, dev, encoder, soft=_soft(NEUTRAL), kd_weight=0.5, **KW)
    d = train_tone(train, dev, encoder, soft=_soft(0), kd_weight=0.5, **KW)
    wc, wd = _weights(c), _weights(d)
    assert not all(np.array_equal(wc[k].numpy(), wd[k].numpy()) for k in wc)


def test_cue_soft_targets_train_the_cue_head(split, encoder):
    train, dev = split
    texts = _soft_texts()
    cue_texts = ["the water was good", "he did good work", "they came home", "the old man"]
    cue_labels = np.array([[1, 0], [0, 1], [0, 0], [0, 0]])
    probs = np.tile([[0.9, 0.1]], (len(texts), 1)).astype(np.float32)
    probs[::4] = np.nan  # no cue target for these rows
    spans = [None] * len(texts)
    spans[1] = (0, 4)  # a targeted row: its cue probabilities are not used either
    res = train_tone(train, dev, encoder, soft=_soft(cue_probs=probs, spans=spans),
                     cue_texts=cue_texts, cue_labels=cue_labels, cue_batch_size=2, **KW)
    kd = res.config["distillation"]
    assert kd["cue_rows"] == len(texts) - len(texts[::4]) - 1
    assert all(h["kd_cue_loss"] > 0 for h in res.history)
    # without a cue task the cue probabilities are left unused
    res2 = train_tone(train, dev, encoder, soft=_soft(cue_probs=probs), **KW)
    assert res2.config["distillation"]["cue_rows"] == 0
    assert all(h["kd_cue_loss"] == 0 for h in res2.history)


def test_a_killed_run_resumes_from_its_last_epoch(split, encoder, tmp_path, monkeypatch):
    train, dev = split
    whole = train_tone(train, dev, encoder, soft=_soft(), **KW)
    ckpt = tmp_path / "ckpt"
    die_after_epoch(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        train_tone(train, dev, encoder, soft=_soft(), checkpoint=ckpt, **KW)
    monkeypatch.undo()
    assert (ckpt / "state.json").is_file() and (ckpt / "state.safetensors").is_file()
    resumed = train_tone(train, dev, encoder, soft=_soft(), checkpoint=ckpt, resume=True, **KW)
    ww, wr = _weights(whole), _weights(resumed)
    assert all(np.array_equal(ww[k].numpy(), wr[k].numpy()) for k in ww)
    assert resumed.history == whole.history
    # a finished checkpoint resumes straight to calibration; other settings are refused
    again = train_tone(train, dev, encoder, soft=_soft(), checkpoint=ckpt, resume=True, **KW)
    assert all(np.array_equal(ww[k].numpy(), v.numpy()) for k, v in _weights(again).items())
    with pytest.raises(ValueError, match="other settings"):
        train_tone(train, dev, encoder, soft=_soft(margin=2.0), checkpoint=ckpt, resume=True,
                   **KW)
    # without resume the checkpoint is overwritten, not read
    fresh = train_tone(train, dev, encoder, soft=_soft(margin=2.0), checkpoint=ckpt, **KW)
    assert len(fresh.history) == 3


def test_soft_targets_are_validated(split, encoder):
    texts = _soft_texts()
    n = len(texts)
    logits = np.zeros((n, 3))
    with pytest.raises(ValueError, match="spans"):
        SoftTargets(texts, [None] * (n - 1), logits)
    with pytest.raises(ValueError, match="tone_logits"):
        SoftTargets(texts, [None] * n, np.zeros((n, 2)))
    with pytest.raises(ValueError, match="tone_logits"):
        SoftTargets(texts, [None] * n, np.zeros((n + 1, 3)))
    with pytest.raises(ValueError, match="tone_logits"):
        SoftTargets(texts, [None] * n, np.full((n, 3), np.inf))
    with pytest.raises(ValueError, match="cue_probs"):
        SoftTargets(texts, [None] * n, logits, np.zeros((n - 1, 2)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        SoftTargets(texts, [None] * n, logits, np.full((n, 2), 1.5))
    with pytest.raises(ValueError, match="at least one"):
        SoftTargets([], [], np.zeros((0, 3)))
    assert len(SoftTargets(texts, [None] * n, logits).head(5)) == 5
    train, dev = split
    with pytest.raises(ValueError, match="branch"):
        train_tone(train, dev, encoder, soft=_soft(), design="frozen", progress=False)
    with pytest.raises(ValueError, match="kd_weight"):
        train_tone(train, dev, encoder, soft=_soft(), **dict(KW, epochs=1), kd_weight=1.5)
    with pytest.raises(ValueError, match="kd_temperature"):
        train_tone(train, dev, encoder, soft=_soft(), **dict(KW, epochs=1), kd_temperature=0)
    with pytest.raises(ValueError, match="columns"):  # 3 soft cue columns, 2 cue labels
        train_tone(train, dev, encoder, soft=_soft(cue_probs=np.zeros((n, 3))),
                   cue_texts=["a b", "c d"], cue_labels=np.array([[1, 0], [0, 1]]),
                   **dict(KW, epochs=1))



# -- soft_per_epoch: a subset of the soft rows each epoch -----------------------------
def _record_soft_rows(monkeypatch) -> list[list[int]]:
    """Make every distillation step note the soft rows it trains on; return the list of
    per-step rows it fills."""
    import framing.training.tone as tone_module

    seen: list[list[int]] = []
    real_losses = tone_module._SoftTask.losses

    def losses(self, module, rows, *args, **kwargs):
        seen.append(list(rows))
        return real_losses(self, module, rows, *args, **kwargs)

    monkeypatch.setattr(tone_module._SoftTask, "losses", losses)
    return seen


def test_soft_per_epoch_takes_new_rows_each_epoch_and_covers_the_pool(split, encoder,
                                                                       monkeypatch, tmp_path):
    train, dev = split
    n, per_epoch = len(_soft_texts()), 12  # 32 rows; 3 epochs of 12 see all of them
    seen = _record_soft_rows(monkeypatch)
    res = train_tone(train, dev, encoder, soft=_soft(), soft_per_epoch=per_epoch, **KW)
    steps = -(-per_epoch // KW["soft_batch_size"])  # 2 steps an epoch
    assert len(seen) == KW["epochs"] * steps
    epochs = [sorted(r for rows in seen[e * steps:(e + 1) * steps] for r in rows)
              for e in range(KW["epochs"])]
    for rows in epochs:  # N distinct rows an epoch, none twice
        assert len(rows) == per_epoch and len(set(rows)) == per_epoch
    assert not set(epochs[0]) & set(epochs[1])  # consecutive epochs: other rows
    assert not set(epochs[1]) & set(epochs[2])
    assert set().union(*map(set, epochs)) == set(range(n))  # 36 >= 32: every row
    # the subsets depend on the seed alone: another run draws the same ones
    seen.clear()
    train_tone(train, dev, encoder, soft=_soft(), soft_per_epoch=per_epoch, **KW)
    again = [sorted(r for rows in seen[e * steps:(e + 1) * steps] for r in rows)
             for e in range(KW["epochs"])]
    assert again == epochs
    # recorded in the config and on the card
    assert res.config["distillation"]["soft_per_epoch"] == per_epoch
    assert res.config["distillation"]["rows"] == n
    res.save(tmp_path / "m")
    assert "12 of them an epoch" in (tmp_path / "m" / "README.md").read_text()


def test_soft_epoch_rows_windows_of_one_permutation():
    from framing.training.tone import soft_epoch_rows

    n, per_epoch = 116, 30
    windows = [soft_epoch_rows(n, per_epoch, 13, e) for e in range(4)]
    flat = np.concatenate(windows)
    assert len(set(flat[:n].tolist())) == n  # 4 * 30 >= 116: each row once, then wraps
    assert all(len(set(w.tolist())) == per_epoch for w in windows)
    assert np.array_equal(flat[n:], flat[:4 * per_epoch - n])
    assert np.array_equal(soft_epoch_rows(n, per_epoch, 13, 2), windows[2])
    assert not np.array_equal(soft_epoch_rows(n, per_epoch, 14, 0), windows[0])
    assert sorted(soft_epoch_rows(n, n, 13, 3).tolist()) == list(range(n))
    assert soft_epoch_rows(n, None, 13, 0) is None


def test_soft_per_epoch_sets_the_schedule_length(split, encoder, monkeypatch):
    import framing.training.tone as tone_module

    train, dev = split
    made = []
    real_optimiser = tone_module._branch_optimiser

    def optimiser(*args, **kwargs):
        made.append(real_optimiser(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(tone_module, "_branch_optimiser", optimiser)
    for per_epoch, steps in ((12, 2), (17, 3), (None, 4)):  # 32 rows, 8 a batch
        made.clear()
        train_tone(train, dev, encoder, soft=_soft(), soft_per_epoch=per_epoch, **KW)
        sched = made[0][1]
        assert sched.total_steps == KW["epochs"] * steps
        assert sched.last_epoch == sched.total_steps  # every planned step was taken


def test_soft_per_epoch_resumes_bit_identically(split, encoder, tmp_path, monkeypatch):
    train, dev = split
    kw = dict(KW, epochs=4)
    whole = train_tone(train, dev, encoder, soft=_soft(), soft_per_epoch=12, **kw)
    ckpt = tmp_path / "ckpt"
    die_after_epoch(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        train_tone(train, dev, encoder, soft=_soft(), soft_per_epoch=12, checkpoint=ckpt, **kw)
    monkeypatch.undo()
    with pytest.raises(ValueError, match="other settings"):  # another N is another run
        train_tone(train, dev, encoder, soft=_soft(), soft_per_epoch=16, checkpoint=ckpt,
                   resume=True, **kw)
    seen = _record_soft_rows(monkeypatch)
    resumed = train_tone(train, dev, encoder, soft=_soft(), soft_per_epoch=12,
                         checkpoint=ckpt, resume=True, **kw)
    assert len(seen) == 3 * 2  # epochs 2 to 4 only
    ww, wr = _weights(whole), _weights(resumed)
    assert all(np.array_equal(ww[k].numpy(), wr[k].numpy()) for k in ww)
    assert resumed.history == whole.history
    assert resumed.metrics["dev_macro_f1"] == whole.metrics["dev_macro_f1"]


@pytest.mark.parametrize("value, match", [
    (33, "between 1 and the 32"), (0, "between 1"), (-5, "between 1"),
    (2.5, "whole number"), (True, "whole number"),
])
def test_soft_per_epoch_out_of_range_is_refused(split, encoder, value, match):
    train, dev = split
    with pytest.raises(ValueError, match=match):
        train_tone(train, dev, encoder, soft=_soft(), soft_per_epoch=value,
                   **dict(KW, epochs=1))


def test_soft_per_epoch_needs_soft_targets(split, encoder):
    train, dev = split
    with pytest.raises(ValueError, match="needs soft"):
        train_tone(train, dev, encoder, soft_per_epoch=4, **dict(KW, epochs=1))
    # all the rows is allowed: each epoch a shuffled full pass
    res = train_tone(train, dev, encoder, soft=_soft(), soft_per_epoch=32, **dict(KW, epochs=1))
    assert res.config["distillation"]["soft_per_epoch"] == 32

# -- cue heads with soft rows ---------------------------------------------------------
def _cue_data(seed: int = 0):
    """Gold rows whose cue 0 is unrelated to the features (cue 1 is learnable), a dev set
    where the cluster near ``centre`` has cue 0, and soft rows saying so."""
    rng = np.random.default_rng(seed)
    d = 6
    centre = np.r_[3.0, 3.0, np.zeros(d - 2)]
    X = rng.normal(size=(300, d))
    Y = np.c_[rng.random(300) < 0.3, X[:, 2] > 0.5]
    cluster = centre + 0.5 * rng.normal(size=(60, d))
    far = rng.normal(size=(60, d))
    soft_X = np.r_[cluster, far]
    soft_P = np.c_[np.r_[np.full(60, 0.98), np.full(60, 0.05)], np.full(120, 0.3)]
    dev_X = np.r_[centre + 0.5 * rng.normal(size=(40, d)), rng.normal(size=(120, d))]
    dev_Y = np.c_[np.r_[np.ones(40), rng.random(120) < 0.2], dev_X[:, 2] > 0.5]
    test_cluster = centre + 0.5 * rng.normal(size=(50, d))
    return X, Y, dev_X, dev_Y, soft_X, soft_P, test_cluster


def test_soft_rows_pull_a_cue_toward_the_teacher():
    X, Y, dev_X, dev_Y, soft_X, soft_P, test_cluster = _cue_data()
    plain = fit_cue_heads(X, Y, dev_X, dev_Y, ["a", "b"])
    soft = fit_cue_heads(X, Y, dev_X, dev_Y, ["a", "b"], soft_X=soft_X, soft_P=soft_P)
    raw = lambda h: test_cluster @ h.W[0] + h.b[0]  # noqa: E731
    assert raw(soft).mean() > raw(plain).mean() + 1.0
    p_soft = soft.predict_proba(test_cluster)[:, 0]
    p_plain = plain.predict_proba(test_cluster)[:, 0]
    assert p_soft.mean() > p_plain.mean() + 0.2
    assert (p_soft >= soft.thresholds[0]).mean() > 0.9
    # no soft rows: exactly the gold-only fit
    again = fit_cue_heads(X, Y, dev_X, dev_Y, ["a", "b"], soft_X=None, soft_P=None)
    assert np.array_equal(again.W, plain.W) and np.array_equal(again.b, plain.b)


def test_soft_rows_with_certain_labels_equal_gold_rows():
    """A soft row with p = 0 or 1 and weight 1 is a gold row: the weighted copies are the
    cross-entropy against p."""
    X, Y, dev_X, dev_Y, soft_X, _, _ = _cue_data(1)
    hard = np.c_[np.arange(len(soft_X)) % 2, np.arange(len(soft_X)) % 3 == 0].astype(int)
    as_gold = fit_cue_heads(np.r_[X, soft_X], np.r_[Y, hard], dev_X, dev_Y, ["a", "b"])
    as_soft = fit_cue_heads(X, Y, dev_X, dev_Y, ["a", "b"], soft_X=soft_X,
                            soft_P=hard.astype(float))
    assert np.allclose(as_gold.W, as_soft.W, atol=1e-4)
    assert np.allclose(as_gold.b, as_soft.b, atol=1e-4)
    # half the weight is not the same fit
    half = fit_cue_heads(X, Y, dev_X, dev_Y, ["a", "b"], soft_X=soft_X,
                         soft_P=hard.astype(float), soft_weight=0.5)
    assert not np.allclose(as_gold.W, half.W, atol=1e-4)


@pytest.mark.parametrize("kwargs, match", [
    ({"soft_X": np.zeros((5, 6))}, "go together"),
    ({"soft_P": np.zeros((5, 2))}, "go together"),
    ({"soft_X": np.zeros((5, 4)), "soft_P": np.zeros((5, 2))}, "soft_X"),
    ({"soft_X": np.zeros((5, 6)), "soft_P": np.zeros((4, 2))}, "soft_P"),
    ({"soft_X": np.zeros((5, 6)), "soft_P": np.zeros((5, 3))}, "soft_P"),
    ({"soft_X": np.zeros((5, 6)), "soft_P": np.full((5, 2), 1.2)}, r"\[0, 1\]"),
    ({"soft_X": np.zeros((5, 6)), "soft_P": np.zeros((5, 2)), "soft_weight": np.ones(4)},
     "soft_weight"),
    ({"soft_X": np.zeros((5, 6)), "soft_P": np.zeros((5, 2)), "soft_weight": -1.0},
     "soft_weight"),
])
def test_mismatched_soft_rows_are_refused(kwargs, match):
    X, Y, dev_X, dev_Y, _, _, _ = _cue_data()
    with pytest.raises(ValueError, match=match):
        fit_cue_heads(X, Y, dev_X, dev_Y, ["a", "b"], **kwargs)


def test_soft_weight_per_row():
    """One weight per soft row: a row of weight 0 is as if it were not there."""
    X, Y, dev_X, dev_Y, soft_X, soft_P, _ = _cue_data()
    w = np.r_[np.ones(60), np.zeros(60)]
    per_row = fit_cue_heads(X, Y, dev_X, dev_Y, ["a", "b"], soft_X=soft_X, soft_P=soft_P,
                            soft_weight=w)
    first = fit_cue_heads(X, Y, dev_X, dev_Y, ["a", "b"], soft_X=soft_X[:60],
                          soft_P=soft_P[:60])
    assert np.allclose(per_row.W, first.W, atol=1e-4)
    p = sigmoid(per_row.platt_a * (dev_X @ per_row.W.T + per_row.b) + per_row.platt_c)
    assert np.allclose(p, per_row.predict_proba(dev_X))
