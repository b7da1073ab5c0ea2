"""The ``framing`` command line: ``framing score``, ``cues``, ``eval`` and ``train``.

Only this module parses arguments; every command calls the public Python API.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from ._version import __version__
from .errors import FramingError

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="framing",
        description="Tone and framing-cue analysis of news, offline by default.")
    p.add_argument("--version", action="version", version=f"framing {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("score", help="score a corpus file and write one row per article",
                       description="Score every article of INPUT (JSONL, CSV, TSV or Parquet) and "
                                   "write one row per article to OUTPUT (.parquet, .jsonl or .csv).")
    s.add_argument("input", help="corpus file (.jsonl, .jsonl.gz, .csv, .tsv, .parquet)")
    s.add_argument("-o", "--output", required=True, help="output file (.parquet, .jsonl, .csv)")
    s.add_argument("--text", default="text", help="column holding the article text (default: text)")
    s.add_argument("--id", default=None, help="column holding the article id (default: row number)")
    s.add_argument("--outlet", default=None, help="column holding the outlet name")
    s.add_argument("--date", default=None, help="column holding the publication date")
    s.add_argument("--title", default=None, help="column holding the title")
    s.add_argument("--format", default=None, help="input format if the extension does not say")
    s.add_argument("--tone", default="trained",
                   help="tone scorer: trained (default), similarity or vader (baselines), or a "
                        "model directory (framing tone model or Hugging Face classifier)")
    s.add_argument("--tone-label-map", default=None, metavar="MAP",
                   help="for a Hugging Face classifier: its labels to framing's, e.g. "
                        "negative=critical,neutral=neutral,positive=promotional")
    s.add_argument("--target", dest="target_column", default=None,
                   help="column naming a target per article: tone is then tone toward it")
    s.add_argument("--catalogue", default=None, help="cue catalogue YAML (default: built-in)")
    s.add_argument("--model", default=None,
                   help="encoder: a local model directory, or a hub id with --allow-network")
    s.add_argument("--allow-network", action="store_true",
                   help="allow downloading a hub model named by --model")
    s.add_argument("--batch-size", type=int, default=64, help="sentences per encoder batch")
    s.add_argument("--chunk-size", type=int, default=256, help="articles scored per chunk")
    s.add_argument("--no-evidence", action="store_true", help="leave evidence columns out")
    s.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    c = sub.add_parser("cues", help="list the cues of a catalogue",
                       description="List the cues of the built-in catalogue or of a YAML file; "
                                   "validates the file on the way.")
    c.add_argument("--catalogue", default=None,
                   help="catalogue YAML or the name of a shipped one (default: builtin)")
    c.add_argument("--list", action="store_true", help="list the shipped catalogues")
    c.add_argument("--format", choices=["table", "json"], default="table")
    c.add_argument("--examples", type=int, default=0, metavar="N",
                   help="also print N exemplar sentences per cue")
    e = sub.add_parser("eval", help="evaluate scorers on labelled samples",
                       description="Run an evaluation suite (--suite), or evaluate scorers on one "
                                   "labelled file. Writes JSON, Markdown and PNG reports.")
    e.add_argument("data", nargs="?", help="labelled samples (.jsonl, .csv, .parquet)")
    e.add_argument("--suite", help="suite YAML (e.g. eval/suites/default.yaml)")
    e.add_argument("--task", choices=["tone", "cues", "frames"], default="tone")
    e.add_argument("--text", default="text", help="text column (default: text)")
    e.add_argument("--label", default=None,
                   help="label column (default: label for tone, cues for cues)")
    e.add_argument("--target", default=None, help="target-mention column (tone)")
    e.add_argument("--target-start", default=None, help="column of target start offsets")
    e.add_argument("--target-end", default=None, help="column of target end offsets")
    e.add_argument("--scorer", action="append", default=None,
                   help="tone: trained, similarity, vader or a model directory; cues: trained, "
                        "detector or patterns (repeatable)")
    e.add_argument("--catalogue", default=None, help="cue catalogue YAML (default: built-in)")
    e.add_argument("--tune", choices=["dev"], default=None,
                   help="fit thresholds on a seeded dev split and report on the rest")
    e.add_argument("--n-boot", type=int, default=None, help="bootstrap resamples (default 1000)")
    e.add_argument("-o", "--out", default=None, help="output directory for the reports")
    t = sub.add_parser("train", help="train a model on your labelled data",
                       description="Train a tone model: framing train tone --data FILE --out DIR")
    tsub = t.add_subparsers(dest="what", required=True, metavar="WHAT")
    tt = tsub.add_parser("tone", help="train a tone model (text, label, optional target)")
    tt.add_argument("--data", required=True, help="JSONL, CSV or Parquet with text and label")
    tt.add_argument("--out", required=True, help="directory to write the model to")
    tt.add_argument("--dev", default=None, help="separate dev file (default: a seeded split)")
    tt.add_argument("--dev-fraction", type=float, default=0.15)
    tt.add_argument("--design", choices=["branch", "frozen"], default="branch")
    tt.add_argument("--layers", type=int, default=2, help="branch layers (branch design)")
    tt.add_argument("--epochs", type=int, default=4)
    tt.add_argument("--lr", type=float, default=5e-5)
    tt.add_argument("--seed", type=int, default=13)
    tt.add_argument("--text", default="text")
    tt.add_argument("--label", default="label")
    tt.add_argument("--target", default="target", help="target mention column (optional)")
    tt.add_argument("--label-map", default=None, metavar="MAP",
                    help="your labels to framing's, e.g. neg=critical,neu=neutral,pos=promotional")
    tt.add_argument("--model", default=None, help="encoder (default: all-MiniLM-L6-v2)")
    tt.add_argument("--name", default=None, help="model name (default: the output folder's)")
    return p


def _parse_map(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    out = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"label map entries look like a=b; got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _cmd_train(args: argparse.Namespace) -> int:
    from .encoder import Encoder
    from .train import load_tone_examples, split_examples, train_tone

    opts = {"text": args.text, "label": args.label, "target": args.target,
            "label_map": _parse_map(args.label_map)}
    examples = load_tone_examples(args.data, **opts)
    if args.dev:
        train, dev = examples, load_tone_examples(args.dev, **opts)
    else:
        train, dev = split_examples(examples, args.dev_fraction, args.seed)
    print(f"training on {len(train)} examples, measuring on {len(dev)}", file=sys.stderr)
    encoder = Encoder(args.model)
    result = train_tone(train, dev, encoder, design=args.design, n_layers=args.layers,
                        epochs=args.epochs, lr=args.lr, seed=args.seed,
                        name=args.name or Path(args.out).name)
    result.save(args.out)
    f1 = result.metrics["dev_macro_f1"]
    print(f"dev macro-F1 {f1['value']:.3f} [{f1['low']:.3f}, {f1['high']:.3f}]; ECE "
          f"{result.metrics['ece_before']:.3f} -> {result.metrics['ece_after']:.3f} after "
          f"calibration; model written to {args.out}", file=sys.stderr)
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    if args.suite:
        from .suite import run_suite

        result = run_suite(args.suite, output=args.out, n_boot=args.n_boot)
        print(result.to_markdown())
        print(f"reports written to {Path(result.summary_path).parent}", file=sys.stderr)
        return 0
    if not args.data:
        print("framing eval: error: give a samples file or --suite", file=sys.stderr)
        return 2
    from .analyzer import Analyzer
    from .catalogue import load_catalogue
    from .cues import CueDetector
    from .encoder import Encoder
    from .evaluate import evaluate, load_samples

    kw = {"text": args.text, "label": args.label, "target": args.target,
          "target_start": args.target_start, "target_end": args.target_end}
    if args.task == "cues":
        kw["label_set"] = load_catalogue(args.catalogue).ids
    samples = load_samples(args.data, args.task, id=None, **kw)
    encoder = Encoder()
    if args.task == "tone":
        names = args.scorer or ["trained", "similarity", "vader"]
        scorers = {n: Analyzer(tone=n, cues=False, encoder=encoder) for n in names}
    elif args.task == "cues":
        names = args.scorer or (["trained", "detector", "patterns"] if args.catalogue is None
                                else ["detector", "patterns"])
        scorers = {n: Analyzer(tone=None, encoder=encoder, cue_detector=CueDetector(
            args.catalogue, encoder if n != "patterns" else None,
            use_similarity=n != "patterns", heads="auto" if n == "trained" else None))
            for n in names}
    else:
        print("framing eval: error: no built-in frame scorer yet; use the Python API "
              "framing.evaluate with your own scorer", file=sys.stderr)
        return 2
    report = evaluate(scorers, samples, tune=args.tune, n_boot=args.n_boot or 1000)
    print(report.to_markdown(Path(args.data).stem))
    if args.out:
        paths = report.save(args.out, Path(args.data).stem)
        print(f"reports written to {args.out}: {', '.join(sorted(paths))}", file=sys.stderr)
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    from .analyzer import Analyzer
    from .corpus import score_corpus

    def analyzer() -> Analyzer:  # built only after the input's columns check out
        return Analyzer(args.model, tone=args.tone, catalogue=args.catalogue,
                        tone_label_map=_parse_map(args.tone_label_map),
                        allow_network=args.allow_network, batch_size=args.batch_size)

    summary = score_corpus(
        args.input, args.output, text=args.text, id=args.id, outlet=args.outlet, date=args.date,
        title=args.title, target=args.target_column, analyzer=analyzer, format=args.format,
        chunk_size=args.chunk_size,
        evidence=not args.no_evidence, progress=not args.no_progress)
    print(summary, file=sys.stderr)
    return 0


def _cmd_cues(args: argparse.Namespace) -> int:
    from .catalogue import load_catalogue

    if args.list:
        from .catalogue import shipped_catalogues

        for name in shipped_catalogues():
            c = load_catalogue(name)
            print(f"{name}: {len(c)} cues (version {c.version}) - {c.description}")
        return 0
    cat = load_catalogue(args.catalogue)
    if args.format == "json":
        data = {"name": cat.name, "version": cat.version, "source": cat.source, "cues": [
            {"id": c.id, "name": c.name, "description": c.description,
             "patterns": len(c.patterns), "exemplars": len(c.exemplars),
             "counter_exemplars": len(c.counter_exemplars), "threshold": c.threshold,
             **({"examples": list(c.exemplars[:args.examples])} if args.examples else {})}
            for c in cat.cues]}
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    print(f"{cat.name} (version {cat.version}): {len(cat)} cues  [{cat.source}]")
    width = max(len(c.id) for c in cat.cues)
    for c in cat.cues:
        print(f"  {c.id:<{width}}  {c.name}  "
              f"({len(c.patterns)} patterns, {len(c.exemplars)} exemplars, "
              f"{len(c.counter_exemplars)} counter-exemplars)")
        print(f"  {'':<{width}}  {c.description}")
        for ex in c.exemplars[:args.examples]:
            print(f"  {'':<{width}}    e.g. {ex}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (2 for a usage or input error)."""
    args = build_parser().parse_args(argv)
    handlers = {"score": _cmd_score, "cues": _cmd_cues, "eval": _cmd_eval, "train": _cmd_train}
    try:
        return handlers[args.command](args)
    except (FramingError, FileNotFoundError, TypeError, ValueError) as exc:
        print(f"framing {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into head & co.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(f"framing {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
