"""Hugging Face classifiers as tone scorers.

Any ``AutoModelForSequenceClassification`` serves as a tone model through a *label
map*: a dict from the model's own label names (``config.id2label``) to the framing
labels :data:`~framing.heads.tone.scorers.LABELS` (``critical``, ``neutral``, ``promotional``).

- :class:`HFToneClassifier` — a sentiment / stance classifier. Common label names are
  mapped without help (``negative``/``neg``/``critical`` -> critical, ``neutral``/``neu``
  -> neutral, ``positive``/``pos``/``promotional`` -> promotional, case-insensitive);
  anything else needs ``label_map``. Several model labels may map to one framing label
  (their probabilities add); a framing label nothing maps to gets probability 0.
- :class:`NLIZeroShotTone` — zero-shot tone from a natural-language-inference model:
  each sentence is the premise for three hypotheses (one per framing label), and the
  softmax over the three entailment logits gives the class probabilities.

Both follow the :class:`~framing.heads.tone.scorers.ToneScorer` protocol (``uses_embeddings`` is
False: they run their own model, not the shared sentence embeddings) and offer
``sentence_probabilities``, so the analyzer reports article class probabilities too.

Models load like the encoder: a local directory, or a hub id only with
``allow_network=True``; weights only from safetensors; never ``trust_remote_code``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from framing.encoding.encoder import check_local_dir, resolve_model
from framing.errors import ModelLoadError
from framing.core.labels import TONE_LABELS as LABELS

__all__ = [
    "HFToneClassifier",
    "NLIZeroShotTone",
    "load_hf_tone",
    "DEFAULT_LABEL_ALIASES",
    "DEFAULT_HYPOTHESES",
]

#: Model label names (lower case) understood without a ``label_map``.
DEFAULT_LABEL_ALIASES: dict[str, str] = {
    "negative": "critical",
    "neg": "critical",
    "critical": "critical",
    "neutral": "neutral",
    "neu": "neutral",
    "positive": "promotional",
    "pos": "promotional",
    "promotional": "promotional",
}

#: Hypotheses :class:`NLIZeroShotTone` tests each sentence against, written for this
#: project, one per framing label.
DEFAULT_HYPOTHESES: dict[str, str] = {
    "critical": "This text criticises or accuses its subject.",
    "neutral": "This text reports plainly without taking a side.",
    "promotional": "This text praises or promotes its subject.",
}


def _model_labels(config) -> list[str]:
    """The model's label names in logit order."""
    id2label = getattr(config, "id2label", None) or {}
    n = int(getattr(config, "num_labels", len(id2label)) or len(id2label))
    return [str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(n)]


class _HFSequenceModel:
    """Shared loading and batched inference for the two scorers (not public)."""

    uses_embeddings = False
    label_by_argmax = True  # a classifier's label is its likeliest class
    _prefix = "hf"

    def __init__(
        self,
        model: str | os.PathLike,
        *,
        allow_network: bool = False,
        batch_size: int = 32,
        max_length: int = 256,
        neutral_band: float = 0.1,
        device: str = "cpu",
    ) -> None:
        if model is None:
            raise ValueError("model must name a classifier directory (or a hub id with "
                             "allow_network=True); framing bundles no tone classifier")
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        if int(max_length) < 8:
            raise ValueError(f"max_length must be at least 8 tokens, not {max_length}")
        import torch  # noqa: F401  (loaded here so text-only users never import torch)
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        from transformers.utils import logging as hf_logging

        self.location = resolve_model(model, allow_network=allow_network)
        local = Path(self.location).is_dir()
        if local:
            check_local_dir(Path(self.location))
        self.model_name = str(model)
        self.name = f"{self._prefix}:{Path(self.location).name if local else self.location}"
        self.batch_size = int(batch_size)
        self.neutral_band = float(neutral_band)
        self.device = device
        kwargs = {"local_files_only": not allow_network or local, "trust_remote_code": False}
        bar_was_on = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.location, **kwargs)
            self.model, info = AutoModelForSequenceClassification.from_pretrained(
                self.location, use_safetensors=True, output_loading_info=True, **kwargs)
        except Exception as exc:
            raise ModelLoadError(
                f"Could not load a sequence classifier from {self.location}: {exc}") from exc
        finally:
            if bar_was_on:
                hf_logging.enable_progress_bar()
        # transformers fills absent tensors (e.g. the classifier head of a plain encoder)
        # with random values and only warns; a random head would score silently wrong
        missing = sorted(info.get("missing_keys", ()) or ())
        mismatched = [str(m) for m in (info.get("mismatched_keys", ()) or ())]
        if missing or mismatched:
            bad = list(missing) + mismatched
            raise ModelLoadError(
                f"Incomplete or mismatched weights in {self.location}: {len(bad)} tensor(s) "
                f"missing or of the wrong shape (e.g. {', '.join(bad[:3])}). Is this a "
                "sequence-classification model, with its classification head saved?")
        self.model.eval().to(device)
        self.labels = _model_labels(self.model.config)
        if len(self.labels) < 2:
            raise ModelLoadError(
                f"{self.location} has {len(self.labels)} output label(s); a tone model needs "
                "a classifier with at least two labels (regression heads are not supported).")
        limit = int(getattr(self.model.config, "max_position_embeddings", 0) or 0) or 10**9
        tok_limit = int(getattr(self.tokenizer, "model_max_length", 0) or 0)
        if not 0 < tok_limit < 10**6:
            tok_limit = 10**9
        self.max_length = min(int(max_length), limit, tok_limit)
        self.multi_label = getattr(self.model.config, "problem_type", None) == \
            "multi_label_classification"

    # -- inference -------------------------------------------------------------------
    def _logits(self, first: Sequence[str], second: Sequence[str] | None = None) -> np.ndarray:
        """Logits ``(n, num_labels)`` for texts (or text pairs), in input order.

        Inputs are tokenised once, sorted by length, and run in batches of
        ``batch_size`` with dynamic padding under :func:`torch.inference_mode`.
        """
        import torch

        n = len(first)
        if n == 0:
            return np.zeros((0, len(self.labels)), dtype=np.float64)
        if second is None:
            enc = self.tokenizer(list(first), truncation=True, max_length=self.max_length)
        else:
            enc = self.tokenizer(list(first), list(second), truncation="longest_first",
                                 max_length=self.max_length)
        keys = [k for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc]
        ids = enc["input_ids"]
        order = sorted(range(n), key=lambda i: len(ids[i]), reverse=True)
        pad_id = self.tokenizer.pad_token_id
        if pad_id is None:
            pad_id = getattr(self.model.config, "pad_token_id", None)
        if pad_id is None:
            pad_id = 0
        pad_values = {"input_ids": pad_id, "attention_mask": 0,
                      "token_type_ids": getattr(self.tokenizer, "pad_token_type_id", 0) or 0}
        left = getattr(self.tokenizer, "padding_side", "right") == "left"
        out = np.empty((n, len(self.labels)), dtype=np.float64)
        with torch.inference_mode():
            for b in range(0, n, self.batch_size):
                idx = order[b:b + self.batch_size]
                width = len(ids[idx[0]])
                batch = {}
                for key in keys:
                    t = torch.full((len(idx), width), pad_values[key], dtype=torch.long)
                    for r, i in enumerate(idx):
                        row = enc[key][i]
                        if left:
                            t[r, width - len(row):] = torch.tensor(row, dtype=torch.long)
                        else:
                            t[r, :len(row)] = torch.tensor(row, dtype=torch.long)
                    batch[key] = t.to(self.device)
                if "attention_mask" not in batch:
                    mask = torch.zeros((len(idx), width), dtype=torch.long)
                    for r, i in enumerate(idx):
                        if left:
                            mask[r, width - len(ids[i]):] = 1
                        else:
                            mask[r, :len(ids[i])] = 1
                    batch["attention_mask"] = mask.to(self.device)
                logits = self.model(**batch).logits
                out[idx] = logits.float().cpu().numpy()
        return out

    @staticmethod
    def _distinct(sentences: Sequence[str]) -> tuple[list[str], np.ndarray]:
        unique: dict[str, int] = {}
        inverse = np.fromiter((unique.setdefault(s, len(unique)) for s in sentences),
                              dtype=np.int64, count=len(sentences))
        return list(unique), inverse

    def sentence_probabilities(self, sentences: Sequence[str],
                               embeddings: np.ndarray | None = None) -> np.ndarray:
        """``(n, 3)`` class probabilities in :data:`~framing.heads.tone.scorers.LABELS` order
        (critical, neutral, promotional), one row per sentence in input order.
        ``embeddings`` is ignored (accepted for the protocol)."""
        raise NotImplementedError  # pragma: no cover

    def sentence_tone(self, sentences: Sequence[str],
                      embeddings: np.ndarray | None = None) -> np.ndarray:
        """One tone value in ``[-1, 1]`` per sentence: ``p(promotional) - p(critical)``."""
        p = self.sentence_probabilities(sentences, embeddings)
        return np.clip(p[:, 2] - p[:, 0], -1.0, 1.0)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"


class HFToneClassifier(_HFSequenceModel):
    """A Hugging Face sequence classifier used as a tone scorer through a label map.

    Parameters
    ----------
    model:
        A local ``AutoModelForSequenceClassification`` directory with safetensors
        weights, or a hub id (only with ``allow_network=True``).
    label_map:
        Model label name -> framing label (``critical``, ``neutral`` or
        ``promotional``). Entries override the built-in inference of common names
        (:data:`DEFAULT_LABEL_ALIASES`); names match the model's ``id2label``
        exactly, else case-insensitively. Every model label must end up mapped.
    allow_network:
        Allow fetching a hub id from the Hugging Face Hub.
    batch_size:
        Sentences per forward pass.
    max_length:
        Token window per sentence (capped by the model's position limit).
    neutral_band:
        Half-width around 0 of the tone labelled neutral.
    device:
        Torch device to run on.

    Raises
    ------
    ModelNotFoundError
        ``model`` is neither a local directory nor (with ``allow_network``) a hub id.
    ModelLoadError
        The directory is not a loadable classifier (no config, pickle-only weights,
        missing classification head), or its labels are not common names and no
        ``label_map`` was given (the message lists the model's labels).
    ValueError
        ``label_map`` names a framing label that does not exist or a model label the
        model lacks, or leaves a model label unmapped.
    """

    _prefix = "hf"

    def __init__(
        self,
        model: str | os.PathLike,
        *,
        label_map: Mapping[str, str] | None = None,
        allow_network: bool = False,
        batch_size: int = 32,
        max_length: int = 256,
        neutral_band: float = 0.1,
        device: str = "cpu",
    ) -> None:
        super().__init__(model, allow_network=allow_network, batch_size=batch_size,
                         max_length=max_length, neutral_band=neutral_band, device=device)
        self.label_map = self._resolve_label_map(label_map)
        matrix = np.zeros((len(self.labels), len(LABELS)), dtype=np.float64)
        for i, lab in enumerate(self.labels):
            matrix[i, LABELS.index(self.label_map[lab])] = 1.0
        self._matrix = matrix

    def _resolve_label_map(self, label_map: Mapping[str, str] | None) -> dict[str, str]:
        labels = self.labels
        shown = ", ".join(repr(lab) for lab in labels)
        mapping: dict[str, str] = {}
        for lab in labels:
            framing_label = DEFAULT_LABEL_ALIASES.get(lab.strip().lower())
            if framing_label is not None:
                mapping[lab] = framing_label
        if label_map is None:
            unknown = [lab for lab in labels if lab not in mapping]
            if unknown:
                raise ModelLoadError(
                    f"Cannot tell which tone the labels of {self.location} stand for "
                    f"(model labels: {shown}). Pass label_map, e.g. "
                    f"label_map={{{labels[0]!r}: 'critical', ...}}, mapping every model label "
                    f"to one of {', '.join(LABELS)}.")
            return mapping
        if not isinstance(label_map, Mapping):
            raise TypeError("label_map must be a dict of model label -> framing label")
        lower = {}
        for lab in labels:
            lower.setdefault(lab.lower(), lab)
        for key, value in label_map.items():
            target = str(value).strip().lower() if value is not None else None
            if target not in LABELS:
                raise ValueError(
                    f"label_map maps {key!r} to {value!r}, which is not a framing label; "
                    f"use one of: {', '.join(LABELS)}.")
            if str(key) in labels:
                model_label = str(key)
            elif str(key).lower() in lower:
                model_label = lower[str(key).lower()]
            else:
                raise ValueError(
                    f"label_map names {key!r}, which {self.location} does not have "
                    f"(model labels: {shown}).")
            mapping[model_label] = target
        unmapped = [lab for lab in labels if lab not in mapping]
        if unmapped:
            raise ValueError(
                f"label_map leaves model label(s) {', '.join(map(repr, unmapped))} unmapped "
                f"(model labels: {shown}); map every one to one of {', '.join(LABELS)}.")
        return mapping

    def sentence_probabilities(self, sentences: Sequence[str],
                               embeddings: np.ndarray | None = None) -> np.ndarray:
        """Return ``(n, 3)`` float64 probabilities in :data:`~framing.heads.tone.scorers.LABELS`
        order, rows in input order, each summing to 1. The model's label
        probabilities are summed into the framing label each maps to; a framing label
        nothing maps to is 0. ``embeddings`` is ignored. Empty input gives ``(0, 3)``."""
        sentences = list(sentences)
        if not sentences:
            return np.zeros((0, len(LABELS)), dtype=np.float64)
        distinct, inverse = self._distinct(sentences)
        logits = self._logits(distinct)
        if self.multi_label:
            p = 1.0 / (1.0 + np.exp(-logits))
            p = p / np.clip(p.sum(axis=1, keepdims=True), 1e-12, None)
        else:
            logits = logits - logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p = p / p.sum(axis=1, keepdims=True)
        return (p @ self._matrix)[inverse]


class NLIZeroShotTone(_HFSequenceModel):
    """Zero-shot tone from a natural-language-inference (NLI) classifier.

    Each sentence is the premise for one hypothesis per framing label
    (:data:`DEFAULT_HYPOTHESES`, or ``hypotheses``); the entailment logits of the
    three pairs, soft-maxed across the three, are the class probabilities.

    Parameters are those of :class:`HFToneClassifier`, without ``label_map``, plus
    ``hypotheses``: framing label -> hypothesis text, overriding the defaults.
    ``batch_size`` counts sentence-hypothesis pairs per forward pass.

    Raises
    ------
    ModelNotFoundError, ModelLoadError
        As :class:`HFToneClassifier`; also :class:`ModelLoadError` when the model has
        no entailment label (it is not an NLI model; the message lists its labels).
    ValueError
        ``hypotheses`` names something that is not a framing label, or an empty text.
    """

    _prefix = "nli"

    def __init__(
        self,
        model: str | os.PathLike,
        *,
        hypotheses: Mapping[str, str] | None = None,
        allow_network: bool = False,
        batch_size: int = 32,
        max_length: int = 256,
        neutral_band: float = 0.1,
        device: str = "cpu",
    ) -> None:
        hyp = dict(DEFAULT_HYPOTHESES)
        for key, text in (hypotheses or {}).items():
            if key not in LABELS:
                raise ValueError(f"hypotheses names {key!r}, which is not a framing label; "
                                 f"use one of: {', '.join(LABELS)}.")
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"the hypothesis for {key!r} must be a non-empty string")
            hyp[key] = text.strip()
        self.hypotheses = hyp
        super().__init__(model, allow_network=allow_network, batch_size=batch_size,
                         max_length=max_length, neutral_band=neutral_band, device=device)
        found = [i for i, lab in enumerate(self.labels)
                 if lab.strip().lower().startswith("entail")]
        if not found:
            raise ModelLoadError(
                f"{self.location} is not an NLI model: it has no entailment label (model "
                f"labels: {', '.join(map(repr, self.labels))}). NLIZeroShotTone needs a "
                "model whose id2label contains 'entailment'.")
        self.entailment_index = found[0]

    def sentence_probabilities(self, sentences: Sequence[str],
                               embeddings: np.ndarray | None = None) -> np.ndarray:
        """Return ``(n, 3)`` float64 probabilities in :data:`~framing.heads.tone.scorers.LABELS`
        order, rows in input order, each summing to 1: the softmax over the entailment
        logits of the sentence paired with each label's hypothesis. ``embeddings`` is
        ignored. Empty input gives ``(0, 3)``."""
        sentences = list(sentences)
        if not sentences:
            return np.zeros((0, len(LABELS)), dtype=np.float64)
        distinct, inverse = self._distinct(sentences)
        k = len(LABELS)
        premises = [s for s in distinct for _ in range(k)]
        hyps = [self.hypotheses[lab] for _ in distinct for lab in LABELS]
        ent = self._logits(premises, hyps)[:, self.entailment_index].reshape(len(distinct), k)
        ent = ent - ent.max(axis=1, keepdims=True)
        p = np.exp(ent)
        p = p / p.sum(axis=1, keepdims=True)
        return p[inverse]


def load_hf_tone(
    model: str | os.PathLike,
    *,
    label_map: Mapping[str, str] | None = None,
    nli: bool = False,
    allow_network: bool = False,
    **kw,
) -> HFToneClassifier | NLIZeroShotTone:
    """Build a tone scorer from a Hugging Face classifier.

    Returns an :class:`NLIZeroShotTone` when ``nli`` is true, else an
    :class:`HFToneClassifier` (with ``label_map``). Other keywords (``batch_size``,
    ``max_length``, ``neutral_band``, ``device``, and ``hypotheses`` for NLI) pass on.

    Raises what those constructors raise, and :class:`ValueError` when ``label_map``
    is given together with ``nli=True`` (an NLI model's labels are not tones).
    """
    if nli:
        if label_map is not None:
            raise ValueError("label_map does not apply to an NLI model (nli=True); its "
                             "hypotheses, not its labels, stand for the tones")
        return NLIZeroShotTone(model, allow_network=allow_network, **kw)
    return HFToneClassifier(model, label_map=label_map, allow_network=allow_network, **kw)
