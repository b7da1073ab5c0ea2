"""Article-level narrative frames: trained heads on pooled sentence embeddings.

The five generic news frames (conflict, economic consequences, human interest, morality,
resolution) are article-level, multi-label judgements. An article's sentence embeddings,
which the encoder pass already produced for tone and cues, are pooled into one fixed-size
vector (:func:`article_features`); one logistic head per frame reads that vector, Platt
scaling turns its score into a probability, and a per-frame threshold decides presence.

The artefact is a directory: ``config.json`` (format ``framing-frames``: frame ids and
names, thresholds, the pooling, the seeded split, the encoder's fingerprint),
``model.safetensors`` (weights, biases, Platt parameters) and a model card. Only
safetensors weights are ever loaded.

Two transparent baselines come with it: :class:`MajorityFrameBaseline` (each frame's
majority value on the training rows) and :class:`KeywordFrameBaseline` (hand-written
keyword stems per frame, present at a hit count tuned on the training rows).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from framing.core.resources import SHIPPED_FRAME_HEADS, shipped_model_path
from framing.errors import ModelLoadError
from framing.heads.base import LogisticHeads
from framing.heads.calibration import calibrate_and_threshold, check_binary_labels, fit_logistic
from framing.stats.metrics import multilabel_metrics

if TYPE_CHECKING:  # pragma: no cover
    from framing.encoding.encoder import Encoder

__all__ = [
    "FRAME_IDS",
    "FRAME_NAMES",
    "POOLINGS",
    "article_features",
    "feature_dim",
    "seeded_split",
    "FrameHeads",
    "fit_frame_heads",
    "load_frame_heads",
    "is_frame_heads_dir",
    "shipped_frame_heads_path",
]

FORMAT = "framing-frames"
SHIPPED = SHIPPED_FRAME_HEADS

FRAME_IDS = ("conflict", "economic", "human_interest", "morality", "resolution")
FRAME_NAMES = {
    "conflict": "Conflict",
    "economic": "Economic consequences",
    "human_interest": "Human interest",
    "morality": "Morality",
    "resolution": "Resolution",
}
# column of the narrative-frames corpus (Frermann et al. 2023) -> frame id

# how the sentence vectors of an article are pooled; each name gives that many blocks
# of ``dim`` features
POOLINGS = {"mean": 1, "mean_max": 2, "mean_top3": 2, "mean_first": 2}


def shipped_frame_heads_path() -> Path:
    """Directory of the shipped narrative-frame heads (``framing.models/frames-narrative``)."""
    return shipped_model_path(SHIPPED)


# -- features -------------------------------------------------------------------------
def feature_dim(pooling: str, dim: int) -> int:
    """Length of the article vector :func:`article_features` makes from ``dim``-d sentences."""
    if pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}; choose one of {', '.join(POOLINGS)}")
    return POOLINGS[pooling] * int(dim)


def article_features(
    sentence_embeddings: np.ndarray, weights: np.ndarray | Sequence[float] | None = None, *,
    pooling: str = "mean_max",
) -> np.ndarray:
    """Pool an article's ``(n_sentences, dim)`` sentence embeddings into one vector.

    ``pooling`` is one of :data:`POOLINGS`:

    - ``"mean"``: the (weighted) mean of the sentence vectors, ``dim`` values;
    - ``"mean_max"``: the mean, then the per-dimension maximum, ``2 * dim`` values;
    - ``"mean_top3"``: the mean, then per dimension the mean of the three largest values
      (fewer when the article has fewer sentences), ``2 * dim`` values;
    - ``"mean_first"``: the mean, then the first sentence's vector (often the headline),
      ``2 * dim`` values.

    ``weights`` (one non-negative number per sentence, e.g. its token count) weight the
    mean only; ``None`` weighs sentences equally, and all-zero weights fall back to that.
    An article without sentences (shape ``(0, dim)``) gives a vector of zeros.

    Returns a float64 array of length :func:`feature_dim(pooling, dim) <feature_dim>`.
    Raises :class:`ValueError` for an input that is not 2-D, weights of the wrong length
    or negative weights, and an unknown pooling.
    """
    x = np.asarray(sentence_embeddings, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"sentence_embeddings must be 2-D (n_sentences, dim), not {x.shape}")
    n, dim = x.shape
    size = feature_dim(pooling, dim)
    if n == 0:
        return np.zeros(size)
    if weights is None:
        mean = x.mean(axis=0)
    else:
        w = np.asarray(weights, dtype=np.float64).ravel()
        if w.shape != (n,):
            raise ValueError(f"weights must have one value per sentence ({n}), not {w.shape}")
        if (w < 0).any() or not np.isfinite(w).all():
            raise ValueError("weights must be finite and non-negative")
        mean = (w @ x) / w.sum() if w.sum() > 0 else x.mean(axis=0)
    if pooling == "mean":
        return mean
    if pooling == "mean_max":
        second = x.max(axis=0)
    elif pooling == "mean_top3":
        k = min(3, n)
        second = np.sort(x, axis=0)[-k:].mean(axis=0)
    else:  # mean_first
        second = x[0]
    return np.concatenate([mean, second])


def seeded_split(n: int, dev_fraction: float = 0.2, seed: int = 13) -> tuple[np.ndarray, np.ndarray]:
    """``(train_rows, dev_rows)``: a seeded permutation of ``range(n)``, its first
    ``round(dev_fraction * n)`` rows for dev. Both are sorted."""
    if not 0 < dev_fraction < 1:
        raise ValueError("dev_fraction must be between 0 and 1")
    order = np.random.default_rng(seed).permutation(n)
    n_dev = int(round(dev_fraction * n))
    return np.sort(order[n_dev:]), np.sort(order[:n_dev])


# -- the heads ------------------------------------------------------------------------
@dataclass
class FrameHeads(LogisticHeads):
    """Per-frame logistic heads on article vectors (see
    :class:`~framing.heads.base.LogisticHeads`).

    ``pooling`` names how an article's sentence rows become its vector ``x`` (see
    :func:`article_features`). ``feature_source`` says what the sentence rows are:
    ``"embedding"`` (the encoder's pooled sentence embeddings), ``"tone-branch"`` (the
    pooled sentence states of a trained tone branch, named with its weights' digest in
    ``feature_model``) or ``"layer+tone-branch"`` (the pooled shared encoder states
    after the branch's layer, then the branch's states).
    """

    name: str = "frame-heads"
    pooling: str = "mean_max"
    names: list[str] = field(default_factory=list)
    split: dict[str, Any] | None = None

    FORMAT = FORMAT
    KIND = "frame heads"
    LABELS_KEY = "frames"

    def __post_init__(self) -> None:
        if not self.names:
            self.names = [FRAME_NAMES.get(i, i) for i in self.ids]

    @property
    def dim(self) -> int:
        """Sentence-row size the heads expect."""
        return self.W.shape[1] // POOLINGS[self.pooling]

    def width_note(self) -> str:
        return f" ({self.pooling} of {self.dim}-d sentences)"

    def features(self, sentence_embeddings: np.ndarray,
                 weights: np.ndarray | Sequence[float] | None = None) -> np.ndarray:
        """:func:`article_features` with these heads' pooling."""
        return article_features(sentence_embeddings, weights, pooling=self.pooling)

    def score_article(self, sentence_embeddings: np.ndarray,
                      weights: np.ndarray | Sequence[float] | None = None) -> dict[str, float]:
        """``{frame_id: probability}`` for one article from its sentence embeddings.

        An article without sentences gets probability 0.0 for every frame (there is no
        text to carry a frame; the heads are not asked about an all-zero vector).
        """
        if np.asarray(sentence_embeddings).shape[0] == 0:
            return {i: 0.0 for i in self.ids}
        p = self.predict_proba(self.features(sentence_embeddings, weights))[0]
        return {i: float(v) for i, v in zip(self.ids, p)}

    def check(self, encoder: "Encoder | None") -> None:
        """Raise :class:`ModelLoadError` unless the heads were trained on this encoder."""
        if encoder is None:
            return
        width = int(encoder.dim) * (2 if self.feature_source == "layer+tone-branch" else 1)
        if width != self.dim:
            raise ModelLoadError(f"Frame heads {self.path or self.name} expect {self.dim}-d "
                                 f"sentence rows; encoder {encoder.model_name!r} gives "
                                 f"{width} ({self.feature_source})")
        self.check_encoder(encoder)

    def extra_config(self) -> dict[str, Any]:
        return {"names": list(self.names), "pooling": self.pooling, "split": self.split}

    @classmethod
    def fields_from_config(cls, cfg: dict[str, Any], path: Path) -> dict[str, Any]:
        pooling = str(cfg.get("pooling", "mean_max"))
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}")
        return {"pooling": pooling, "names": [str(x) for x in cfg.get("names") or []],
                "split": cfg.get("split")}

    def check_shapes(self) -> bool:
        return (super().check_shapes() and len(self.names) == len(self.ids)
                and self.W.shape[1] % POOLINGS[self.pooling] == 0)

    def shape_message(self) -> str:
        return f"the {len(self.ids)} frames and {self.pooling!r} pooling"


def is_frame_heads_dir(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a directory holding a ``framing-frames`` config."""
    return FrameHeads.is_artefact(path)


def load_frame_heads(path: str | os.PathLike | None = None) -> FrameHeads:
    """Load frame heads from a directory (``None``: the shipped ones).

    Raises :class:`ModelLoadError` naming the file when the config is missing, corrupt or
    of another format, when ``model.safetensors`` is missing (pickled weights are never
    loaded), corrupt or truncated, or when weights and config disagree.
    """
    return FrameHeads.load(path if path is not None else shipped_frame_heads_path())


# -- fitting --------------------------------------------------------------------------
def fit_frame_heads(
    features: np.ndarray, Y: np.ndarray, ids: Sequence[str] = FRAME_IDS, *,
    dev: Sequence[int] | None = None, dev_fraction: float = 0.2, seed: int = 13,
    C: float = 1.0, folds: int = 5, pooling: str = "mean_max",
    names: Sequence[str] | None = None, name: str = "frame-heads",
) -> FrameHeads:
    """Fit one balanced logistic head per frame on the training rows of ``features``.

    The dev rows (``dev`` indices, else a :func:`seeded_split` with ``dev_fraction`` and
    ``seed``) are held out and never used: Platt scaling and each frame's F1-maximising
    threshold are fitted on out-of-fold scores of the training rows (``folds``-fold
    stratified cross-validation), then the head is refitted on all training rows. Dev
    figures measured afterwards are therefore untouched by any fitting.

    Returns :class:`FrameHeads` whose ``split`` records the seed, fraction, row counts,
    the dev row indices (``dev_rows``) and the out-of-fold training macro-F1
    (``cv_macro_f1``, for choosing ``C`` and the pooling without looking at dev).

    Raises :class:`ValueError` when a frame lacks positive or negative training rows, or
    shapes disagree.
    """
    from threadpoolctl import threadpool_limits

    X = np.asarray(features, dtype=np.float64)
    Y = np.asarray(Y).astype(bool)
    ids = list(ids)
    k = len(ids)
    if X.ndim != 2 or Y.shape != (X.shape[0], k):
        raise ValueError(f"features {X.shape} and labels {Y.shape} do not fit {k} frames")
    if dev is None:
        train, dev_rows = seeded_split(len(X), dev_fraction, seed)
        split = {"seed": int(seed), "dev_fraction": float(dev_fraction)}
    else:
        dev_rows = np.unique(np.asarray(list(dev), dtype=int))
        train = np.setdiff1d(np.arange(len(X)), dev_rows)
        split = {"seed": None, "dev_fraction": round(len(dev_rows) / max(len(X), 1), 4)}
    # these fits are small: BLAS threads only add overhead (tenfold on a busy machine)
    with threadpool_limits(limits=1, user_api="blas"):
        W, b, a, c, thresholds, cv = _fit_on_train(X[train], Y[train], ids, C, folds, seed)
    split.update({"n_train": int(len(train)), "n_dev": int(len(dev_rows)),
                  "dev_rows": [int(i) for i in dev_rows], "folds": int(folds), "C": float(C),
                  "cv_macro_f1": round(cv, 4)})
    return FrameHeads(ids, W, b, a, c, thresholds, name=name, pooling=pooling,
                      names=list(names) if names else [], split=split)


def _fit_on_train(Xt: np.ndarray, Yt: np.ndarray, ids: list[str], C: float, folds: int,
                  seed: int) -> tuple:
    """Heads, Platt parameters and thresholds from the training rows alone (see
    :func:`fit_frame_heads`); also the out-of-fold macro-F1."""
    from sklearn.model_selection import StratifiedKFold

    check_binary_labels(Yt, ids, "frame")
    k = len(ids)
    W = np.zeros((k, Xt.shape[1]))
    b = np.zeros(k)
    oof = np.zeros((len(Xt), k))
    for j in range(k):
        y = Yt[:, j].astype(int)
        n_pos = int(y.sum())
        n_folds = max(2, min(folds, n_pos, len(y) - n_pos))
        for tr, te in StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(Xt, y):
            w_fold, b_fold = fit_logistic(Xt[tr], y[tr], C=C, seed=seed, max_iter=5000,
                                          standardise=True)
            oof[te, j] = Xt[te] @ w_fold + b_fold
        W[j], b[j] = fit_logistic(Xt, y, C=C, seed=seed, max_iter=5000, standardise=True)
    a, c, thresholds = calibrate_and_threshold(oof, Yt)
    oof_p = 1.0 / (1.0 + np.exp(-np.clip(a * oof + c, -50, 50)))
    cv = multilabel_metrics(Yt, oof_p >= thresholds, ids, n_boot=1)
    return W, b, a, c, thresholds, float(cv["macro_f1"].value)
