"""framing.stats.metrics against scikit-learn and hand computations, on synthetic predictions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    roc_auc_score,
)

from framing.stats.metrics import (
    Estimate,
    bootstrap_indices,
    classification_metrics,
    expected_calibration_error,
    multilabel_metrics,
    paired_bootstrap,
    probability_metrics,
    reliability_bins,
)

LABELS3 = ["critical", "neutral", "promotional"]


def _noisy_predictions(rng: np.random.Generator, n: int, k: int, accuracy: float):
    """Class indices: a prediction equals the truth with probability ``accuracy``."""
    y = rng.integers(0, k, n)
    wrong = rng.random(n) > accuracy
    pred = np.where(wrong, (y + rng.integers(1, k, n)) % k, y)
    return y, pred


def _estimates(obj):
    """Every Estimate inside a nested metrics dict."""
    if isinstance(obj, Estimate):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _estimates(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _estimates(v)


# -- single-label classification --------------------------------------------------------
@pytest.mark.parametrize("seed,n,k,acc", [(0, 300, 3, 0.7), (1, 57, 3, 0.4), (2, 500, 2, 0.85),
                                          (3, 200, 5, 0.55)])
def test_classification_metrics_match_sklearn(seed, n, k, acc):
    rng = np.random.default_rng(seed)
    y, pred = _noisy_predictions(rng, n, k, acc)
    labels = [f"c{i}" for i in range(k)]
    m = classification_metrics(y, pred, labels, n_boot=100, seed=seed)

    assert m["n"] == n
    assert m["labels"] == labels
    assert m["accuracy"].value == pytest.approx(accuracy_score(y, pred), abs=1e-12)
    present = sorted(set(y) | set(pred))
    assert m["macro_f1"].value == pytest.approx(
        f1_score(y, pred, labels=present, average="macro", zero_division=0), abs=1e-12)
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=list(range(k)), average=None,
                                                 zero_division=0)
    for i, lab in enumerate(labels):
        pc = m["per_class"][lab]
        assert pc["precision"].value == pytest.approx(p[i], abs=1e-12)
        assert pc["recall"].value == pytest.approx(r[i], abs=1e-12)
        assert pc["f1"].value == pytest.approx(f[i], abs=1e-12)
        assert pc["support"] == s[i]
    np.testing.assert_array_equal(np.array(m["confusion"]),
                                  confusion_matrix(y, pred, labels=list(range(k))))


def test_classification_macro_f1_leaves_out_absent_classes():
    # class 2 ("promotional") is neither true nor predicted anywhere
    y = np.array([0, 0, 1, 1, 1, 0])
    pred = np.array([0, 1, 1, 1, 0, 0])
    m = classification_metrics(y, pred, LABELS3, n_boot=50)
    expected = f1_score(y, pred, labels=[0, 1], average="macro")
    assert m["macro_f1"].value == pytest.approx(expected)
    # with the absent class counted as 0, scikit-learn's figure is lower
    assert m["macro_f1"].value > f1_score(y, pred, labels=[0, 1, 2], average="macro",
                                          zero_division=0)
    assert m["per_class"]["promotional"]["support"] == 0
    assert m["per_class"]["promotional"]["f1"].value == 0.0


def test_classification_zero_division_gives_zero():
    # class 1 is never predicted: precision 0 (not NaN), as sklearn zero_division=0
    y = np.array([0, 1, 1, 0, 2, 2])
    pred = np.array([0, 0, 2, 0, 2, 2])
    m = classification_metrics(y, pred, LABELS3, n_boot=50)
    neutral = m["per_class"]["neutral"]
    assert neutral["precision"].value == 0.0
    assert neutral["recall"].value == 0.0
    assert neutral["f1"].value == 0.0
    assert m["macro_f1"].value == pytest.approx(
        f1_score(y, pred, labels=[0, 1, 2], average="macro", zero_division=0))


# -- multi-label ---------------------------------------------------------------------------
def _multilabel(rng, n, k, flip):
    Y = rng.random((n, k)) < rng.uniform(0.15, 0.5, k)
    P = Y ^ (rng.random((n, k)) < flip)
    return Y, P


@pytest.mark.parametrize("seed,n,k,flip", [(10, 200, 6, 0.15), (11, 80, 3, 0.3),
                                           (12, 400, 9, 0.05)])
def test_multilabel_metrics_match_sklearn_when_every_label_active(seed, n, k, flip):
    rng = np.random.default_rng(seed)
    Y, P = _multilabel(rng, n, k, flip)
    assert Y.any(axis=0).all()  # every label active, so macro averages agree exactly
    labels = [f"l{j}" for j in range(k)]
    m = multilabel_metrics(Y, P, labels, n_boot=100, seed=seed)

    assert m["n"] == n
    assert m["micro_f1"].value == pytest.approx(f1_score(Y, P, average="micro", zero_division=0))
    assert m["macro_f1"].value == pytest.approx(f1_score(Y, P, average="macro", zero_division=0))
    assert m["subset_accuracy"].value == pytest.approx(accuracy_score(Y, P))
    p, r, f, s = precision_recall_fscore_support(Y, P, average=None, zero_division=0)
    for j, lab in enumerate(labels):
        pl = m["per_label"][lab]
        assert pl["precision"].value == pytest.approx(p[j])
        assert pl["recall"].value == pytest.approx(r[j])
        assert pl["f1"].value == pytest.approx(f[j])
        assert pl["support"] == s[j]
        assert pl["predicted"] == P[:, j].sum()


def test_multilabel_macro_skips_a_label_nobody_uses():
    """Documented difference: framing's macro-F1 averages over labels with any true or
    predicted positive; scikit-learn's macro (zero_division=0) counts an all-empty label
    as F1 = 0, so it is lower by the factor active/k."""
    rng = np.random.default_rng(20)
    Y, P = _multilabel(rng, 150, 4, 0.2)
    Y[:, 2] = False
    P[:, 2] = False
    labels = ["a", "b", "unused", "d"]
    m = multilabel_metrics(Y, P, labels, n_boot=50)
    active = [0, 1, 3]
    framing_macro = m["macro_f1"].value
    assert framing_macro == pytest.approx(f1_score(Y, P, labels=active, average="macro"))
    sk_macro = f1_score(Y, P, average="macro", zero_division=0)
    assert sk_macro == pytest.approx(framing_macro * 3 / 4)
    assert framing_macro > sk_macro
    # micro-F1 is unaffected by an empty label
    assert m["micro_f1"].value == pytest.approx(f1_score(Y, P, average="micro"))
    assert m["per_label"]["unused"]["f1"].value == 0.0
    assert m["per_label"]["unused"]["support"] == 0


# -- probabilities and calibration ---------------------------------------------------------
@pytest.mark.parametrize("seed,n", [(30, 300), (31, 1000)])
def test_probability_metrics_match_sklearn(seed, n):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.35).astype(int)
    p = np.clip(0.35 + 0.3 * (y - 0.35) + rng.normal(0, 0.2, n), 0, 1)
    m = probability_metrics(y, p, n_boot=100, seed=seed)
    assert m["n"] == n
    assert m["positives"] == y.sum()
    assert m["roc_auc"].value == pytest.approx(roc_auc_score(y, p))
    assert m["pr_auc"].value == pytest.approx(average_precision_score(y, p))
    assert m["brier"].value == pytest.approx(brier_score_loss(y, p))
    assert m["ece"] == pytest.approx(expected_calibration_error(y, p))
    assert 0.5 < m["roc_auc"].value < 1.0  # a scorer with real but imperfect signal


def test_probability_metrics_auc_nan_with_one_class():
    m = probability_metrics(np.zeros(20, dtype=int), np.linspace(0, 1, 20), n_boot=20)
    assert math.isnan(m["roc_auc"].value)
    assert math.isnan(m["pr_auc"].value)
    assert m["brier"].value == pytest.approx(np.mean(np.linspace(0, 1, 20) ** 2))


def test_ece_by_hand():
    # bins (10 equal-width): p=0.12, 0.18 in bin 1; p=0.62, 0.66, 0.64 in bin 6; p=0.95 in bin 9
    y = np.array([0, 1, 1, 1, 0, 1])
    p = np.array([0.12, 0.18, 0.62, 0.66, 0.64, 0.95])
    bin1 = abs(np.mean([0, 1]) - np.mean([0.12, 0.18]))      # |0.5 - 0.15| = 0.35
    bin6 = abs(np.mean([1, 1, 0]) - np.mean([0.62, 0.66, 0.64]))  # |0.6667 - 0.64|
    bin9 = abs(1 - 0.95)
    expected = (2 * bin1 + 3 * bin6 + 1 * bin9) / 6
    assert expected == pytest.approx((0.7 + 0.08 + 0.05) / 6)
    assert expected_calibration_error(y, p) == pytest.approx(expected)
    # with 2 bins: [0, .5) holds the first two, [.5, 1] the rest
    expected2 = (2 * abs(0.5 - 0.15) + 4 * abs(0.75 - np.mean([0.62, 0.66, 0.64, 0.95]))) / 6
    assert expected_calibration_error(y, p, n_bins=2) == pytest.approx(expected2)


def test_ece_zero_when_bins_are_calibrated():
    # 4 rows at 0.25 with 1 positive, 4 at 0.75 with 3 positives, 2 at 0.5 with 1 positive
    p = np.array([0.25] * 4 + [0.75] * 4 + [0.5] * 2)
    y = np.array([1, 0, 0, 0] + [1, 1, 0, 1] + [0, 1])
    assert expected_calibration_error(y, p) == pytest.approx(0.0, abs=1e-12)
    # and a miscalibrated version is not zero
    assert expected_calibration_error(1 - y, p) > 0.2


def test_reliability_bins_counts_and_frequencies():
    rng = np.random.default_rng(40)
    p = rng.random(523)
    p[:5] = [0.0, 1.0, 0.1, 0.5, 0.9999]
    y = (rng.random(523) < p).astype(int)
    bins = reliability_bins(y, p, n_bins=10)
    assert len(bins) == 10
    assert sum(b["count"] for b in bins) == 523
    which = np.minimum((p * 10).astype(int), 9)
    for i, b in enumerate(bins):
        assert b["low"] == pytest.approx(i / 10) and b["high"] == pytest.approx((i + 1) / 10)
        m = which == i
        assert b["count"] == m.sum()
        if m.any():
            assert b["low"] <= b["mean_prob"] <= b["high"]
            assert b["mean_prob"] == pytest.approx(p[m].mean())
            assert b["frequency"] == pytest.approx(y[m].mean())
    # ECE is the count-weighted gap of these bins
    ece = sum(b["count"] * abs(b["frequency"] - b["mean_prob"]) for b in bins if b["count"]) / 523
    assert expected_calibration_error(y, p) == pytest.approx(ece)


def test_reliability_bins_empty_bins_are_none():
    bins = reliability_bins(np.array([1, 0]), np.array([0.05, 0.07]), n_bins=5)
    assert [b["count"] for b in bins] == [2, 0, 0, 0, 0]
    assert bins[1]["mean_prob"] is None and bins[1]["frequency"] is None


# -- confidence intervals --------------------------------------------------------------------
def test_every_estimate_brackets_its_value():
    rng = np.random.default_rng(50)
    y, pred = _noisy_predictions(rng, 120, 3, 0.6)
    Y, P = _multilabel(rng, 90, 4, 0.2)
    yb = (rng.random(150) < 0.4).astype(int)
    pb = np.clip(0.4 + 0.3 * (yb - 0.4) + rng.normal(0, 0.25, 150), 0, 1)
    found = 0
    for m in (classification_metrics(y, pred, LABELS3, n_boot=200),
              multilabel_metrics(Y, P, list("abcd"), n_boot=200),
              probability_metrics(yb, pb, n_boot=200)):
        for est in _estimates(m):
            found += 1
            assert est.low <= est.value <= est.high, est
            assert est.high > est.low or est.value in (0.0, 1.0), est
    assert found >= 12 + 14 + 3


def test_interval_shrinks_with_more_samples():
    def width(n, seed):
        rng = np.random.default_rng(seed)
        y = rng.integers(0, 3, n)
        pred = y.copy()
        wrong = rng.choice(n, int(round(0.25 * n)), replace=False)  # exactly 75% accuracy
        pred[wrong] = (y[wrong] + 1) % 3
        m = classification_metrics(y, pred, LABELS3, n_boot=1000, seed=seed)
        assert m["accuracy"].value == pytest.approx(0.75)
        return m["accuracy"].high - m["accuracy"].low, m["macro_f1"].high - m["macro_f1"].low

    acc_small, f1_small = width(100, 60)
    acc_big, f1_big = width(2000, 61)
    assert acc_small >= 2 * acc_big
    assert f1_small >= 2 * f1_big
    # and the small-sample interval is roughly the binomial one (+-1.96 * sqrt(pq/n))
    assert acc_small == pytest.approx(2 * 1.96 * math.sqrt(0.75 * 0.25 / 100), rel=0.25)


def test_bootstrap_indices_reproducible():
    a = bootstrap_indices(37, 50, seed=7)
    b = bootstrap_indices(37, 50, seed=7)
    c = bootstrap_indices(37, 50, seed=8)
    assert a.shape == (50, 37)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.min() >= 0 and a.max() < 37
    assert bootstrap_indices(0, 5).shape == (5, 0)
    # metrics given the same seed give identical intervals
    rng = np.random.default_rng(1)
    y, pred = _noisy_predictions(rng, 80, 3, 0.6)
    m1 = classification_metrics(y, pred, LABELS3, n_boot=100, seed=3)
    m2 = classification_metrics(y, pred, LABELS3, n_boot=100, seed=3)
    assert m1["macro_f1"] == m2["macro_f1"]


def _accuracy_fn(correct):
    return lambda rows: correct[rows].mean(axis=1)


def test_paired_bootstrap_identical_scorers():
    rng = np.random.default_rng(70)
    correct = rng.random(300) < 0.7
    idx = bootstrap_indices(300, 500, seed=0)
    point = correct.mean()
    out = paired_bootstrap(_accuracy_fn(correct), idx, point, point, _accuracy_fn(correct))
    assert out["difference"].value == 0.0
    assert out["difference"].low == 0.0 and out["difference"].high == 0.0
    assert out["p_value"] == 1.0


def test_paired_bootstrap_clearly_better_scorer():
    rng = np.random.default_rng(71)
    n = 500
    good = np.zeros(n, dtype=bool)
    good[rng.choice(n, 450, replace=False)] = True  # 90% accuracy
    bad = np.zeros(n, dtype=bool)
    bad[rng.choice(n, 250, replace=False)] = True  # 50% accuracy
    idx = bootstrap_indices(n, 1000, seed=0)
    out = paired_bootstrap(_accuracy_fn(good), idx, good.mean(), bad.mean(), _accuracy_fn(bad))
    d = out["difference"]
    assert d.value == pytest.approx(0.4)
    assert out["p_value"] < 0.01
    assert d.low > 0 and d.high < 0.6
    # the other way round: negative difference, same significance
    rev = paired_bootstrap(_accuracy_fn(bad), idx, bad.mean(), good.mean(), _accuracy_fn(good))
    assert rev["difference"].value == pytest.approx(-0.4)
    assert rev["difference"].high < 0
    assert rev["p_value"] < 0.01


def test_paired_bootstrap_small_difference_not_significant():
    rng = np.random.default_rng(72)
    n = 200
    a = rng.random(n) < 0.7
    b = a.copy()
    flip = rng.choice(np.flatnonzero(a), 2, replace=False)  # b is 1 point worse
    b[flip] = False
    idx = bootstrap_indices(n, 1000, seed=0)
    out = paired_bootstrap(_accuracy_fn(a), idx, a.mean(), b.mean(), _accuracy_fn(b))
    assert out["difference"].value == pytest.approx(0.01)
    assert out["p_value"] > 0.05
    assert out["difference"].low <= 0 <= out["difference"].high


def test_estimate_format_and_dict():
    e = Estimate(0.5, 0.25, 0.75)
    assert f"{e}" == "0.500 [0.250, 0.750]"
    assert f"{e:.1f}" == "0.5 [0.2, 0.8]"
    assert e.to_dict() == {"value": 0.5, "low": 0.25, "high": 0.75}
