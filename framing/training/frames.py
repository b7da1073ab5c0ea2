"""Training data for the narrative-frame heads: the narrative-frames corpus reader and the
one-pass encoding of articles into sentence rows (cached by content)."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from framing.encoding.fingerprints import encoder_fingerprint
from framing.heads.frames.heads import FRAME_IDS
from framing.text.prepare import prepare

if TYPE_CHECKING:  # pragma: no cover
    from framing.encoding.encoder import Encoder

__all__ = ["NARRATIVE_FRAME_COLUMNS", "FrameArticle", "read_narrative_frames", "encode_articles"]

#: the corpus's frame columns and the frame ids they hold
NARRATIVE_FRAME_COLUMNS = {"CO": "conflict", "EC": "economic", "HI": "human_interest",
                           "MO": "morality", "RE": "resolution"}


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
