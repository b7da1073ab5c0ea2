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
from framing.heads.calibration import calibrate_and_threshold, check_binary_labels, fit_logistic

if TYPE_CHECKING:  # pragma: no cover
    from framing.encoding.encoder import Encoder
    from framing.text.catalogue import Catalogue

__all__ = ["CueHeads", "fit_cue_heads", "load_cue_heads", "is_cue_heads_dir",
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

    FORMAT = FORMAT
    KIND = "cue heads"
    LABELS_KEY = "cues"

    def extra_config(self) -> dict[str, Any]:
        return {"catalogue_sha256": self.catalogue_sha256}

    @classmethod
    def fields_from_config(cls, cfg: dict[str, Any], path: Path) -> dict[str, Any]:
        return {"catalogue_sha256": str(cfg.get("catalogue_sha256", ""))}

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
) -> CueHeads:
    """Fit one balanced logistic head per cue on ``train``; Platt scaling and the
    F1-maximising threshold on ``dev`` (a cue with no dev positive keeps a = 1, c = 0, 0.5).

    Raises :class:`ValueError` naming a cue without positive and negative training rows.
    """
    ids = list(ids)
    check_binary_labels(Y_train, ids, "cue")
    k = len(ids)
    W = np.zeros((k, train_emb.shape[1]))
    b = np.zeros(k)
    for j in range(k):
        W[j], b[j] = fit_logistic(train_emb, Y_train[:, j].astype(int), C=C, seed=seed)
    a, c, thresholds = calibrate_and_threshold(dev_emb @ W.T + b, Y_dev)
    return CueHeads(ids, W, b, a, c, thresholds, name=name)
