"""Lexical evidence: logistic models on the words of a sentence, added to a head's logits.

Dense sentence states blur the wording that several cues live on ("win-win", "mutual
respect", "hegemonism"). :class:`LexicalEvidence` looks at the words themselves: lower-cased
word tokens (two or more letters or digits), their unigrams and bigrams (up to ``max_n``)
from a fixed vocabulary, weighted by sublinear term frequency times a smoothed inverse
document frequency, each row scaled to unit length; a linear map gives one logit per label.
Trained cue heads add them to their own before calibration
(:meth:`framing.heads.cues.heads.CueHeads.predict_proba`; one binary model per cue,
:func:`fit_lexical`); a tone model adds them to the log-probabilities of a whole sentence's
tone (one multinomial model over the tone classes, :func:`fit_lexical_classes`). It needs
no encoder work.

It is stored beside the heads' own files: ``lexical.json`` (the vocabulary in column order
and how it was built) and ``lexical.safetensors`` (``idf`` ``(V,)``, ``W`` ``(k, V)``, ``b``
``(k,)``). :meth:`LexicalEvidence.load` checks both and raises
:class:`~framing.errors.ModelLoadError` naming the file that is wrong.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from framing.errors import ModelLoadError
from framing.heads.calibration import fit_logistic

__all__ = ["LexicalEvidence", "fit_lexical", "fit_lexical_classes", "ngrams", "LEXICAL_FORMAT",
           "LEXICAL_CONFIG", "LEXICAL_WEIGHTS"]

LEXICAL_FORMAT = "framing-lexical"
LEXICAL_CONFIG = "lexical.json"
LEXICAL_WEIGHTS = "lexical.safetensors"

_TOKEN = re.compile(r"\w\w+")


def ngrams(text: str, max_n: int = 2) -> list[str]:
    """The word n-grams (1 to ``max_n``) of ``text``: lower-cased tokens of two or more
    word characters, an n-gram's tokens joined by one space."""
    tokens = _TOKEN.findall(text.lower())
    out = list(tokens)
    for n in range(2, max_n + 1):
        out.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return out


@dataclass
class LexicalEvidence:
    """Per-cue logistic models on TF-IDF weighted word n-grams (see the module docs)."""

    vocabulary: list[str]
    idf: np.ndarray
    W: np.ndarray
    b: np.ndarray
    max_n: int = 2
    #: how the vocabulary and the models were fitted (recorded, not used to score)
    training: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.idf = np.asarray(self.idf, dtype=np.float64)
        self.W = np.atleast_2d(np.asarray(self.W, dtype=np.float64))
        self.b = np.asarray(self.b, dtype=np.float64)
        self._column = {g: i for i, g in enumerate(self.vocabulary)}

    @property
    def n_labels(self) -> int:
        return int(self.W.shape[0])

    def problems(self) -> list[str]:
        """What is inconsistent about these arrays (empty when they fit together)."""
        v = len(self.vocabulary)
        out = []
        if len(self._column) != v:
            out.append("the vocabulary repeats an n-gram")
        if self.idf.shape != (v,):
            out.append(f"idf has shape {self.idf.shape}, not ({v},)")
        if self.W.shape[1:] != (v,):
            out.append(f"W has shape {self.W.shape}, not (k, {v})")
        if self.b.shape != (self.W.shape[0],):
            out.append(f"b has shape {self.b.shape}, not ({self.W.shape[0]},)")
        if not all(np.isfinite(a).all() for a in (self.idf, self.W, self.b)):
            out.append("an array holds NaN or infinity")
        elif self.idf.size and self.idf.min() <= 0:
            out.append("idf must be positive")
        if not (isinstance(self.max_n, int) and 1 <= self.max_n <= 5):
            out.append(f"max_n must be 1 to 5, not {self.max_n!r}")
        return out

    def features(self, texts: Sequence[str]):
        """``(n, V)`` sparse rows: sublinear term frequency × idf of each vocabulary
        n-gram, each row scaled to unit length (an empty row stays zero)."""
        from scipy import sparse

        rows, cols, vals = [], [], []
        for i, text in enumerate(texts):
            counts = Counter(self._column[g] for g in ngrams(text, self.max_n)
                             if g in self._column)
            if not counts:
                continue
            idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
            w = (1.0 + np.log(tf)) * self.idf[idx]
            rows.extend([i] * len(idx))
            cols.extend(idx.tolist())
            vals.extend((w / np.linalg.norm(w)).tolist())
        return sparse.csr_matrix((vals, (rows, cols)), shape=(len(texts), len(self.vocabulary)))

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """``(n, k)`` raw scores of the models, one per label, for ``texts``."""
        if not len(texts):
            return np.zeros((0, self.n_labels))
        return np.asarray(self.features(texts) @ self.W.T) + self.b[None, :]

    # -- saving and loading -----------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """What the config.json of the model carrying this evidence says about it."""
        return {"config": LEXICAL_CONFIG, "weights": LEXICAL_WEIGHTS,
                "n_features": len(self.vocabulary), "max_n": self.max_n,
                "training": self.training or {}}

    def save(self, path: str | os.PathLike) -> None:
        """Write :data:`LEXICAL_CONFIG` and :data:`LEXICAL_WEIGHTS` into directory ``path``."""
        from safetensors.numpy import save_file

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        save_file({k: np.ascontiguousarray(v, dtype=np.float32)  # C order (see artefact)
                   for k, v in (("idf", self.idf), ("W", self.W), ("b", self.b))},
                  str(path / LEXICAL_WEIGHTS))
        (path / LEXICAL_CONFIG).write_text(json.dumps(
            {"format": LEXICAL_FORMAT, "max_n": self.max_n, "training": self.training or {},
             "vocabulary": list(self.vocabulary)}, ensure_ascii=False) + "\n",
            encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike, n_labels: int | None = None) -> "LexicalEvidence":
        """Load the evidence stored in directory ``path``; ``n_labels``: the number of
        labels (cues, tone classes) it must score. Raises :class:`ModelLoadError` naming the file at fault."""
        from safetensors import SafetensorError
        from safetensors.numpy import load_file

        path = Path(path)
        cfg_path, weights = path / LEXICAL_CONFIG, path / LEXICAL_WEIGHTS
        try:
            cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelLoadError(f"{cfg_path}: missing (the model's config names lexical "
                                 "evidence)") from None
        except (ValueError, UnicodeDecodeError, OSError) as exc:
            raise ModelLoadError(f"{cfg_path}: corrupt lexical evidence ({exc})") from None
        vocab = cfg.get("vocabulary") if isinstance(cfg, dict) else None
        if not isinstance(cfg, dict) or cfg.get("format") != LEXICAL_FORMAT:
            raise ModelLoadError(f"{cfg_path}: not framing lexical evidence (format is not "
                                 f"{LEXICAL_FORMAT!r})")
        if not (isinstance(vocab, list) and all(isinstance(g, str) for g in vocab)):
            raise ModelLoadError(f"{cfg_path}: the vocabulary must be a list of n-grams")
        if not weights.is_file():
            raise ModelLoadError(f"{weights}: missing")
        try:
            t = load_file(str(weights))
            arrays = {k: t[k] for k in ("idf", "W", "b")}
        except (SafetensorError, OSError, ValueError) as exc:
            raise ModelLoadError(f"{weights}: corrupt or truncated weights ({exc})") from None
        except KeyError as exc:
            raise ModelLoadError(f"{weights}: no array {exc}") from None
        training = cfg.get("training")
        out = cls(vocab, arrays["idf"], arrays["W"], arrays["b"], max_n=cfg.get("max_n", 2),
                  training=training if isinstance(training, dict) else None)
        problems = out.problems()
        if n_labels is not None and out.W.shape[0] != n_labels:
            problems.append(f"it scores {out.W.shape[0]} labels, the model {n_labels}")
        if problems:
            raise ModelLoadError(f"{weights}: lexical evidence does not fit "
                                 f"{cfg_path.name} ({'; '.join(problems)})")
        return out


def _vocabulary_model(texts: Sequence[str], k: int, min_df: int, max_n: int,
                      training: dict[str, Any]) -> LexicalEvidence:
    """Evidence with the vocabulary and idf of ``texts`` and zero weights for ``k`` labels."""
    df = Counter(g for text in texts for g in set(ngrams(text, max_n)))
    vocab = sorted(g for g, c in df.items() if c >= min_df)
    if not vocab:
        raise ValueError(f"no n-gram occurs in {min_df} or more of the {len(texts)} texts")
    n = len(texts)
    idf = np.array([math.log((1 + n) / (1 + df[g])) + 1.0 for g in vocab])
    return LexicalEvidence(vocab, idf, np.zeros((k, len(vocab))), np.zeros(k), max_n=max_n,
                           training=training)


def fit_lexical(texts: Sequence[str], Y: np.ndarray, *, C: float = 3.0, min_df: int = 2,
                max_n: int = 2, seed: int = 13, sample_weight: np.ndarray | None = None
                ) -> LexicalEvidence:
    """Fit :class:`LexicalEvidence` on ``texts`` and their ``(n, k)`` 0/1 labels ``Y``.

    The vocabulary is every n-gram (1 to ``max_n``) found in at least ``min_df`` of the
    texts; ``idf = ln((1 + n) / (1 + df)) + 1``; per label a class-balanced logistic
    regression (``C``; ``sample_weight`` weighs the rows). Raises :class:`ValueError` when
    the texts and labels disagree in number, or no n-gram reaches ``min_df``."""
    Y = np.asarray(Y)
    if Y.ndim != 2 or len(Y) != len(texts):
        raise ValueError(f"one row of labels per text: {len(texts)} texts, labels {Y.shape}")
    k = Y.shape[1]
    model = _vocabulary_model(texts, k, min_df, max_n,
                              {"rows": len(texts), "min_df": min_df, "C": C, "seed": seed})
    X = model.features(texts)
    for j in range(k):
        model.W[j], model.b[j] = fit_logistic(X, Y[:, j].astype(int), C=C, seed=seed,
                                              sample_weight=sample_weight)
    return model


def fit_lexical_classes(texts: Sequence[str], y: np.ndarray, n_classes: int, *, C: float = 3.0,
                        min_df: int = 2, max_n: int = 2, seed: int = 13) -> LexicalEvidence:
    """Fit :class:`LexicalEvidence` for one choice among ``n_classes`` exclusive classes
    (``y``: each text's class index): a class-balanced multinomial logistic regression on
    the same features as :func:`fit_lexical`, whose logits (one per class) add to a
    model's log-probabilities. Raises :class:`ValueError` as :func:`fit_lexical` does, and
    when a class has no text."""
    from sklearn.linear_model import LogisticRegression

    y = np.asarray(y, dtype=int)
    if y.ndim != 1 or len(y) != len(texts):
        raise ValueError(f"one class per text: {len(texts)} texts, classes {y.shape}")
    missing = sorted(set(range(n_classes)) - set(y.tolist()))
    if missing or y.min(initial=0) < 0 or y.max(initial=0) >= n_classes:
        raise ValueError(f"every class of 0..{n_classes - 1} needs a text, and only those "
                         f"(missing: {missing})")
    model = _vocabulary_model(texts, n_classes, min_df, max_n,
                              {"rows": len(texts), "min_df": min_df, "C": C, "seed": seed,
                               "kind": "classes"})
    lr = LogisticRegression(C=C, max_iter=3000, class_weight="balanced", random_state=seed)
    lr.fit(model.features(texts), y)
    model.W[:], model.b[:] = lr.coef_, lr.intercept_
    return model
