"""Measure an analyzer on the labelled real articles (eval/labelling/labels/articles.jsonl,
text resolved from ../shared/data/real), by split.

    python eval/real_articles.py [--split test|dev|train|all] [--data ../shared/data/real]

Reports article-level cue macro-F1 over the ten v2 cues (a cue the analyzer does not score
counts as never present), per-cue precision/recall/F1 and overall tone macro-F1, with 95%
bootstrap intervals; writes ``results/real_articles_<split>.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import framing
from framing.core.labels import TONE_LABELS
from framing.io.pointers import TextPointer, resolve_pointers
from framing.stats.metrics import classification_metrics, multilabel_metrics

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "labelling"))
from splits import split_of  # noqa: E402

CUES = ["win_win", "mutual_respect", "counter_criticism", "peaceful_coexistence", "shared_future",
        "achievement", "commitment", "challenge_acknowledged", "external_criticism",
        "criticism_of_others"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="test", choices=["test", "dev", "train", "all"])
    ap.add_argument("--data", default=str(HERE.parent.parent / "shared" / "data" / "real"))
    ap.add_argument("--n-boot", type=int, default=1000)
    args = ap.parse_args(argv)
    path = HERE / "labelling" / "labels" / "articles.jsonl"
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    rows = [r for r in rows if args.split == "all" or split_of(r["file"], r["doc"]) == args.split]
    if not rows:
        print("no labelled articles in this split", file=sys.stderr)
        return 1
    texts = resolve_pointers([TextPointer.from_dict(r) for r in rows], args.data)
    res = framing.Analyzer(frames=None).score_many(texts, batch_size=128)
    Y = np.array([[c in r["final"]["cues"] for c in CUES] for r in rows])
    P = np.array([[bool(x.cues[c].present) if c in x.cues else False for c in CUES] for x in res])
    cue = multilabel_metrics(Y, P, CUES, n_boot=args.n_boot)
    y = np.array([TONE_LABELS.index(r["final"]["tone"]) for r in rows])
    p = np.array([TONE_LABELS.index(x.tone_label) if x.tone_label in TONE_LABELS else 1 for x in res])
    tone = classification_metrics(y, p, TONE_LABELS, n_boot=args.n_boot)
    lines = [f"# Real articles, split `{args.split}`: shipped default analyzer", "",
             f"Written by `python eval/real_articles.py --split {args.split}`; {len(rows)} articles; "
             "95% bootstrap intervals.", "",
             f"- article cue macro-F1 (10 cues): **{cue['macro_f1']}**",
             f"- overall tone macro-F1: **{tone['macro_f1']}**", "",
             "| cue | articles with it | precision | recall | F1 |", "|---|---:|---:|---:|---:|"]
    for j, c in enumerate(CUES):
        pc = cue["per_label"][c]
        lines.append(f"| {c} | {int(Y[:, j].sum())} | {pc['precision']:.2f} | {pc['recall']:.2f} | "
                     f"{pc['f1']:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    (HERE / "results" / f"real_articles_{args.split}.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
