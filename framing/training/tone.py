"""Training tone models: data loading, the two designs, calibration, and saving.

``train_tone(train, dev, encoder, design=...)`` fits a model and returns a
:class:`TrainingResult`; ``result.save(path)`` writes the artefact directory that
``framing.Analyzer(tone=path)`` loads. The CLI is ``framing train tone``.

Knowledge distillation: ``train_tone(..., soft=SoftTargets(...))`` also fits the branch to a
teacher's outputs (its tone logits and cue probabilities) on unlabelled sentences; see
:func:`train_tone` for the loss.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from framing.core.labels import TONE_LABELS as LABELS
from framing.core.samples import parse_offset
from framing.core.tables import read_table
from framing.encoding.encoder import resolve_device
from framing.encoding.fingerprints import encoder_fingerprint
from framing.errors import ColumnError
from framing.stats.metrics import classification_metrics, expected_calibration_error
from framing.text.prepare import PreparedText, normalise
from framing.heads.calibration import fit_temperature
from framing.heads.tone.model import (
    FrozenToneHead,
    ToneModelConfig,
    TrainedTone,
    branch_classes,
    save_tone_model,
    target_token_mask,
)

if TYPE_CHECKING:  # pragma: no cover
    from framing.encoding.encoder import Encoder

__all__ = [
    "ToneExample",
    "load_tone_examples",
    "newsmtsc_examples",
    "split_examples",
    "train_tone",
    "SoftTargets",
    "new_branch",
    "copy_top_layers",
    "ToneTrainingArgs",
    "TrainingResult",
]

_DEFAULT_LABEL_MAP = {
    "critical": "critical", "negative": "critical", "neg": "critical", "-1": "critical",
    "neutral": "neutral", "neu": "neutral", "0": "neutral",
    "promotional": "promotional", "positive": "promotional", "pos": "promotional",
    "1": "promotional", "+1": "promotional",
}


@dataclass(frozen=True)
class ToneExample:
    """One training example: a text, its label index into LABELS, an optional target span.

    ``group`` ties examples from the same sentence together, so splits keep them apart.
    """

    text: str
    label: int
    span: tuple[int, int] | None = None
    group: str = ""


def _label_index(value: Any, label_map: Mapping[str, str]) -> int:
    key = str(value).strip()
    name = label_map.get(key, label_map.get(key.lower()))
    if name not in LABELS:
        raise ValueError(f"unknown tone label {value!r}; map it with label_map (known: "
                         f"{sorted(set(label_map))})")
    return LABELS.index(name)


def load_tone_examples(
    path: str | os.PathLike, *, text: str = "text", label: str = "label",
    target: str | None = "target", target_start: str = "target_start",
    target_end: str = "target_end", label_map: Mapping[str, str] | None = None,
    format: str | None = None,
) -> list[ToneExample]:
    """Read labelled tone data (JSONL / CSV / Parquet): text, label, optional target.

    A target is located by ``target_start``/``target_end`` when those columns exist,
    else by the first occurrence of the ``target`` string in the text. Raises
    :class:`~framing.errors.ColumnError` for missing columns and :class:`ValueError`
    naming the row for unknown labels or a target not found in its text.
    """
    df, where = read_table(path, format, what="Training data")
    missing = [c for c in (text, label) if c not in df.columns]
    if missing:
        raise ColumnError(f"{where}: column(s) {missing} not found; present: {list(df.columns)}")
    lmap = {**_DEFAULT_LABEL_MAP, **{str(k): v for k, v in (label_map or {}).items()}}
    has_offsets = target_start in df.columns and target_end in df.columns
    out = []
    for i, row in enumerate(df.to_dict("records")):
        t = row[text]
        if not isinstance(t, str) or not t.strip():
            raise ValueError(f"{where}: row {i + 1} has no text")
        try:
            y = _label_index(row[label], lmap)
        except ValueError as exc:
            raise ValueError(f"{where}: row {i + 1}: {exc}") from None
        span = None
        tgt = row.get(target) if target else None
        a, b = (parse_offset(row.get(target_start)), parse_offset(row.get(target_end))) if has_offsets \
            else (None, None)
        if a is not None or b is not None:
            if a is None or b is None or not 0 <= a < b <= len(t):
                raise ValueError(f"{where}: row {i + 1}: target offsets ({row.get(target_start)!r}, "
                                 f"{row.get(target_end)!r}) do not lie inside the text")
            span = (a, b)
        elif isinstance(tgt, str) and tgt.strip():
            m = re.search(r"(?<!\w)" + re.escape(tgt.strip()) + r"(?!\w)", t) or \
                re.search(r"(?<!\w)" + re.escape(tgt.strip()) + r"(?!\w)", t, re.IGNORECASE)
            if m is None:
                raise ValueError(f"{where}: row {i + 1}: target {tgt!r} does not occur in the text")
            span = (m.start(), m.end())
        out.append(ToneExample(t, y, span, group=str(i)))
    return out


def newsmtsc_examples(path: str | os.PathLike, *, sentence_level: bool = True) -> list[ToneExample]:
    """NewsMTSC (Hamborg & Donnay 2021) JSONL: one example per target mention
    (polarity 2/4/6 -> critical/neutral/promotional), plus, with ``sentence_level``, one
    whole-sentence example for each sentence whose targets all share one polarity."""
    polarity = {2.0: 0, 4.0: 1, 6.0: 2}
    out: list[ToneExample] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            text = row["sentence_normalized"]
            gid = str(row.get("primary_gid", len(out)))
            labels = []
            for t in row["targets"]:
                y = polarity[float(t["polarity"])]
                labels.append(y)
                out.append(ToneExample(text, y, (int(t["from"]), int(t["to"])), gid))
            if sentence_level and labels and len(set(labels)) == 1:
                out.append(ToneExample(text, labels[0], None, gid))
    return out


def split_examples(examples: Sequence[ToneExample], dev_fraction: float = 0.15,
                   seed: int = 13) -> tuple[list[ToneExample], list[ToneExample]]:
    """Split by sentence group with a fixed seed: no sentence is in both parts."""
    groups = sorted({e.group for e in examples})
    rng = np.random.default_rng(seed)
    rng.shuffle(groups)
    dev_groups = set(groups[: int(round(dev_fraction * len(groups)))])
    train = [e for e in examples if e.group not in dev_groups]
    dev = [e for e in examples if e.group in dev_groups]
    return train, dev


# -- encoder states -----------------------------------------------------------------
class StateCollector:
    """A tap that keeps each text's token states (float16) and offsets."""

    def __init__(self, layer: int) -> None:
        self.layer = layer
        self.states: dict[int, tuple[np.ndarray, list]] = {}

    def consume(self, hidden, mask, offsets, positions) -> None:
        for r, poss in enumerate(positions):
            n = int(mask[r].sum())
            state = (hidden[r, :n].half().cpu().numpy(), list(offsets[r][:n]))
            for pos in poss:
                self.states[pos] = state


def _clean_examples(examples: Sequence[ToneExample]) -> tuple[list[str], list]:
    """Normalise texts as the analyzer does and move target spans into clean coordinates."""
    return _clean_texts([e.text for e in examples], [e.span for e in examples])


def _clean_texts(raw: Sequence[str], raw_spans: Sequence) -> tuple[list[str], list]:
    """Return ``(texts, spans)``: each text normalised as the analyzer does, its span (or
    None) moved into the clean text's coordinates (None where nothing of it is left)."""
    texts, spans = [], []
    for text, raw_span in zip(raw, raw_spans):
        clean, starts, ends, _ = normalise(text, html=False)
        span = None
        if raw_span is not None:  # the same mapping the analyzer applies to offset targets
            a, b = PreparedText(text, clean, starts, ends).to_clean(*raw_span)
            span = (a, b) if b > a else None
        texts.append(clean)
        spans.append(span)
    return texts, spans


def _states(encoder: "Encoder", texts: list[str], layer: int, batch_size: int = 64,
            stop: bool = False):
    """Each text's token states after ``layer`` (float16) with their offsets; ``stop``
    ends the encoder pass at that layer (the same states, without the layers above)."""
    tap = StateCollector(layer)
    distinct = list(dict.fromkeys(texts))
    encoder.encode(distinct, batch_size, taps=[tap], stop_layer=layer if stop else None)
    by_text = {t: tap.states[i] for i, t in enumerate(distinct)}
    return [by_text[t] for t in texts]


def padded_batch(states, spans, rows, device: Any = None):
    """Token states of ``rows`` padded to one width: ``(states, mask, target mask)`` tensors,
    on ``device`` when one is given (else on the CPU)."""
    torch = __import__("torch")
    width = max(states[i][0].shape[0] for i in rows)
    dim = states[rows[0]][0].shape[1]
    h = np.zeros((len(rows), width, dim), dtype=np.float32)
    m = np.zeros((len(rows), width), dtype=bool)
    t = np.zeros((len(rows), width), dtype=np.float32)
    for j, i in enumerate(rows):
        arr, offs = states[i]
        n = arr.shape[0]
        h[j, :n] = arr
        m[j, :n] = True
        t[j, :n] = target_token_mask(offs, spans[i], n)
    out = (torch.from_numpy(h), torch.from_numpy(m), torch.from_numpy(t))
    return out if device is None else tuple(x.to(device) for x in out)


def module_device(module) -> Any:
    """The torch device of ``module``'s parameters."""
    return next(module.parameters()).device


# -- training -----------------------------------------------------------------------
@dataclass
class TrainingResult:
    """A trained model, its config, dev metrics and timings; :meth:`save` writes it."""

    model: TrainedTone
    config: dict[str, Any]
    metrics: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)

    def save(self, path: str | os.PathLike, card: str | None = None) -> Path:
        return save_tone_model(path, self.model.module, self.config,
                               card or default_card(self.config, self.metrics))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@dataclass
class SoftTargets:
    """A teacher's outputs on sentences, the soft targets of distillation
    (``train_tone(..., soft=...)``).

    ``texts`` are sentences (normalised here as training examples are); ``spans`` gives per
    text the character span of the target the teacher's tone refers to (in ``texts``'
    coordinates), or None for the whole sentence. ``tone_logits`` ``(n, 3)`` are the
    teacher's raw logits over :data:`~framing.core.labels.TONE_LABELS` (before any
    temperature); ``cue_probs`` ``(n, k)`` its calibrated probabilities of the ``k`` cues
    for the whole sentence (the columns in the order of the gold ``cue_labels``), or None.
    A row of NaN in ``cue_probs`` means no cue target for that row. ``teacher`` names the
    teacher (e.g. model name and weights digest) for the saved config.

    Raises :class:`ValueError` when the arrays do not match the texts in length or shape,
    or hold values they cannot (non-finite logits, probabilities outside [0, 1]).
    """

    texts: Sequence[str]
    spans: Sequence[tuple[int, int] | None]
    tone_logits: np.ndarray
    cue_probs: np.ndarray | None = None
    teacher: str | None = None

    def __post_init__(self) -> None:
        self.texts = list(self.texts)
        self.spans = [None if sp is None else (int(sp[0]), int(sp[1])) for sp in self.spans]
        n = len(self.texts)
        if not n:
            raise ValueError("soft targets need at least one text")
        if len(self.spans) != n:
            raise ValueError(f"soft targets: {len(self.spans)} spans for {n} texts")
        logits = np.asarray(self.tone_logits, dtype=np.float32)
        if logits.shape != (n, len(LABELS)) or not np.isfinite(logits).all():
            raise ValueError(f"soft targets: tone_logits must be a finite ({n}, {len(LABELS)}) "
                             f"array, not shape {logits.shape}")
        self.tone_logits = logits
        if self.cue_probs is not None:
            probs = np.asarray(self.cue_probs, dtype=np.float32)
            if probs.ndim != 2 or probs.shape[0] != n or not probs.shape[1]:
                raise ValueError(f"soft targets: cue_probs must be an ({n}, k) array, not "
                                 f"shape {probs.shape}")
            given = probs[~np.isnan(probs)]
            if given.size and (given.min() < 0.0 or given.max() > 1.0):
                raise ValueError("soft targets: cue_probs must lie in [0, 1] (NaN: no target)")
            self.cue_probs = probs

    def __len__(self) -> int:
        return len(self.texts)

    def head(self, n: int) -> "SoftTargets":
        """The first ``n`` rows (all of them when ``n`` is not smaller)."""
        return SoftTargets(self.texts[:n], self.spans[:n], self.tone_logits[:n],
                           None if self.cue_probs is None else self.cue_probs[:n], self.teacher)


@dataclass
class ToneTrainingArgs:
    """How :func:`train_tone` trains (every field is also a keyword of that function)."""

    #: ``"branch"`` (fine-tuned copies of the top layers) or ``"frozen"`` (a head on the
    #: last layer's states)
    design: str = "branch"
    n_layers: int = 2
    epochs: int = 4
    lr: float = 5e-5
    head_lr: float = 1e-3
    batch_size: int = 32
    #: inverse regularisation of the frozen design's logistic head
    C: float = 1.0
    seed: int = 13
    name: str = "tone"
    progress: bool = True
    cue_weight: float = 1.0
    cue_batch_size: int = 16
    #: distillation (with ``soft=``): the softmax temperature tau of the tone KD term
    kd_temperature: float = 2.0
    #: distillation: alpha, the weight of the KD terms; the gold losses get ``1 - alpha``
    kd_weight: float = 0.5
    #: distillation: soft rows per step
    soft_batch_size: int = 32
    #: the torch device to train on: "cpu", "cuda", "cuda:N", "mps", or "auto" (a CUDA GPU
    #: when torch sees one); the encoder states are cached on the CPU either way and the
    #: trained model comes back on the CPU
    device: str = "cpu"
    #: distillation: soft rows per epoch. None: an epoch is one pass over all the soft rows.
    #: N: an epoch trains on N of them (1 <= N <= the number of soft rows, else
    #: :class:`ValueError`), a different window of one seeded permutation each epoch (see
    #: :func:`train_tone`), so that long soft sets fit into short epochs
    soft_per_epoch: int | None = None


@dataclass
class _EncodedParts:
    """The train and dev parts as encoder states, clean-text target spans and labels."""

    tr_states: list
    tr_spans: list
    y_tr: np.ndarray
    dv_states: list
    dv_spans: list
    y_dv: np.ndarray
    seconds: float


@dataclass
class _CueTask:
    """The multi-task side of a branch run: cue sentences, their 0/1 labels, a temporary
    linear head with its class-balanced BCE loss, and the queue of sentences still to draw."""

    n_texts: int
    states: list
    y: np.ndarray
    head: Any
    loss_fn: Any
    queue: list[int] = field(default_factory=list)

    def next_rows(self, rng: np.random.Generator, size: int) -> list[int]:
        """Return the next ``size`` cue rows, refilling the queue with a fresh permutation
        from ``rng`` when fewer than ``size`` are left."""
        if len(self.queue) < size:
            self.queue.extend(rng.permutation(len(self.y)).tolist())
        rows = self.queue[:size]
        del self.queue[:size]
        return rows

    def loss(self, module, rows: list[int], hidden_size: int):
        """Return the BCE loss tensor of the temporary head on ``rows``' pooled branch states."""
        import torch

        dev = module_device(module)
        h, m, t = padded_batch(self.states, [None] * len(self.states), rows, dev)
        sent = module.features(h, m, t)[:, :hidden_size]
        return self.loss_fn(self.head(module.dropout(sent)),
                            torch.from_numpy(self.y[rows]).to(dev))


@dataclass
class _SoftTask:
    """The distillation side of a branch run: the soft rows as encoder states with their
    clean-text spans and lengths, the teacher's tone logits and cue probabilities, and
    which rows carry a cue target (a whole-sentence row with its probabilities given)."""

    states: list
    spans: list
    lengths: np.ndarray
    logits: np.ndarray
    probs: np.ndarray | None
    cue_rows: np.ndarray
    teacher: str | None

    def losses(self, module, rows: list[int], a: ToneTrainingArgs, cue: "_CueTask | None",
               hidden_size: int):
        """Return ``(tone KD, cue KD or None)`` loss tensors on the soft rows ``rows``.

        Tone: ``tau^2 * KL(softmax(teacher / tau) || softmax(student / tau))``, averaged
        over the rows. Cue (with a cue task and cue probabilities): binary cross-entropy of
        the cue task's head on the rows' pooled branch sentence states against the
        teacher's probabilities, over the rows that carry a cue target."""
        import torch
        import torch.nn.functional as F

        dev = module_device(module)
        h, m, t = padded_batch(self.states, self.spans, rows, dev)
        feats = module.features(h, m, t)
        tau = float(a.kd_temperature)
        student = module.head(module.dropout(feats)) / tau
        teacher = torch.from_numpy(self.logits[rows]).to(dev) / tau
        kd_tone = F.kl_div(F.log_softmax(student, dim=-1), F.log_softmax(teacher, dim=-1),
                           reduction="batchmean", log_target=True) * tau ** 2
        if cue is None or self.probs is None:
            return kd_tone, None
        sel = np.flatnonzero(self.cue_rows[rows])
        if not len(sel):
            return kd_tone, None
        logits = cue.head(module.dropout(feats[torch.from_numpy(sel).to(dev), :hidden_size]))
        target = torch.from_numpy(self.probs[np.asarray(rows)[sel]]).to(dev)
        return kd_tone, F.binary_cross_entropy_with_logits(logits, target)


@dataclass
class _BatchCycle:
    """Gold batches drawn in turn (length-sorted, shuffled as :func:`_epoch_batches` makes
    them), a fresh pass drawn from the rng whenever the last one is used up."""

    lengths: np.ndarray
    batch_size: int
    queue: list[list[int]] = field(default_factory=list)

    def next_rows(self, rng: np.random.Generator) -> list[int]:
        """Return the next batch of row indices."""
        if not self.queue:
            self.queue = [b.tolist() for b in _epoch_batches(self.lengths, self.batch_size, rng)]
        return self.queue.pop(0)


def _pack(value: Any, tensors: dict[str, Any]) -> Any:
    """``value`` as JSON-able data, its tensors moved into ``tensors`` (for safetensors)
    and replaced by references; dict keys and tuples keep their types."""
    import torch

    if isinstance(value, torch.Tensor):
        name = f"t{len(tensors)}"
        tensors[name] = value.detach().cpu().contiguous()
        return {"__tensor__": name}
    if isinstance(value, dict):
        return {"__dict__": [[_pack(k, tensors), _pack(v, tensors)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        items = [_pack(v, tensors) for v in value]
        return {"__tuple__": items} if isinstance(value, tuple) else items
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def _unpack(value: Any, tensors: dict[str, Any]) -> Any:
    """The inverse of :func:`_pack`."""
    if isinstance(value, list):
        return [_unpack(v, tensors) for v in value]
    if isinstance(value, dict):
        if "__tensor__" in value:
            return tensors[value["__tensor__"]]
        if "__tuple__" in value:
            return tuple(_unpack(v, tensors) for v in value["__tuple__"])
        return {_unpack(k, tensors): _unpack(v, tensors) for k, v in value["__dict__"]}
    return value


class _Checkpoint:
    """Per-epoch training state in ``directory``: branch, cue head, optimiser, schedule,
    random states, batch queues and history, so a killed run resumes after its last
    finished epoch and ends as an uninterrupted run would.

    ``signature`` (the settings and a digest of the data) must match to resume. Tensors go
    to ``state.safetensors`` and everything else (plain numbers, lists, the structure of the
    optimiser state) to ``state.json``: no pickle is written or read.
    """

    TENSORS, PLAIN = "state.safetensors", "state.json"

    def __init__(self, directory: str | os.PathLike, signature: dict[str, Any],
                 resume: bool) -> None:
        self.dir = Path(directory)
        self.path = self.dir / self.PLAIN  # the file whose presence marks a checkpoint
        self.signature = json.dumps(signature, sort_keys=True)
        self.resume = resume

    def load(self, module, cue, opt, sched, rng, gold: _BatchCycle | None
             ) -> tuple[int, list[dict[str, float]]]:
        """Return ``(finished epochs, history)`` after restoring the saved state into the
        given objects; ``(0, [])`` when not resuming or nothing is saved. Raises
        :class:`ValueError` for a checkpoint written with other settings or data."""
        import torch
        from safetensors.torch import load_file

        if not self.resume or not self.path.is_file():
            return 0, []
        plain = json.loads(self.path.read_text(encoding="utf-8"))
        if plain.get("signature") != self.signature:
            raise ValueError(f"{self.path} was written by a run with other settings or data; "
                             "remove it or train without resume")
        state = _unpack(plain["state"], load_file(str(self.dir / self.TENSORS)))
        module.load_state_dict(state["module"])
        if cue is not None:
            cue.head.load_state_dict(state["cue_head"])
            cue.queue = list(state["cue_queue"])
        opt.load_state_dict(state["optimiser"])
        sched.load_state_dict(state["schedule"])
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        if gold is not None:
            gold.queue = [list(b) for b in state["gold_queue"]]
        return int(state["epoch"]), list(state["history"])

    def save(self, epoch: int, module, cue, opt, sched, rng, gold: _BatchCycle | None,
             history: list[dict[str, float]]) -> None:
        """Write the state after ``epoch`` finished epochs (each file atomically: tmp, then
        rename; the JSON last, so a checkpoint is never half written)."""
        import torch
        from safetensors.torch import save_file

        self.dir.mkdir(parents=True, exist_ok=True)
        state = {
            "epoch": epoch, "module": module.state_dict(),
            "cue_head": cue.head.state_dict() if cue is not None else None,
            "cue_queue": [int(i) for i in cue.queue] if cue is not None else [],
            "optimiser": opt.state_dict(), "schedule": sched.state_dict(),
            "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
            "gold_queue": [[int(i) for i in b] for b in gold.queue] if gold is not None else [],
            "history": history,
        }
        tensors: dict[str, Any] = {}
        plain = {"signature": self.signature, "state": _pack(state, tensors)}
        tmp = self.dir / (self.TENSORS + ".tmp")
        save_file(tensors, str(tmp))
        tmp.replace(self.dir / self.TENSORS)
        tmp = self.dir / (self.PLAIN + ".tmp")
        tmp.write_text(json.dumps(plain), encoding="utf-8")
        tmp.replace(self.path)


def _run_signature(a: ToneTrainingArgs, train: Sequence[ToneExample],
                   soft: SoftTargets | None, cue_texts, cue_labels) -> dict[str, Any]:
    """The settings and a digest of the data that a checkpoint must match to be resumed."""
    h = hashlib.sha256()
    for e in train:
        h.update(f"{e.text}\x00{e.label}\x00{e.span}\x01".encode())
    if soft is not None:
        for t, sp in zip(soft.texts, soft.spans):
            h.update(f"{t}\x00{sp}\x01".encode())
        h.update(soft.tone_logits.tobytes())
        if soft.cue_probs is not None:
            h.update(soft.cue_probs.tobytes())
    if cue_texts is not None:
        h.update("\x01".join(cue_texts).encode())
        h.update(np.asarray(cue_labels, dtype=np.float32).tobytes())
    # soft_per_epoch left unset is left out, so checkpoints written before it existed resume;
    # the device is left out, so a run killed on one device resumes on another
    args = {k: v for k, v in vars(a).items() if k not in ("progress", "name", "device")
            and not (k == "soft_per_epoch" and v is None)}
    return {"args": args, "data": h.hexdigest()}


def _check_tone_args(a: ToneTrainingArgs, train: Sequence[ToneExample],
                     dev: Sequence[ToneExample], soft: SoftTargets | None = None) -> None:
    """Return nothing; raise :class:`ValueError` for an unknown design, an empty part or
    distillation settings that cannot work."""
    if a.design not in ("frozen", "branch"):
        raise ValueError("design must be 'frozen' or 'branch'")
    resolve_device(a.device)  # a device torch cannot use here: refused before any work
    if not train or not dev:
        raise ValueError("training and dev examples must both be non-empty")
    if soft is None:
        if a.soft_per_epoch is not None:
            raise ValueError("soft_per_epoch needs soft targets (soft=)")
        return
    if a.design != "branch":
        raise ValueError("distillation (soft=) needs design='branch'")
    if not isinstance(soft, SoftTargets):
        raise TypeError("soft must be a SoftTargets")
    if not (a.kd_temperature > 0 and np.isfinite(a.kd_temperature)):
        raise ValueError("kd_temperature must be a positive number")
    if not 0.0 <= a.kd_weight <= 1.0:
        raise ValueError("kd_weight must lie in [0, 1]")
    if int(a.soft_batch_size) < 1:
        raise ValueError("soft_batch_size must be at least 1")
    _check_soft_per_epoch(a.soft_per_epoch, len(soft))


def _check_soft_per_epoch(per_epoch: int | None, n: int) -> None:
    """Return nothing; raise :class:`ValueError` unless ``per_epoch`` is None or a whole
    number from 1 to ``n`` (the soft rows there are): larger is refused, not capped, so that
    the saved config never claims more rows an epoch than were trained on."""
    if per_epoch is None:
        return
    if isinstance(per_epoch, bool) or not isinstance(per_epoch, (int, np.integer)):
        raise ValueError(f"soft_per_epoch must be a whole number or None, not {per_epoch!r}")
    if not 1 <= per_epoch <= n:
        raise ValueError(f"soft_per_epoch must lie between 1 and the {n} soft rows, "
                         f"not {per_epoch}")


def new_branch(encoder: "Encoder", a: ToneTrainingArgs):
    """Return ``(BertStyleLayer, module, layer, n_branch)``: a freshly initialised branch
    module for the design, the encoder layer it reads and how many layers it copies."""
    total_layers = encoder.n_layers
    n_branch = 0 if a.design == "frozen" else int(a.n_layers)
    if a.design == "branch" and not 1 <= n_branch < total_layers:
        raise ValueError(f"n_layers must be between 1 and {total_layers - 1}")
    cfg = encoder.model.config
    BertStyleLayer, ToneBranch = branch_classes()
    module = ToneBranch(cfg.hidden_size, cfg.num_attention_heads, cfg.intermediate_size,
                        n_branch, getattr(cfg, "layer_norm_eps", 1e-12),
                        rel_buckets=_relative_buckets_of(encoder) if n_branch else 0)
    return BertStyleLayer, module, total_layers - n_branch, n_branch


def _relative_buckets_of(encoder: "Encoder") -> int:
    """Relative-position buckets the encoder's layers use (MPNet), 0 for none (BERT)."""
    rel = getattr(getattr(encoder.model, "encoder", None), "relative_attention_bias", None)
    return int(rel.num_embeddings) if rel is not None else 0


def _encode_parts(encoder: "Encoder", train: Sequence[ToneExample],
                  dev: Sequence[ToneExample], layer: int) -> _EncodedParts:
    """Return both parts cleaned and encoded up to ``layer``, with the seconds it took."""
    t0 = time.perf_counter()
    tr_texts, tr_spans = _clean_examples(train)
    dv_texts, dv_spans = _clean_examples(dev)
    tr_states = _states(encoder, tr_texts, layer)
    dv_states = _states(encoder, dv_texts, layer)
    seconds = time.perf_counter() - t0
    return _EncodedParts(tr_states, tr_spans, np.array([e.label for e in train]),
                         dv_states, dv_spans, np.array([e.label for e in dev]), seconds)


def _new_soft_task(encoder: "Encoder", soft: SoftTargets, layer: int,
                   cue: _CueTask | None) -> _SoftTask:
    """Return the :class:`_SoftTask` of ``soft``: its texts cleaned and encoded up to
    ``layer`` as the gold examples are; raise :class:`ValueError` when its cue
    probabilities do not have one column per cue of the cue task."""
    if cue is not None and soft.cue_probs is not None \
            and soft.cue_probs.shape[1] != cue.y.shape[1]:
        raise ValueError(f"soft cue_probs have {soft.cue_probs.shape[1]} columns; the cue "
                         f"labels have {cue.y.shape[1]}")
    texts, spans = _clean_texts(soft.texts, soft.spans)
    states = _states(encoder, texts, layer, stop=True)
    lengths = np.array([s[0].shape[0] for s in states])
    # a cue target is a whole-sentence row: the teacher's cue probabilities describe the
    # sentence without a target, as the branch's untargeted sentence states do
    cue_rows = np.array([sp is None for sp in soft.spans], dtype=bool)
    if soft.cue_probs is not None:
        cue_rows &= ~np.isnan(soft.cue_probs).any(axis=1)
    else:
        cue_rows[:] = False
    return _SoftTask(states, spans, lengths, soft.tone_logits, soft.cue_probs, cue_rows,
                     soft.teacher)


def _new_cue_task(encoder: "Encoder", cue_texts: Sequence[str], cue_labels, layer: int,
                  hidden_size: int) -> _CueTask:
    """Return the :class:`_CueTask` for ``cue_texts``; raise :class:`ValueError` when
    ``cue_labels`` is not an ``(n_cue_texts, k)`` matrix."""
    import torch

    cue_y = np.asarray(cue_labels, dtype=np.float32)
    if cue_y.ndim != 2 or cue_y.shape[0] != len(cue_texts) or not len(cue_texts):
        raise ValueError("cue_labels must be an (n_cue_texts, k) 0/1 matrix")
    states = _states(encoder, [normalise(t, html=False)[0] for t in cue_texts], layer)
    head = torch.nn.Linear(hidden_size, cue_y.shape[1])
    pos = cue_y.sum(0)
    pos_weight = np.clip((len(cue_y) - pos) / np.maximum(pos, 1), 1.0, 10.0).astype(np.float32)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.from_numpy(pos_weight))
    return _CueTask(len(cue_texts), states, cue_y, head, loss_fn)


def _dev_logits(module, parts: _EncodedParts) -> np.ndarray:
    """Return the module's dev logits ``(n_dev, 3)``, in eval mode, 128 rows at a time."""
    import torch

    module.eval()
    n = len(parts.dv_states)
    dev = module_device(module)
    outs = []
    with torch.inference_mode():
        for b in range(0, n, 128):
            h, m, t = padded_batch(parts.dv_states, parts.dv_spans,
                                   list(range(b, min(b + 128, n))), dev)
            outs.append(module(h, m, t).float().cpu().numpy())
    return np.concatenate(outs)


def _fit_frozen_head(module, parts: _EncodedParts, C: float) -> None:
    """Return nothing; fit :class:`FrozenToneHead` on the training features and copy its
    weights into ``module.head``."""
    import torch

    states, spans = parts.tr_states, parts.tr_spans
    dev = module_device(module)
    feats = []
    with torch.inference_mode():
        for b in range(0, len(states), 256):
            h, m, t = padded_batch(states, spans, list(range(b, min(b + 256, len(states)))), dev)
            feats.append(module.features(h, m, t).cpu().numpy())
    head = FrozenToneHead(C=C).fit(np.concatenate(feats), parts.y_tr)
    state = head.to_branch_state()
    with torch.no_grad():
        module.head.weight.copy_(torch.from_numpy(state["head.weight"]).to(dev))
        module.head.bias.copy_(torch.from_numpy(state["head.bias"]).to(dev))


def copy_top_layers(module, BertStyleLayer, encoder: "Encoder", layer: int) -> None:
    """Return nothing; load the encoder's layers from ``layer`` up into the branch, or raise
    :class:`ValueError` for an encoder that is not BERT-family."""
    import torch

    if not hasattr(getattr(encoder.model, "encoder", None), "layer"):
        raise ValueError("design='branch' needs a BERT-family or MPNet encoder; "
                         "use design='frozen'")
    cfg = encoder.model.config
    with torch.no_grad():
        for j, src in enumerate(encoder.model.encoder.layer[layer:]):
            module.layers[j].load_state_dict(BertStyleLayer.from_bert_layer(src, cfg).state_dict())
        if module.rel_bias is not None:  # the encoder's relative-position table, copied
            module.rel_bias.weight.copy_(encoder.model.encoder.relative_attention_bias.weight)
            module.rel_bias.weight.requires_grad_(False)  # kept as the encoder learnt it


def _branch_optimiser(module, a: ToneTrainingArgs, cue: _CueTask | None, steps_per_epoch: int):
    """Return ``(optimiser, scheduler)``: AdamW with ``lr`` for the layers and ``head_lr``
    for marker, head (and cue head), under a linear one-cycle schedule over all
    ``epochs * steps_per_epoch`` steps."""
    import torch

    groups = [
        {"params": module.layers.parameters(), "lr": a.lr},
        {"params": [module.marker, *module.head.parameters()], "lr": a.head_lr},
    ]
    if cue is not None:
        groups.append({"params": cue.head.parameters(), "lr": a.head_lr})
    opt = torch.optim.AdamW(groups, weight_decay=0.01)
    steps = a.epochs * int(steps_per_epoch)
    # torch's one-cycle schedule divides by zero when the warm-up ends on step 1 exactly
    # (10 steps at pct_start 0.1): warm up a little longer there
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=[g["lr"] for g in groups], total_steps=steps,
        pct_start=0.1 if steps != 10 else 0.15, anneal_strategy="linear")
    return opt, sched


def _epoch_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list:
    """Return one epoch's batches of training rows: sorted by jittered length (so a batch
    holds similar lengths) and then shuffled as whole batches."""
    order = np.argsort(lengths + rng.uniform(0, 8, len(lengths)))
    batches = [order[b:b + batch_size] for b in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


# the stream of the soft-row permutation, apart from the training rng (whose draws
# reproduce runs without soft_per_epoch)
_SOFT_SUBSET_STREAM = 0x50F7


def soft_epoch_rows(n: int, per_epoch: int | None, seed: int, epoch: int) -> np.ndarray | None:
    """Return the soft rows (indices) that epoch ``epoch`` (from 0) trains on, or None for
    all ``n`` of them (``per_epoch`` None).

    One permutation of the rows is drawn from ``seed`` (on a stream of its own, so the
    training rng is untouched) and epoch ``e`` takes its ``per_epoch`` positions from
    ``e * per_epoch`` on, wrapping around at the end. No row comes twice in an epoch,
    consecutive epochs take the following rows, ``ceil(n / per_epoch)`` epochs together
    see every row, and an epoch's rows depend on the seed and the epoch alone: a resumed
    run trains on the rows an uninterrupted run would."""
    if per_epoch is None:
        return None
    perm = np.random.default_rng([int(seed), _SOFT_SUBSET_STREAM]).permutation(n)
    start = (epoch * int(per_epoch)) % n
    return np.take(perm, np.arange(start, start + int(per_epoch)), mode="wrap")


def _train_branch(module, parts: _EncodedParts, a: ToneTrainingArgs, rng: np.random.Generator,
                  cue: _CueTask | None, hidden_size: int, soft: _SoftTask | None = None,
                  checkpoint: _Checkpoint | None = None) -> list[dict[str, float]]:
    """Return the per-epoch history (train loss, dev macro-F1) of fine-tuning the branch
    with class-weighted cross-entropy, plus the weighted cue loss when ``cue`` is given and
    the distillation terms when ``soft`` is (see :func:`train_tone`). With ``checkpoint``
    the state is saved after every epoch and, when resuming, training goes on after the
    last saved epoch."""
    import torch

    n_train = len(parts.tr_states)
    counts = np.bincount(parts.y_tr, minlength=3).astype(float)
    dev = module_device(module)
    weights = torch.tensor(counts.sum() / (3 * np.maximum(counts, 1)), dtype=torch.float32)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights.to(dev))
    if soft is not None:  # the soft rows an epoch goes through set its steps
        batch_rows = a.soft_per_epoch or soft.lengths.shape[0]
    else:
        batch_rows = n_train
    batch_size = a.soft_batch_size if soft is not None else a.batch_size
    opt, sched = _branch_optimiser(module, a, cue, int(np.ceil(batch_rows / batch_size)))
    lengths = np.array([parts.tr_states[i][0].shape[0] for i in range(n_train)])
    gold = _BatchCycle(lengths, a.batch_size) if soft is not None else None
    history: list[dict[str, float]] = []
    start = 0
    if checkpoint is not None:
        start, history = checkpoint.load(module, cue, opt, sched, rng, gold)
        if start and a.progress:
            print(f"resuming after epoch {start} from {checkpoint.path}", flush=True)

    def step(loss) -> None:
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
        opt.step()
        sched.step()

    for epoch in range(start, a.epochs):
        module.train()
        if soft is None:
            total = 0.0
            for rows in _epoch_batches(lengths, a.batch_size, rng):
                h, m, t = padded_batch(parts.tr_states, parts.tr_spans, list(rows), dev)
                loss = loss_fn(module(h, m, t), torch.from_numpy(parts.y_tr[rows]).to(dev))
                if cue is not None:
                    crows = cue.next_rows(rng, a.cue_batch_size)
                    loss = loss + a.cue_weight * cue.loss(module, crows, hidden_size)
                step(loss)
                total += float(loss.detach()) * len(rows)
            record = {"train_loss": total / n_train}
        else:
            subset = soft_epoch_rows(soft.lengths.shape[0], a.soft_per_epoch, a.seed, epoch)
            record = _distil_epoch(module, parts, a, rng, cue, hidden_size, soft, gold,
                                   loss_fn, step, subset)
        preds = _dev_logits(module, parts).argmax(1)
        f1 = classification_metrics(parts.y_dv, preds, LABELS, n_boot=1)["macro_f1"].value
        history.append({"epoch": epoch + 1, **record, "dev_macro_f1": f1})
        if a.progress:
            extra = "".join(f", {k} {v:.4f}" for k, v in record.items() if k != "train_loss")
            print(f"epoch {epoch + 1}/{a.epochs}: train loss {record['train_loss']:.4f}"
                  f"{extra}, dev macro-F1 {f1:.4f}", flush=True)
        if checkpoint is not None:
            checkpoint.save(epoch + 1, module, cue, opt, sched, rng, gold, history)
    return history


def _distil_epoch(module, parts: _EncodedParts, a: ToneTrainingArgs, rng: np.random.Generator,
                  cue: _CueTask | None, hidden_size: int, soft: _SoftTask, gold: _BatchCycle,
                  loss_fn, step, subset: np.ndarray | None = None) -> dict[str, float]:
    """Return the mean losses of one distillation epoch: one pass over the soft rows (all
    of them, or the rows ``subset`` holds) in length-sorted, shuffled batches; each step
    also takes the next gold batch (and cue batch) and minimises
    ``(1 - alpha) * gold + alpha * KD``."""
    import torch

    alpha = float(a.kd_weight)
    sums = {"train_loss": 0.0, "gold_loss": 0.0, "kd_tone_loss": 0.0, "kd_cue_loss": 0.0}
    n_steps = 0
    lengths = soft.lengths if subset is None else soft.lengths[subset]
    for batch in _epoch_batches(lengths, a.soft_batch_size, rng):
        srows = batch if subset is None else subset[batch]
        rows = gold.next_rows(rng)
        dev = module_device(module)
        h, m, t = padded_batch(parts.tr_states, parts.tr_spans, rows, dev)
        gold_loss = loss_fn(module(h, m, t), torch.from_numpy(parts.y_tr[rows]).to(dev))
        if cue is not None:
            crows = cue.next_rows(rng, a.cue_batch_size)
            gold_loss = gold_loss + a.cue_weight * cue.loss(module, crows, hidden_size)
        loss = (1.0 - alpha) * gold_loss
        if alpha > 0:  # alpha = 0: the soft rows only set the epoch's length
            kd_tone, kd_cue = soft.losses(module, srows.tolist(), a, cue, hidden_size)
            loss = loss + alpha * kd_tone
            sums["kd_tone_loss"] += float(kd_tone.detach())
            if kd_cue is not None:
                loss = loss + alpha * a.cue_weight * kd_cue
                sums["kd_cue_loss"] += float(kd_cue.detach())
        step(loss)
        sums["gold_loss"] += float(gold_loss.detach())
        sums["train_loss"] += float(loss.detach())
        n_steps += 1
    return {k: v / max(n_steps, 1) for k, v in sums.items()}


def _dev_metrics(logits: np.ndarray, y_dv: np.ndarray, temperature: float, seed: int,
                 n_train: int) -> dict[str, Any]:
    """Return the dev metrics dict (F1 with bootstrap intervals, accuracy, confusion, ECE
    before and after ``temperature``); the caller adds the timings."""
    p_before, p_after = _softmax(logits), _softmax(logits / temperature)
    onehot = np.eye(3)[y_dv]
    dev_metrics = classification_metrics(y_dv, logits.argmax(1), LABELS, n_boot=1000, seed=seed)
    return {
        "dev_n": len(y_dv), "train_n": n_train,
        "dev_macro_f1": dev_metrics["macro_f1"].to_dict(),
        "dev_accuracy": dev_metrics["accuracy"].to_dict(),
        "dev_per_class_f1": {k: v["f1"].to_dict() for k, v in dev_metrics["per_class"].items()},
        "dev_confusion": dev_metrics["confusion"],
        "ece_before": expected_calibration_error(onehot.ravel(), p_before.ravel()),
        "ece_after": expected_calibration_error(onehot.ravel(), p_after.ravel()),
        "ece_top_before": expected_calibration_error(
            (p_before.argmax(1) == y_dv).astype(float), p_before.max(1)),
        "ece_top_after": expected_calibration_error(
            (p_after.argmax(1) == y_dv).astype(float), p_after.max(1)),
        "temperature": temperature,
    }


def _tone_config(a: ToneTrainingArgs, encoder: "Encoder", layer: int, n_branch: int,
                 temperature: float, cue: _CueTask | None, metrics: dict[str, Any],
                 soft: _SoftTask | None = None) -> dict[str, Any]:
    """Return the model's ``config.json`` dict: architecture, calibration, encoder
    fingerprint, the multi-task settings, the training settings and the dev summary, and
    (only when distilled) the distillation settings."""
    cfg = encoder.model.config
    config = {
        "name": a.name, "design": a.design, "labels": list(LABELS), "layer": layer,
        "n_layers": n_branch, "hidden": cfg.hidden_size, "heads": cfg.num_attention_heads,
        "intermediate": cfg.intermediate_size, "eps": getattr(cfg, "layer_norm_eps", 1e-12),
        "temperature": temperature, "neutral_band": 0.1,
        "rel_buckets": _relative_buckets_of(encoder) if n_branch else 0,
        "encoder": encoder_fingerprint(encoder),
        "multitask_cues": {"sentences": cue.n_texts, "cues": int(cue.y.shape[1]),
                           "weight": a.cue_weight, "batch_size": a.cue_batch_size}
        if cue is not None else None,
        "training": {"epochs": a.epochs if a.design == "branch" else None, "lr": a.lr,
                     "head_lr": a.head_lr, "batch_size": a.batch_size, "C": a.C,
                     "seed": a.seed, "train_n": metrics["train_n"], "dev_n": metrics["dev_n"],
                     "device": a.device},
        "dev_metrics": {"macro_f1": metrics["dev_macro_f1"], "ece_before": metrics["ece_before"],
                        "ece_after": metrics["ece_after"]},
    }
    if soft is not None:
        config["distillation"] = {
            "rows": int(soft.lengths.shape[0]),
            "cue_rows": int(soft.cue_rows.sum()) if cue is not None else 0,
            "temperature": a.kd_temperature, "weight": a.kd_weight,
            "batch_size": a.soft_batch_size, "soft_per_epoch": a.soft_per_epoch,
            "teacher": soft.teacher}
    return config


def train_tone(
    train: Sequence[ToneExample],
    dev: Sequence[ToneExample],
    encoder: "Encoder",
    args: ToneTrainingArgs | None = None,
    *,
    cue_texts: Sequence[str] | None = None,
    cue_labels: np.ndarray | None = None,
    soft: SoftTargets | None = None,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = False,
    **options: Any,
) -> TrainingResult:
    """Train a tone model on ``train``, calibrate and measure it on ``dev``.

    How it trains is ``args`` (:class:`ToneTrainingArgs`), with any of its fields given
    as keywords overriding it (``train_tone(tr, dv, enc, epochs=2)``); an unknown keyword
    raises :class:`TypeError`.

    ``design="frozen"``: :class:`FrozenToneHead` on the last layer's states.
    ``design="branch"``: copies of the encoder's top ``n_layers`` layers plus a target
    marker and head, fine-tuned with class-weighted cross-entropy for ``epochs`` epochs
    (AdamW; ``lr`` for the layers, ``head_lr`` for marker and head).
    The temperature is fitted on ``dev`` (it does not change which class wins).

    Multi-task (branch design): with ``cue_texts`` and a 0/1 ``cue_labels`` matrix
    ``(n, k)``, every step also takes ``cue_batch_size`` cue sentences through the same
    branch and adds ``cue_weight`` times a class-balanced multi-label BCE loss of a
    temporary linear head on the pooled sentence states. The cue head is not saved:
    :func:`framing.heads.cues.heads.fit_cue_heads` fits calibrated heads on the trained branch's
    sentence features afterwards (see ``features="tone-branch"``).

    Distillation (branch design): with ``soft`` (:class:`SoftTargets`, a teacher's outputs
    on other sentences) an epoch is one pass over the soft rows in batches of
    ``soft_batch_size`` (length-sorted, shuffled), or, with ``soft_per_epoch = N``, one pass
    over N of them: a permutation of the soft rows is drawn once from ``seed`` and epoch
    ``e`` (from 0) takes its positions ``e * N`` to ``(e + 1) * N``, wrapping around at the
    end, so consecutive epochs see different rows and ``epochs * N >= len(soft)`` sees them
    all (4 epochs of 30,000 of 116,000 rows: each row about once). Each step minimises

        ``(1 - alpha) * gold + alpha * (tau^2 * KL(p_t || p_s) + cue_weight * BCE_cue)``

    with ``alpha = kd_weight`` and ``tau = kd_temperature``. ``gold`` is the loss above on
    the next gold batch (the gold rows are cycled through, a fresh shuffled pass each time
    they run out) plus the gold cue batch; ``p_t = softmax(teacher logits / tau)`` and
    ``p_s = softmax(student logits / tau)`` on the soft batch; ``BCE_cue`` (with a cue task
    and ``soft.cue_probs``) is the cue task's head on the soft batch's pooled branch
    sentence states against the teacher's cue probabilities, over its whole-sentence rows.
    The KL is taken at a temperature so that the teacher's small probabilities (how much
    *less* likely each wrong class is) still carry a signal, and it is multiplied by
    ``tau^2`` because the gradient of the softened term with respect to the student's
    logits scales as ``1 / tau^2`` (Hinton, Vinyals and Dean 2015, "Distilling the
    knowledge in a neural network"): the factor keeps the soft and hard terms in the same
    proportion whatever ``tau`` is. The learning-rate schedule spans ``epochs`` times the
    soft steps per epoch (``ceil(N / soft_batch_size)`` with ``soft_per_epoch``). The
    settings are recorded in the config (``"distillation"``, ``soft_per_epoch`` among them).

    ``checkpoint`` (a directory): the training state is saved there after every epoch;
    with ``resume=True`` a run finds the saved state and goes on after its last finished
    epoch, ending with the model an uninterrupted run gives (an epoch's soft rows under
    ``soft_per_epoch`` depend on the seed and the epoch only, so they are the same too). A
    checkpoint written with other settings or data raises :class:`ValueError`.
    """
    import torch

    a = replace(args or ToneTrainingArgs(), **options)
    _check_tone_args(a, train, dev, soft)
    device = resolve_device(a.device)
    a = replace(a, device=device)  # "auto" resolved, as the config records it
    # the draw order from here on (torch seed, rng, branch init, cue head init, batches,
    # dropout) is what reproduces the shipped models: keep it
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    BertStyleLayer, module, layer, n_branch = new_branch(encoder, a)
    hidden = encoder.model.config.hidden_size
    parts = _encode_parts(encoder, train, dev, layer)
    cue = None
    if cue_texts is not None and a.design == "branch":
        cue = _new_cue_task(encoder, cue_texts, cue_labels, layer, hidden)
    soft_task = _new_soft_task(encoder, soft, layer, cue) if soft is not None else None
    ckpt = None
    if checkpoint is not None and a.design == "branch":
        ckpt = _Checkpoint(checkpoint, _run_signature(a, train, soft, cue_texts, cue_labels),
                           resume)

    t1 = time.perf_counter()
    history: list[dict[str, float]] = []
    if a.design == "frozen":
        module.to(device)
        _fit_frozen_head(module, parts, a.C)
    else:
        copy_top_layers(module, BertStyleLayer, encoder, layer)
        module.to(device)
        if cue is not None:
            cue.head.to(device)
            cue.loss_fn.to(device)
        history = _train_branch(module, parts, a, rng, cue, hidden, soft_task, ckpt)
    t_train = time.perf_counter() - t1

    logits = _dev_logits(module, parts)
    module.cpu()  # the model is saved, quantised and served from the CPU
    temperature = fit_temperature(logits, parts.y_dv)
    metrics = _dev_metrics(logits, parts.y_dv, temperature, a.seed, len(train))
    metrics.update({"seconds_encoder_states": parts.seconds, "seconds_training": t_train})
    config = _tone_config(a, encoder, layer, n_branch, temperature, cue, metrics, soft_task)
    cfg = encoder.model.config
    model = TrainedTone(module.eval(), ToneModelConfig(
        layer, n_branch, cfg.hidden_size, cfg.num_attention_heads, cfg.intermediate_size,
        config["eps"], temperature, a.name, config["encoder"],
        rel_buckets=config["rel_buckets"]))
    return TrainingResult(model, config, metrics, history)


def default_card(config: dict[str, Any], metrics: dict[str, Any]) -> str:
    """A short model card for a user-trained model (the shipped one has a fuller card)."""
    f1 = metrics["dev_macro_f1"]
    return (
        f"# {config['name']}\n\nA framing tone model ({config['design']} design) trained with "
        f"`framing train tone`.\n\n- Encoder: {config['encoder'].get('name')}; reads layer "
        f"{config['layer']}, {config['n_layers']} branch layer(s).\n- Training rows: "
        f"{metrics['train_n']}; dev rows: {metrics['dev_n']} (seed {config['training']['seed']}).\n"
        f"- Dev macro-F1: {f1['value']:.3f} [{f1['low']:.3f}, {f1['high']:.3f}] (95% bootstrap).\n"
        f"- Temperature {config['temperature']:.3f}; ECE (one-vs-rest) "
        f"{metrics['ece_before']:.3f} before, {metrics['ece_after']:.3f} after.\n"
        + _distillation_line(config.get("distillation")))


def _distillation_line(kd: dict[str, Any] | None) -> str:
    """The card's line on distillation ('' for a model trained on gold labels only)."""
    if not kd:
        return ""
    per_epoch = kd.get("soft_per_epoch")
    each = f"{per_epoch} of them an epoch, a different seeded subset each epoch; " \
        if per_epoch else ""
    return (f"- Distilled from {kd.get('teacher') or 'a teacher'} on {kd['rows']} soft rows "
            f"({each}KD temperature {kd['temperature']}, weight {kd['weight']}).\n")
