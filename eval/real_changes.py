"""Which real sentences one model got wrong and another right, by pointer (never text).

    python eval/real_sentences.py --split test --predictions before.jsonl [--tone ... ]
    python eval/real_sentences.py --split test --predictions after.jsonl
    python eval/real_changes.py before.jsonl after.jsonl [--split test] [--n 5] [--seed 5]

The predictions of the release before the real-text retraining and of the shipped models
on the test split are kept in eval/results/predictions/ (uids and labels, no text).

A sentence counts as right when the predicted cue set equals its final cue set and the
predicted sentence tone equals its final tone. Prints how many sentences went from wrong to
right and from right to wrong, and draws ``--n`` wrong-to-right examples (seeded, spread
over the source groups) as pointers with the gold and the earlier prediction; writes the
same to ``results/real_changes_<split>.md``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "labelling"))
from real_sentences import labelled_rows  # noqa: E402


def _read(path: str) -> dict[str, dict]:
    with open(path, encoding="utf-8") as fh:
        return {r["uid"]: r for r in map(json.loads, fh) if r}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("--split", default="test", choices=["test", "dev", "train", "all"])
    ap.add_argument("--n", type=int, default=5)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--out", default=None,
                    help="where to write the table (default: results/real_changes_SPLIT.md)")
    args = ap.parse_args(argv)
    rows = {r["uid"]: r for r in labelled_rows(args.split)}
    before, after = _read(args.before), _read(args.after)
    missing = [u for u in rows if u not in before or u not in after]
    if missing:
        print(f"{len(missing)} labelled rows lack a prediction (e.g. {missing[0]})", file=sys.stderr)
        return 1

    def right(pred: dict, row: dict) -> bool:
        return set(pred["cues"]) == set(row["final"]["cues"]) and \
            pred["tone"] == row["final"]["tone"]

    fixed = [u for u, r in rows.items() if right(after[u], r) and not right(before[u], r)]
    broken = [u for u, r in rows.items() if right(before[u], r) and not right(after[u], r)]
    rng = random.Random(args.seed)
    groups = sorted({rows[u]["group"] for u in fixed})
    picks: list[str] = []
    while len(picks) < min(args.n, len(fixed)):
        for g in groups:
            pool = [u for u in fixed if rows[u]["group"] == g and u not in picks]
            if pool and len(picks) < args.n:
                picks.append(rng.choice(pool))
    lines = [f"# Real sentences, split `{args.split}`: what changed between two models", "",
             f"Written by `python eval/real_changes.py {args.before} {args.after} --split "
             f"{args.split} --n {args.n} --seed {args.seed}"
             + (f" --out {args.out}" if args.out else "")
             + "`; right = cue set and sentence tone "
             "both equal the final labels.", "",
             f"- {len(rows)} sentences; right before {sum(right(before[u], r) for u, r in rows.items())}, "
             f"after {sum(right(after[u], r) for u, r in rows.items())}",
             f"- wrong before, right after: {len(fixed)}; right before, wrong after: {len(broken)}",
             "", "Wrong before, right after (pointers into `../shared/data/real`):", "",
             "| uid | group | file | doc | start | end | sha256 (first 12) | final labels | before |",
             "|---|---|---|---|---:|---:|---|---|---|"]
    for u in picks:
        r, b = rows[u], before[u]
        lines.append(f"| {u} | {r['group']} | {r['file']} | {r['doc']} | {r['start']} | "
                     f"{r['end']} | {r['sha256'][:12]} | {', '.join(r['final']['cues']) or '-'}; "
                     f"{r['final']['tone']} | {', '.join(b['cues']) or '-'}; {b['tone']} |")
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out) if args.out else HERE / "results" / f"real_changes_{args.split}.md"
    out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
