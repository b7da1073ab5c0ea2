"""Classification metrics with bootstrap confidence intervals, and calibration measures.

Pure numpy (scikit-learn only for ROC/PR areas), no torch: usable on any table of
predictions. Bootstrap resamples are drawn once per call as an index matrix and shared
by every metric, so a paired comparison of two scorers uses the same resamples for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

__all__ = [
    "Estimate",
    "bootstrap_indices",
    "confusion",
    "classification_metrics",
    "multilabel_metrics",
    "probability_metrics",
    "expected_calibration_error",
    "reliability_bins",
    "paired_bootstrap",
    "macro_f1_from_confusion",
    "multilabel_macro_f1_resampler",
]


@dataclass
class Estimate:
    """A point estimate with a bootstrap percentile interval."""

    value: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high}

    def __format__(self, spec: str) -> str:
        spec = spec or ".3f"
        return f"{self.value:{spec}} [{self.low:{spec}}, {self.high:{spec}}]"


def bootstrap_indices(n: int, n_boot: int = 1000, seed: int = 0) -> np.ndarray:
    """``(n_boot, n)`` row indices drawn with replacement, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n, size=(n_boot, n)) if n else np.zeros((n_boot, 0), dtype=int)


def _interval(point: float, samples: np.ndarray, level: float = 0.95) -> Estimate:
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return Estimate(float(point), float("nan"), float("nan"))
    a = (1 - level) / 2
    lo, hi = np.quantile(samples, [a, 1 - a])
    # the percentile interval always covers the point estimate of the full sample
    return Estimate(float(point), float(min(lo, point)), float(max(hi, point)))


def confusion(y_true: np.ndarray, y_pred: np.ndarray, k: int, idx: np.ndarray | None = None) -> np.ndarray:
    """Confusion counts ``[..., true, pred]``; with ``idx`` (B, n) one matrix per resample."""
    y_true = np.asarray(y_true, dtype=int)
    y_pred = np.asarray(y_pred, dtype=int)
    if idx is None:
        return np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)
    b = idx.shape[0]
    flat = (np.arange(b)[:, None] * k * k + y_true[idx] * k + y_pred[idx]).ravel()
    return np.bincount(flat, minlength=b * k * k).reshape(b, k, k)


def _prf(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-class precision, recall, F1 and support from confusion matrices (..., k, k)."""
    tp = np.diagonal(cm, axis1=-2, axis2=-1).astype(float)
    pred = cm.sum(axis=-2).astype(float)
    true = cm.sum(axis=-1).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(pred > 0, tp / pred, 0.0)
        r = np.where(true > 0, tp / true, 0.0)
        f = np.where(p + r > 0, 2 * p * r / (p + r), 0.0)
    return p, r, f, true


def macro_f1_from_confusion(cm: np.ndarray) -> np.ndarray:
    """Macro-F1 of a confusion matrix ``(k, k)`` (or a stack ``(..., k, k)``, one value
    each)."""
    # classes absent from both truth and prediction are left out, as scikit-learn does
    _, _, f, true = _prf(cm)
    present = (true + cm.sum(axis=-2)) > 0
    return (f * present).sum(axis=-1) / np.maximum(present.sum(axis=-1), 1)


def classification_metrics(
    y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str], *,
    n_boot: int = 1000, seed: int = 0, idx: np.ndarray | None = None,
) -> dict:
    """Accuracy, macro-F1 and per-class precision/recall/F1, each with a 95% bootstrap CI.

    ``y_true``/``y_pred`` are class indices into ``labels``. Returns a dict with
    ``accuracy``, ``macro_f1`` (:class:`Estimate`), ``per_class`` (label -> precision,
    recall, f1 Estimates and support) and ``confusion`` (list of lists, rows = truth).
    """
    y_true = np.asarray(y_true, dtype=int)
    y_pred = np.asarray(y_pred, dtype=int)
    k = len(labels)
    n = len(y_true)
    if idx is None:
        idx = bootstrap_indices(n, n_boot, seed)
    cm = confusion(y_true, y_pred, k)
    cmb = confusion(y_true, y_pred, k, idx)
    acc = np.trace(cm) / max(n, 1)
    accb = np.trace(cmb, axis1=1, axis2=2) / max(n, 1)
    p, r, f, support = _prf(cm)
    pb, rb, fb, _ = _prf(cmb)
    per_class = {
        lab: {
            "precision": _interval(p[i], pb[:, i]),
            "recall": _interval(r[i], rb[:, i]),
            "f1": _interval(f[i], fb[:, i]),
            "support": int(support[i]),
        }
        for i, lab in enumerate(labels)
    }
    return {
        "n": n,
        "accuracy": _interval(acc, accb),
        "macro_f1": _interval(float(macro_f1_from_confusion(cm)), macro_f1_from_confusion(cmb)),
        "per_class": per_class,
        "confusion": cm.tolist(),
        "labels": list(labels),
    }


def multilabel_metrics(
    Y_true: np.ndarray, Y_pred: np.ndarray, labels: Sequence[str], *,
    n_boot: int = 1000, seed: int = 0, idx: np.ndarray | None = None,
) -> dict:
    """Micro- and macro-F1 and per-label precision/recall/F1 for 0/1 matrices (n, k).

    Macro-F1 averages over labels with at least one true or predicted positive.
    """
    Y_true = np.asarray(Y_true, dtype=bool)
    Y_pred = np.asarray(Y_pred, dtype=bool)
    n, k = Y_true.shape
    if idx is None:
        idx = bootstrap_indices(n, n_boot, seed)

    def counts(rows: np.ndarray | None):
        t = Y_true if rows is None else Y_true[rows]
        p = Y_pred if rows is None else Y_pred[rows]
        return (t & p).sum(axis=-2), (~t & p).sum(axis=-2), (t & ~p).sum(axis=-2)

    def scores(tp, fp, fn):
        tp, fp, fn = (np.asarray(x, dtype=float) for x in (tp, fp, fn))
        with np.errstate(divide="ignore", invalid="ignore"):
            prec = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
            rec = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
            f1 = np.where(prec + rec > 0, 2 * prec * rec / (prec + rec), 0.0)
            active = (tp + fp + fn) > 0
            macro = (f1 * active).sum(-1) / np.maximum(active.sum(-1), 1)
            stp, sfp, sfn = tp.sum(-1), fp.sum(-1), fn.sum(-1)
            micro = np.where(2 * stp + sfp + sfn > 0, 2 * stp / (2 * stp + sfp + sfn), 0.0)
        return prec, rec, f1, macro, micro

    prec, rec, f1, macro, micro = scores(*counts(None))
    tpb, fpb, fnb = counts(idx)  # (B, k) each
    precb, recb, f1b, macrob, microb = scores(tpb, fpb, fnb)
    per_label = {
        lab: {
            "precision": _interval(prec[j], precb[:, j]),
            "recall": _interval(rec[j], recb[:, j]),
            "f1": _interval(f1[j], f1b[:, j]),
            "support": int(Y_true[:, j].sum()),
            "predicted": int(Y_pred[:, j].sum()),
        }
        for j, lab in enumerate(labels)
    }
    exact = (Y_true == Y_pred).all(axis=1)
    return {
        "n": n,
        "micro_f1": _interval(float(micro), microb),
        "macro_f1": _interval(float(macro), macrob),
        "subset_accuracy": _interval(float(exact.mean()) if n else float("nan"),
                                     exact[idx].mean(axis=1) if n else np.array([])),
        "per_label": per_label,
        "labels": list(labels),
    }


def reliability_bins(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> list[dict]:
    """Equal-width probability bins: count, mean predicted probability, observed frequency."""
    y = np.asarray(y, dtype=float).ravel()
    p = np.clip(np.asarray(p, dtype=float).ravel(), 0.0, 1.0)
    which = np.minimum((p * n_bins).astype(int), n_bins - 1)
    out = []
    for b in range(n_bins):
        m = which == b
        out.append({
            "low": b / n_bins, "high": (b + 1) / n_bins, "count": int(m.sum()),
            "mean_prob": float(p[m].mean()) if m.any() else None,
            "frequency": float(y[m].mean()) if m.any() else None,
        })
    return out


def expected_calibration_error(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> float:
    """ECE: bin-size-weighted mean |observed frequency - mean probability| over equal-width bins."""
    y = np.asarray(y, dtype=float).ravel()
    p = np.clip(np.asarray(p, dtype=float).ravel(), 0.0, 1.0)
    if y.size == 0:
        return float("nan")
    which = np.minimum((p * n_bins).astype(int), n_bins - 1)
    count = np.bincount(which, minlength=n_bins).astype(float)
    conf = np.bincount(which, weights=p, minlength=n_bins)
    freq = np.bincount(which, weights=y, minlength=n_bins)
    nz = count > 0
    return float((np.abs(freq[nz] - conf[nz])).sum() / y.size)


def probability_metrics(
    y: np.ndarray, p: np.ndarray, *, n_boot: int = 1000, seed: int = 0,
    idx: np.ndarray | None = None, n_bins: int = 10,
) -> dict:
    """ROC-AUC, PR-AUC (average precision), Brier score and ECE for binary outcomes.

    ``y`` is 0/1 and ``p`` the predicted probability of 1, both 1-D (pool several labels
    by flattening, which gives the micro view). AUCs are NaN when only one class occurs.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.asarray(y, dtype=int).ravel()
    p = np.clip(np.asarray(p, dtype=float).ravel(), 0.0, 1.0)
    n = y.size
    if idx is None:
        idx = bootstrap_indices(n, n_boot, seed)

    def auc(fn: Callable, yy: np.ndarray, pp: np.ndarray) -> float:
        return float(fn(yy, pp)) if 0 < yy.sum() < yy.size else float("nan")

    brier = float(np.mean((p - y) ** 2)) if n else float("nan")
    out = {
        "n": n,
        "positives": int(y.sum()),
        "brier": _interval(brier, np.mean((p[idx] - y[idx]) ** 2, axis=1) if n else np.array([])),
        "ece": expected_calibration_error(y, p, n_bins),
        "reliability": reliability_bins(y, p, n_bins),
    }
    # AUC bootstraps are costlier; 200 resamples are plenty for a 95% interval's ends
    sub = idx[: min(len(idx), 200)]
    for name, fn in (("roc_auc", roc_auc_score), ("pr_auc", average_precision_score)):
        point = auc(fn, y, p)
        boots = np.array([auc(fn, y[r], p[r]) for r in sub]) if n else np.array([])
        out[name] = _interval(point, boots)
    return out


def paired_bootstrap(
    metric: Callable[[np.ndarray], np.ndarray], idx: np.ndarray, point_a: float, point_b: float,
    metric_b: Callable[[np.ndarray], np.ndarray],
) -> dict:
    """Paired bootstrap test of ``metric_a - metric_b`` over shared resamples ``idx``.

    ``metric`` and ``metric_b`` map the ``(B, n)`` index matrix to ``B`` metric values.
    Returns the difference with its 95% interval and a two-sided p-value (twice the
    share of resampled differences on the far side of zero, capped at 1).
    """
    diffs = metric(idx) - metric_b(idx)
    diffs = diffs[np.isfinite(diffs)]
    d = point_a - point_b
    if diffs.size == 0:
        return {"difference": Estimate(d, float("nan"), float("nan")), "p_value": float("nan")}
    if d >= 0:
        tail = np.mean(diffs <= 0)
    else:
        tail = np.mean(diffs >= 0)
    return {"difference": _interval(d, diffs), "p_value": float(min(1.0, 2 * tail))}


def multilabel_macro_f1_resampler(Y: np.ndarray, P: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A function of bootstrap row indices ``(n_boot, n)`` giving the multi-label
    macro-F1 of predictions ``P`` against truth ``Y`` (both boolean ``(n, k)``) on each
    resample, as :func:`paired_bootstrap` wants it. Labels with no true or predicted
    positive in a resample are left out of its mean."""
    def fn(rows: np.ndarray) -> np.ndarray:
        t, p = Y[rows], P[rows]
        tp = (t & p).sum(axis=1).astype(float)
        fp = (~t & p).sum(axis=1).astype(float)
        fn_ = (t & ~p).sum(axis=1).astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            f1 = np.where(2 * tp + fp + fn_ > 0, 2 * tp / (2 * tp + fp + fn_), 0.0)
        active = (tp + fp + fn_) > 0
        return (f1 * active).sum(axis=1) / np.maximum(active.sum(axis=1), 1)
    return fn
