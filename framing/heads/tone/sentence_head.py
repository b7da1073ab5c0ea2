"""A sentence-tone head: the tone of whole sentences from pooled branch states.

A tone branch's own head is trained mostly for tone toward target mentions (NewsMTSC) or
together with the cues; on real text it leans away from neutral. A
:class:`SentenceToneHead` is a multinomial logistic regression over the three tone classes,
fitted on labelled whole sentences, that reads states the analyzer computes anyway:

- ``"branch"``: the pooled, unit-normalised shared-layer states the whole-sentence branch
  reads, then that branch's own pooled states (the cue heads' ``layer+tone-branch``
  features);
- ``"branch+main"``: the same, followed by the main tone branch's pooled states (for a tone
  model that carries a sentence branch; both branches run on every sentence).

Its probabilities replace the branch's for the tone of whole sentences; tone toward a target
never goes through it. ``articles`` says what the tone of a text of two or more sentences
aggregates: ``"head"`` (the head's probabilities, like everything else) or ``"branch"``
(the branch's own, as without a head — for a head whose sentence prior suits sentences
but pulls aggregated articles toward neutral); a one-sentence text is a sentence either
way. It is stored beside the tone model's weights
(:data:`SENTENCE_HEAD_WEIGHTS`, named under :data:`SENTENCE_HEAD` in its config) by
:func:`framing.heads.tone.model.attach_sentence_head`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from framing.core.labels import TONE_LABELS
from framing.errors import ModelLoadError

__all__ = ["SentenceToneHead", "SENTENCE_HEAD", "SENTENCE_HEAD_WEIGHTS", "HEAD_FEATURES",
           "HEAD_ARTICLES"]

#: the tone config key that describes the head
SENTENCE_HEAD = "sentence_head"
#: the head's weights, beside the tone model's
SENTENCE_HEAD_WEIGHTS = "sentence_head.safetensors"
#: what a head may read (see the module docstring)
HEAD_FEATURES = ("branch", "branch+main")
#: what the tone of a text of two or more sentences aggregates (see the module docstring)
HEAD_ARTICLES = ("head", "branch")


@dataclass
class SentenceToneHead:
    """``W`` ``(3, d)`` and ``b`` ``(3,)`` of a multinomial logistic model over
    TONE_LABELS, the features it reads (:data:`HEAD_FEATURES`), how it was trained and
    what articles aggregate (:data:`HEAD_ARTICLES`)."""

    W: np.ndarray
    b: np.ndarray
    features: str
    training: dict[str, Any] = field(default_factory=dict)
    articles: str = "head"

    def __post_init__(self) -> None:
        self.W = np.asarray(self.W, dtype=np.float64)
        self.b = np.asarray(self.b, dtype=np.float64)
        problem = self.problem()
        if problem:
            raise ValueError(problem)

    def problem(self) -> str | None:
        """What is wrong with the head's shape or settings, or None."""
        k = len(TONE_LABELS)
        if self.features not in HEAD_FEATURES:
            return f"features must be one of {', '.join(HEAD_FEATURES)}, not {self.features!r}"
        if self.articles not in HEAD_ARTICLES:
            return f"articles must be one of {', '.join(HEAD_ARTICLES)}, not {self.articles!r}"
        if self.W.ndim != 2 or self.W.shape[0] != k or self.b.shape != (k,):
            return f"W must be ({k}, d) and b ({k},)"
        if not (np.isfinite(self.W).all() and np.isfinite(self.b).all()):
            return "the weights must be finite"
        return None

    @property
    def dim(self) -> int:
        """The width of the feature rows the head reads."""
        return int(self.W.shape[1])

    def probabilities(self, X: np.ndarray) -> np.ndarray:
        """``(n, 3)`` class probabilities (TONE_LABELS order) of feature rows ``X``;
        :class:`ValueError` for rows of another width."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.dim:
            raise ValueError(f"the sentence-tone head reads rows of {self.dim} features, "
                             f"not {X.shape[1:] or X.shape}")
        z = X @ self.W.T + self.b
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    @classmethod
    def fit(cls, X: np.ndarray, y: np.ndarray, features: str, *, C: float = 1.0,
            seed: int = 13, training: dict[str, Any] | None = None) -> "SentenceToneHead":
        """Fit the head on feature rows ``X`` and class indices ``y`` (into TONE_LABELS):
        multinomial logistic regression, L2 with inverse strength ``C``, no class
        weights (so its probabilities keep the training data's class balance).
        :class:`ValueError` when a class has no example or the shapes differ."""
        from sklearn.linear_model import LogisticRegression

        X, y = np.asarray(X), np.asarray(y, dtype=int)
        if X.ndim != 2 or len(X) != len(y):
            raise ValueError("X must be (n, d) with one class per row")
        missing = sorted(set(range(len(TONE_LABELS))) - set(y.tolist()))
        if missing:
            raise ValueError(f"every tone class needs training sentences; missing: "
                             f"{[TONE_LABELS[i] for i in missing]}")
        model = LogisticRegression(C=C, max_iter=5000, random_state=seed).fit(X, y)
        info = {"rows": int(len(y)), "C": float(C), "seed": int(seed),
                "class_counts": np.bincount(y, minlength=len(TONE_LABELS)).tolist(),
                **(training or {})}
        return cls(model.coef_, model.intercept_, features, info)

    def summary(self) -> dict[str, Any]:
        """The config entry that names the head (its weights live in their own file)."""
        return {"features": self.features, "dim": self.dim, "weights": SENTENCE_HEAD_WEIGHTS,
                "articles": self.articles, "training": self.training}

    def save(self, path: str | os.PathLike) -> None:
        """Write the weights into directory ``path`` (:data:`SENTENCE_HEAD_WEIGHTS`)."""
        from safetensors.numpy import save_file

        # C order: safetensors writes the buffer as it lies, and scikit-learn's multinomial
        # coef_ is Fortran-ordered
        save_file({"W": np.ascontiguousarray(self.W, dtype=np.float32),
                   "b": np.ascontiguousarray(self.b, dtype=np.float32)},
                  str(Path(path) / SENTENCE_HEAD_WEIGHTS))

    @classmethod
    def load(cls, path: str | os.PathLike, entry: Any) -> "SentenceToneHead":
        """The head a tone model's config ``entry`` names, weights read from directory
        ``path``; :class:`ModelLoadError` naming the file at fault."""
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        where = Path(path) / "config.json"
        if not isinstance(entry, dict) or entry.get("features") not in HEAD_FEATURES:
            raise ModelLoadError(f"{where}: {SENTENCE_HEAD} must name its features "
                                 f"({' or '.join(HEAD_FEATURES)})")
        if entry.get("articles", "head") not in HEAD_ARTICLES:
            raise ModelLoadError(f"{where}: {SENTENCE_HEAD}'s articles must be "
                                 f"{' or '.join(HEAD_ARTICLES)}")
        weights = Path(path) / SENTENCE_HEAD_WEIGHTS
        if not weights.is_file():
            raise ModelLoadError(f"{weights}: missing (the model's config names a "
                                 "sentence-tone head)")
        try:
            t = load_file(str(weights))
            head = cls(t["W"], t["b"], entry["features"], dict(entry.get("training") or {}),
                       entry.get("articles", "head"))
        except (SafetensorError, OSError) as exc:
            raise ModelLoadError(f"{weights}: corrupt or truncated weights ({exc})") from None
        except KeyError as exc:
            raise ModelLoadError(f"{weights}: no array {exc}") from None
        except ValueError as exc:
            raise ModelLoadError(f"{weights}: {exc}") from None
        if entry.get("dim") is not None and entry["dim"] != head.dim:
            raise ModelLoadError(f"{weights}: {head.dim} features, but the config says "
                                 f"{entry['dim']}")
        return head
