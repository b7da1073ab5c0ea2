"""``framing train tone`` and ``framing train cues``: train models on your labelled data."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from framing.core.formatting import counted
from framing.cli.common import add_device_option, parse_label_map

__all__ = ["add_parser", "run", "run_cues", "run_tone"]


def add_parser(subparsers: Any) -> None:
    """Add ``train`` and its ``tone`` and ``cues`` subcommands to the ``framing`` subparsers."""
    p = subparsers.add_parser(
        "train", help="train a model on your labelled data",
        description="Train a tone model: framing train tone --data FILE --out DIR")
    what = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    _add_tone_parser(what)
    _add_cues_parser(what)


def _add_tone_parser(what: Any) -> None:
    p = what.add_parser("tone", help="train a tone model (text, label, optional target)")
    p.add_argument("--data", required=True, help="JSONL, CSV or Parquet with text and label")
    p.add_argument("--out", required=True, help="directory to write the model to")
    p.add_argument("--dev", default=None, help="separate dev file (default: a seeded split)")
    p.add_argument("--dev-fraction", type=float, default=0.15)
    p.add_argument("--design", choices=["branch", "frozen"], default="branch")
    p.add_argument("--layers", type=int, default=2, help="branch layers (branch design)")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--seed", type=int, default=13)
    add_device_option(p, "to train")
    p.add_argument("--text", default="text")
    p.add_argument("--label", default="label")
    p.add_argument("--target", default="target", help="target mention column (optional)")
    p.add_argument("--label-map", default=None, metavar="MAP",
                   help="your labels to framing's, e.g. neg=critical,neu=neutral,pos=promotional")
    p.add_argument("--model", default=None, help="encoder (default: all-MiniLM-L6-v2)")
    p.add_argument("--name", default=None, help="model name (default: the output folder's)")


def _add_cues_parser(what: Any) -> None:
    p = what.add_parser(
        "cues", help="train cue heads for a catalogue (text, cues)",
        description="Train calibrated cue heads for a catalogue on labelled sentences: framing "
                    "train cues --catalogue my.yaml --data labelled.jsonl --out DIR; then "
                    "framing score --cue-heads DIR")
    p.add_argument("--catalogue", default=None,
                   help="catalogue YAML or shipped name (default: builtin)")
    p.add_argument("--data", required=True,
                   help="JSONL, CSV or Parquet: a text column and a cue-list column")
    p.add_argument("--out", required=True, help="directory to write the heads to")
    p.add_argument("--dev", default=None, help="separate dev file (default: a seeded split)")
    p.add_argument("--dev-fraction", type=float, default=0.2)
    p.add_argument("--text", default="text")
    p.add_argument("--label", default="cues", help="column with the cue ids of each sentence")
    p.add_argument("--no-exemplars", action="store_true",
                   help="do not add the catalogue's exemplars to the training data")
    p.add_argument("--C", type=float, default=4.0, help="inverse L2 strength of the heads")
    p.add_argument("--lexical", action="store_true",
                   help="the heads also read the sentence's words (per cue a logistic model "
                        "on TF-IDF word 1-2-grams, its logit added to the head's)")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--model", default=None, help="encoder (default: all-MiniLM-L6-v2)")
    p.add_argument("--name", default=None, help="heads name (default: cues-<catalogue>)")


def run(args: argparse.Namespace) -> int:
    """Dispatch on ``framing train WHAT``."""
    return run_cues(args) if args.what == "cues" else run_tone(args)


def run_tone(args: argparse.Namespace) -> int:
    """Train a tone model on ``args.data`` and save it to ``args.out``."""
    from framing.encoding.encoder import Encoder
    from framing.training.tone import load_tone_examples, split_examples, train_tone

    columns = {"text": args.text, "label": args.label, "target": args.target,
               "label_map": parse_label_map(args.label_map)}
    examples = load_tone_examples(args.data, **columns)
    if args.dev:
        train, dev = examples, load_tone_examples(args.dev, **columns)
    else:
        train, dev = split_examples(examples, args.dev_fraction, args.seed)
    print(f"training on {len(train)} examples, measuring on {len(dev)}", file=sys.stderr)
    result = train_tone(train, dev, Encoder(args.model, device=args.device),
                        design=args.design, n_layers=args.layers, epochs=args.epochs,
                        lr=args.lr, seed=args.seed, name=args.name or Path(args.out).name,
                        device=args.device)
    result.save(args.out)
    metrics = result.metrics
    f1 = metrics["dev_macro_f1"]
    print(f"dev macro-F1 {f1['value']:.3f} [{f1['low']:.3f}, {f1['high']:.3f}]; ECE "
          f"{metrics['ece_before']:.3f} -> {metrics['ece_after']:.3f} after calibration; "
          f"model written to {args.out}", file=sys.stderr)
    return 0


def run_cues(args: argparse.Namespace) -> int:
    """Train cue heads for ``args.catalogue`` on ``args.data`` and save them to ``args.out``."""
    from framing.encoding.encoder import Encoder
    from framing.training.cues import train_cue_heads

    result = train_cue_heads(args.catalogue, args.data, encoder=Encoder(args.model),
                             dev=args.dev, dev_fraction=args.dev_fraction, text=args.text,
                             label=args.label, use_exemplars=not args.no_exemplars, C=args.C,
                             seed=args.seed, name=args.name, lexical=args.lexical)
    result.save(args.out)
    metrics = result.metrics
    f1 = metrics["dev_macro_f1"]
    print(f"trained heads for {counted(len(result.heads.ids), 'cue')} on "
          f"{counted(metrics['train_n'], 'sentence')}; "
          f"dev macro-F1 {f1['value']:.3f} [{f1['low']:.3f}, {f1['high']:.3f}] on "
          f"{counted(metrics['dev_n'], 'sentence')}; written to {args.out}", file=sys.stderr)
    return 0
