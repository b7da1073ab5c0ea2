"""Article-level frame schemes the analyzer can score alongside tone and cues.

- ``"narrative"``: the five generic news frames (conflict, economic, human interest,
  morality, resolution) from trained heads over the article's pooled sentence
  embeddings (:mod:`framing.heads.frames.heads`; shipped heads trained on the narrative-frames
  corpus, or a directory of heads you trained).
- ``"policy"``: the fourteen policy frames of the Media Frames Corpus codebook, from the
  project's exemplar catalogue ``policy_frames`` scored few-shot per sentence; an
  article's probability for a frame is its most probable sentence's.

Both read the embeddings of the analyzer's single encoder pass.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from framing.core.labels import FRAME_SCHEMES
from framing.errors import ModelLoadError
from framing.heads.cues.detector import CueDetector
from framing.heads.frames.heads import FrameHeads, is_frame_heads_dir, load_frame_heads
from framing.core.resources import shipped_model_path
from framing.heads.tone.factory import resolve_feature_model, tier_for_encoder

if TYPE_CHECKING:  # pragma: no cover
    from framing.encoding.encoder import Encoder

__all__ = ["FrameScorer", "HeadsFrameScorer", "CatalogueFrameScorer", "make_frame_scorers",
           "FRAME_SCHEMES"]



class FrameScorer:
    """Scores one frame scheme for an article from its sentences' embeddings.

    ``score(embeddings, sentences)`` returns ``(article_probs (k,), sentence_probs (n, k))``;
    ``ids``, ``names`` and ``thresholds`` describe the scheme's frames. A scorer whose
    ``feature_model`` is a trained tone branch reads that branch's sentence states
    instead of the embeddings.
    """

    feature_model: Any = None
    feature_source: str = "embedding"

    scheme: str
    ids: list[str]
    names: list[str]
    thresholds: np.ndarray
    name: str

    def score(self, embeddings: np.ndarray, sentences: Sequence[str]):  # pragma: no cover
        raise NotImplementedError

    @property
    def artefact_path(self) -> str | None:
        """The directory of the trained artefact this scorer loaded (None: nothing trained)."""
        heads = getattr(self, "heads", None)
        return getattr(heads, "path", None)


class HeadsFrameScorer(FrameScorer):
    """Trained article-level heads (:class:`framing.heads.frames.heads.FrameHeads`)."""

    def __init__(self, heads: Any, encoder: "Encoder", scheme: str = "narrative", *,
                 tone_model: Any = None) -> None:
        heads.check(encoder)  # a branch's states have the encoder's width too
        self.feature_model = None
        self.feature_source = heads.feature_source
        if heads.reads_branch:
            self.feature_model = resolve_feature_model(heads, encoder, tone_model,
                                                       what="Frame heads")
        self.heads = heads
        self.scheme = scheme
        self.ids = list(heads.ids)
        self.names = list(heads.names)
        self.thresholds = np.asarray(heads.thresholds, dtype=float)
        self.name = f"heads:{heads.name}"

    def score(self, embeddings: np.ndarray, sentences: Sequence[str]):
        """Frame probabilities from the article's sentence rows: embeddings, or the tone
        branch's rows named by :attr:`feature_source` (see :data:`framing.core.labels.FEATURE_SETS`)."""
        n, k = len(embeddings), len(self.ids)
        if n == 0:
            return np.zeros(k), np.zeros((0, k))
        article = self.heads.predict_proba(self.heads.features(embeddings))[0]
        # each sentence read as a one-sentence article: which sentences carry the frame
        per = self.heads.predict_proba(np.stack([self.heads.features(embeddings[j:j + 1])
                                                 for j in range(n)]))
        return article, per


class CatalogueFrameScorer(FrameScorer):
    feature_model = None
    """An exemplar catalogue scored few-shot per sentence; article = best sentence."""

    def __init__(self, catalogue: Any, encoder: "Encoder", scheme: str = "policy") -> None:
        self.detector = CueDetector(catalogue, encoder, heads=None).fit()
        cat = self.detector.catalogue
        self.scheme = scheme
        self.ids = cat.ids
        self.names = [c.name for c in cat.cues]
        self.thresholds = self.detector.thresholds
        self.name = f"few-shot:{cat.name}"

    def score(self, embeddings: np.ndarray, sentences: Sequence[str]):
        k = len(self.ids)
        if len(embeddings) == 0:
            return np.zeros(k), np.zeros((0, k))
        per, _ = self.detector.predict(list(sentences), embeddings)
        return per.max(axis=0), per


def _one(spec: Any, encoder: "Encoder", tone_model: Any = None) -> FrameScorer:
    if isinstance(spec, FrameScorer):
        return spec
    if isinstance(spec, FrameHeads):
        return HeadsFrameScorer(spec, encoder, scheme=spec.name, tone_model=tone_model)
    if spec == "narrative":
        # the shipped tier's heads for this encoder (default or accurate)
        path = shipped_model_path(tier_for_encoder(encoder).frame_heads)
        return HeadsFrameScorer(load_frame_heads(path), encoder, "narrative",
                                tone_model=tone_model)
    if spec == "policy":
        return CatalogueFrameScorer("policy_frames", encoder, "policy")
    if isinstance(spec, (str, os.PathLike)) and Path(spec).is_dir() and is_frame_heads_dir(spec):
        heads = load_frame_heads(spec)
        return HeadsFrameScorer(heads, encoder, scheme=Path(spec).name, tone_model=tone_model)
    raise ValueError(f"Unknown frames {spec!r}: use 'narrative', 'policy', a list of them, a "
                     "frame-heads directory, or None")


def make_frame_scorers(frames: Any, encoder: "Encoder", *,
                       tone_model: Any = None) -> list[FrameScorer]:
    """Frame scorers for ``frames``: None/False (none), ``"narrative"``, ``"policy"``,
    ``"all"``, a frame-heads directory, or a list of these; ``"auto"`` is ``"narrative"``
    when the shipped heads fit ``encoder`` and nothing otherwise. Heads trained on a tone
    branch's sentence states read ``tone_model`` when its weights are the pinned ones (one
    branch pass for tone, cues and frames), else the shipped tone model. Raises
    :class:`ValueError` for anything else and for two schemes of the same name."""
    if frames is None or frames is False:
        return []
    if isinstance(frames, str) and frames == "auto":  # narrative, where the heads fit the encoder
        try:
            return [_one("narrative", encoder, tone_model)]
        except ModelLoadError:
            return []
    if frames == "all":
        frames = list(FRAME_SCHEMES)
    specs = [frames] if isinstance(frames, (str, os.PathLike)) or not hasattr(frames, "__iter__") \
        else list(frames)
    scorers = [_one(s, encoder, tone_model) for s in specs]
    schemes = [s.scheme for s in scorers]
    if len(set(schemes)) != len(schemes):
        raise ValueError(f"frame schemes must differ; got {schemes}")
    return scorers
