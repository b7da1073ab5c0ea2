"""``framing eval``: run an evaluation suite, or evaluate scorers on one labelled file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from framing.cli.common import add_backend_option, add_device_option

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    """Add ``eval`` to the ``framing`` subparsers."""
    p = subparsers.add_parser(
        "eval", help="evaluate scorers on labelled samples",
        description="Run an evaluation suite (--suite), or evaluate scorers on one labelled "
                    "file. Writes JSON, Markdown and PNG reports.")
    p.add_argument("data", nargs="?", help="labelled samples (.jsonl, .csv, .parquet)")
    p.add_argument("--suite", help="suite YAML (e.g. eval/suites/default.yaml)")
    p.add_argument("--task", choices=["tone", "cues", "frames"], default="tone")
    p.add_argument("--text", default="text", help="text column (default: text)")
    p.add_argument("--label", default=None,
                   help="label column (default: label for tone, cues for cues)")
    p.add_argument("--target", default=None, help="target-mention column (tone)")
    p.add_argument("--target-start", default=None, help="column of target start offsets")
    p.add_argument("--target-end", default=None, help="column of target end offsets")
    p.add_argument("--scorer", action="append", default=None,
                   help="tone: trained, similarity, vader or a model directory; cues: trained, "
                        "detector or patterns (repeatable)")
    p.add_argument("--catalogue", default=None, help="cue catalogue YAML (default: built-in)")
    p.add_argument("--tune", choices=["dev"], default=None,
                   help="fit thresholds on a seeded dev split and report on the rest")
    p.add_argument("--n-boot", type=int, default=None, help="bootstrap resamples (default 1000)")
    add_backend_option(p)
    add_device_option(p)
    p.add_argument("-o", "--out", default=None, help="output directory for the reports")


def run(args: argparse.Namespace) -> int:
    """Evaluate; the Markdown report goes to stdout, where files went to stderr."""
    if args.suite:
        return _run_suite(args)
    if not args.data:
        print("framing eval: error: give a samples file or --suite", file=sys.stderr)
        return 2
    return _run_on_file(args)


def _run_suite(args: argparse.Namespace) -> int:
    from framing.evaluation.suite import run_suite

    result = run_suite(args.suite, output=args.out, n_boot=args.n_boot, device=args.device)
    print(result.to_markdown())
    for name, report in result.reports.items():
        _print_warnings(report.warnings, name)
    print(f"reports written to {Path(result.summary_path).parent}", file=sys.stderr)
    return 0


def _run_on_file(args: argparse.Namespace) -> int:
    from framing.encoding.encoder import Encoder
    from framing.evaluation.harness import evaluate, load_samples
    from framing.text.catalogue import load_catalogue

    columns: dict[str, Any] = {
        "text": args.text, "label": args.label, "target": args.target,
        "target_start": args.target_start, "target_end": args.target_end}
    if args.task == "cues":
        columns["label_set"] = load_catalogue(args.catalogue).ids
    samples = load_samples(args.data, args.task, id=None, **columns)
    encoder = Encoder(device=args.device)
    if args.task == "tone":
        scorers = _tone_scorers(args, encoder)
    elif args.task == "cues":
        scorers = _cue_scorers(args, encoder)
    else:  # the samples file is still read first, so its errors come before this one
        print("framing eval: error: no built-in frame scorer yet; use the Python API "
              "framing.evaluate with your own scorer", file=sys.stderr)
        return 2
    report = evaluate(scorers, samples, tune=args.tune, n_boot=args.n_boot or 1000)
    name = Path(args.data).stem
    print(report.to_markdown(name))
    _print_warnings(report.warnings)
    if args.out:
        paths = report.save(args.out, name)
        print(f"reports written to {args.out}: {', '.join(sorted(paths))}", file=sys.stderr)
    return 0


def _print_warnings(warnings: list[str], run: str | None = None) -> None:
    """Repeat a report's warnings on stderr, where they are seen even when stdout (the
    Markdown, which has them too) goes to a file."""
    for text in warnings:
        print(f"framing eval: warning: {run + ': ' if run else ''}{text}", file=sys.stderr)


def _tone_scorers(args: argparse.Namespace, encoder: Any) -> dict[str, Any]:
    from framing.pipeline.analyzer import Analyzer

    names = args.scorer or ["trained", "similarity", "vader"]
    return {name: Analyzer(tone=name, cues=False, encoder=encoder, backend=args.backend)
            for name in names}


def _cue_scorers(args: argparse.Namespace, encoder: Any) -> dict[str, Any]:
    """``trained``: the detector with its shipped heads; ``detector``: patterns plus
    exemplar similarity; ``patterns``: patterns alone, no encoder."""
    from framing.heads.cues.detector import CueDetector
    from framing.pipeline.analyzer import Analyzer

    if args.scorer:
        names = args.scorer
    elif args.catalogue is None:  # shipped heads fit only the built-in catalogue
        names = ["trained", "detector", "patterns"]
    else:
        names = ["detector", "patterns"]
    scorers = {}
    for name in names:
        patterns_only = name == "patterns"
        detector = CueDetector(args.catalogue, None if patterns_only else encoder,
                               use_similarity=not patterns_only,
                               heads="auto" if name == "trained" else None)
        scorers[name] = Analyzer(tone=None, encoder=encoder, cue_detector=detector,
                                 backend=args.backend)
    return scorers
