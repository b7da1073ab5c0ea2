"""Train the shipped tone model on NewsMTSC and record what it measures.

    python models/train_tone_newsmtsc.py --design branch --out models/tone-newsmtsc
    python models/train_tone_newsmtsc.py --design frozen --out /tmp/tone-frozen

Reads ../shared/data/newsmtsc/train.jsonl (override with --data), carves a seeded dev
split by sentence (15%, seed 13; the dev sentence ids are written next to the model as
dev_split.json), trains one of the two designs of framing.training.tone.train_tone on the rest,
calibrates the temperature on dev, and writes the model directory with its card and a
metrics.json. Prints dev macro-F1, ECE before and after calibration and training time.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

import framing
from framing.training.tone import newsmtsc_examples, split_examples, train_tone

HERE = Path(__file__).resolve().parent


CARD = """# {name} ({design} design)

{role}: tone toward a target mention, or of a whole sentence, on the
scale critical / neutral / promotional. It reads the shared {encoder_name} encoder pass.

## Design
{design_text}
Probabilities are divided by a temperature fitted on the dev split (T = {temperature:.3f})
before the softmax. Without a target, the whole sentence is the target.

## Data
- NewsMTSC training split (Hamborg & Donnay, EACL 2021): {n_sentences} sentences from US
  political news with {n_targets} target mentions labelled negative / neutral / positive
  toward the target (mapped to critical / neutral / promotional). Licence: MIT.
- Training examples: one per target mention, plus one whole-sentence example for each
  sentence whose targets all share one polarity ({train_n} examples in all).
{real_text}- Dev split: {dev_fraction:.0%} of the NewsMTSC sentences, chosen by `primary_gid` with seed
  {seed} (ids in `dev_split.json`); {dev_n} target mentions. No sentence is in both parts.
  There is no test split here: final accuracy is measured elsewhere.

## Dev metrics (target mentions; 95% bootstrap intervals, 1,000 resamples)
- as shipped (the saved weights, measured end to end through `framing.evaluate` with the
  target given by offsets): macro-F1 {sf1:.3f} [{sf1_lo:.3f}, {sf1_hi:.3f}]
- at the end of training (float32 weights): macro-F1 {f1:.3f} [{f1_lo:.3f}, {f1_hi:.3f}];
  accuracy {acc:.3f} [{acc_lo:.3f}, {acc_hi:.3f}]
- per class F1: critical {f1_c:.3f}, neutral {f1_n:.3f}, promotional {f1_p:.3f}
- expected calibration error (one-vs-rest, 10 bins): {ece_b:.3f} before calibration,
  {ece_a:.3f} after; of the top class: {ece_tb:.3f} before, {ece_ta:.3f} after.
- training time on a 2-core CPU: {wall:.0f} s in all ({states:.0f} s encoder states,
  {train_s:.0f} s training).

## Reproduce
```
{command}
```
(seed {seed}; data from `../shared/data/newsmtsc/train.jsonl`, overridable with --data){note}

## Citation
Felix Hamborg and Karsten Donnay. 2021. NewsMTSC: A Dataset for (Multi-)Target-dependent
Sentiment Classification in Political News Articles. In Proceedings of EACL 2021.

## Licence
The weights are derived from {encoder_name} (Apache-2.0) and trained on NewsMTSC (MIT).
"""

DESIGN_TEXT = {
    "branch": "A branch off the shared encoder: it reads the hidden states after layer {layer}, adds a\n"
              "learned target-marker vector to the target's tokens, runs its own fine-tuned copies of\n"
              "the encoder's top {n_layers} layers (weights stored as int8 with per-row scales), and\n"
              "classifies the mean-pooled sentence and target states with a linear head. Trained {epochs} epochs with AdamW\n"
              "(lr {lr} for the layers, 1e-3 for marker and head), class-weighted cross-entropy.",
    "frozen": "A linear head (multinomial logistic regression, balanced class weights) on the mean of\n"
              "the sentence's and of the target's token states from the frozen encoder's last layer.",
}

MULTITASK_TEXT = (
    "\nMulti-task: every step also passes {batch_size} of {sentences} cue-labelled sentences\n"
    "through the branch, adding {weight} x a balanced multi-label loss over the {cues} built-in\n"
    "cues, so that the branch's sentence states also serve the cue heads\n"
    "(`models/{cues_dir}`): one branch pass for tone and cues.")

REAL_TEXT = (
    "- Real text (`eval/labelling`, train split only; labels point into\n"
    "  `../shared/data/real`): {sentences} labelled sentences from UN General Debate speeches,\n"
    "  Chinese official statements and posts, US State Department and Kremlin pages and US news,\n"
    "  giving {examples} tone examples (each sentence's tone, and tone toward each labelled\n"
    "  target), each used {repeat} time(s) per epoch, and their ten cue flags for the multi-task\n"
    "  loss. The cue sentences are these plus the project-written ones of\n"
    "  `models/training/cues` less the cue heads' former dev split.\n")


def write_card(out: Path, result, args, wall: float, n_sentences: int, n_targets: int,
               command: str) -> None:
    m, c = result.metrics, result.config
    f1, acc, per = m["dev_macro_f1"], m["dev_accuracy"], m["dev_per_class_f1"]
    accurate = c["encoder"].get("name") == "all-mpnet-base-v2"
    text = CARD.format(
        name=out.name, encoder_name=c["encoder"].get("name"),
        role=("framing's accurate-tier tone model (`profile=\"accurate\"`)" if accurate
              else "framing's default tone model"),
        design=args.design,
        design_text=DESIGN_TEXT[args.design].format(layer=c["layer"], n_layers=c["n_layers"],
                                                    epochs=c["training"]["epochs"],
                                                    lr=c["training"]["lr"])
        + (MULTITASK_TEXT.format(**c["multitask_cues"],
                                cues_dir="cues-mpnet" if accurate else "cues-builtin") if c.get("multitask_cues") else ""),
        temperature=c["temperature"], n_sentences=n_sentences, n_targets=n_targets,
        train_n=m["train_n"], dev_fraction=args.dev_fraction, seed=args.seed, dev_n=m["dev_n"],
        f1=f1["value"], f1_lo=f1["low"], f1_hi=f1["high"], acc=acc["value"], acc_lo=acc["low"],
        acc_hi=acc["high"], f1_c=per["critical"]["value"], f1_n=per["neutral"]["value"],
        f1_p=per["promotional"]["value"], ece_b=m["ece_before"], ece_a=m["ece_after"],
        ece_tb=m["ece_top_before"], ece_ta=m["ece_top_after"], wall=wall,
        states=m["seconds_encoder_states"], train_s=m["seconds_training"], command=command,
        sf1=m["dev_macro_f1_as_saved"]["value"], sf1_lo=m["dev_macro_f1_as_saved"]["low"],
        sf1_hi=m["dev_macro_f1_as_saved"]["high"],
        real_text=REAL_TEXT.format(**m["real"]) if m.get("real") else "",
        note=f"\n\nNote: {m['note']}." if m.get("note") else "")
    (out / "README.md").write_text(text, encoding="utf-8")


def measure_as_saved(out: Path, dev, encoder) -> dict:
    """Dev macro-F1 of the model as written to disk, through the evaluation harness."""
    from framing.evaluation.harness import Samples
    from framing.core.labels import TONE_LABELS as LABELS

    samples = Samples("tone", [e.text for e in dev], [LABELS[e.label] for e in dev],
                      list(LABELS), list(range(len(dev))), [e.span for e in dev])
    an = framing.Analyzer(tone=str(out), cues=False, encoder=encoder)
    rep = framing.evaluate({"saved": an}, samples, n_boot=1000, top_mistakes=0)
    return rep.results["saved"]["macro_f1"].to_dict()


def newsmtsc_split(data: str | Path, dev_fraction: float, seed: int):
    """``(examples, train, dev)`` of NewsMTSC: the seeded split by sentence, dev reduced to
    the target mentions (the NewsMTSC task itself: tone toward a target mention; the
    whole-sentence examples of dev sentences are never trained on either)."""
    examples = newsmtsc_examples(data)
    train, dev = split_examples(examples, dev_fraction, seed)
    return examples, train, [e for e in dev if e.span is not None]


def real_tone_examples(real_dir: str | Path):
    """``(real, examples)``: the labelled real train sentences (text resolved from
    ``real_dir``) and their tone examples."""
    from real_data import real_sentences

    real = real_sentences("train", real_dir)
    return real, real.tone_examples()


def cue_training_data(cues_dir: str | Path, real=None):
    """``(cue_texts, cue_labels, ids)`` of the multi-task cue loss: the project's cue
    sentences less the seeded dev split of train_cues.py, plus the real train sentences."""
    from train_cues import load_split

    ids = framing.load_catalogue().ids
    rows, Y, cue_train, _ = load_split(cues_dir, ids, 0.2, 13)
    cue_texts, cue_labels = [rows[i]["text"] for i in cue_train], Y[cue_train]
    if real is not None:
        cue_texts += real.texts
        cue_labels = np.vstack([cue_labels, real.cue_matrix(ids)])
    return cue_texts, cue_labels, ids


def write_dev_split(out: Path, dev, seed: int, dev_fraction: float) -> None:
    """Write ``dev_split.json``: the NewsMTSC sentence ids of the dev split."""
    dev_groups = sorted({e.group for e in dev})
    (out / "dev_split.json").write_text(json.dumps(
        {"seed": seed, "dev_fraction": dev_fraction, "unit": "NewsMTSC primary_gid",
         "dev_groups": dev_groups}) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", default=str(HERE.parent.parent / "shared" / "data" / "newsmtsc" / "train.jsonl"))
    ap.add_argument("--design", choices=["frozen", "branch"], default="branch")
    ap.add_argument("--layers", type=int, default=2, help="branch layers (branch design)")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--device", default="cpu",
                    help="torch device: cpu (default), cuda, cuda:N or auto (a GPU when "
                         "torch sees one); the saved model is the same kind either way")
    ap.add_argument("--dev-fraction", type=float, default=0.15)
    ap.add_argument("--cues", default=None, metavar="DIR",
                    help="multi-task: also train the branch on these cue sentences (e.g. "
                         "models/training/cues), less the seeded dev split train_cues.py uses")
    ap.add_argument("--cue-weight", type=float, default=1.0)
    ap.add_argument("--cue-batch-size", type=int, default=16)
    ap.add_argument("--real-repeat", type=int, default=1,
                    help="how many times each real tone example enters an epoch")
    ap.add_argument("--real", default=None, metavar="DIR",
                    help="also train on the labelled real sentences of eval/labelling (train "
                         "split only; text resolved from DIR, e.g. ../shared/data/real): their "
                         "sentence and target tone join the tone examples and, with --cues, "
                         "their cue flags join the cue sentences")
    ap.add_argument("--model", default=None,
                    help="the encoder (default: the bundled all-MiniLM-L6-v2; "
                         "all-mpnet-base-v2 for the accurate tier)")
    ap.add_argument("--name", default=None, help="model name (default tone-newsmtsc-DESIGN)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--checkpoint", default=None, metavar="DIR",
                    help="save the training state here after every epoch and resume from it "
                         "when it is already there (branch design; a checkpoint written with "
                         "other settings or data is refused)")
    ap.add_argument("--recard", action="store_true",
                    help="do not train: re-measure the model in --out as saved and rewrite its "
                         "metrics.json and card")
    args = ap.parse_args()

    examples, train, dev = newsmtsc_split(args.data, args.dev_fraction, args.seed)
    print(f"NewsMTSC: {len(examples)} examples; train {len(train)}, dev {len(dev)} "
          f"(split by sentence, seed {args.seed})", flush=True)
    encoder = framing.Encoder(args.model, device=args.device)
    out = Path(args.out)
    command = ("python models/train_tone_newsmtsc.py "
               + (f"--model {args.model} " if args.model else "")
               + (f"--name {args.name} " if args.name else "")
               + f"--design {args.design} "
               f"--layers {args.layers} --epochs {args.epochs} --lr {args.lr} "
               f"--seed {args.seed} --out {args.out}")
    n_sentences = len({e.group for e in examples})
    n_targets = sum(e.span is not None for e in examples)
    if args.recard:
        m = json.loads((out / "metrics.json").read_text())
        m["dev_macro_f1_as_saved"] = measure_as_saved(out, dev, encoder)
        (out / "metrics.json").write_text(json.dumps(m, indent=2) + "\n")
        cfg = json.loads((out / "config.json").read_text())
        write_card(out, SimpleNamespace(metrics=m, config=cfg), args, m["wall_seconds"],
                   n_sentences, n_targets, m["command"])
        print(f"as saved: dev macro-F1 {m['dev_macro_f1_as_saved']['value']:.4f}")
        return
    real = None
    if args.real:
        real, real_examples = real_tone_examples(args.real)
        train = train + real_examples * args.real_repeat
        command += f" --real {args.real} --real-repeat {args.real_repeat}"
        print(f"real: {len(real.rows)} labelled train sentences, {len(real_examples)} tone "
              "examples added", flush=True)
    cue_kw = {}
    if args.cues:
        cue_texts, cue_labels, ids = cue_training_data(args.cues, real)
        cue_kw = {"cue_texts": cue_texts, "cue_labels": cue_labels,
                  "cue_weight": args.cue_weight, "cue_batch_size": args.cue_batch_size}
        command += (f" --cues {args.cues} --cue-weight {args.cue_weight} "
                    f"--cue-batch-size {args.cue_batch_size}")
        print(f"multi-task: {len(cue_texts)} cue training sentences, {len(ids)} cues", flush=True)
    t0 = time.perf_counter()
    result = train_tone(train, dev, encoder, design=args.design, n_layers=args.layers,
                        epochs=args.epochs, lr=args.lr, seed=args.seed,
                        name=args.name or f"tone-newsmtsc-{args.design}",
                        checkpoint=args.checkpoint, resume=args.checkpoint is not None,
                        device=args.device, **cue_kw)
    wall = time.perf_counter() - t0
    result.save(out)
    write_dev_split(out, dev, args.seed, args.dev_fraction)
    m = dict(result.metrics, wall_seconds=wall, history=result.history, command=command)
    if real is not None:
        m["real"] = {"sentences": len(real.rows), "examples": len(real_examples),
                     "repeat": args.real_repeat}
    m["dev_macro_f1_as_saved"] = measure_as_saved(out, dev, encoder)
    result.metrics = m
    (out / "metrics.json").write_text(json.dumps(m, indent=2) + "\n")
    write_card(out, result, args, wall, n_sentences, n_targets, command)
    f1 = m["dev_macro_f1"]
    print(f"dev macro-F1 {f1['value']:.4f} [{f1['low']:.4f}, {f1['high']:.4f}]; "
          f"ECE {m['ece_before']:.4f} -> {m['ece_after']:.4f} (T={m['temperature']:.3f}); "
          f"wall {wall:.0f} s (states {m['seconds_encoder_states']:.0f} s, "
          f"training {m['seconds_training']:.0f} s)")


if __name__ == "__main__":
    main()
