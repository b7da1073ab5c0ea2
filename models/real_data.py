"""The labelled real sentences of ``eval/labelling`` as training and dev data.

Labels are pointers into ``../shared/data/real``; the text is resolved at run time and never
stored. The split of a sentence is its document's (``eval/labelling/splits.py``): training
scripts read ``train`` and calibrate on ``dev``; ``test`` is never read here.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from framing.core.labels import TONE_LABELS
from framing.core.pointers import TextPointer, resolve_pointers
from framing.training.tone import ToneExample

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "eval" / "labelling" / "labels"
DEFAULT_CORPUS = ROOT.parent / "shared" / "data" / "real"
sys.path.insert(0, str(ROOT / "eval" / "labelling"))
from splits import split_of  # noqa: E402


@dataclass
class RealSentences:
    """Label rows of one split with their resolved texts."""

    rows: list[dict]
    texts: list[str]

    def cue_matrix(self, cue_ids: list[str]) -> np.ndarray:
        """``(n, len(cue_ids))`` bool matrix of the final cue labels."""
        return np.array([[c in r["final"]["cues"] for c in cue_ids] for r in self.rows],
                        dtype=bool).reshape(len(self.rows), len(cue_ids))

    def tone(self) -> np.ndarray:
        """Index into TONE_LABELS of each sentence's final tone."""
        return np.array([TONE_LABELS.index(r["final"]["tone"]) for r in self.rows], dtype=int)

    def tone_examples(self) -> list[ToneExample]:
        """One whole-sentence example per sentence and one per labelled target (offsets
        relative to the sentence); ``group`` is the row's uid, so splits keep them together."""
        out = []
        for r, text in zip(self.rows, self.texts):
            out.append(ToneExample(text, TONE_LABELS.index(r["final"]["tone"]), None, r["uid"]))
            for t in r["final"]["targets"]:
                span = (t["start"] - r["start"], t["end"] - r["start"])
                if 0 <= span[0] < span[1] <= len(text):
                    out.append(ToneExample(text, TONE_LABELS.index(t["tone"]), span, r["uid"]))
        return out


def real_sentences(split: str, corpus: str | Path = DEFAULT_CORPUS) -> RealSentences:
    """The finally labelled sentences of ``split`` ("train" or "dev"), texts resolved."""
    if split not in ("train", "dev"):
        raise ValueError("training code reads the train and dev splits only")
    rows = []
    for path in sorted(LABELS.glob("batch*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            r = json.loads(line) if line.strip() else None
            if r and r.get("final") and split_of(r["file"], r["doc"]) == split:
                rows.append(r)
    texts = resolve_pointers([TextPointer.from_dict(r) for r in rows], corpus)
    return RealSentences(rows, texts)


def real_articles(split: str, corpus: str | Path = DEFAULT_CORPUS) -> tuple[list[str], np.ndarray]:
    """The finally labelled real articles of ``split`` ("train" or "dev"): their texts,
    resolved, and the index into TONE_LABELS of each one's tone
    (``eval/labelling/labels/articles.jsonl``)."""
    if split not in ("train", "dev"):
        raise ValueError("training code reads the train and dev splits only")
    rows = [json.loads(line) for line in (LABELS / "articles.jsonl").read_text(
        encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r.get("final") and split_of(r["file"], r["doc"]) == split]
    texts = resolve_pointers([TextPointer.from_dict(r) for r in rows], corpus)
    return texts, np.array([TONE_LABELS.index(r["final"]["tone"]) for r in rows], dtype=int)


def real_dev_articles(corpus: str | Path = DEFAULT_CORPUS) -> tuple[list[str], np.ndarray]:
    """:func:`real_articles` of the dev split."""
    return real_articles("dev", corpus)


def tone_samples(path: str | Path) -> tuple[list[str], np.ndarray]:
    """The project-written tone sentences of ``path`` (``eval/samples/tone.jsonl``): texts and
    the index into TONE_LABELS of each label."""
    rows = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()
            if line.strip()]
    return [r["text"] for r in rows], np.array([TONE_LABELS.index(r["label"]) for r in rows],
                                               dtype=int)


def tone_analyzer(profile: str, tone_dir: str | Path):
    """The tier ``profile``'s analyzer with the tone model in ``tone_dir``, tone only (no cue
    or frame heads), on the torch backend: what the tone scripts compare."""
    import framing

    return framing.Analyzer(profile=profile, tone=str(tone_dir), cues=False, frames=None,
                            backend="torch")


def tone_macro_f1(y: np.ndarray, pred: np.ndarray) -> float:
    """Macro-F1 over the three tone classes of predicted class indices ``pred``."""
    from framing.stats.metrics import classification_metrics

    return classification_metrics(y, pred, TONE_LABELS, n_boot=1)["macro_f1"].value


def tone_labels(analyzer, texts: list[str]) -> np.ndarray:
    """Index into TONE_LABELS of the tone label ``analyzer`` gives each text (neutral when it
    gives none)."""
    return np.array([TONE_LABELS.index(x.tone_label) if x.tone_label in TONE_LABELS else 1
                     for x in analyzer.score_many(texts, batch_size=128)])
