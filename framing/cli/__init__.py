"""The ``framing`` command line: ``framing score``, ``cues``, ``eval``, ``train``,
``compare`` and ``sample``.

Only this module parses arguments; every command calls the public Python API.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from framing._version import __version__
from framing.errors import FramingError

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="framing",
        description="Tone and framing-cue analysis of news, offline by default.")
    p.add_argument("--version", action="version", version=f"framing {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("score", help="score a corpus file and write one row per article",
                       description="Score every article of INPUT (JSONL, CSV, TSV, Parquet or a "
                                   "directory of .txt files) and write one row per article to "
                                   "OUTPUT: a directory of Parquet shards (resumable: run the same "
                                   "command again after an interruption), or one .parquet, "
                                   ".jsonl or .csv file.")
    s.add_argument("input", help="corpus file (.jsonl, .jsonl.gz, .csv, .tsv, .parquet) or a "
                                 "directory of .txt files")
    s.add_argument("-o", "--output", required=True,
                   help="output directory (a name without extension, or ending in /) for "
                        "resumable Parquet shards, or a .parquet, .jsonl or .csv file")
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
    s.add_argument("--catalogue", default=None,
                   help="cue catalogue: YAML path or shipped name, e.g. policy_frames "
                        "(default: builtin)")
    s.add_argument("--frames", default="auto",
                   help="article frames: narrative (default where the heads fit the encoder), "
                        "policy (14 policy frames, few-shot), all, none, or a frame-heads "
                        "directory; comma-separated for several")
    s.add_argument("--cue-heads", default=None, metavar="DIR",
                   help="cue heads trained with 'framing train cues' (their catalogue comes "
                        "with them)")
    s.add_argument("--model", default=None,
                   help="encoder: a local model directory, or a hub id with --allow-network")
    s.add_argument("--allow-network", action="store_true",
                   help="allow downloading a hub model named by --model")
    s.add_argument("--batch-size", type=int, default=64, help="sentences per encoder batch")
    s.add_argument("--chunk-size", type=int, default=256, help="articles scored per chunk")
    s.add_argument("--shard-size", type=int, default=2048,
                   help="articles per Parquet shard of an output directory (default: 2048)")
    s.add_argument("--overwrite", action="store_true",
                   help="replace the shards of an earlier run in the output directory, even "
                        "one made from another input or with other settings")
    s.add_argument("--no-resume", action="store_true",
                   help="refuse an output directory that already holds shards instead of "
                        "continuing where the earlier run stopped")
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
    tc = tsub.add_parser("cues", help="train cue heads for a catalogue (text, cues)",
                         description="Train calibrated cue heads for a catalogue on labelled "
                                     "sentences: framing train cues --catalogue my.yaml --data "
                                     "labelled.jsonl --out DIR; then framing score --cue-heads DIR")
    tc.add_argument("--catalogue", default=None,
                    help="catalogue YAML or shipped name (default: builtin)")
    tc.add_argument("--data", required=True,
                    help="JSONL, CSV or Parquet: a text column and a cue-list column")
    tc.add_argument("--out", required=True, help="directory to write the heads to")
    tc.add_argument("--dev", default=None, help="separate dev file (default: a seeded split)")
    tc.add_argument("--dev-fraction", type=float, default=0.2)
    tc.add_argument("--text", default="text")
    tc.add_argument("--label", default="cues", help="column with the cue ids of each sentence")
    tc.add_argument("--no-exemplars", action="store_true",
                    help="do not add the catalogue's exemplars to the training data")
    tc.add_argument("--C", type=float, default=4.0, help="inverse L2 strength of the heads")
    tc.add_argument("--seed", type=int, default=13)
    tc.add_argument("--model", default=None, help="encoder (default: all-MiniLM-L6-v2)")
    tc.add_argument("--name", default=None, help="heads name (default: cues-<catalogue>)")
    _add_compare_parsers(sub)
    return p


def _add_compare_parsers(sub) -> None:
    m = sub.add_parser("compare", help="compare outlets on tone and cues, with statistics",
                       description="Compare groups (outlets) of a scores table: tone and cue "
                                   "prevalence with intervals, pairwise tests with effect sizes, "
                                   "Benjamini-Hochberg corrected. Prints a Markdown summary.")
    m.add_argument("scores", help="scores table (.parquet, .csv, .jsonl) or a directory of "
                                  "Parquet shards")
    m.add_argument("--by", default="outlet", help="group column (default: outlet)")
    m.add_argument("--within", default=None,
                   help="stratum column (e.g. a topic): compare groups inside each level")
    m.add_argument("--time", default=None, help="date column for the over-time table and plot")
    m.add_argument("--freq", default="M", help="time bin: D, W, M, Q or Y (default: M)")
    m.add_argument("--error-rates", default=None, metavar="FILE",
                   help="JSON of per-cue tpr/fpr for corrected prevalence (default: the "
                        "shipped error_rates.json when there is one)")
    m.add_argument("--html", default=None, metavar="FILE", help="write a self-contained HTML report")
    m.add_argument("--out-dir", default=None, metavar="DIR", help="write CSV tables and PNG plots")
    m.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    m.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples (default 2000)")
    m.add_argument("--n-permutations", type=int, default=9999,
                   help="permutations per tone test (default 9999)")
    m.add_argument("--seed", type=int, default=13)
    d = sub.add_parser("sample", help="draw a stratified validation sample to label",
                       description="Draw articles for labelling, stratified by outlet and by the "
                                   "model's uncertainty, in the format `framing eval` reads.")
    d.add_argument("scores", help="scores table (.parquet, .csv, .jsonl) or a shard directory")
    d.add_argument("-n", type=int, default=200, help="sample size (default 200)")
    d.add_argument("-o", "--output", required=True, help="output file (.jsonl, .csv, .parquet)")
    d.add_argument("--task", choices=["tone", "cues"], default="tone")
    d.add_argument("--by", default="outlet", help="outlet column (default: outlet; 'none' to skip)")
    d.add_argument("--strata", type=int, default=3, help="uncertainty bands (default 3)")
    d.add_argument("--seed", type=int, default=13)
    d.add_argument("--text-source", default=None, metavar="CORPUS",
                   help="corpus file to take the article text from")
    d.add_argument("--text", default="text", help="text column of the corpus (default: text)")
    d.add_argument("--id", default=None,
                   help="id column of the corpus (default: match on row number)")


def _cmd_compare(args: argparse.Namespace) -> int:
    from framing.analysis.compare import compare_outlets

    cmp = compare_outlets(args.scores, by=args.by, time=args.time, freq=args.freq,
                          within=args.within, error_rates=args.error_rates, alpha=args.alpha,
                          n_boot=args.n_boot, n_permutations=args.n_permutations, seed=args.seed)
    print(cmp.to_markdown())
    if args.out_dir:
        paths = cmp.save(args.out_dir)
        print(f"tables and plots written to {args.out_dir}: {', '.join(sorted(paths))}",
              file=sys.stderr)
    if args.html:
        cmp.to_html(args.html)
        print(f"report written to {args.html}", file=sys.stderr)
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    from framing.analysis.sample import draw_validation_sample

    by = None if args.by.lower() == "none" else args.by
    sample = draw_validation_sample(args.scores, n=args.n, by=by, task=args.task, seed=args.seed,
                                    n_strata=args.strata, text_source=args.text_source,
                                    text=args.text, id=args.id, out=args.output)
    missing = int(sample["text"].isna().sum())
    print(f"{len(sample)} articles written to {args.output} ({sample['stratum'].nunique()} strata)"
          + (f"; {missing} without text (pass --text-source)" if missing else "")
          + f". Fill in the '{'label' if args.task == 'tone' else 'cues'}' column, then run "
            f"`framing eval {args.output} --task {args.task}`.", file=sys.stderr)
    return 0


def _frames_arg(text: str) -> Any:
    if text in ("none", ""):
        return None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    return parts[0] if len(parts) == 1 else parts


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
    if args.what == "cues":
        return _cmd_train_cues(args)
    from framing.encoding.encoder import Encoder
    from framing.training.tone import load_tone_examples, split_examples, train_tone

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


def _cmd_train_cues(args: argparse.Namespace) -> int:
    from framing.encoding.encoder import Encoder
    from framing.training.cues import train_cue_heads

    result = train_cue_heads(args.catalogue, args.data, encoder=Encoder(args.model),
                             dev=args.dev, dev_fraction=args.dev_fraction, text=args.text,
                             label=args.label, use_exemplars=not args.no_exemplars, C=args.C,
                             seed=args.seed, name=args.name)
    result.save(args.out)
    m = result.metrics
    f1 = m["dev_macro_f1"]
    print(f"trained heads for {len(result.heads.ids)} cues on {m['train_n']} sentences; dev "
          f"macro-F1 {f1['value']:.3f} [{f1['low']:.3f}, {f1['high']:.3f}] on {m['dev_n']} "
          f"sentences; written to {args.out}", file=sys.stderr)
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    if args.suite:
        from framing.evaluation.suite import run_suite

        result = run_suite(args.suite, output=args.out, n_boot=args.n_boot)
        print(result.to_markdown())
        print(f"reports written to {Path(result.summary_path).parent}", file=sys.stderr)
        return 0
    if not args.data:
        print("framing eval: error: give a samples file or --suite", file=sys.stderr)
        return 2
    from framing.pipeline.analyzer import Analyzer
    from framing.text.catalogue import load_catalogue
    from framing.heads.cues.detector import CueDetector
    from framing.encoding.encoder import Encoder
    from framing.evaluation.harness import evaluate, load_samples

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
    from framing.pipeline.analyzer import Analyzer
    from framing.io.corpus import score_corpus

    def analyzer() -> Analyzer:  # built only after the input's columns check out
        return Analyzer(args.model, tone=args.tone, catalogue=args.catalogue,
                        cue_heads=args.cue_heads, frames=_frames_arg(args.frames),
                        tone_label_map=_parse_map(args.tone_label_map),
                        allow_network=args.allow_network, batch_size=args.batch_size)

    summary = score_corpus(
        args.input, args.output, text=args.text, id=args.id, outlet=args.outlet, date=args.date,
        title=args.title, target=args.target_column, analyzer=analyzer, format=args.format,
        chunk_size=args.chunk_size, shard_size=args.shard_size, overwrite=args.overwrite,
        resume=not args.no_resume,
        evidence=not args.no_evidence, progress=not args.no_progress)
    print(summary, file=sys.stderr)
    return 0


def _cmd_cues(args: argparse.Namespace) -> int:
    from framing.text.catalogue import load_catalogue

    if args.list:
        from framing.text.catalogue import shipped_catalogues

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
    handlers = {"score": _cmd_score, "cues": _cmd_cues, "eval": _cmd_eval, "train": _cmd_train,
                "compare": _cmd_compare, "sample": _cmd_sample}
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
