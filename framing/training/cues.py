"""Training cue heads for any catalogue: ``framing train cues``.

``train_cue_heads(catalogue, data)`` fits one calibrated logistic head per cue of a
catalogue (the built-in one or a user's YAML) on labelled sentences and returns a
:class:`CueTrainingResult`; ``result.save(path)`` writes a heads directory (with a copy
of the catalogue, a card and dev metrics) that ``Analyzer(cue_heads=path)`` and
``framing score --cue-heads path`` load like the shipped heads.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from framing.core.samples import load_samples
from framing.encoding.encoder import Encoder
from framing.encoding.fingerprints import encoder_fingerprint
from framing.heads.cues.heads import CueHeads, fit_cue_heads, with_lexical
from framing.heads.lexical import fit_lexical
from framing.stats.metrics import multilabel_metrics
from framing.text.catalogue import Catalogue, load_catalogue
from framing.text.prepare import normalise


__all__ = ["train_cue_heads", "CueTrainingArgs", "CueTrainingResult", "MIN_POSITIVES"]

#: positives a cue needs in the training part (exemplars included) to get a head
MIN_POSITIVES = 5


@dataclass
class CueTrainingResult:
    """Trained heads, the catalogue they serve, dev metrics; :meth:`save` writes them."""

    heads: CueHeads
    catalogue: Catalogue
    metrics: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the heads directory (config, safetensors weights, catalogue copy, card)."""
        path = Path(path)
        card = _card(self)
        out = self.heads.save(path, card, extra={"catalogue": self.catalogue.name,
                                                 "training": self.config})
        if self.catalogue.source and Path(self.catalogue.source).is_file():
            (out / "catalogue.yaml").write_bytes(Path(self.catalogue.source).read_bytes())
        (out / "metrics.json").write_text(json.dumps(self.metrics, indent=2) + "\n")
        return out


def _labelled(data: Any, catalogue: Catalogue, text: str, label: str):
    samples = load_samples(data, "cues", text=text, label=label, id=None,
                           label_set=catalogue.ids)
    texts = [normalise(t, html=False)[0] for t in samples.texts]
    return texts, samples.y_matrix().astype(bool)


@dataclass
class CueTrainingArgs:
    """How :func:`train_cue_heads` trains (every field is also a keyword of that function)."""

    dev_fraction: float = 0.2
    text: str = "text"
    label: str = "cues"
    use_exemplars: bool = True
    C: float = 4.0
    seed: int = 13
    name: str | None = None
    #: also fit lexical evidence (per cue a logistic model on the sentence's TF-IDF word
    #: 1-2-grams, :func:`framing.heads.lexical.fit_lexical`) on the training part, its
    #: logit added to the head's, calibration and thresholds refitted on the dev part
    lexical: bool = False
    #: inverse L2 strength of the lexical models
    lexical_C: float = 3.0


def _split_parts(data: Any, dev: Any, cat: Catalogue, a: CueTrainingArgs):
    """Return ``(tr_texts, Y_tr, dv_texts, Y_dev)``: ``dev`` as the dev part when given,
    else a seeded ``dev_fraction`` of ``data`` held out (normalised texts, bool matrices)."""
    texts, Y = _labelled(data, cat, a.text, a.label)
    if dev is not None:
        dv_texts, Y_dev = _labelled(dev, cat, a.text, a.label)
        return texts, Y, dv_texts, Y_dev
    if not 0 < a.dev_fraction < 1:
        raise ValueError("dev_fraction must be between 0 and 1")
    order = np.random.default_rng(a.seed).permutation(len(texts))
    n_dev = int(round(a.dev_fraction * len(texts)))
    dv, tr = order[:n_dev], order[n_dev:]
    return [texts[i] for i in tr], Y[tr], [texts[i] for i in dv], Y[dv]


def _add_exemplars(cat: Catalogue, texts: list[str], Y: np.ndarray):
    """Return ``(texts, Y)`` extended by the catalogue's exemplars (a positive for their
    cue) and counter-exemplars (negative for every cue); unchanged when it has none."""
    n_cues = len(cat.ids)
    extra, rows = [], []
    for j, cue in enumerate(cat.cues):
        for s in cue.exemplars:
            extra.append(s)
            rows.append([k == j for k in range(n_cues)])
        for s in cue.counter_exemplars:
            extra.append(s)
            rows.append([False] * n_cues)
    if not extra:
        return texts, Y
    return (texts + [normalise(s, html=False)[0] for s in extra],
            np.vstack([Y, np.array(rows, dtype=bool)]))


def _check_cue_support(ids: list[str], Y_tr: np.ndarray, Y_dev: np.ndarray) -> None:
    """Return nothing; raise :class:`ValueError` naming cues with too few training
    positives, no training negative, or no dev positive."""
    few = [f"{c} ({int(Y_tr[:, j].sum())})" for j, c in enumerate(ids)
           if Y_tr[:, j].sum() < MIN_POSITIVES]
    if few:
        raise ValueError(f"too few training positives (need {MIN_POSITIVES} per cue): "
                         f"{', '.join(few)}")
    no_neg = [c for j, c in enumerate(ids) if Y_tr[:, j].all()]
    if no_neg:
        raise ValueError(f"cue(s) without a negative training sentence: {', '.join(no_neg)}")
    no_dev = [c for j, c in enumerate(ids) if not Y_dev[:, j].any()]
    if no_dev:
        raise ValueError(f"no dev sentence carries cue(s) {', '.join(no_dev)}: give more data, "
                         "a larger dev_fraction, or a dev file")


def _cue_metrics(heads: CueHeads, emb_dv: np.ndarray, dv_texts: list[str], Y_dev: np.ndarray,
                 Y_tr: np.ndarray, ids: list[str], seed: int, n_data_train: int
                 ) -> dict[str, Any]:
    """Return the metrics dict of ``heads`` (without the timing): dev macro/micro and
    per-cue F1 at their thresholds with bootstrap intervals, the thresholds, the sizes of
    both parts and the training positives per cue."""
    pred = heads.predict_proba(emb_dv, dv_texts) >= heads.thresholds[None, :]
    m = multilabel_metrics(Y_dev, pred, ids, n_boot=1000, seed=seed)
    return {
        "dev_macro_f1": m["macro_f1"].to_dict(), "dev_micro_f1": m["micro_f1"].to_dict(),
        "per_cue_f1": {c: v["f1"].to_dict() for c, v in m["per_label"].items()},
        "thresholds": dict(zip(ids, map(float, heads.thresholds))),
        "train_n": int(len(Y_tr)), "train_from_data": int(n_data_train),
        "dev_n": int(len(Y_dev)),
        "train_positives": {c: int(Y_tr[:, j].sum()) for j, c in enumerate(ids)},
    }


def train_cue_heads(
    catalogue: str | os.PathLike | Catalogue | None,
    data: Any,
    args: CueTrainingArgs | None = None,
    *,
    encoder: "Encoder | None" = None,
    dev: Any = None,
    **options: Any,
) -> CueTrainingResult:
    """Fit calibrated heads for every cue of ``catalogue`` on labelled sentences.

    How it trains is ``args`` (:class:`CueTrainingArgs`), with any of its fields given as
    keywords overriding it; an unknown keyword raises :class:`TypeError`.

    ``data`` (and ``dev``): JSONL / CSV / Parquet / DataFrame / ``datasets.Dataset`` with
    a text column and a cue column holding a list (or ``;``-separated string) of the
    catalogue's cue ids each sentence carries (empty for none). Without ``dev`` a seeded
    ``dev_fraction`` of ``data`` is held out. With ``use_exemplars`` the catalogue's
    exemplars (positives) and counter-exemplars (negatives) join the training part.
    Heads read the encoder's pooled sentence embedding; the dev part calibrates them
    (Platt) and sets each cue's F1-maximising threshold.

    Raises :class:`ValueError` naming a label that is not a cue of the catalogue, or a
    cue with fewer than :data:`MIN_POSITIVES` training positives or no dev positive;
    :class:`~framing.errors.ColumnError` for missing columns.
    """
    a = replace(args or CueTrainingArgs(), **options)
    t0 = time.perf_counter()
    cat = load_catalogue(catalogue)
    ids = cat.ids
    tr_texts, Y_tr, dv_texts, Y_dev = _split_parts(data, dev, cat, a)
    n_data_train = len(tr_texts)
    if a.use_exemplars:
        tr_texts, Y_tr = _add_exemplars(cat, tr_texts, Y_tr)
    _check_cue_support(ids, Y_tr, Y_dev)
    encoder = encoder or Encoder()
    emb_tr = encoder.encode(tr_texts)
    emb_dv = encoder.encode(dv_texts)
    heads = fit_cue_heads(emb_tr, Y_tr, emb_dv, Y_dev, ids, C=a.C, seed=a.seed,
                          name=a.name or f"cues-{cat.name}")
    if a.lexical:
        lexical = fit_lexical(tr_texts, Y_tr, C=a.lexical_C, seed=a.seed)
        heads = with_lexical(heads, lexical, emb_dv, dv_texts, Y_dev)
    heads.catalogue_sha256 = cat.sha256
    heads.encoder = encoder_fingerprint(encoder)
    metrics = _cue_metrics(heads, emb_dv, dv_texts, Y_dev, Y_tr, ids, a.seed, n_data_train)
    metrics["seconds"] = time.perf_counter() - t0
    config = {"C": a.C, "seed": a.seed,
              "dev_fraction": None if dev is not None else a.dev_fraction,
              "use_exemplars": a.use_exemplars, "text": a.text, "label": a.label,
              "lexical": a.lexical, "lexical_C": a.lexical_C if a.lexical else None}
    return CueTrainingResult(heads, cat, metrics, config)


def _card(result: CueTrainingResult) -> str:
    m, cat = result.metrics, result.catalogue
    f1 = m["dev_macro_f1"]
    rows = "\n".join(f"| `{c}` | {m['train_positives'][c]} | {v['value']:.3f} | "
                     f"{m['thresholds'][c]:.2f} |" for c, v in m["per_cue_f1"].items())
    lex = result.heads.lexical
    words = "" if lex is None else (
        f" The heads also read the sentence's words: per cue a logistic model on TF-IDF "
        f"weighted word n-grams ({len(lex.vocabulary):,} n-grams from the training part), "
        f"whose logit adds to the head's before calibration (`lexical.json`, "
        f"`lexical.safetensors`).")
    return f"""# {result.heads.name}: trained cue heads for catalogue `{cat.name}`

One logistic head per cue on the encoder's pooled sentence embedding
({(result.heads.encoder or {}).get('name', 'encoder')}), Platt-calibrated on a dev part,
with an F1-maximising threshold per cue; the catalogue's phrase patterns still add
evidence.{words} Trained with `framing train cues` (framing's `train_cue_heads`).

## Data
{m['train_n']} training sentences ({m['train_from_data']} from the labelled data
{'plus the catalogue exemplars' if result.config.get('use_exemplars') else ''}), {m['dev_n']}
dev sentences.

## Dev metrics
macro-F1 {f1['value']:.3f} [{f1['low']:.3f}, {f1['high']:.3f}] (95% bootstrap),
micro-F1 {m['dev_micro_f1']['value']:.3f}.

| cue | training positives | dev F1 | threshold |
|---|---|---|---|
{rows}

The catalogue these heads were trained for is copied to `catalogue.yaml`.
"""
