"""``framing sample``: draw a stratified validation sample for labelling."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from framing.core.formatting import counted

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    """Add ``sample`` to the ``framing`` subparsers."""
    p = subparsers.add_parser(
        "sample", help="draw a stratified validation sample to label",
        description="Draw articles for labelling, stratified by outlet and by the model's "
                    "uncertainty, in the format `framing eval` reads.")
    p.add_argument("scores", help="scores table (.parquet, .csv, .jsonl) or a shard directory")
    p.add_argument("-n", type=int, default=200, help="sample size (default 200)")
    p.add_argument("-o", "--output", required=True, help="output file (.jsonl, .csv, .parquet)")
    p.add_argument("--task", choices=["tone", "cues"], default="tone")
    p.add_argument("--by", default="outlet", help="outlet column (default: outlet; 'none' to skip)")
    p.add_argument("--strata", type=int, default=3, help="uncertainty bands (default 3)")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--text-source", default=None, metavar="CORPUS",
                   help="corpus file to take the article text from")
    p.add_argument("--text", default="text", help="text column of the corpus (default: text)")
    p.add_argument("--id", default=None,
                   help="id column of the corpus (default: match on row number)")


def run(args: argparse.Namespace) -> int:
    """Write the sample to ``args.output`` and say on stderr what to do next."""
    from framing.analysis.sample import draw_validation_sample

    by = None if args.by.lower() == "none" else args.by
    sample = draw_validation_sample(
        args.scores, n=args.n, by=by, task=args.task, seed=args.seed, n_strata=args.strata,
        text_source=args.text_source, text=args.text, id=args.id, out=args.output)
    without_text = int(sample["text"].isna().sum())
    column = "label" if args.task == "tone" else "cues"
    strata = sample["stratum"].nunique()
    message = f"{counted(len(sample), 'article')} written to {args.output} ({counted(strata, 'stratum', 'strata')})"
    if without_text:
        message += f"; {without_text} without text (pass --text-source)"
    message += (f". Fill in the '{column}' column, then run "
                f"`framing eval {args.output} --task {args.task}`.")
    print(message, file=sys.stderr)
    return 0
