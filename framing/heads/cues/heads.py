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

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from framing.heads.artefact import has_format, logistic_arrays, write_artefact
from framing.errors import ModelLoadError

if TYPE_CHECKING:  # pragma: no cover
    from framing.text.catalogue import Catalogue
    from framing.encoding.encoder import Encoder

__all__ = ["CueHeads", "fit_cue_heads", "load_cue_heads", "is_cue_heads_dir",
           "shipped_cue_heads_path"]

FORMAT = "framing-cues"
FEATURES = ("embedding", "tone-branch", "layer+tone-branch")
BRANCH_FEATURES = ("tone-branch", "layer+tone-branch")
SHIPPED = "cues-builtin"


def shipped_cue_heads_path() -> Path:
    """Directory of the cue heads shipped for the built-in catalogue."""
    from importlib import resources

    return Path(str(resources.files("framing.models") / SHIPPED))


@dataclass
class CueHeads:
    """Per-cue logistic heads: ``p = sigmoid(a * (W x + b) + c)``, present at ``thresholds``."""

    ids: list[str]
    W: np.ndarray  # (k, dim)
    b: np.ndarray  # (k,)
    platt_a: np.ndarray  # (k,)
    platt_c: np.ndarray  # (k,)
    thresholds: np.ndarray  # (k,)
    catalogue_sha256: str = ""
    encoder: dict[str, Any] | None = None
    name: str = "cue-heads"
    path: str | None = None
    #: what the heads read: ``"embedding"`` (the encoder's pooled sentence embedding),
    #: ``"tone-branch"`` (the pooled sentence states of a trained tone branch, named
    #: with its weights' digest in ``feature_model``) or ``"layer+tone-branch"`` (the
    #: pooled shared states the branch reads, then the branch's own)
    features: str = "embedding"
    feature_model: dict[str, Any] | None = None

    def predict_proba(self, embeddings: np.ndarray) -> np.ndarray:
        """``(n, k)`` calibrated probabilities for pooled sentence embeddings."""
        z = embeddings @ self.W.T + self.b[None, :]
        z = self.platt_a[None, :] * z + self.platt_c[None, :]
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))

    def check(self, catalogue: "Catalogue", encoder: "Encoder | None") -> None:
        """Raise :class:`ModelLoadError` unless the heads fit this catalogue and encoder."""
        if list(catalogue.ids) != list(self.ids):
            raise ModelLoadError(f"Cue heads {self.path or self.name} were trained for cues "
                                 f"{self.ids}, not for catalogue {catalogue.name!r} ({catalogue.ids})")
        if encoder is not None:
            from framing.heads.tone.model import fingerprint_mismatch

            why = fingerprint_mismatch(self.encoder, encoder)
            if why:
                raise ModelLoadError(f"Cue heads {self.path or self.name} {why}")

    def save(self, path: str | os.PathLike, card: str, extra: dict[str, Any] | None = None) -> Path:
        cfg = {"format": FORMAT, "name": self.name, "cues": self.ids,
               "thresholds": [float(t) for t in self.thresholds],
               "catalogue_sha256": self.catalogue_sha256, "encoder": self.encoder,
               "features": self.features, "feature_model": self.feature_model,
               **(extra or {})}
        return write_artefact(path, logistic_arrays(self), cfg, card)


def is_cue_heads_dir(path: str | os.PathLike) -> bool:
    return has_format(path, FORMAT)


def load_cue_heads(path: str | os.PathLike) -> CueHeads:
    """Load cue heads; :class:`ModelLoadError` naming the file if anything is wrong."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = Path(path)
    cfg_path, weights = path / "config.json", path / "model.safetensors"
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(f"{path}: not a cue-heads directory (no config.json)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"{cfg_path}: corrupt config ({exc})") from None
    if not isinstance(cfg, dict) or cfg.get("format") != FORMAT:
        raise ModelLoadError(f"{cfg_path}: not framing cue heads (format is not {FORMAT!r})")
    try:
        t = load_file(str(weights))
    except FileNotFoundError:
        raise ModelLoadError(f"{path}: no model.safetensors") from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelLoadError(f"{weights}: corrupt or truncated weights ({exc})") from None
    try:
        ids = [str(x) for x in cfg["cues"]]
        heads = CueHeads(ids, t["W"].astype(np.float64), t["b"].astype(np.float64),
                         t["platt_a"].astype(np.float64), t["platt_c"].astype(np.float64),
                         np.asarray(cfg["thresholds"], dtype=float),
                         str(cfg.get("catalogue_sha256", "")), cfg.get("encoder"),
                         str(cfg.get("name", path.name)), str(path),
                         str(cfg.get("features", "embedding")), cfg.get("feature_model"))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(f"{path}: incomplete cue heads ({exc})") from None
    if heads.features not in FEATURES:
        raise ModelLoadError(f"{cfg_path}: unknown features {heads.features!r} "
                             f"(expected one of {', '.join(FEATURES)})")
    if heads.features in BRANCH_FEATURES and not (isinstance(heads.feature_model, dict)
                                                and heads.feature_model.get("digest")):
        raise ModelLoadError(f"{cfg_path}: tone-branch heads must name their feature_model digest")
    k = len(ids)
    if heads.W.shape[0] != k or heads.b.shape != (k,) or heads.thresholds.shape != (k,) \
            or heads.platt_a.shape != (k,) or heads.platt_c.shape != (k,):
        raise ModelLoadError(f"{weights}: weights do not fit the {k} cues in {cfg_path}")
    return heads


def fit_cue_heads(
    train_emb: np.ndarray, Y_train: np.ndarray, dev_emb: np.ndarray, Y_dev: np.ndarray,
    ids: Sequence[str], *, C: float = 4.0, seed: int = 13, name: str = "cue-heads",
) -> CueHeads:
    """Fit one balanced logistic head per cue on ``train``; Platt scaling and the
    F1-maximising threshold on ``dev`` (a cue with no dev positive keeps a = 1, c = 0, 0.5)."""
    from sklearn.linear_model import LogisticRegression

    from framing.evaluation.harness import PlattCalibrator, fit_thresholds

    k = len(ids)
    W = np.zeros((k, train_emb.shape[1]))
    b = np.zeros(k)
    for j in range(k):
        y = Y_train[:, j].astype(int)
        if y.min() == y.max():
            raise ValueError(f"cue {ids[j]!r} needs positive and negative training sentences")
        lr = LogisticRegression(C=C, max_iter=3000, class_weight="balanced", random_state=seed)
        lr.fit(train_emb, y)
        W[j], b[j] = lr.coef_[0], lr.intercept_[0]
    raw = 1.0 / (1.0 + np.exp(-(dev_emb @ W.T + b)))
    cal = PlattCalibrator().fit(raw, Y_dev)
    a = np.ones(k)
    c = np.zeros(k)
    for j, prm in enumerate(cal.params_):
        if prm is not None:  # Platt on the logit of p is an affine map of the raw score
            a[j], c[j] = prm
    heads = CueHeads(list(ids), W, b, a, c, np.full(k, 0.5), name=name)
    heads.thresholds = fit_thresholds(heads.predict_proba(dev_emb), Y_dev.astype(bool))
    return heads
