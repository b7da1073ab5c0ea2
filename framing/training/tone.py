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
    design, n_layers, epochs, lr, head_lr = a.design, a.n_layers, a.epochs, a.lr, a.head_lr
    batch_size, C, seed, name, progress = a.batch_size, a.C, a.seed, a.name, a.progress
    cue_weight, cue_batch_size = a.cue_weight, a.cue_batch_size
    if design not in ("frozen", "branch"):
        raise ValueError("design must be 'frozen' or 'branch'")
    if not train or not dev:
        raise ValueError("training and dev examples must both be non-empty")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    total_layers = encoder.n_layers
    n_branch = 0 if design == "frozen" else int(n_layers)
    if design == "branch" and not 1 <= n_branch < total_layers:
        raise ValueError(f"n_layers must be between 1 and {total_layers - 1}")
    layer = total_layers - n_branch
    cfg = encoder.model.config
    BertStyleLayer, ToneBranch = branch_classes()
    module = ToneBranch(cfg.hidden_size, cfg.num_attention_heads, cfg.intermediate_size,
                        n_branch, getattr(cfg, "layer_norm_eps", 1e-12))

    t0 = time.perf_counter()
    tr_texts, tr_spans = _clean_examples(train)
    dv_texts, dv_spans = _clean_examples(dev)
    tr_states = _states(encoder, tr_texts, layer)
    dv_states = _states(encoder, dv_texts, layer)
    t_states = time.perf_counter() - t0
    y_tr = np.array([e.label for e in train])
    y_dv = np.array([e.label for e in dev])
    history: list[dict[str, float]] = []
    multitask = cue_texts is not None and design == "branch"
    if multitask:
        cue_y = np.asarray(cue_labels, dtype=np.float32)
        if cue_y.ndim != 2 or cue_y.shape[0] != len(cue_texts) or not len(cue_texts):
            raise ValueError("cue_labels must be an (n_cue_texts, k) 0/1 matrix")
        cue_states = _states(encoder, [normalise(t, html=False)[0] for t in cue_texts], layer)
        cue_head = torch.nn.Linear(cfg.hidden_size, cue_y.shape[1])
        pos = cue_y.sum(0)
        cue_loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=torch.from_numpy(
            np.clip((len(cue_y) - pos) / np.maximum(pos, 1), 1.0, 10.0).astype(np.float32)))
        cue_order: list[int] = []

    def dev_logits() -> np.ndarray:
        module.eval()
        outs = []
        with torch.inference_mode():
            for b in range(0, len(dev), 128):
                rows = list(range(b, min(b + 128, len(dev))))
                h, m, t = padded_batch(dv_states, dv_spans, rows)
                outs.append(module(h, m, t).numpy())
        return np.concatenate(outs)

    t1 = time.perf_counter()
    if design == "frozen":
        def feats(states, spans) -> np.ndarray:
            out = []
            with torch.inference_mode():
                for b in range(0, len(states), 256):
                    rows = list(range(b, min(b + 256, len(states))))
                    h, m, t = padded_batch(states, spans, rows)
                    out.append(module.features(h, m, t).numpy())
            return np.concatenate(out)

        head = FrozenToneHead(C=C).fit(feats(tr_states, tr_spans), y_tr)
        state = head.to_branch_state()
        with torch.no_grad():
            module.head.weight.copy_(torch.from_numpy(state["head.weight"]))
            module.head.bias.copy_(torch.from_numpy(state["head.bias"]))
    else:
        if not hasattr(getattr(encoder.model, "encoder", None), "layer"):
            raise ValueError("design='branch' needs a BERT-family encoder; use design='frozen'")
        with torch.no_grad():
            for j, src in enumerate(encoder.model.encoder.layer[layer:]):
                module.layers[j].load_state_dict(
                    BertStyleLayer.from_bert_layer(src, cfg).state_dict())
        counts = np.bincount(y_tr, minlength=3).astype(float)
        weights = torch.tensor(counts.sum() / (3 * np.maximum(counts, 1)), dtype=torch.float32)
        loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
        groups = [
            {"params": module.layers.parameters(), "lr": lr},
            {"params": [module.marker, *module.head.parameters()], "lr": head_lr},
        ]
        if multitask:
            groups.append({"params": cue_head.parameters(), "lr": head_lr})
        opt = torch.optim.AdamW(groups, weight_decay=0.01)
        steps = epochs * int(np.ceil(len(train) / batch_size))
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=[g["lr"] for g in groups], total_steps=steps, pct_start=0.1,
            anneal_strategy="linear")
        # batches of similar length train faster; shuffle within length buckets
        lengths = np.array([tr_states[i][0].shape[0] for i in range(len(train))])
        for epoch in range(epochs):
            module.train()
            order = np.argsort(lengths + rng.uniform(0, 8, len(lengths)))
            batches = [order[b:b + batch_size] for b in range(0, len(order), batch_size)]
            rng.shuffle(batches)
            total = 0.0
            for rows in batches:
                h, m, t = padded_batch(tr_states, tr_spans, list(rows))
                loss = loss_fn(module(h, m, t), torch.from_numpy(y_tr[rows]))
                if multitask:
                    if len(cue_order) < cue_batch_size:
                        cue_order.extend(rng.permutation(len(cue_y)).tolist())
                    crow = cue_order[:cue_batch_size]
                    del cue_order[:cue_batch_size]
                    ch, cm, ct = padded_batch(cue_states, [None] * len(cue_states), crow)
                    sent = module.features(ch, cm, ct)[:, :cfg.hidden_size]
                    loss = loss + cue_weight * cue_loss_fn(cue_head(module.dropout(sent)),
                                                           torch.from_numpy(cue_y[crow]))
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(module.parameters(), 1.0)
                opt.step()
                sched.step()
                total += float(loss.detach()) * len(rows)
            f1 = classification_metrics(y_dv, dev_logits().argmax(1), LABELS, n_boot=1)["macro_f1"].value
            history.append({"epoch": epoch + 1, "train_loss": total / len(train), "dev_macro_f1": f1})
            if progress:
                print(f"epoch {epoch + 1}/{epochs}: train loss {total / len(train):.4f}, "
                      f"dev macro-F1 {f1:.4f}", flush=True)
    t_train = time.perf_counter() - t1

    logits = dev_logits()
    temperature = fit_temperature(logits, y_dv)
    p_before, p_after = _softmax(logits), _softmax(logits / temperature)
    onehot = np.eye(3)[y_dv]
    dev_metrics = classification_metrics(y_dv, logits.argmax(1), LABELS, n_boot=1000, seed=seed)
    metrics = {
        "dev_n": len(dev), "train_n": len(train),
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
        "seconds_encoder_states": t_states, "seconds_training": t_train,
    }
    config = {
        "name": name, "design": design, "labels": list(LABELS), "layer": layer,
        "n_layers": n_branch, "hidden": cfg.hidden_size, "heads": cfg.num_attention_heads,
        "intermediate": cfg.intermediate_size, "eps": getattr(cfg, "layer_norm_eps", 1e-12),
        "temperature": temperature, "neutral_band": 0.1,
        "encoder": encoder_fingerprint(encoder),
        "multitask_cues": {"sentences": len(cue_texts), "cues": int(cue_y.shape[1]),
                           "weight": cue_weight, "batch_size": cue_batch_size}
        if multitask else None,
        "training": {"epochs": epochs if design == "branch" else None, "lr": lr,
                     "head_lr": head_lr, "batch_size": batch_size, "C": C, "seed": seed,
                     "train_n": len(train), "dev_n": len(dev)},
        "dev_metrics": {"macro_f1": metrics["dev_macro_f1"], "ece_before": metrics["ece_before"],
                        "ece_after": metrics["ece_after"]},
    }
    model = TrainedTone(module.eval(), ToneModelConfig(layer, n_branch, cfg.hidden_size,
                                               cfg.num_attention_heads, cfg.intermediate_size,
                                               config["eps"], temperature, name, config["encoder"]))
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
