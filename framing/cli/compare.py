"""``framing compare``: compare outlets of a scores table on tone and cues, with statistics."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    """Add ``compare`` to the ``framing`` subparsers."""
    p = subparsers.add_parser(
        "compare", help="compare outlets on tone and cues, with statistics",
        description="Compare groups (outlets) of a scores table: tone and cue prevalence with "
                    "intervals, pairwise tests with effect sizes, Benjamini-Hochberg "
                    "corrected; with --time, trends over time per group. Prints the findings "
                    "(and the trends), then a Markdown summary.")
    p.add_argument("scores", help="scores table (.parquet, .csv, .jsonl) or a directory of "
                                  "Parquet shards")
    p.add_argument("--by", default="outlet", help="group column (default: outlet)")
    p.add_argument("--within", default=None,
                   help="stratum column (e.g. a topic): compare groups inside each level")
    p.add_argument("--time", default=None,
                   help="date column for the over-time table and plot and the trends per group")
    p.add_argument("--freq", default="M", help="time bin: D, W, M, Q or Y (default: M)")
    p.add_argument("--error-rates", default=None, metavar="FILE",
                   help="JSON of per-cue tpr/fpr for corrected prevalence (default: the "
                        "shipped error_rates.json when there is one)")
    p.add_argument("--html", default=None, metavar="FILE", help="write a self-contained HTML report")
    p.add_argument("--out-dir", default=None, metavar="DIR", help="write CSV tables and PNG plots")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    p.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples (default 2000)")
    p.add_argument("--n-permutations", type=int, default=9999,
                   help="permutations per tone test (default 9999)")
    p.add_argument("--seed", type=int, default=13)


def run(args: argparse.Namespace) -> int:
    """Print the findings (with ``--time``, then the trends over time), then the
    comparison as Markdown; tables, plots and HTML go where asked."""
    # Statistics only (pandas, scipy); matplotlib loads when plots are written, never torch.
    from framing.analysis.compare import compare_outlets
    from framing.analysis.findings import findings_markdown

    comparison = compare_outlets(
        args.scores, by=args.by, time=args.time, freq=args.freq, within=args.within,
        error_rates=args.error_rates, alpha=args.alpha, n_boot=args.n_boot,
        n_permutations=args.n_permutations, seed=args.seed)
    print(findings_markdown(comparison.findings()))
    if comparison.time is not None:
        print(findings_markdown(comparison.trend_findings(), title="Trends over time",
                                empty="No trend over time could be tested."))
    print(comparison.to_markdown())
    if args.out_dir:
        written = comparison.save(args.out_dir)
        print(f"tables and plots written to {args.out_dir}: {', '.join(sorted(written))}",
              file=sys.stderr)
    if args.html:
        comparison.to_html(args.html)
        print(f"report written to {args.html}", file=sys.stderr)
    return 0
