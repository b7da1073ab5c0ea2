"""The one artefact contract every trained logistic head follows (cue heads, frame heads).

A head set is ``k`` per-label logistic heads over one feature row:
``p = sigmoid(platt_a * (W x + b) + platt_c)``, a label present at ``p >= thresholds``.
It is saved as a directory: a format-tagged ``config.json``, the float32 arrays ``W``,
``b``, ``platt_a``, ``platt_c`` in ``model.safetensors``, and a model card ``README.md``.
Only safetensors weights are ever loaded. Every head records the encoder it was trained
on (refused on another) and the features it reads (:data:`FEATURE_SETS`).

Heads that read a tone branch name it by its weights digest (``feature_model``). A branch
that is not a tone model of its own (a cue branch, trained for the heads' labels) travels
inside the heads' directory, in the subdirectory :data:`BUNDLED_BRANCH` (``feature_model``
then says ``"bundled": "branch"``); :meth:`LogisticHeads.save` copies it there.

Subclasses name their ``FORMAT``, ``KIND`` (for messages) and ``LABELS_KEY`` (the
config key of the label ids), and add their own fields through :meth:`extra_config`,
:meth:`fields_from_config` and :meth:`check_shapes`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from framing.core.labels import BRANCH_FEATURE_SETS, FEATURE_SETS
from framing.encoding.fingerprints import fingerprint_mismatch
from framing.errors import ModelLoadError
from framing.heads.artefact import MODEL_FILES, copy_model_dir, has_format, write_artefact
from framing.heads.calibration import sigmoid

if TYPE_CHECKING:  # pragma: no cover
    from framing.encoding.encoder import Encoder

__all__ = ["LogisticHeads", "PICKLE_NAMES", "BUNDLED_BRANCH"]

#: Weight files in pickle formats: named in the error, never loaded.
PICKLE_NAMES = ("model.bin", "pytorch_model.bin", "model.pkl", "model.pt", "model.joblib")
_ARRAYS = ("W", "b", "platt_a", "platt_c")
#: the subdirectory of a heads directory that holds the branch they read, when they
#: carry their own (see the module docstring)
BUNDLED_BRANCH = "branch"


@dataclass
class LogisticHeads:
    """Per-label Platt-calibrated logistic heads; see the module docstring."""

    ids: list[str]
    W: np.ndarray  # (k, input width)
    b: np.ndarray  # (k,)
    platt_a: np.ndarray  # (k,)
    platt_c: np.ndarray  # (k,)
    thresholds: np.ndarray  # (k,)
    encoder: dict[str, Any] | None = None
    name: str = "heads"
    path: str | None = None
    #: what the heads read per sentence (one of :data:`FEATURE_SETS`); ``"features"``
    #: in config.json
    feature_source: str = "embedding"
    #: the tone branch whose states a branch feature set reads (its weights' digest)
    feature_model: dict[str, Any] | None = None

    FORMAT: ClassVar[str] = ""
    KIND: ClassVar[str] = "heads"
    LABELS_KEY: ClassVar[str] = "labels"

    # -- prediction -------------------------------------------------------------------
    @property
    def input_width(self) -> int:
        """Length of the feature row the heads read."""
        return int(self.W.shape[1])

    @property
    def reads_branch(self) -> bool:
        """Whether the features come from a trained tone branch's pass."""
        return self.feature_source in BRANCH_FEATURE_SETS

    @property
    def bundled_branch(self) -> Path | None:
        """The directory of the branch these heads carry with them (None: they read the
        embedding, or a tone model found elsewhere)."""
        fm = self.feature_model if isinstance(self.feature_model, dict) else {}
        if not fm.get("bundled") or self.path is None:
            return None
        return Path(self.path) / str(fm["bundled"])

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """``(n, k)`` calibrated probabilities for feature rows ``(n, input_width)`` (one
        1-D row gives ``(1, k)``). Raises :class:`ValueError` on a width mismatch."""
        return self.calibrated(self.raw_scores(x))

    def raw_scores(self, x: np.ndarray) -> np.ndarray:
        """``(n, k)`` logits of the heads before calibration (see :meth:`predict_proba`)."""
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if x.shape[1] != self.input_width:
            raise ValueError(f"{self.KIND} {self.path or self.name} expect {self.input_width} "
                             f"features{self.width_note()}, not {x.shape[1]}")
        return x @ self.W.T + self.b[None, :]

    def calibrated(self, z: np.ndarray) -> np.ndarray:
        """Probabilities from raw scores ``z`` ``(n, k)``: the Platt map of each label."""
        return sigmoid(self.platt_a[None, :] * z + self.platt_c[None, :])

    def predict(self, x: np.ndarray) -> np.ndarray:
        """``(n, k)`` booleans: each label present at its threshold."""
        return self.predict_proba(x) >= self.thresholds[None, :]

    def width_note(self) -> str:
        """Extra words for a width-mismatch message (subclasses explain their rows)."""
        return ""

    # -- checks -----------------------------------------------------------------------
    def check_encoder(self, encoder: "Encoder | None") -> None:
        """Raise :class:`ModelLoadError` unless the heads were trained on ``encoder``."""
        if encoder is None:
            return
        why = fingerprint_mismatch(self.encoder, encoder)
        if why:
            raise ModelLoadError(f"{self.KIND.capitalize()} {self.path or self.name} {why}")

    # -- saving and loading -----------------------------------------------------------
    def extra_config(self) -> dict[str, Any]:
        """Subclass fields written to config.json."""
        return {}

    def config(self) -> dict[str, Any]:
        """The config.json of these heads."""
        return {"format": self.FORMAT, "name": self.name, self.LABELS_KEY: list(self.ids),
                **self.extra_config(),
                "thresholds": [float(t) for t in self.thresholds],
                "encoder": self.encoder, "features": self.feature_source,
                "feature_model": self.feature_model}

    def save(self, path: str | os.PathLike, card: str, extra: dict[str, Any] | None = None,
             *, branch: str | os.PathLike | None = None) -> Path:
        """Write config.json (plus ``extra`` keys), model.safetensors and the card
        README.md into directory ``path``; return it.

        ``branch`` (a tone-model directory): the heads carry it, copied into
        ``path/branch`` (its model files only), and ``feature_model`` says so; the
        caller fitted the heads on that branch's states. Heads loaded with a bundled branch
        take it along when saved elsewhere."""
        path = Path(path)
        if branch is None and self.bundled_branch is not None:
            branch = self.bundled_branch
        if branch is not None:
            if not self.reads_branch:
                raise ValueError("only heads that read a tone branch can carry one")
            src = Path(branch)
            missing = [n for n in MODEL_FILES[:2] if not (src / n).is_file()]
            if missing:
                raise ValueError(f"{src} is not a tone-model directory "
                                 f"(no {', '.join(missing)})")
            dest = path / BUNDLED_BRANCH
            if not dest.exists() or dest.resolve() != src.resolve():
                copy_model_dir(src, dest)
            self.feature_model = {**(self.feature_model or {}), "bundled": BUNDLED_BRANCH}
        arrays = {k: np.asarray(getattr(self, k)).astype(np.float32) for k in _ARRAYS}
        return write_artefact(path, arrays, {**self.config(), **(extra or {})}, card)

    @classmethod
    def is_artefact(cls, path: str | os.PathLike) -> bool:
        """Whether ``path`` is a directory holding a config.json of this ``FORMAT``."""
        return has_format(path, cls.FORMAT)

    @classmethod
    def fields_from_config(cls, cfg: dict[str, Any], path: Path) -> dict[str, Any]:
        """Subclass fields read from config.json (raise KeyError/TypeError/ValueError)."""
        return {}

    def check_shapes(self) -> bool:
        """Whether the arrays fit the label count (subclasses add their own checks)."""
        k = len(self.ids)
        return (self.W.ndim == 2 and self.W.shape[0] == k and self.b.shape == (k,)
                and self.thresholds.shape == (k,) and self.platt_a.shape == (k,)
                and self.platt_c.shape == (k,))

    def shape_message(self) -> str:
        return f"the {len(self.ids)} {self.LABELS_KEY}"

    @classmethod
    def load(cls, path: str | os.PathLike):
        """Load heads from a directory.

        Raises :class:`ModelLoadError` naming the file when the config is missing,
        corrupt or of another format, when model.safetensors is missing (pickled weights
        are never loaded), corrupt or truncated, or when weights and config disagree.
        """
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        path = Path(path)
        what = cls.KIND.replace(" ", "-")
        if path.is_file():
            raise ModelLoadError(f"{path}: pass the {what} directory, not a file")
        cfg_path, weights = path / "config.json", path / "model.safetensors"
        try:
            cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelLoadError(f"{path}: not a {what} directory (no config.json)") from None
        except (ValueError, UnicodeDecodeError, OSError) as exc:
            raise ModelLoadError(f"{cfg_path}: corrupt config ({exc})") from None
        if not isinstance(cfg, dict) or cfg.get("format") != cls.FORMAT:
            raise ModelLoadError(f"{cfg_path}: not framing {cls.KIND} (format is not "
                                 f"{cls.FORMAT!r})")
        if not weights.is_file():
            found = [n for n in PICKLE_NAMES if (path / n).exists()]
            detail = f" (found {', '.join(found)}: framing loads only safetensors weights)" \
                if found else ""
            raise ModelLoadError(f"{weights}: missing{detail}")
        try:
            t = load_file(str(weights))
        except (SafetensorError, OSError, ValueError) as exc:
            raise ModelLoadError(f"{weights}: corrupt or truncated weights ({exc})") from None
        try:
            heads = cls(
                [str(x) for x in cfg[cls.LABELS_KEY]],
                *(t[k].astype(np.float64) for k in _ARRAYS[:4]),
                np.asarray(cfg["thresholds"], dtype=float),
                encoder=cfg.get("encoder"), name=str(cfg.get("name", path.name)),
                path=str(path), feature_source=str(cfg.get("features", "embedding")),
                feature_model=cfg.get("feature_model"),
                **cls.fields_from_config(cfg, path))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelLoadError(f"{cfg_path}: incomplete {cls.KIND} ({exc})") from None
        if heads.feature_source not in FEATURE_SETS:
            raise ModelLoadError(f"{cfg_path}: unknown features {heads.feature_source!r} "
                                 f"(expected one of {', '.join(FEATURE_SETS)})")
        if heads.reads_branch and not (isinstance(heads.feature_model, dict)
                                       and heads.feature_model.get("digest")):
            raise ModelLoadError(f"{cfg_path}: tone-branch {cls.KIND} must name their "
                                 "feature_model digest")
        bundled = heads.feature_model.get("bundled") if heads.reads_branch else None
        if bundled is not None:
            if bundled != BUNDLED_BRANCH:
                raise ModelLoadError(f"{cfg_path}: a bundled branch lives in "
                                     f"{BUNDLED_BRANCH!r}, not {bundled!r}")
            if not (path / BUNDLED_BRANCH / "model.safetensors").is_file():
                raise ModelLoadError(f"{path / BUNDLED_BRANCH}: the branch these "
                                     f"{cls.KIND} read is missing")
        if not heads.check_shapes():
            raise ModelLoadError(f"{weights}: weights do not fit {heads.shape_message()} "
                                 f"in {cfg_path}")
        return heads
