"""Calibration and decision thresholds, and the one recipe every logistic head is fitted by.

The recipe (used for cue heads and frame heads alike): a class-balanced logistic
regression per label, Platt scaling fitted on held-out scores (a dev split or
out-of-fold predictions), folded into the head as an affine map of its raw score, and a
per-label threshold that maximises F1 on the same held-out rows.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = [
    "PlattCalibrator",
    "fit_thresholds",
    "fpr_within_cap",
    "fit_logistic",
    "sigmoid",
    "platt_affine",
    "calibrate_and_threshold",
    "check_binary_labels",
    "fit_temperature",
]


def sigmoid(z: np.ndarray) -> np.ndarray:
    """The logistic function, clipped so that large scores do not overflow."""
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


class PlattCalibrator:
    """Per-label Platt scaling (logistic regression on the logit), fitted on dev rows.

    After :meth:`fit`, ``params_[j]`` is ``(a, c)`` for label ``j``, or None when the
    dev rows hold only one class for it (that label is left as it is).
    """

    def fit(self, probs: np.ndarray, Y: np.ndarray) -> "PlattCalibrator":
        from sklearn.linear_model import LogisticRegression

        self.params_: list[tuple[float, float] | None] = []
        for j in range(probs.shape[1]):
            y = Y[:, j].astype(int)
            if y.min() == y.max():
                self.params_.append(None)
                continue
            lr = LogisticRegression(C=1e4, max_iter=1000)
            lr.fit(self.logit(probs[:, j])[:, None], y)
            self.params_.append((float(lr.coef_[0, 0]), float(lr.intercept_[0])))
        return self

    @staticmethod
    def logit(p: np.ndarray) -> np.ndarray:
        """``log(p / (1 - p))`` with ``p`` clipped away from 0 and 1."""
        p = np.clip(p, 1e-6, 1 - 1e-6)
        return np.log(p / (1 - p))

    def transform(self, probs: np.ndarray) -> np.ndarray:
        """Calibrated copies of ``probs`` (``(n, k)``)."""
        out = probs.copy()
        for j, prm in enumerate(self.params_):
            if prm is not None:
                a, b = prm
                out[:, j] = 1 / (1 + np.exp(-(a * self.logit(probs[:, j]) + b)))
        return out


def fit_thresholds(probs: np.ndarray, Y: np.ndarray, *, max_fpr: float | None = None,
                   negatives: np.ndarray | None = None,
                   groups: Sequence[str] | np.ndarray | None = None) -> np.ndarray:
    """Per-label probability thresholds maximising F1 on the given (dev) rows. A label
    with no positive in those rows keeps 0.5.

    Without ``max_fpr`` the candidates are a 0.05 grid. With ``max_fpr`` (a share, e.g.
    0.02) they are a 0.01 grid, and a label's threshold must keep its false-positive rate
    on the ``negatives`` rows (a boolean mask; default: the rows that carry no label at
    all) at or below ``max_fpr`` — within each group of ``groups`` (one name per row,
    e.g. the source of each sentence) when given, so no group pays for another. Among the
    thresholds that keep the cap the F1-best wins; when none does, the strictest
    candidate."""
    probs = np.asarray(probs, dtype=float)
    Y = np.asarray(Y).astype(bool)
    if max_fpr is None:
        grid = np.round(np.arange(0.05, 0.96, 0.05), 2)
        ok = np.ones((probs.shape[1], len(grid)), dtype=bool)
    else:
        if not 0.0 <= max_fpr <= 1.0:
            raise ValueError(f"max_fpr must be a share between 0 and 1, not {max_fpr!r}")
        grid = np.round(np.arange(0.01, 1.0, 0.01), 2)
        ok = fpr_within_cap(probs, grid, ~Y.any(axis=1) if negatives is None
                            else np.asarray(negatives, dtype=bool), max_fpr, groups)
    out = np.full(probs.shape[1], 0.5)
    for j in range(probs.shape[1]):
        y = Y[:, j]
        if not y.any():
            continue
        allowed = np.flatnonzero(ok[j])
        if not len(allowed):
            out[j] = grid[-1]
            continue
        best_f = -1.0
        for t in grid[allowed]:
            p = probs[:, j] >= t
            tp = (p & y).sum()
            f = 2 * tp / max(p.sum() + y.sum(), 1)
            if f > best_f + 1e-12:
                best_f, out[j] = f, t
    return out


def fpr_within_cap(probs: np.ndarray, grid: np.ndarray, negatives: np.ndarray,
                   max_fpr: float, groups: Sequence[str] | np.ndarray | None = None
                   ) -> np.ndarray:
    """``(labels, len(grid))`` booleans: whether flagging ``probs >= t`` keeps each
    label's false-positive rate on the ``negatives`` rows at or below ``max_fpr``, in
    every group of ``groups`` (all rows one group when None). A group without negative
    rows constrains nothing."""
    probs = np.asarray(probs, dtype=float)
    neg = np.asarray(negatives, dtype=bool)
    if neg.shape != (probs.shape[0],):
        raise ValueError(f"negatives must hold one boolean per row ({probs.shape[0]}), "
                         f"not shape {neg.shape}")
    g = np.zeros(len(probs), dtype=int) if groups is None else np.unique(
        np.asarray(groups, dtype=str), return_inverse=True)[1]
    if len(g) != len(probs):
        raise ValueError(f"groups must name one group per row ({len(probs)}), not {len(g)}")
    ok = np.ones((probs.shape[1], len(grid)), dtype=bool)
    for k in np.unique(g):
        rows = neg & (g == k)
        if not rows.any():
            continue
        flagged = probs[rows][:, :, None] >= np.asarray(grid)[None, None, :]
        ok &= flagged.mean(axis=0) <= max_fpr + 1e-12
    return ok


def fit_logistic(X: np.ndarray, y: np.ndarray, *, C: float, seed: int, max_iter: int = 3000,
                 standardise: bool = False, sample_weight: np.ndarray | None = None
                 ) -> tuple[np.ndarray, float]:
    """A class-balanced logistic regression of ``y`` (0/1) on ``X``; returns ``(w, b)``
    that apply to raw features. With ``standardise`` the fit runs on z-scored columns
    and the scaling is folded back into ``w`` and ``b``; ``sample_weight`` weighs rows
    (on top of the class balance)."""
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=C, max_iter=max_iter, class_weight="balanced", random_state=seed)
    if not standardise:
        lr.fit(X, y, sample_weight=sample_weight)
        return lr.coef_[0].copy(), float(lr.intercept_[0])
    mu = X.mean(axis=0)
    sd = X.std(axis=0)
    sd[sd < 1e-8] = 1.0
    lr.fit((X - mu) / sd, y, sample_weight=sample_weight)
    w = lr.coef_[0] / sd
    return w, float(lr.intercept_[0] - w @ mu)


def platt_affine(raw_scores: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Platt scaling of raw logistic scores ``(n, k)`` against labels ``Y``, as the affine
    map ``(a, c)`` of the raw score (``p = sigmoid(a * z + c)``): Platt on the logit of
    ``sigmoid(z)`` is affine in ``z``. A label with one class in ``Y`` keeps ``a = 1, c = 0``."""
    k = raw_scores.shape[1]
    cal = PlattCalibrator().fit(sigmoid(raw_scores), Y)
    a, c = np.ones(k), np.zeros(k)
    for j, prm in enumerate(cal.params_):
        if prm is not None:
            a[j], c[j] = prm
    return a, c


def calibrate_and_threshold(raw_scores: np.ndarray, Y: np.ndarray, **threshold_options
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The second half of the recipe on held-out raw scores ``(n, k)``: returns the Platt
    parameters ``(a, c)`` and the F1-maximising thresholds of the calibrated probabilities
    (``threshold_options``: :func:`fit_thresholds`' false-positive cap)."""
    a, c = platt_affine(raw_scores, Y)
    thresholds = fit_thresholds(sigmoid(a * raw_scores + c), np.asarray(Y).astype(bool),
                                **threshold_options)
    return a, c, thresholds


def check_binary_labels(Y: np.ndarray, ids: Sequence[str], what: str) -> None:
    """Raise :class:`ValueError` naming the first label without both classes in ``Y``."""
    for j, label in enumerate(ids):
        col = np.asarray(Y[:, j]).astype(int)
        if col.min() == col.max():
            raise ValueError(f"{what} {label!r} needs positive and negative training rows")


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """Temperature minimising negative log-likelihood on dev logits (grid, then refine)."""
    def nll(t: float) -> float:
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(len(y)), y].mean())

    grid = np.exp(np.linspace(np.log(0.05), np.log(20), 200))
    best = min(grid, key=nll)
    fine = np.linspace(best * 0.9, best * 1.1, 41)
    return float(min(fine, key=nll))
