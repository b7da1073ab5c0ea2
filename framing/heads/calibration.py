"""Calibration and decision thresholds, and the one recipe every logistic head is fitted by.

The recipe (used for cue heads and frame heads alike): a class-balanced logistic
regression per label, Platt scaling fitted on held-out scores (a dev split or
out-of-fold predictions), folded into the head as an affine map of its raw score, and a
per-label threshold that maximises F1 on the same held-out rows.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from framing.stats.metrics import macro_f1_from_confusion

#: the default grid of :func:`fit_class_biases`: -1.0 to +1.0 in steps of 0.1
BIAS_GRID = np.round(np.arange(-1.0, 1.0 + 1e-9, 0.1), 1)

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
    "fit_class_biases",
    "biased_argmax",
    "BIAS_GRID",
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


def biased_argmax(probs: np.ndarray, biases: np.ndarray | None) -> np.ndarray:
    """The class of each row of ``probs`` ``(n, k)`` after adding ``biases`` ``(k,)`` to
    the log-probabilities (plain argmax for None). The probabilities themselves are not
    changed: the biases move the decision, as a threshold does for one label."""
    probs = np.asarray(probs, dtype=float)
    if biases is None:
        return probs.argmax(axis=1)
    return (np.log(np.clip(probs, 1e-12, 1.0)) + np.asarray(biases, dtype=float)).argmax(axis=1)


def fit_class_biases(probs: np.ndarray, y: np.ndarray, *, fixed: int = 1,
                     grid: np.ndarray = BIAS_GRID) -> np.ndarray:
    """Additive log-probability biases ``(k,)`` that maximise macro-F1 of
    :func:`biased_argmax` on held-out rows: ``probs`` ``(n, k)`` calibrated class
    probabilities, ``y`` their true classes. Class ``fixed`` keeps bias 0 (only
    differences matter); every other class takes each value of ``grid`` (an exhaustive
    search: ``len(grid) ** (k - 1)`` pairs, 441 for three classes on the default grid).
    Ties go to the smallest total ``|bias|`` (no change when argmax is already best).

    Raises :class:`ValueError` for shapes that do not fit, labels outside ``0..k-1``, or
    more than three free classes (the search would be too large)."""
    probs = np.asarray(probs, dtype=float)
    y = np.asarray(y, dtype=int)
    if probs.ndim != 2 or len(probs) != len(y) or not len(y):
        raise ValueError("probs must be (n, k) with one true class per row, n > 0")
    k = probs.shape[1]
    if not 0 <= fixed < k or y.min() < 0 or y.max() >= k:
        raise ValueError(f"classes run from 0 to {k - 1}")
    if k - 1 > 3:
        raise ValueError("fit_class_biases searches at most three free classes")
    logp = np.log(np.clip(probs, 1e-12, 1.0))
    free = [c for c in range(k) if c != fixed]
    grid = np.asarray(grid, dtype=float)
    combos = np.array(np.meshgrid(*[grid] * len(free), indexing="ij")).reshape(len(free), -1).T
    best, best_key = np.zeros(k), None
    for combo in combos:
        b = np.zeros(k)
        b[free] = combo
        pred = (logp + b).argmax(axis=1)
        cm = np.zeros((k, k))
        np.add.at(cm, (y, pred), 1)
        key = (round(float(macro_f1_from_confusion(cm)), 12), -float(np.abs(b).sum()))
        if best_key is None or key > best_key:
            best, best_key = b, key
    return best
