"""Transparent baselines for article frames: :class:`MajorityFrameBaseline` (each frame's
majority value on the training rows) and :class:`KeywordFrameBaseline` (keyword stems per
frame, written for this project, present at a hit count tuned on the training rows)."""

from __future__ import annotations

import re
from typing import Mapping, Sequence

import numpy as np

from framing.heads.frames.heads import FRAME_IDS

__all__ = ["MajorityFrameBaseline", "KeywordFrameBaseline", "FRAME_KEYWORDS"]


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


