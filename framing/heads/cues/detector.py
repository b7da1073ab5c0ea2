"""Cue detection: phrase patterns plus semantic similarity to a catalogue's exemplars.

For each sentence and cue the detector computes two similarity features from the
shared sentence embeddings: the mean cosine similarity to the cue's ``top_k`` closest
exemplars, and the highest similarity to its counter-exemplars. A small logistic
model per cue turns them into a probability. It is fitted on the catalogue itself,
leave-one-out: each exemplar is a positive scored against the *other* exemplars,
and counter-exemplars and other cues' exemplars are negatives. So any user catalogue
works few-shot, with no labelled data.

A pattern match is strong evidence: the sentence's probability becomes
``1 - (1 - p_similarity) * (1 - pattern_weight)``, and the matched character spans
are kept as evidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from framing.errors import ModelLoadError
from framing.core.resources import shipped_model_path
from framing.heads.cues.heads import CueHeads, is_cue_heads_dir, lift, load_cue_heads
from framing.heads.tone.factory import resolve_feature_model, tier_for_encoder
from framing.text.catalogue import Catalogue, load_catalogue

if TYPE_CHECKING:  # pragma: no cover
    from framing.encoding.encoder import Encoder

__all__ = ["CueDetector", "PatternMatch"]


@dataclass(frozen=True)
class PatternMatch:
    """A pattern hit within one cleaned sentence: ``clean[start:end]`` matched ``pattern``."""

    cue: str
    start: int
    end: int
    pattern: str


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


class CueDetector:
    """Detect a catalogue's cues in sentences.

    Parameters
    ----------
    catalogue:
        A :class:`~framing.text.catalogue.Catalogue`, a YAML path, or ``None`` for the built-in one.
    encoder:
        The shared :class:`~framing.encoding.encoder.Encoder`; needed for similarity (the
        exemplars are encoded once, when the detector is fitted).
    use_patterns, use_similarity:
        Switch either signal off (``use_similarity=False`` gives the phrase-patterns-only
        baseline).
    pattern_weight:
        Probability that a pattern match alone gives.
    top_k:
        How many nearest exemplars the positive similarity averages over.
    heads:
        Trained cue heads (:mod:`framing.heads.cues.heads`) to use instead of exemplar
        similarity: a :class:`~framing.heads.cues.heads.CueHeads`, a directory, or ``"auto"``
        for the shipped heads when the catalogue and encoder are the ones they were
        trained for (otherwise few-shot similarity). ``None``: few-shot similarity.
    tone_model:
        The analyzer's trained tone model: heads that read a tone branch's sentence
        states use it when its weights are the ones they were trained on (one branch
        pass for both); otherwise the shipped tone model is loaded for them.
    operating_point:
        Which of the heads' named threshold sets decides presence (e.g. ``"balanced"``,
        the F1-best thresholds, or ``"strict"``, few false positives on cue-free
        sentences); None: the heads' default. Raises :class:`ValueError` when the heads
        do not offer it, or when no trained heads are in use.
    """

    def __init__(
        self,
        catalogue: Catalogue | str | None = None,
        encoder: "Encoder | None" = None,
        *,
        use_patterns: bool = True,
        use_similarity: bool = True,
        pattern_weight: float = 0.9,
        top_k: int = 3,
        heads: Any = None,
        tone_model: Any = None,
        operating_point: str | None = None,
    ) -> None:
        self.catalogue = load_catalogue(catalogue)
        self.encoder = encoder
        self.use_patterns = use_patterns
        self.use_similarity = use_similarity
        self.pattern_weight = float(pattern_weight)
        self.top_k = int(top_k)
        if use_similarity and encoder is None:
            raise ValueError("CueDetector needs an encoder for similarity (or use_similarity=False)")
        self.feature_model = None  # the tone branch that tone-branch heads read
        self._tone_model = tone_model
        self.heads = self._resolve_heads(heads) if use_similarity else None
        self._tone_model = None
        if operating_point is not None:
            if self.heads is None:
                raise ValueError(f"cue operating point {operating_point!r} needs trained cue "
                                 f"heads; this detector works {self.name} (catalogue "
                                 f"{self.catalogue.name!r})")
            self.heads = self.heads.at_operating_point(operating_point)
        self.fitted = self.heads is not None

    def _resolve_heads(self, heads: Any):
        if heads is None:
            return None
        if isinstance(heads, str) and heads == "auto":
            # the heads of the shipped tier trained on this encoder (default or accurate)
            path = shipped_model_path(tier_for_encoder(self.encoder).cue_heads)
            if not is_cue_heads_dir(path):
                return None
            loaded = load_cue_heads(path)
            if loaded.catalogue_sha256 != self.catalogue.sha256:
                return None  # another catalogue (or an edited one): few-shot similarity
            try:
                loaded.check(self.catalogue, self.encoder)
            except ModelLoadError:
                return None  # another encoder: the heads do not apply, few-shot instead
            try:
                self.feature_model = self._load_feature_model(loaded, self._tone_model)
            except ModelLoadError:
                if loaded.bundled_branch is not None:
                    raise  # the shipped heads' own branch is damaged: say so
                return None
            return loaded
        elif isinstance(heads, CueHeads):
            loaded = heads
        else:
            loaded = load_cue_heads(heads)
        loaded.check(self.catalogue, self.encoder)
        self.feature_model = self._load_feature_model(loaded, self._tone_model)
        return loaded

    def _load_feature_model(self, heads, tone_model: Any = None):
        """The trained tone branch whose sentence states ``heads`` read (None for embeddings).

        ``tone_model`` (a loaded :class:`~framing.heads.tone.model.TrainedTone`) is used when its
        weights are the ones the heads pin; otherwise the branch the heads carry, else the
        shipped tone model is tried.
        Raises :class:`ModelLoadError` when neither matches.
        """
        if not heads.reads_branch:
            return None
        return resolve_feature_model(heads, self.encoder, tone_model, what="Cue heads")

    def use_tone_model(self, tone_model: Any) -> None:
        """Read tone-branch features from ``tone_model`` when its weights are the pinned ones
        (lets an analyzer share one branch pass between tone and cues)."""
        if self.heads is not None and self.heads.reads_branch and \
                getattr(tone_model, "digest", None) == self.heads.feature_model.get("digest"):
            self.feature_model = tone_model

    @property
    def thresholds(self) -> np.ndarray:
        """Per-cue probability at which a cue counts as present (heads' own, if trained)."""
        if self.heads is not None:
            return np.asarray(self.heads.thresholds, dtype=float)
        return np.array([c.threshold for c in self.catalogue.cues], dtype=float)

    @property
    def operating_point(self) -> str | None:
        """The name of the heads' threshold set in use (None without named sets)."""
        return getattr(self.heads, "operating_point", None)

    @property
    def name(self) -> str:
        if self.heads is not None:
            return "trained-heads+patterns" if self.use_patterns else "trained-heads"
        if self.use_patterns and self.use_similarity:
            return "exemplar-similarity+patterns"
        return "patterns-only" if self.use_patterns else "exemplar-similarity"

    @property
    def ids(self) -> list[str]:
        return self.catalogue.ids

    # -- fitting ---------------------------------------------------------------------
    def fit(self) -> "CueDetector":
        """Encode the exemplars and fit each cue's similarity model (leave-one-out)."""
        if not self.use_similarity:
            self.fitted = True
            return self
        cues = self.catalogue.cues
        texts: list[str] = []
        owner_pos: list[tuple[int, int]] = []  # (cue index, text index) for exemplars
        owner_neg: list[tuple[int, int]] = []
        for ci, cue in enumerate(cues):
            for s in cue.exemplars:
                owner_pos.append((ci, len(texts)))
                texts.append(s)
            for s in cue.counter_exemplars:
                owner_neg.append((ci, len(texts)))
                texts.append(s)
        emb = self.encoder.encode(texts)
        self._pos_emb = [emb[[t for c, t in owner_pos if c == ci]] for ci in range(len(cues))]
        self._neg_emb = [emb[[t for c, t in owner_neg if c == ci]] for ci in range(len(cues))]
        self._coef = np.zeros((len(cues), 3))
        sims_all = emb @ emb.T
        for ci in range(len(cues)):
            pos_idx = np.array([t for c, t in owner_pos if c == ci], dtype=int)
            positives = set(pos_idx.tolist())
            neg_idx = np.array([t for c, t in owner_neg if c == ci], dtype=int)
            feats, labels = [], []
            for t in range(len(texts)):
                own = [x for x in pos_idx if x != t]
                counter = [x for x in neg_idx if x != t]
                f_pos = self._topk_mean(sims_all[t, own]) if own else 0.0
                f_neg = float(sims_all[t, counter].max()) if counter else 0.0
                feats.append((f_pos, f_neg))
                labels.append(1 if t in positives else 0)
            self._coef[ci] = self._fit_logistic(np.asarray(feats), np.asarray(labels))
        self.fitted = True
        return self

    def _topk_mean(self, sims: np.ndarray) -> float:
        if sims.size == 0:
            return 0.0
        k = min(self.top_k, sims.size)
        return float(np.sort(sims)[-k:].mean())

    @staticmethod
    def _fit_logistic(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Return ``(w_pos, w_neg, bias)``; falls back to a fixed curve without both classes."""
        if y.min() == y.max():
            return np.array([20.0, -10.0, -11.0])
        from sklearn.linear_model import LogisticRegression

        # Positives weighted to an effective prior of 1/3: the negatives here are hard
        # ones (near misses and other cues), far harder than typical news sentences.
        n_pos, n_neg = int(y.sum()), int((1 - y).sum())
        lr = LogisticRegression(C=100.0, max_iter=1000,
                                class_weight={0: 1.0, 1: 0.5 * n_neg / n_pos})
        lr.fit(x, y)
        return np.array([lr.coef_[0, 0], lr.coef_[0, 1], lr.intercept_[0]])

    # -- scoring ---------------------------------------------------------------------
    def match_patterns(self, sentence: str) -> list[PatternMatch]:
        """All pattern matches of every cue within one cleaned sentence."""
        hits: list[PatternMatch] = []
        if not self.use_patterns:
            return hits
        for cue in self.catalogue.cues:
            for rx in cue.compiled:
                for m in rx.finditer(sentence):
                    if m.end() > m.start():
                        hits.append(PatternMatch(cue.id, m.start(), m.end(), rx.pattern))
        return hits

    def similarity_probabilities(self, embeddings: np.ndarray,
                                 sentences: Sequence[str] | None = None) -> np.ndarray:
        """``(n_sentences, n_cues)`` probabilities from exemplar similarity alone (from
        the trained heads when there are some; heads with lexical evidence also read the
        cleaned ``sentences``)."""
        n, k = embeddings.shape[0], len(self.catalogue.cues)
        if not self.use_similarity or n == 0:
            return np.zeros((n, k))
        if self.heads is not None:
            return self.heads.predict_proba(embeddings, sentences)
        if not self.fitted:
            self.fit()
        out = np.zeros((n, k))
        for ci in range(k):
            pos = embeddings @ self._pos_emb[ci].T if len(self._pos_emb[ci]) else np.zeros((n, 0))
            if pos.shape[1]:
                kk = min(self.top_k, pos.shape[1])
                f_pos = np.sort(pos, axis=1)[:, -kk:].mean(axis=1)
            else:
                f_pos = np.zeros(n)
            neg = self._neg_emb[ci]
            f_neg = (embeddings @ neg.T).max(axis=1) if len(neg) else np.zeros(n)
            w_pos, w_neg, b = self._coef[ci]
            out[:, ci] = _sigmoid(w_pos * f_pos + w_neg * f_neg + b)
        return out

    @property
    def needs_branch_features(self) -> bool:
        """True when the heads read a tone branch's sentence states, not embeddings."""
        return self.feature_model is not None

    def predict(
        self, sentences: Sequence[str], embeddings: np.ndarray | None = None, *,
        features: np.ndarray | None = None,
    ) -> tuple[np.ndarray, list[list[PatternMatch]]]:
        """Score cleaned ``sentences`` (with their embeddings, when similarity is on).

        Heads trained on a tone branch's sentence states read ``features`` (computed
        here when not given). Returns ``(probabilities, matches)``: an ``(n, n_cues)``
        array in catalogue order, and for each sentence its pattern matches.
        """
        n = len(sentences)
        if self.use_similarity and self.needs_branch_features:
            if features is None:
                features = self.feature_model.sentence_features(
                    self.encoder, list(sentences),
                    with_layer=self.heads.feature_source == "layer+tone-branch")
            probs = self.heads.predict_proba(features, list(sentences)) if n \
                else np.zeros((0, len(self.ids)))
        elif self.use_similarity:
            if embeddings is None:
                embeddings = self.encoder.encode(sentences)
            probs = self.similarity_probabilities(embeddings, list(sentences))
        else:
            probs = np.zeros((n, len(self.catalogue.cues)))
        matches = [self.match_patterns(s) for s in sentences]
        return lift(probs, self.matched(matches), self.pattern_weights), matches

    @property
    def pattern_weights(self) -> np.ndarray:
        """Per cue, the probability a pattern match alone gives: the trained heads' own
        (fitted on dev) when they carry them, else ``pattern_weight`` for every cue."""
        if self.heads is not None and self.heads.pattern_weights is not None:
            return np.asarray(self.heads.pattern_weights, dtype=float)
        return np.full(len(self.catalogue.ids), self.pattern_weight)

    def pattern_matrix(self, sentences: Sequence[str]) -> np.ndarray:
        """``(n, n_cues)`` bool: whether a pattern of each cue matches each cleaned sentence."""
        return self.matched([self.match_patterns(s) for s in sentences])

    def matched(self, matches: Sequence[Sequence[PatternMatch]]) -> np.ndarray:
        """``(n, n_cues)`` bool: whether a pattern of each cue matched each sentence."""
        col = {cid: i for i, cid in enumerate(self.catalogue.ids)}
        out = np.zeros((len(matches), len(col)), dtype=bool)
        for i, hits in enumerate(matches):
            for h in hits:
                out[i, col[h.cue]] = True
        return out
