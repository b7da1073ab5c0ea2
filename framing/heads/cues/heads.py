"""Trained cue heads: per-cue logistic classifiers on the shared sentence embeddings.

Each cue of a catalogue gets a logistic head on the pooled sentence embedding that the
encoder pass already produced (no extra pass), Platt-calibrated and given a decision
threshold on a dev split. :class:`~framing.heads.cues.detector.CueDetector` uses the heads in place of
exemplar similarity when they are given; phrase patterns still add their evidence.

The artefact is a directory: ``config.json`` (format ``framing-cues``, the catalogue's
name and hash, cue ids, thresholds, the encoder's fingerprint), ``model.safetensors``
(weights, biases, Platt parameters) and a model card.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from framing.core.resources import SHIPPED_CUE_HEADS, shipped_model_path
from framing.errors import ModelLoadError
from framing.heads.base import LogisticHeads
from framing.heads.calibration import (calibrate_and_threshold, check_binary_labels,
                                      fit_logistic, fit_thresholds)
from framing.heads.lexical import LEXICAL_CONFIG, LEXICAL_WEIGHTS, LexicalEvidence

if TYPE_CHECKING:  # pragma: no cover
    from framing.encoding.encoder import Encoder
    from framing.text.catalogue import Catalogue

__all__ = ["CueHeads", "fit_cue_heads", "with_lexical", "fit_pattern_weights",
           "fit_operating_point", "lift", "PATTERN_WEIGHT_GRID", "load_cue_heads",
           "is_cue_heads_dir", "shipped_cue_heads_path", "FORMAT", "SHIPPED", "BALANCED",
           "STRICT"]

FORMAT = "framing-cues"
#: the operating point of F1-maximising thresholds
BALANCED = "balanced"
#: the shipped heads' low-false-positive operating point
STRICT = "strict"
_F1_BEST_RULE = "per cue, the F1-best threshold on the dev sentences"
SHIPPED = SHIPPED_CUE_HEADS


def shipped_cue_heads_path() -> Path:
    """Directory of the cue heads shipped for the built-in catalogue."""
    return shipped_model_path(SHIPPED)


@dataclass
class CueHeads(LogisticHeads):
    """Per-cue logistic heads on sentence rows (see :class:`~framing.heads.base.LogisticHeads`),
    trained for one catalogue (``catalogue_sha256``).

    ``feature_source`` is ``"embedding"`` (the encoder's pooled sentence embedding),
    ``"tone-branch"`` (the pooled sentence states of a trained tone branch, named with its
    weights' digest in ``feature_model``) or ``"layer+tone-branch"`` (the pooled shared
    states the branch reads, then the branch's own).
    """

    name: str = "cue-heads"
    catalogue_sha256: str = ""
    #: per cue, the probability a phrase-pattern match alone gives (fitted on dev with
    #: :func:`fit_pattern_weights`); ``None``: the detector's single ``pattern_weight``
    pattern_weights: list[float] | None = None
    #: named threshold sets the heads offer (see :func:`fit_operating_point`):
    #: ``{name: {"thresholds": [one per cue], "rule": how they were chosen}}``; None: only
    #: ``thresholds``
    operating_points: dict[str, dict[str, Any]] | None = None
    #: the name of the set ``thresholds`` holds (None for heads without named sets)
    operating_point: str | None = None
    #: per-cue models on the sentence's words whose logits add to the heads' own before
    #: calibration (see :func:`with_lexical`); None: the heads read their features only
    lexical: LexicalEvidence | None = None

    FORMAT = FORMAT
    KIND = "cue heads"
    LABELS_KEY = "cues"

    def predict_proba(self, x: np.ndarray, texts: Sequence[str] | None = None) -> np.ndarray:
        """``(n, k)`` calibrated probabilities for feature rows ``x``; heads with lexical
        evidence also read the cleaned sentences ``texts`` (one per row) and raise
        :class:`ValueError` without them."""
        z = self.raw_scores(x)
        if self.lexical is not None:
            if texts is None or len(texts) != len(z):
                raise ValueError(f"cue heads {self.path or self.name} read the sentences' "
                                 f"words too: give one text per feature row "
                                 f"({len(z)} rows, "
                                 f"{'no texts' if texts is None else len(texts)})")
            z = z + self.lexical.logits(texts)
        return self.calibrated(z)

    def predict(self, x: np.ndarray, texts: Sequence[str] | None = None) -> np.ndarray:
        """``(n, k)`` booleans: each cue present at its threshold."""
        return self.predict_proba(x, texts) >= self.thresholds[None, :]

    def save(self, path: str | os.PathLike, card: str, extra: dict[str, Any] | None = None,
             *, branch: str | os.PathLike | None = None) -> Path:
        """As :meth:`LogisticHeads.save`, plus the lexical evidence's two files when the
        heads have it (and stale ones removed when they have none)."""
        out = super().save(path, card, extra, branch=branch)
        if self.lexical is not None:
            self.lexical.save(out)
        else:
            for name in (LEXICAL_CONFIG, LEXICAL_WEIGHTS):
                (out / name).unlink(missing_ok=True)
        return out

    def extra_config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"catalogue_sha256": self.catalogue_sha256}
        if self.lexical is not None:
            cfg["lexical"] = self.lexical.summary()
        if self.pattern_weights is not None:
            cfg["pattern_weights"] = [float(w) for w in self.pattern_weights]
        if self.operating_points:
            cfg["operating_points"] = {
                name: {"thresholds": [float(t) for t in point["thresholds"]],
                       "rule": str(point.get("rule", ""))}
                for name, point in self.operating_points.items()}
            cfg["operating_point"] = self.operating_point
        return cfg

    @classmethod
    def fields_from_config(cls, cfg: dict[str, Any], path: Path) -> dict[str, Any]:
        weights = cfg.get("pattern_weights")
        if weights is not None:
            ok = isinstance(weights, list) and len(weights) == len(cfg.get(cls.LABELS_KEY) or []) \
                and all(isinstance(w, (int, float)) and 0.0 <= w <= 1.0 for w in weights)
            if not ok:
                raise ModelLoadError(f"{path / 'config.json'}: pattern_weights must be one "
                                     "number in [0, 1] per cue")
            weights = [float(w) for w in weights]
        points, current = _operating_points_from(cfg, path, len(cfg.get(cls.LABELS_KEY) or []))
        lexical = None
        if cfg.get("lexical") is not None:
            lexical = LexicalEvidence.load(path, len(cfg.get(cls.LABELS_KEY) or []))
        return {"catalogue_sha256": str(cfg.get("catalogue_sha256", "")),
                "pattern_weights": weights, "operating_points": points,
                "operating_point": current, "lexical": lexical}

    def at_operating_point(self, name: str | None) -> "CueHeads":
        """These heads with the thresholds of operating point ``name`` (a copy; ``None``:
        these heads as they are). Raises :class:`ValueError` naming the points there are."""
        if name is None or name == self.operating_point:
            return self
        points = self.operating_points or {}
        if name not in points:
            offered = ", ".join(sorted(points)) or "none: they hold one set of thresholds"
            raise ValueError(f"cue heads {self.path or self.name} have no operating point "
                             f"{name!r} (they offer {offered})")
        return replace(self, thresholds=np.asarray(points[name]["thresholds"], dtype=float),
                       operating_point=name)

    def check(self, catalogue: "Catalogue", encoder: "Encoder | None") -> None:
        """Raise :class:`ModelLoadError` unless the heads fit this catalogue and encoder."""
        if list(catalogue.ids) != list(self.ids):
            raise ModelLoadError(f"Cue heads {self.path or self.name} were trained for cues "
                                 f"{self.ids}, not for catalogue {catalogue.name!r} ({catalogue.ids})")
        self.check_encoder(encoder)


def _operating_points_from(cfg: dict[str, Any], path: Path, k: int
                           ) -> tuple[dict[str, dict[str, Any]] | None, str | None]:
    """The checked ``operating_points`` and ``operating_point`` of a config; raise
    :class:`ModelLoadError` naming the file when they are malformed."""
    points = cfg.get("operating_points")
    if points is None:
        return None, None
    where = path / "config.json"
    if not isinstance(points, dict) or not points:
        raise ModelLoadError(f"{where}: operating_points must map names to threshold sets")
    out = {}
    for name, point in points.items():
        thresholds = point.get("thresholds") if isinstance(point, dict) else None
        if not (isinstance(thresholds, list) and len(thresholds) == k and all(
                isinstance(t, (int, float)) and 0.0 <= t <= 1.0 for t in thresholds)):
            raise ModelLoadError(f"{where}: operating point {name!r} must give one threshold "
                                 "in [0, 1] per cue")
        out[str(name)] = {"thresholds": [float(t) for t in thresholds],
                          "rule": str(point.get("rule", ""))}
    current = cfg.get("operating_point")
    if current not in out:
        raise ModelLoadError(f"{where}: operating_point {current!r} is not one of "
                             f"{', '.join(sorted(out))}")
    if not np.allclose(out[current]["thresholds"], cfg.get("thresholds", [])):
        raise ModelLoadError(f"{where}: thresholds differ from those of operating point "
                             f"{current!r}")
    return out, current


def is_cue_heads_dir(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a directory holding a ``framing-cues`` config."""
    return CueHeads.is_artefact(path)


def load_cue_heads(path: str | os.PathLike) -> CueHeads:
    """Load cue heads; :class:`ModelLoadError` naming the file if anything is wrong."""
    return CueHeads.load(path)


def fit_cue_heads(
    train_emb: np.ndarray, Y_train: np.ndarray, dev_emb: np.ndarray, Y_dev: np.ndarray,
    ids: Sequence[str], *, C: float = 4.0, seed: int = 13, name: str = "cue-heads",
    sample_weight: np.ndarray | None = None, soft_X: np.ndarray | None = None,
    soft_P: np.ndarray | None = None, soft_weight: float | np.ndarray = 1.0,
) -> CueHeads:
    """Fit one balanced logistic head per cue on ``train``; Platt scaling and the
    F1-maximising threshold on ``dev`` (a cue with no dev positive keeps a = 1, c = 0, 0.5).
    ``sample_weight`` weighs the training rows (e.g. less for rows from another domain).

    Soft rows (distillation): ``soft_X`` ``(m, d)`` features with ``soft_P`` ``(m, k)``, a
    teacher's probability of each cue, join every cue's fit as two weighted copies, one
    labelled 1 with weight ``w * p`` and one labelled 0 with weight ``w * (1 - p)``
    (``w = soft_weight``, one number or one per soft row): the weighted log-loss of the
    pair is the cross-entropy against ``p``, so the fit minimises cross-entropy to the
    teacher on those rows. The class balance counts the weights, so a soft row adds ``w * p``
    to the positive side and ``w * (1 - p)`` to the negative. Calibration and thresholds
    still come from the gold ``dev`` rows only.

    Raises :class:`ValueError` naming a cue without positive and negative (gold) training
    rows, and for soft arrays that do not fit the training features and the cues.
    """
    ids = list(ids)
    check_binary_labels(Y_train, ids, "cue")
    k = len(ids)
    soft = _soft_rows(train_emb, k, soft_X, soft_P, soft_weight)
    gold_w = np.ones(len(train_emb)) if sample_weight is None \
        else np.asarray(sample_weight, dtype=float)
    X = train_emb if soft is None else np.concatenate(
        [np.asarray(train_emb), soft[0], soft[0]]).astype(np.asarray(train_emb).dtype, copy=False)
    W = np.zeros((k, train_emb.shape[1]))
    b = np.zeros(k)
    for j in range(k):
        if soft is None:
            W[j], b[j] = fit_logistic(train_emb, Y_train[:, j].astype(int), C=C, seed=seed,
                                      sample_weight=sample_weight)
            continue
        Xs, P, w = soft
        y = np.r_[Y_train[:, j].astype(int), np.ones(len(Xs), int), np.zeros(len(Xs), int)]
        weight = np.r_[gold_w, w * P[:, j], w * (1.0 - P[:, j])]
        keep = weight > 0  # a copy of weight 0 adds nothing to the fit
        if keep.all():
            W[j], b[j] = fit_logistic(X, y, C=C, seed=seed, sample_weight=weight)
        else:
            W[j], b[j] = fit_logistic(X[keep], y[keep], C=C, seed=seed,
                                      sample_weight=weight[keep])
    a, c, thresholds = calibrate_and_threshold(dev_emb @ W.T + b, Y_dev)
    return CueHeads(ids, W, b, a, c, thresholds, name=name)


def with_lexical(heads: CueHeads, lexical: LexicalEvidence | None, dev_x: np.ndarray,
                 dev_texts: Sequence[str], Y_dev: np.ndarray) -> CueHeads:
    """A copy of ``heads`` whose raw scores add ``lexical``'s logits (None: take them
    away), with Platt scaling and thresholds refitted on the dev rows (features ``dev_x``,
    cleaned sentences ``dev_texts``, labels ``Y_dev``). The dense weights stay; pattern
    weights and named operating points are dropped, since they were fitted to the old
    scores: refit them (:func:`fit_pattern_weights`, :func:`fit_operating_point`)."""
    if lexical is not None and lexical.n_labels != len(heads.ids):
        raise ValueError(f"the lexical evidence scores {lexical.n_labels} cues, the heads "
                         f"{len(heads.ids)}")
    z = heads.raw_scores(dev_x)
    if lexical is not None:
        z = z + lexical.logits(dev_texts)
    a, c, thresholds = calibrate_and_threshold(z, np.asarray(Y_dev))
    return replace(heads, platt_a=a, platt_c=c, thresholds=thresholds, lexical=lexical,
                   pattern_weights=None, operating_points=None, operating_point=None)


def _soft_rows(train_emb: np.ndarray, k: int, soft_X, soft_P, soft_weight
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Return ``(soft_X, soft_P, per-row weight)`` checked against the training features
    and the ``k`` cues, or None without soft rows; raise :class:`ValueError` when they do
    not fit."""
    if soft_X is None and soft_P is None:
        return None
    if soft_X is None or soft_P is None:
        raise ValueError("soft_X and soft_P go together")
    Xs = np.asarray(soft_X)
    P = np.asarray(soft_P, dtype=float)
    if Xs.ndim != 2 or Xs.shape[1] != np.shape(train_emb)[1]:
        raise ValueError(f"soft_X must be (m, {np.shape(train_emb)[1]}) like the training "
                         f"features, not {Xs.shape}")
    if P.shape != (Xs.shape[0], k):
        raise ValueError(f"soft_P must be ({Xs.shape[0]}, {k}): one probability per soft row "
                         f"and cue, not {P.shape}")
    if not np.isfinite(P).all() or P.min(initial=0.0) < 0.0 or P.max(initial=0.0) > 1.0:
        raise ValueError("soft_P must hold probabilities in [0, 1]")
    w = np.broadcast_to(np.asarray(soft_weight, dtype=float), (Xs.shape[0],)) \
        if np.ndim(soft_weight) in (0, 1) and np.size(soft_weight) in (1, Xs.shape[0]) else None
    if w is None or not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("soft_weight must be one non-negative number or one per soft row")
    return Xs, P, np.asarray(w, dtype=float)


def lift(probs: np.ndarray, matched: np.ndarray, weights: np.ndarray | float) -> np.ndarray:
    """Probabilities after pattern evidence: ``1 - (1 - p) * (1 - w)`` where a pattern of the
    cue matched (``matched``, same shape as ``probs``), unchanged elsewhere; ``weights`` is
    one number or one per cue (column)."""
    w = np.broadcast_to(np.asarray(weights, dtype=float), probs.shape[1:])
    return np.where(matched, 1.0 - (1.0 - probs) * (1.0 - w), probs)


#: the pattern weights :func:`fit_pattern_weights` chooses between, per cue
PATTERN_WEIGHT_GRID = (0.0, 0.5, 0.9)


def fit_pattern_weights(heads: CueHeads, dev_probs: np.ndarray, dev_matched: np.ndarray,
                        Y_dev: np.ndarray) -> CueHeads:
    """Return ``heads`` with, per cue, the pattern weight of :data:`PATTERN_WEIGHT_GRID` and
    the threshold that together maximise dev F1 (ties: the smaller weight).

    ``dev_probs`` are the heads' calibrated dev probabilities, ``dev_matched`` whether a
    pattern of each cue matched each dev sentence. Patterns that fire on real text where
    the cue is absent thus lose their say for that cue instead of forcing false positives."""
    Y = np.asarray(Y_dev).astype(bool)
    weights, thresholds = [], []
    for j in range(dev_probs.shape[1]):
        best = None
        for w in PATTERN_WEIGHT_GRID:
            p = lift(dev_probs[:, j:j + 1], dev_matched[:, j:j + 1], w)
            t = float(fit_thresholds(p, Y[:, j:j + 1])[0])
            hit = p[:, 0] >= t
            f1 = 2 * float((hit & Y[:, j]).sum()) / max(int(hit.sum() + Y[:, j].sum()), 1)
            if best is None or f1 > best[0] + 1e-9:
                best = (f1, w, t)
        weights.append(best[1])
        thresholds.append(best[2])
    heads.pattern_weights = weights
    heads.thresholds = np.array(thresholds)
    return heads


def fit_operating_point(heads: CueHeads, dev_probs: np.ndarray, dev_matched: np.ndarray,
                        Y_dev: np.ndarray, name: str, *, max_fpr: float | None,
                        groups: Sequence[str] | np.ndarray | None = None,
                        default: bool = False) -> CueHeads:
    """Add operating point ``name`` to ``heads`` (in place; returned): per cue, the
    F1-best threshold on the dev rows at the heads' pattern weights, with each cue's
    false-positive rate on the cue-free dev rows (no cue at all) at most ``max_fpr``
    within each of ``groups`` when a cap is given (see
    :func:`~framing.heads.calibration.fit_thresholds`), and never below the threshold the
    heads hold (a capped point flags a subset of what the default flags).

    The thresholds the heads hold already become operating point :data:`BALANCED` when
    they have no named sets yet. With ``default`` the new point becomes the heads'
    ``thresholds`` (what an analyzer uses unless told otherwise)."""
    Y = np.asarray(Y_dev).astype(bool)
    weights = heads.pattern_weights if heads.pattern_weights is not None else 0.0
    probs = lift(np.asarray(dev_probs, dtype=float), np.asarray(dev_matched, dtype=bool),
                 np.asarray(weights, dtype=float))
    thresholds = fit_thresholds(probs, Y, max_fpr=max_fpr, negatives=~Y.any(axis=1),
                                groups=groups)
    if max_fpr is not None:  # a capped point never flags more than the heads' default
        thresholds = np.maximum(thresholds, np.asarray(heads.thresholds, dtype=float))
    if not heads.operating_points:
        heads.operating_points = {BALANCED: {
            "thresholds": [float(t) for t in heads.thresholds],
            "rule": _F1_BEST_RULE}}
        heads.operating_point = BALANCED
    rule = (_F1_BEST_RULE if max_fpr is None else
            f"{_F1_BEST_RULE} that flags at most "
            f"{max_fpr:.1%} of the cue-free ones"
            + (" in each source group" if groups is not None else "")
            + (", and at least the thresholds it replaces" if name == heads.operating_point
               else f", and at least the {heads.operating_point or 'default'} threshold"))
    heads.operating_points[name] = {"thresholds": [float(t) for t in thresholds], "rule": rule}
    if default:
        heads.thresholds = np.asarray(thresholds, dtype=float)
        heads.operating_point = name
    return heads
