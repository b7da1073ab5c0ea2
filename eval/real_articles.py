"""Measure an analyzer on the labelled real articles (eval/labelling/labels/articles.jsonl,
text resolved from ../shared/data/real), by split.

    python eval/real_articles.py [--split test|dev|train|all] [--data ../shared/data/real]
                                 [--profile default|accurate] [--predictions preds.jsonl]

Reports article-level cue macro-F1 over the ten v2 cues (a cue the analyzer does not score
counts as never present), per-cue precision/recall/F1 and overall tone macro-F1, with 95%
bootstrap intervals; writes ``results/real_articles_<split>.md`` (for ``--profile accurate``,
the accurate tier, ``results/real_articles_<split>_accurate.md``).

``--predictions FILE`` also writes one JSON object a line per article: ``aid`` and the
document pointer (``file``, ``doc``), the final labels (``gold_cues``, ``gold_tone``) and
the analyzer's (``cues`` over the ten cues, ``tone``); no text. eval/tier_table.py compares
tiers from such files.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


from framing.core.pointers import TextPointer, resolve_pointers

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "labelling"))
from real_sentences import (add_model_options, analyzer_from, parse_model_options,  # noqa: E402
                            per_cue_table, report_name, score_against_labels, write_report)
from merge_passes import CUES  # noqa: E402
from splits import split_of  # noqa: E402


def write_predictions(path: str | Path, rows: list[dict], res: list) -> None:
    """Write each article's id, document pointer, final labels and predicted cues (of the
    ten) and tone, one JSON object a line (no text)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for r, x in zip(rows, res):
            fh.write(json.dumps({"aid": r["aid"], "file": r["file"], "doc": r["doc"],
                                 "gold_cues": [c for c in CUES if c in r["final"]["cues"]],
                                 "gold_tone": r["final"]["tone"],
                                 "cues": [c for c in CUES if c in x.cues and x.cues[c].present],
                                 "tone": x.tone_label}) + "\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="test", choices=["test", "dev", "train", "all"])
    ap.add_argument("--data", default=str(HERE.parent.parent / "shared" / "data" / "real"))
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--out")
    ap.add_argument("--predictions", help="write per-article predictions (ids, no text) here")
    add_model_options(ap)
    args = parse_model_options(ap, argv)
    path = HERE / "labelling" / "labels" / "articles.jsonl"
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    rows = [r for r in rows if args.split == "all" or split_of(r["file"], r["doc"]) == args.split]
    if not rows:
        print("no labelled articles in this split", file=sys.stderr)
        return 1
    texts = resolve_pointers([TextPointer.from_dict(r) for r in rows], args.data)
    res, Y, _, cue, cue_own, tone = score_against_labels(analyzer_from(args), rows, texts,
                                                         args.n_boot)
    if args.predictions:
        write_predictions(args.predictions, rows, res)
    command = " ".join(["python eval/real_articles.py"] + (argv if argv is not None else sys.argv[1:]))
    lines = [f"# Real articles, split `{args.split}`: {args.name}", "",
             f"Written by `{command}`; {len(rows)} articles; "
             "95% bootstrap intervals.", "",
             f"- article cue macro-F1 (10 cues): **{cue['macro_f1']}**; over the "
             f"{len(cue_own['labels'])} cues the analyzer scores: {cue_own['macro_f1']}",
             f"- overall tone macro-F1: **{tone['macro_f1']}**", "",
             *per_cue_table(cue, Y, "articles with it")]
    write_report(lines, args.out, report_name(f"real_articles_{args.split}", args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
