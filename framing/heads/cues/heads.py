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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from framing.core.resources import SHIPPED_CUE_HEADS, shipped_model_path
from framing.errors import ModelLoadError
from framing.heads.base import LogisticHeads
from framing.heads.calibration import (calibrate_and_threshold, check_binary_labels,
                                      fit_logistic, fit_thresholds)

if TYPE_CHECKING:  # pragma: no cover
    from framing.encoding.encoder import Encoder
    from framing.text.catalogue import Catalogue

__all__ = ["CueHeads", "fit_cue_heads", "fit_pattern_weights", "lift", "PATTERN_WEIGHT_GRID", "load_cue_heads", "is_cue_heads_dir",
           "shipped_cue_heads_path", "FORMAT", "SHIPPED"]

FORMAT = "framing-cues"
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

    FORMAT = FORMAT
    KIND = "cue heads"
    LABELS_KEY = "cues"

    def extra_config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"catalogue_sha256": self.catalogue_sha256}
        if self.pattern_weights is not None:
            cfg["pattern_weights"] = [float(w) for w in self.pattern_weights]
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
        return {"catalogue_sha256": str(cfg.get("catalogue_sha256", "")),
                "pattern_weights": weights}

    def check(self, catalogue: "Catalogue", encoder: "Encoder | None") -> None:
        """Raise :class:`ModelLoadError` unless the heads fit this catalogue and encoder."""
        if list(catalogue.ids) != list(self.ids):
            raise ModelLoadError(f"Cue heads {self.path or self.name} were trained for cues "
                                 f"{self.ids}, not for catalogue {catalogue.name!r} ({catalogue.ids})")
        self.check_encoder(encoder)


def is_cue_heads_dir(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a directory holding a ``framing-cues`` config."""
    return CueHeads.is_artefact(path)


def load_cue_heads(path: str | os.PathLike) -> CueHeads:
    """Load cue heads; :class:`ModelLoadError` naming the file if anything is wrong."""
    return CueHeads.load(path)


def fit_cue_heads(
    train_emb: np.ndarray, Y_train: np.ndarray, dev_emb: np.ndarray, Y_dev: np.ndarray,
    ids: Sequence[str], *, C: float = 4.0, seed: int = 13, name: str = "cue-heads",
    sample_weight: np.ndarray | None = None,
) -> CueHeads:
    """Fit one balanced logistic head per cue on ``train``; Platt scaling and the
    F1-maximising threshold on ``dev`` (a cue with no dev positive keeps a = 1, c = 0, 0.5).
    ``sample_weight`` weighs the training rows (e.g. less for rows from another domain).

    Raises :class:`ValueError` naming a cue without positive and negative training rows.
    """
    ids = list(ids)
    check_binary_labels(Y_train, ids, "cue")
    k = len(ids)
    W = np.zeros((k, train_emb.shape[1]))
    b = np.zeros(k)
    for j in range(k):
        W[j], b[j] = fit_logistic(train_emb, Y_train[:, j].astype(int), C=C, seed=seed,
                                  sample_weight=sample_weight)
    a, c, thresholds = calibrate_and_threshold(dev_emb @ W.T + b, Y_dev)
    return CueHeads(ids, W, b, a, c, thresholds, name=name)


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
