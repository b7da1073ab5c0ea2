"""Tone scorers: per-sentence tone on the promotional (+1) to critical (-1) scale.

A tone scorer turns cleaned sentences (and, if it wants them, the shared sentence
embeddings) into one tone value per sentence in ``[-1, 1]``. The analyzer aggregates
sentence values to the article (see :func:`aggregate_tone`). Two baselines ship now:

- :class:`SimilarityToneBaseline` — zero-shot: cosine similarity of each sentence to
  short descriptions of promotional, neutral and critical writing, turned into class
  probabilities with a softmax; tone is ``p(promotional) - p(critical)``.
- :class:`VaderToneBaseline` — the VADER lexicon's compound score per sentence.

Trained scorers plug in through the same :class:`ToneScorer` interface.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, Sequence, runtime_checkable

import numpy as np

from framing.core.labels import TONE_LABELS

if TYPE_CHECKING:  # pragma: no cover
    from framing.encoding.encoder import Encoder

__all__ = [
    "ToneScorer",
    "SimilarityToneBaseline",
    "VaderToneBaseline",
    "tone_label",
    "aggregate_tone",
    "aggregate_probabilities",
    "LABELS",
]

#: the tone classes, in model output order (defined in :mod:`framing.core.labels`)
LABELS = TONE_LABELS


@runtime_checkable
class ToneScorer(Protocol):
    """What the analyzer needs from a tone scorer.

    ``uses_embeddings`` says whether :meth:`sentence_tone` reads the shared
    embeddings (then the analyzer passes them and no second encoder pass happens).
    ``neutral_band`` is the half-width around 0 labelled neutral (unless the scorer
    sets ``label_by_argmax = True``: then the label is its likeliest class). A scorer may also
    offer ``sentence_probabilities(sentences, embeddings) -> (n, 3)`` over
    :data:`LABELS`; the analyzer then reports article class probabilities too.
    """

    name: str
    uses_embeddings: bool
    neutral_band: float

    def sentence_tone(self, sentences: Sequence[str], embeddings: np.ndarray | None) -> np.ndarray:
        """Return one tone value in [-1, 1] per sentence."""
        ...  # pragma: no cover


def tone_label(value: float | None, band: float) -> str | None:
    """``promotional`` above ``band``, ``critical`` below ``-band``, else ``neutral``."""
    if value is None or not np.isfinite(value):
        return None
    if value > band:
        return "promotional"
    if value < -band:
        return "critical"
    return "neutral"


def aggregate_tone(values: np.ndarray) -> float | None:
    """Article tone: the mean of sentence tones, weighting each by its own strength.

    Weights are ``0.25 + |tone|``, so sentences that take a side count more than flat
    reporting without neutral filler drowning them. Returns None for no sentences.
    """
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return None
    w = 0.25 + np.abs(values)
    return float(np.clip((w * values).sum() / w.sum(), -1.0, 1.0))


def aggregate_probabilities(probs: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Article class probabilities: sentence probabilities averaged with the weights of
    :func:`aggregate_tone` (``0.25 + |tone|``), in :data:`LABELS` order."""
    probs = np.asarray(probs, dtype=float)
    w = 0.25 + np.abs(np.asarray(values, dtype=float))
    out = (w[:, None] * probs).sum(axis=0) / w.sum()
    return out / out.sum()


# Descriptions the zero-shot baseline compares sentences with, written for this project.
_PROTOTYPES = {
    "promotional": (
        "The article praises the achievement and celebrates its great success.",
        "Officials hailed the excellent, fruitful and welcome results of the partnership.",
        "This is a proud, positive and inspiring story of progress and benefit.",
        "The project was warmly welcomed as a remarkable triumph for everyone involved.",
    ),
    "neutral": (
        "The ministry released the figures on Tuesday.",
        "The meeting took place in the capital and lasted two hours.",
        "The report describes the schedule, the budget and the names of the participants.",
        "The agency said the data would be published next month.",
    ),
    "critical": (
        "Critics condemned the deal as a failure that harmed local people.",
        "The report accuses officials of corruption, abuse and broken promises.",
        "The scheme was attacked for wasting money and hiding its damaging effects.",
        "Opponents warned the plan is dangerous, unfair and deeply flawed.",
    ),
}


class SimilarityToneBaseline:
    """Zero-shot tone from similarity to promotional / neutral / critical descriptions.

    A baseline: it reads the shared embeddings and costs one small matrix product.
    ``temperature`` sharpens the softmax over the three cosine similarities.
    """

    name = "baseline-similarity"
    uses_embeddings = True

    def __init__(self, encoder: "Encoder", *, temperature: float = 0.05,
                 neutral_band: float = 0.15) -> None:
        self.encoder = encoder
        self.temperature = float(temperature)
        self.neutral_band = float(neutral_band)
        self._centroids: np.ndarray | None = None

    def _fit(self) -> np.ndarray:
        rows = []
        for label in LABELS:
            emb = self.encoder.encode(list(_PROTOTYPES[label]))
            c = emb.mean(axis=0)
            rows.append(c / np.linalg.norm(c))
        return np.stack(rows)

    def probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """``(n, 3)`` probabilities over (critical, neutral, promotional)."""
        if self._centroids is None:
            self._centroids = self._fit()
        logits = embeddings @ self._centroids.T / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        return p / p.sum(axis=1, keepdims=True)

    def sentence_probabilities(self, sentences: Sequence[str],
                               embeddings: np.ndarray | None) -> np.ndarray:
        """``(n, 3)`` class probabilities in :data:`LABELS` order."""
        if embeddings is None:
            embeddings = self.encoder.encode(sentences)
        if len(embeddings) == 0:
            return np.zeros((0, 3))
        return self.probabilities(embeddings)

    def sentence_tone(self, sentences: Sequence[str], embeddings: np.ndarray | None) -> np.ndarray:
        p = self.sentence_probabilities(sentences, embeddings)
        return p[:, 2] - p[:, 0]


class VaderToneBaseline:
    """Tone from the VADER sentiment lexicon (compound score per sentence).

    A baseline that needs no encoder. VADER measures sentiment of wording, which is
    not the same as how a text treats its subject; that is why it is only a baseline.
    """

    name = "baseline-vader"
    uses_embeddings = False

    def __init__(self, *, neutral_band: float = 0.05) -> None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._vader = SentimentIntensityAnalyzer()
        self.neutral_band = float(neutral_band)

    def sentence_tone(self, sentences: Sequence[str], embeddings: np.ndarray | None = None) -> np.ndarray:
        return np.array([self._vader.polarity_scores(s)["compound"] for s in sentences], dtype=float)
