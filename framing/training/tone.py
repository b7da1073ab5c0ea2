"""Training tone models: data loading, the two designs, calibration, and saving.

``train_tone(train, dev, encoder, design=...)`` fits a model and returns a
:class:`TrainingResult`; ``result.save(path)`` writes the artefact directory that
``framing.Analyzer(tone=path)`` loads. The CLI is ``framing train tone``.
"""

from __future__ import annotations

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
    texts, spans = [], []
    for e in examples:
        clean, starts, ends, _ = normalise(e.text, html=False)
        span = None
        if e.span is not None:  # the same mapping the analyzer applies to offset targets
            a, b = PreparedText(e.text, clean, starts, ends).to_clean(*e.span)
            span = (a, b) if b > a else None
        texts.append(clean)
        spans.append(span)
    return texts, spans


def _states(encoder: "Encoder", texts: list[str], layer: int, batch_size: int = 64):
    tap = StateCollector(layer)
    distinct = list(dict.fromkeys(texts))
    encoder.encode(distinct, batch_size, taps=[tap])
    by_text = {t: tap.states[i] for i, t in enumerate(distinct)}
    return [by_text[t] for t in texts]


def padded_batch(states, spans, rows):
    """Token states of ``rows`` padded to one width: ``(states, mask, target mask)`` tensors."""
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
    return torch.from_numpy(h), torch.from_numpy(m), torch.from_numpy(t)


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

        h, m, t = padded_batch(self.states, [None] * len(self.states), rows)
        sent = module.features(h, m, t)[:, :hidden_size]
        return self.loss_fn(self.head(module.dropout(sent)), torch.from_numpy(self.y[rows]))


def _check_tone_args(a: ToneTrainingArgs, train: Sequence[ToneExample],
                     dev: Sequence[ToneExample]) -> None:
    """Return nothing; raise :class:`ValueError` for an unknown design or an empty part."""
    if a.design not in ("frozen", "branch"):
        raise ValueError("design must be 'frozen' or 'branch'")
    if not train or not dev:
        raise ValueError("training and dev examples must both be non-empty")


def _new_branch(encoder: "Encoder", a: ToneTrainingArgs):
    """Return ``(BertStyleLayer, module, layer, n_branch)``: a freshly initialised branch
    module for the design, the encoder layer it reads and how many layers it copies."""
    total_layers = encoder.n_layers
    n_branch = 0 if a.design == "frozen" else int(a.n_layers)
    if a.design == "branch" and not 1 <= n_branch < total_layers:
        raise ValueError(f"n_layers must be between 1 and {total_layers - 1}")
    cfg = encoder.model.config
    BertStyleLayer, ToneBranch = branch_classes()
    module = ToneBranch(cfg.hidden_size, cfg.num_attention_heads, cfg.intermediate_size,
                        n_branch, getattr(cfg, "layer_norm_eps", 1e-12))
    return BertStyleLayer, module, total_layers - n_branch, n_branch


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
    outs = []
    with torch.inference_mode():
        for b in range(0, n, 128):
            h, m, t = padded_batch(parts.dv_states, parts.dv_spans, list(range(b, min(b + 128, n))))
            outs.append(module(h, m, t).numpy())
    return np.concatenate(outs)


def _fit_frozen_head(module, parts: _EncodedParts, C: float) -> None:
    """Return nothing; fit :class:`FrozenToneHead` on the training features and copy its
    weights into ``module.head``."""
    import torch

    states, spans = parts.tr_states, parts.tr_spans
    feats = []
    with torch.inference_mode():
        for b in range(0, len(states), 256):
            h, m, t = padded_batch(states, spans, list(range(b, min(b + 256, len(states)))))
            feats.append(module.features(h, m, t).numpy())
    head = FrozenToneHead(C=C).fit(np.concatenate(feats), parts.y_tr)
    state = head.to_branch_state()
    with torch.no_grad():
        module.head.weight.copy_(torch.from_numpy(state["head.weight"]))
        module.head.bias.copy_(torch.from_numpy(state["head.bias"]))


def _copy_top_layers(module, BertStyleLayer, encoder: "Encoder", layer: int) -> None:
    """Return nothing; load the encoder's layers from ``layer`` up into the branch, or raise
    :class:`ValueError` for an encoder that is not BERT-family."""
    import torch

    if not hasattr(getattr(encoder.model, "encoder", None), "layer"):
        raise ValueError("design='branch' needs a BERT-family encoder; use design='frozen'")
    cfg = encoder.model.config
    with torch.no_grad():
        for j, src in enumerate(encoder.model.encoder.layer[layer:]):
            module.layers[j].load_state_dict(BertStyleLayer.from_bert_layer(src, cfg).state_dict())


def _branch_optimiser(module, a: ToneTrainingArgs, cue: _CueTask | None, n_train: int):
    """Return ``(optimiser, scheduler)``: AdamW with ``lr`` for the layers and ``head_lr``
    for marker, head (and cue head), under a linear one-cycle schedule over all steps."""
    import torch

    groups = [
        {"params": module.layers.parameters(), "lr": a.lr},
        {"params": [module.marker, *module.head.parameters()], "lr": a.head_lr},
    ]
    if cue is not None:
        groups.append({"params": cue.head.parameters(), "lr": a.head_lr})
    opt = torch.optim.AdamW(groups, weight_decay=0.01)
    steps = a.epochs * int(np.ceil(n_train / a.batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=[g["lr"] for g in groups], total_steps=steps, pct_start=0.1,
        anneal_strategy="linear")
    return opt, sched


def _epoch_batches(lengths: np.ndarray, batch_size: int, rng: np.random.Generator) -> list:
    """Return one epoch's batches of training rows: sorted by jittered length (so a batch
    holds similar lengths) and then shuffled as whole batches."""
    order = np.argsort(lengths + rng.uniform(0, 8, len(lengths)))
    batches = [order[b:b + batch_size] for b in range(0, len(order), batch_size)]
    rng.shuffle(batches)
    return batches


def _train_branch(module, parts: _EncodedParts, a: ToneTrainingArgs, rng: np.random.Generator,
                  cue: _CueTask | None, hidden_size: int) -> list[dict[str, float]]:
    """Return the per-epoch history (train loss, dev macro-F1) of fine-tuning the branch
    with class-weighted cross-entropy, plus the weighted cue loss when ``cue`` is given."""
    import torch

    n_train = len(parts.tr_states)
    counts = np.bincount(parts.y_tr, minlength=3).astype(float)
    weights = torch.tensor(counts.sum() / (3 * np.maximum(counts, 1)), dtype=torch.float32)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    opt, sched = _branch_optimiser(module, a, cue, n_train)
    lengths = np.array([parts.tr_states[i][0].shape[0] for i in range(n_train)])
    history: list[dict[str, float]] = []
    for epoch in range(a.epochs):
        module.train()
        total = 0.0
        for rows in _epoch_batches(lengths, a.batch_size, rng):
            h, m, t = padded_batch(parts.tr_states, parts.tr_spans, list(rows))
            loss = loss_fn(module(h, m, t), torch.from_numpy(parts.y_tr[rows]))
            if cue is not None:
                crows = cue.next_rows(rng, a.cue_batch_size)
                loss = loss + a.cue_weight * cue.loss(module, crows, hidden_size)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(rows)
        preds = _dev_logits(module, parts).argmax(1)
        f1 = classification_metrics(parts.y_dv, preds, LABELS, n_boot=1)["macro_f1"].value
        history.append({"epoch": epoch + 1, "train_loss": total / n_train, "dev_macro_f1": f1})
        if a.progress:
            print(f"epoch {epoch + 1}/{a.epochs}: train loss {total / n_train:.4f}, "
                  f"dev macro-F1 {f1:.4f}", flush=True)
    return history


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
                 temperature: float, cue: _CueTask | None, metrics: dict[str, Any]
                 ) -> dict[str, Any]:
    """Return the model's ``config.json`` dict: architecture, calibration, encoder
    fingerprint, the multi-task settings, the training settings and the dev summary."""
    cfg = encoder.model.config
    return {
        "name": a.name, "design": a.design, "labels": list(LABELS), "layer": layer,
        "n_layers": n_branch, "hidden": cfg.hidden_size, "heads": cfg.num_attention_heads,
        "intermediate": cfg.intermediate_size, "eps": getattr(cfg, "layer_norm_eps", 1e-12),
        "temperature": temperature, "neutral_band": 0.1,
        "encoder": encoder_fingerprint(encoder),
        "multitask_cues": {"sentences": cue.n_texts, "cues": int(cue.y.shape[1]),
                           "weight": a.cue_weight, "batch_size": a.cue_batch_size}
        if cue is not None else None,
        "training": {"epochs": a.epochs if a.design == "branch" else None, "lr": a.lr,
                     "head_lr": a.head_lr, "batch_size": a.batch_size, "C": a.C,
                     "seed": a.seed, "train_n": metrics["train_n"], "dev_n": metrics["dev_n"]},
        "dev_metrics": {"macro_f1": metrics["dev_macro_f1"], "ece_before": metrics["ece_before"],
                        "ece_after": metrics["ece_after"]},
    }


def train_tone(
    train: Sequence[ToneExample],
    dev: Sequence[ToneExample],
    encoder: "Encoder",
    args: ToneTrainingArgs | None = None,
    *,
    cue_texts: Sequence[str] | None = None,
    cue_labels: np.ndarray | None = None,
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
    """
    import torch

    a = replace(args or ToneTrainingArgs(), **options)
    _check_tone_args(a, train, dev)
    # the draw order from here on (torch seed, rng, branch init, cue head init, batches,
    # dropout) is what reproduces the shipped models: keep it
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    BertStyleLayer, module, layer, n_branch = _new_branch(encoder, a)
    hidden = encoder.model.config.hidden_size
    parts = _encode_parts(encoder, train, dev, layer)
    cue = None
    if cue_texts is not None and a.design == "branch":
        cue = _new_cue_task(encoder, cue_texts, cue_labels, layer, hidden)

    t1 = time.perf_counter()
    history: list[dict[str, float]] = []
    if a.design == "frozen":
        _fit_frozen_head(module, parts, a.C)
    else:
        _copy_top_layers(module, BertStyleLayer, encoder, layer)
        history = _train_branch(module, parts, a, rng, cue, hidden)
    t_train = time.perf_counter() - t1

    logits = _dev_logits(module, parts)
    temperature = fit_temperature(logits, parts.y_dv)
    metrics = _dev_metrics(logits, parts.y_dv, temperature, a.seed, len(train))
    metrics.update({"seconds_encoder_states": parts.seconds, "seconds_training": t_train})
    config = _tone_config(a, encoder, layer, n_branch, temperature, cue, metrics)
    cfg = encoder.model.config
    model = TrainedTone(module.eval(), ToneModelConfig(
        layer, n_branch, cfg.hidden_size, cfg.num_attention_heads, cfg.intermediate_size,
        config["eps"], temperature, a.name, config["encoder"]))
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
        f"{metrics['ece_before']:.3f} before, {metrics['ece_after']:.3f} after.\n")
