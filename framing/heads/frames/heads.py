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

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from framing.heads.artefact import has_format, logistic_arrays, write_artefact
from framing.errors import ModelLoadError

if TYPE_CHECKING:  # pragma: no cover
    from framing.encoding.encoder import Encoder

__all__ = [
    "FRAME_IDS",
    "FRAME_NAMES",
    "NARRATIVE_FRAME_COLUMNS",
    "POOLINGS",
    "article_features",
    "feature_dim",
    "seeded_split",
    "FrameHeads",
    "fit_frame_heads",
    "load_frame_heads",
    "is_frame_heads_dir",
    "shipped_frame_heads_path",
    "MajorityFrameBaseline",
    "KeywordFrameBaseline",
    "FRAME_KEYWORDS",
    "FrameArticle",
    "read_narrative_frames",
    "encode_articles",
]

FORMAT = "framing-frames"
SHIPPED = "frames-narrative"

FRAME_IDS = ("conflict", "economic", "human_interest", "morality", "resolution")
FRAME_NAMES = {
    "conflict": "Conflict",
    "economic": "Economic consequences",
    "human_interest": "Human interest",
    "morality": "Morality",
    "resolution": "Resolution",
}
# column of the narrative-frames corpus (Frermann et al. 2023) -> frame id
NARRATIVE_FRAME_COLUMNS = {"CO": "conflict", "EC": "economic", "HI": "human_interest",
                           "MO": "morality", "RE": "resolution"}

# how the sentence vectors of an article are pooled; each name gives that many blocks
# of ``dim`` features
POOLINGS = {"mean": 1, "mean_max": 2, "mean_top3": 2, "mean_first": 2}


def shipped_frame_heads_path() -> Path:
    """Directory of the shipped narrative-frame heads (``framing.models/frames-narrative``)."""
    from importlib import resources

    return Path(str(resources.files("framing.models") / SHIPPED))


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
class FrameHeads:
    """Per-frame logistic heads on article vectors: ``p = sigmoid(a * (W x + b) + c)``.

    A frame is present when ``p >= thresholds[j]``. ``pooling`` names how sentence
    embeddings become the article vector ``x`` (see :func:`article_features`).
    """

    ids: list[str]
    W: np.ndarray  # (k, feature_dim)
    b: np.ndarray  # (k,)
    platt_a: np.ndarray  # (k,)
    platt_c: np.ndarray  # (k,)
    thresholds: np.ndarray  # (k,)
    pooling: str = "mean_max"
    names: list[str] = field(default_factory=list)
    encoder: dict[str, Any] | None = None
    split: dict[str, Any] | None = None
    name: str = "frame-heads"
    path: str | None = None
    #: what the sentence rows are (``"features"`` in config.json, as for cue heads):
    #: ``"embedding"`` (the encoder's pooled sentence embeddings) or ``"tone-branch"``
    #: (the pooled sentence states of a trained tone branch, named with its weights'
    #: digest in ``feature_model``)
    feature_source: str = "embedding"
    feature_model: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if not self.names:
            self.names = [FRAME_NAMES.get(i, i) for i in self.ids]

    @property
    def dim(self) -> int:
        """Sentence-embedding size the heads expect."""
        return self.W.shape[1] // POOLINGS[self.pooling]

    def features(self, sentence_embeddings: np.ndarray,
                 weights: np.ndarray | Sequence[float] | None = None) -> np.ndarray:
        """:func:`article_features` with these heads' pooling."""
        return article_features(sentence_embeddings, weights, pooling=self.pooling)

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """``(n, k)`` calibrated frame probabilities for ``(n, feature_dim)`` article vectors
        (a single 1-D vector gives ``(1, k)``). Raises :class:`ValueError` on a size mismatch."""
        x = np.atleast_2d(np.asarray(features, dtype=np.float64))
        if x.shape[1] != self.W.shape[1]:
            raise ValueError(f"frame heads {self.path or self.name} expect {self.W.shape[1]} "
                             f"features ({self.pooling} of {self.dim}-d sentences), not {x.shape[1]}")
        z = x @ self.W.T + self.b[None, :]
        z = self.platt_a[None, :] * z + self.platt_c[None, :]
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))

    def predict(self, features: np.ndarray) -> np.ndarray:
        """``(n, k)`` booleans: frame present at its threshold."""
        return self.predict_proba(features) >= self.thresholds[None, :]

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
        from framing.heads.tone.model import fingerprint_mismatch

        why = fingerprint_mismatch(self.encoder, encoder)
        if why:
            raise ModelLoadError(f"Frame heads {self.path or self.name} {why}")

    def save(self, path: str | os.PathLike, card: str, extra: dict[str, Any] | None = None) -> Path:
        """Write ``config.json``, ``model.safetensors`` and the card ``README.md``; return the dir."""
        cfg = {"format": FORMAT, "name": self.name, "frames": list(self.ids),
               "names": list(self.names), "thresholds": [float(t) for t in self.thresholds],
               "pooling": self.pooling, "encoder": self.encoder, "split": self.split,
               "features": self.feature_source, "feature_model": self.feature_model,
               **(extra or {})}
        return write_artefact(path, logistic_arrays(self), cfg, card)


def is_frame_heads_dir(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a directory holding a ``framing-frames`` config."""
    return has_format(path, FORMAT)


#: what frame heads read per sentence: the encoder's sentence embedding; a trained tone
#: branch's pooled sentence states; or [pooled shared encoder states after the branch's
#: layer; the branch's pooled states] (both come from the truncated pass the default
#: analyzer runs, so neither needs the encoder's top layers)
FEATURES = ("embedding", "tone-branch", "layer+tone-branch")
BRANCH_FEATURES = ("tone-branch", "layer+tone-branch")
_PICKLES = ("model.bin", "pytorch_model.bin", "model.pkl", "model.pt", "model.joblib")


def load_frame_heads(path: str | os.PathLike | None = None) -> FrameHeads:
    """Load frame heads from a directory (``None``: the shipped ones).

    Raises :class:`ModelLoadError` naming the file when the config is missing, corrupt or
    of another format, when ``model.safetensors`` is missing (pickled weights are never
    loaded), corrupt or truncated, or when weights and config disagree.
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    path = Path(path) if path is not None else shipped_frame_heads_path()
    if path.is_file():
        raise ModelLoadError(f"{path}: pass the frame-heads directory, not a file")
    cfg_path, weights = path / "config.json", path / "model.safetensors"
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(f"{path}: not a frame-heads directory (no config.json)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"{cfg_path}: corrupt config ({exc})") from None
    if not isinstance(cfg, dict) or cfg.get("format") != FORMAT:
        raise ModelLoadError(f"{cfg_path}: not framing frame heads (format is not {FORMAT!r})")
    if not weights.is_file():
        found = [n for n in _PICKLES if (path / n).exists()]
        detail = f" (found {', '.join(found)}: framing loads only safetensors weights)" \
            if found else ""
        raise ModelLoadError(f"{weights}: missing{detail}")
    try:
        t = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelLoadError(f"{weights}: corrupt or truncated weights ({exc})") from None
    try:
        ids = [str(x) for x in cfg["frames"]]
        pooling = str(cfg.get("pooling", "mean_max"))
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}")
        heads = FrameHeads(ids, t["W"].astype(np.float64), t["b"].astype(np.float64),
                           t["platt_a"].astype(np.float64), t["platt_c"].astype(np.float64),
                           np.asarray(cfg["thresholds"], dtype=float), pooling,
                           [str(x) for x in cfg.get("names") or []], cfg.get("encoder"),
                           cfg.get("split"), str(cfg.get("name", path.name)), str(path),
                           str(cfg.get("features", "embedding")), cfg.get("feature_model"))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(f"{cfg_path}: incomplete frame heads ({exc})") from None
    if heads.feature_source not in FEATURES:
        raise ModelLoadError(f"{cfg_path}: unknown features {heads.feature_source!r} "
                             f"(expected one of {', '.join(FEATURES)})")
    if heads.feature_source in BRANCH_FEATURES and not (isinstance(heads.feature_model, dict)
                                                and heads.feature_model.get("digest")):
        raise ModelLoadError(f"{cfg_path}: tone-branch frame heads must name their "
                             "feature_model digest")
    k = len(ids)
    if heads.W.ndim != 2 or heads.W.shape[0] != k or heads.b.shape != (k,) \
            or heads.thresholds.shape != (k,) or heads.platt_a.shape != (k,) \
            or heads.platt_c.shape != (k,) or len(heads.names) != k \
            or heads.W.shape[1] % POOLINGS[pooling]:
        raise ModelLoadError(f"{weights}: weights do not fit the {k} frames and "
                             f"{pooling!r} pooling in {cfg_path}")
    return heads


# -- fitting --------------------------------------------------------------------------
def _fit_logistic(X: np.ndarray, y: np.ndarray, C: float, seed: int) -> tuple[np.ndarray, float]:
    """Balanced logistic regression on standardised features; the scaling is folded back
    into the returned ``(w, b)`` so they apply to raw features."""
    from sklearn.linear_model import LogisticRegression

    mu = X.mean(axis=0)
    sd = X.std(axis=0)
    sd[sd < 1e-8] = 1.0
    lr = LogisticRegression(C=C, max_iter=5000, class_weight="balanced", random_state=seed)
    lr.fit((X - mu) / sd, y)
    w = lr.coef_[0] / sd
    return w, float(lr.intercept_[0] - w @ mu)


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
    return FrameHeads(ids, W, b, a, c, thresholds, pooling,
                      list(names) if names else [], None, split, name)


def _fit_on_train(Xt: np.ndarray, Yt: np.ndarray, ids: list[str], C: float, folds: int,
                  seed: int) -> tuple:
    """Heads, Platt parameters and thresholds from the training rows alone (see
    :func:`fit_frame_heads`); also the out-of-fold macro-F1."""
    from sklearn.model_selection import StratifiedKFold

    from framing.evaluation.harness import PlattCalibrator, fit_thresholds
    from framing.stats.metrics import multilabel_metrics

    k = len(ids)
    W = np.zeros((k, Xt.shape[1]))
    b = np.zeros(k)
    oof = np.zeros((len(Xt), k))
    for j in range(k):
        y = Yt[:, j].astype(int)
        n_pos = int(y.sum())
        if n_pos == 0 or n_pos == len(y):
            raise ValueError(f"frame {ids[j]!r} needs positive and negative training rows")
        n_folds = max(2, min(folds, n_pos, len(y) - n_pos))
        for tr, te in StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(Xt, y):
            w_fold, b_fold = _fit_logistic(Xt[tr], y[tr], C, seed)
            oof[te, j] = Xt[te] @ w_fold + b_fold
        W[j], b[j] = _fit_logistic(Xt, y, C, seed)
    raw = 1.0 / (1.0 + np.exp(-np.clip(oof, -50, 50)))
    cal = PlattCalibrator().fit(raw, Yt)
    a, c = np.ones(k), np.zeros(k)
    for j, prm in enumerate(cal.params_):
        if prm is not None:  # Platt on the logit of p is an affine map of the raw score
            a[j], c[j] = prm
    oof_p = 1.0 / (1.0 + np.exp(-np.clip(a * oof + c, -50, 50)))
    thresholds = fit_thresholds(oof_p, Yt)
    cv = multilabel_metrics(Yt, oof_p >= thresholds, ids, n_boot=1)
    return W, b, a, c, thresholds, float(cv["macro_f1"].value)


# -- baselines -------------------------------------------------------------------------
class MajorityFrameBaseline:
    """Predicts each frame's majority value among the training rows, for every article."""

    def __init__(self, ids: Sequence[str] = FRAME_IDS) -> None:
        self.ids = ids

    def fit(self, Y: np.ndarray) -> "MajorityFrameBaseline":
        Y = np.asarray(Y).astype(bool)
        self.rate_ = Y.mean(axis=0)
        self.majority_ = self.rate_ > 0.5
        return self

    def predict_proba(self, n: int) -> np.ndarray:
        """``(n, k)``: each frame's training rate, the same for every article."""
        return np.tile(self.rate_, (n, 1))

    def predict(self, n: int) -> np.ndarray:
        """``(n, k)`` booleans: each frame's majority value."""
        return np.tile(self.majority_, (n, 1))


# Written for this project: a couple of dozen words and stems per frame. ``stem*`` matches
# any word starting with ``stem``; a bare entry matches that whole word only.
FRAME_KEYWORDS: dict[str, tuple[str, ...]] = {
    "conflict": (
        "conflict*", "clash*", "fight*", "battl*", "attack*", "accus*", "blam*", "critic*",
        "oppos*", "disput*", "feud*", "rival*", "war", "wars", "slam*", "denounc*",
        "condemn*", "confront*", "lawsuit*", "sue", "sued", "protest*", "disagree*",
        "tension*", "hostil*", "versus",
    ),
    "economic": (
        "econom*", "cost*", "dollar*", "billion*", "million*", "tax*", "budget*", "fund*",
        "price*", "market*", "job", "jobs", "employ*", "invest*", "financ*", "profit*",
        "spend*", "revenue*", "wage*", "industr*", "trade", "income*", "money", "business*",
        "afford*", "subsid*", "gdp",
    ),
    "human_interest": (
        "famil*", "child*", "mother*", "father*", "daughter*", "son", "sons", "wife",
        "husband*", "personal*", "story", "stories", "heart*", "tragic*", "tragedy",
        "suffer*", "struggl*", "grief", "griev*", "tears", "dream*", "emotion*", "felt",
        "love*", "friend*", "neighbo*", "afraid", "fear*",
    ),
    "morality": (
        "moral*", "immoral*", "ethic*", "god", "church*", "relig*", "faith*", "pray*",
        "sin", "sins", "sinful", "evil*", "duty", "duties", "conscience", "shame*",
        "virtu*", "justice", "injustice", "values", "christian*", "bibl*", "sacred",
        "hypocri*", "obligation*", "righteous*",
    ),
    "resolution": (
        "solution*", "solv*", "resolv*", "fix", "fixes", "fixing", "plan", "plans",
        "propos*", "polic*", "reform*", "measure*", "legislat*", "initiativ*", "strateg*",
        "address*", "tackl*", "agreement*", "commit*", "target*", "goal*", "implement*",
        "regulat*", "ban", "bans", "pledg*", "remed*",
    ),
}


def _keyword_regex(words: Sequence[str]) -> re.Pattern[str]:
    parts = [re.escape(w[:-1]) + r"\w*" if w.endswith("*") else re.escape(w) + r"\b"
             for w in words]
    return re.compile(r"\b(?:" + "|".join(parts) + ")", re.IGNORECASE)


class KeywordFrameBaseline:
    """A transparent keyword baseline: a frame is present when the article has at least
    ``thresholds_[j]`` hits of that frame's keywords; the hit thresholds are tuned for F1
    on the training rows (from 1 to ``max_hits``).

    ``keywords`` maps frame id -> words (``stem*`` matches words starting with ``stem``;
    a bare word matches itself only); the default is :data:`FRAME_KEYWORDS`.
    """

    def __init__(self, keywords: Mapping[str, Sequence[str]] | None = None,
                 ids: Sequence[str] = FRAME_IDS, max_hits: int = 40) -> None:
        self.keywords = keywords
        self.ids = ids
        self.max_hits = max_hits

    def _patterns(self) -> list[re.Pattern[str]]:
        kw = self.keywords if self.keywords is not None else FRAME_KEYWORDS
        missing = [i for i in self.ids if not kw.get(i)]
        if missing:
            raise ValueError(f"no keywords for frames {missing}")
        return [_keyword_regex(kw[i]) for i in self.ids]

    def hits(self, texts: Sequence[str]) -> np.ndarray:
        """``(n, k)`` keyword hit counts per article and frame."""
        pats = self._patterns()
        return np.array([[len(p.findall(t)) for p in pats] for t in texts],
                        dtype=int).reshape(len(texts), len(pats))

    def fit(self, texts: Sequence[str], Y: np.ndarray) -> "KeywordFrameBaseline":
        Y = np.asarray(Y).astype(bool)
        H = self.hits(texts)
        self.thresholds_ = np.ones(len(self.ids), dtype=int)
        for j in range(len(self.ids)):
            best = -1.0
            for t in range(1, self.max_hits + 1):
                p = H[:, j] >= t
                f = 2 * (p & Y[:, j]).sum() / max(p.sum() + Y[:, j].sum(), 1)
                if f > best + 1e-12:
                    best, self.thresholds_[j] = f, t
        return self

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """``(n, k)`` booleans: hit count at or above each frame's threshold."""
        return self.hits(texts) >= self.thresholds_[None, :]


# -- the narrative-frames corpus and article encoding -----------------------------------
@dataclass
class FrameArticle:
    """One labelled article: its id, text and frame labels (in :data:`FRAME_IDS` order)."""

    id: str
    text: str
    labels: tuple[bool, ...]


def _as_bool(value: Any) -> bool | None:
    text = str(value).strip().strip("()").lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    return None


def read_narrative_frames(path: str | os.PathLike) -> list[FrameArticle]:
    """Read ``articles_metadata.tsv`` of the narrative-frames corpus (Frermann et al. 2023).

    Columns used: ``ID``, ``text`` and the five frame columns (``CO EC HI MO RE``).
    Rows whose five labels are not all readable as true/false are skipped (one row of
    the published file has no labels; a stray bracket around a value is tolerated).
    Raises :class:`FileNotFoundError` for a missing file and :class:`ValueError` for a
    file without those columns.
    """
    import pandas as pd

    df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    need = ["ID", "text", *NARRATIVE_FRAME_COLUMNS]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing} (has {list(df.columns)})")
    col_of = {v: k for k, v in NARRATIVE_FRAME_COLUMNS.items()}
    out = []
    for row in df.itertuples(index=False):
        rec = row._asdict()
        labels = [_as_bool(rec[col_of[f]]) for f in FRAME_IDS]
        if any(v is None for v in labels) or not rec["text"].strip():
            continue
        out.append(FrameArticle(str(rec["ID"]), rec["text"], tuple(bool(v) for v in labels)))
    return out


def encode_articles(
    texts: Sequence[str], encoder: "Encoder", *, max_chars: int | None = 100_000,
    max_sentences: int | None = None, cache_dir: str | os.PathLike | None = None,
    feature_model: Any = None, features: str = "tone-branch",
) -> list[np.ndarray]:
    """Segment each text as the Analyzer does and encode its sentences in one pass.

    Returns one ``(n_sentences, dim)`` array per text (the first ``max_sentences`` when
    set): the encoder's sentence embeddings, or with ``feature_model`` (a trained tone
    branch) that branch's pooled sentence states (``features="tone-branch"``) or those
    after the pooled shared states it reads (``"layer+tone-branch"``). With ``cache_dir``, the arrays are
    stored there in one ``.npz`` keyed by the encoder's fingerprint, the feature model's
    digest, the limits and the texts, and read back on a later call.
    """
    from framing.text.prepare import prepare
    from framing.heads.tone.model import encoder_fingerprint

    texts = list(texts)
    cache = None
    if cache_dir is not None:
        key = [encoder_fingerprint(encoder), max_chars, max_sentences, encoder.max_length]
        if feature_model is not None:
            key.append([features, getattr(feature_model, "digest", None)])
        h = hashlib.sha256(json.dumps(key, sort_keys=True).encode())
        for t in texts:
            h.update(hashlib.sha256(t.encode("utf-8")).digest())
        cache = Path(cache_dir) / f"frames-sentences-{h.hexdigest()[:20]}.npz"
        if cache.is_file():
            with np.load(cache) as z:
                emb, bounds = z["emb"], z["bounds"]
            return [emb[bounds[i]:bounds[i + 1]] for i in range(len(texts))]
    sentences: list[str] = []
    bounds = [0]
    for t in texts:
        prep = prepare(t, max_chars=max_chars, max_tokens=encoder.content_tokens,
                       token_offsets=encoder.token_offsets)
        sents = [s.clean for s in prep.sentences][:max_sentences]
        sentences.extend(sents)
        bounds.append(len(sentences))
    emb = feature_model.sentence_features(
        encoder, sentences, with_layer=features == "layer+tone-branch") \
        if feature_model is not None else encoder.encode(sentences)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, emb=emb, bounds=np.asarray(bounds))
        os.replace(tmp, cache)
    return [emb[bounds[i]:bounds[i + 1]] for i in range(len(texts))]
