"""Draw real sentences for labelling, as pointers, with how each was drawn.

    python eval/labelling/draw_sentences.py --batch 1 --per-group 700 \
        [--data ../shared/data/real] [--seed 7] [--text-out /tmp/labelling/batch1.jsonl]

Three source groups (Chinese official text; other governments; news), each split evenly
across three ways of drawing:

- ``random``: a seeded uniform draw from the group's sentences;
- ``model_positive`` / ``model_uncertain``: from a seeded pool scored by the current default
  analyzer, sentences it flags with some cue, and sentences whose highest cue probability
  lies in the uncertain band [0.25, 0.75) without a flag (active learning);
- ``keyword`` / ``hard_negative``: sentences that match the cue lexicon below; those the
  model scores high or low respectively (trigger words that may or may not make the move).

``--focus CUE`` (repeatable) draws a batch aimed at rare cues instead: per group a third
at random and two thirds ``focus`` (from the scored pool, sentences where the current
model gives one of the focus cues a probability of at least 0.2: enough to hold many of
the cue's positives and many near misses); ``--train-only`` keeps such a batch out of the
dev split too, so that the dev rows, on which thresholds and calibration are fitted, keep
the mix of the other batches.

Sentences of test-split documents (``splits.py``) are not drawn unless ``--include-test``:
the test split is frozen, and a later batch would otherwise grow it. At most
``--per-doc`` sentences come from one document in a batch, no sentence is drawn
twice (also across earlier batches in ``eval/labelling/draws/``), and sentences of 6-80
words only. The output row holds a pointer (file, doc, start, end, sha256 into the corpus
under ``--data``), the group, source, method and the batch; never the text. The text, with
the previous and next sentence as context, goes to ``--text-out`` (outside the repository)
for the labelling passes.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

import numpy as np

import framing
from framing.core.pointers import TextPointer, iter_documents, text_sha256
from splits import split_of

HERE = Path(__file__).resolve().parent
FILES = {"ungd": "ungd.jsonl.gz", "xi_speech": "xi_speech.jsonl.gz",
         "cn_official_tweet": "cn_official_tweet.jsonl.gz", "us_state_dept": "us_state_dept.jsonl.gz",
         "kremlin": "kremlin.jsonl.gz", "allsides_news": "allsides_news.jsonl.gz"}
GROUPS = ("chinese_official", "other_government", "news")

# words that often (not always) carry a cue; written for this script
LEXICON = re.compile(r"\b(" + "|".join([
    r"win[- ]win", r"mutual(ly)? benefi\w*", r"common (development|prosperity)", r"shared prosperity",
    r"mutual respect", r"respect\w* (for )?(each other|sovereignty|territorial)", r"core interests",
    r"internal affairs", r"interfer\w*", r"equal footing", r"as equals",
    r"groundless", r"smear\w*", r"so-called", r"fabricat\w*", r"lies\b", r"politici[sz]\w*",
    r"reject\w*", r"slander\w*", r"disinformation",
    r"peace\w*", r"stability", r"dialogue", r"consultation", r"confrontation", r"coexist\w*",
    r"humanity", r"mankind", r"shared future", r"common good", r"global good",
    r"progress", r"milestone", r"achiev\w*", r"fruitful", r"record", r"historic",
    r"commit\w*", r"pledg\w*", r"stand\w* ready", r"will continue to", r"unwavering",
    r"challeng\w*", r"difficult\w*", r"remains to be seen", r"risks?",
    r"critic\w*", r"accus\w*", r"condemn\w*", r"concerns?", r"denounc\w*", r"blam\w*",
    r"hegemon\w*", r"bully\w*", r"double standards?", r"cold war", r"coerc\w*", r"meddl\w*",
    r"power politics", r"bloc\w*", r"sanction\w*", r"threat\w*",
]) + r")", re.IGNORECASE)


def group_of(source: str, doc: dict) -> str:
    if source == "ungd":
        return "chinese_official" if doc.get("country") == "CHN" else "other_government"
    if source in ("xi_speech", "cn_official_tweet"):
        return "chinese_official"
    if source in ("us_state_dept", "kremlin"):
        return "other_government"
    return "news"


def sentences(data: Path):
    """Every usable sentence: (group, source, file, doc id, start, end, text, prev, next)."""
    for source, file in FILES.items():
        for doc in iter_documents(data / file):
            text = doc["text"]
            sents = framing.prepare(text, max_chars=None).sentences
            for j, s in enumerate(sents):
                piece = text[s.start:s.end]
                n_words = len(piece.split())
                if not 6 <= n_words <= 80 or sum(c.isalpha() for c in piece) < 0.6 * len(piece):
                    continue
                prev = text[sents[j - 1].start:sents[j - 1].end] if j else ""
                nxt = text[sents[j + 1].start:sents[j + 1].end] if j + 1 < len(sents) else ""
                yield (group_of(source, doc), source, file, str(doc["id"]), s.start, s.end,
                       piece, prev, nxt)


def earlier_hashes(draws: Path) -> set[str]:
    seen: set[str] = set()
    for path in sorted(draws.glob("batch*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                seen.add(json.loads(line)["sha256"])
    return seen


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--per-group", type=int, default=700)
    ap.add_argument("--per-doc", type=int, default=3)
    ap.add_argument("--pool", type=int, default=4000, help="sentences per group scored by the model")
    ap.add_argument("--data", default=str(HERE.parents[1].parent / "shared" / "data" / "real"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--text-out", required=True)
    ap.add_argument("--focus", action="append", default=None, metavar="CUE",
                    help="draw two thirds where the model gives this cue p >= 0.2 (repeatable)")
    ap.add_argument("--train-only", action="store_true",
                    help="draw from train-split documents only (no dev rows)")
    ap.add_argument("--include-test", action="store_true",
                    help="also draw from test-split documents (only before the split froze)")
    args = ap.parse_args(argv)
    data, draws = Path(args.data), HERE / "draws"
    draws.mkdir(exist_ok=True)
    out_path = draws / f"batch{args.batch}.jsonl"
    if out_path.exists():
        print(f"{out_path} exists; batches are never redrawn", file=sys.stderr)
        return 2
    rng = random.Random(args.seed * 1000 + args.batch)
    seen = earlier_hashes(draws)
    by_group: dict[str, list[tuple]] = {g: [] for g in GROUPS}
    if args.train_only and args.include_test:
        ap.error("--train-only and --include-test exclude each other")
    for row in sentences(data):
        split = split_of(row[2], row[3])
        if (split == "train" if args.train_only else args.include_test or split != "test"):
            by_group[row[0]].append(row)
    print({g: len(v) for g, v in by_group.items()}, file=sys.stderr)

    an = framing.Analyzer(frames=None)
    ids, thresholds = an.cue_ids, np.asarray(an.cue_detector.thresholds)
    unknown = sorted(set(args.focus or ()) - set(ids))
    if unknown:
        ap.error(f"unknown focus cue(s) {unknown}; the catalogue has {ids}")
    focus = [ids.index(c) for c in args.focus or ()]
    chosen: list[tuple[tuple, str]] = []
    per_doc: dict[str, int] = {}
    taken: set[str] = set()

    def take(row, method) -> bool:
        key = text_sha256(row[6])
        if key in seen or key in taken or per_doc.get(row[3], 0) >= args.per_doc:
            return False
        taken.add(key)
        per_doc[row[3]] = per_doc.get(row[3], 0) + 1
        chosen.append((row, method))
        return True

    third = args.per_group // 3
    for g in GROUPS:
        rows = by_group[g][:]
        rng.shuffle(rows)
        n = 0
        n_random = args.per_group - 2 * third
        for row in rows:  # random
            if n >= n_random:
                break
            n += take(row, "random")
        pool = rows[-args.pool:]
        res = an.score_many([r[6] for r in pool], batch_size=128)
        probs = np.array([[r.cues[c].probability for c in ids] for r in res])
        if focus:
            plans = [("focus", np.flatnonzero(probs[:, focus].max(axis=1) >= 0.2),
                      args.per_group - n_random)]
        else:
            flagged = (probs >= thresholds[None, :]).any(axis=1)
            top = probs.max(axis=1)
            lex = np.array([bool(LEXICON.search(r[6])) for r in pool])
            plans = [("model_positive", np.flatnonzero(flagged), third // 2),
                     ("model_uncertain", np.flatnonzero(~flagged & (top >= 0.25) & (top < 0.75)),
                      third - third // 2),
                     ("keyword", np.flatnonzero(lex & flagged), third // 2),
                     ("hard_negative", np.flatnonzero(lex & ~flagged & (top < 0.25)),
                      third - third // 2)]
        for method, cand, quota in plans:
            cand = list(cand)
            rng.shuffle(cand)
            got = 0
            for i in cand:
                if got >= quota:
                    break
                got += take(pool[i], method)
            print(f"{g} {method}: {got} of {quota} ({len(cand)} candidates)", file=sys.stderr)

    order = list(range(len(chosen)))
    rng.shuffle(order)  # labellers see the rows in a mixed order, not grouped by method
    text_out = Path(args.text_out)
    text_out.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("w", encoding="utf-8") as fo, text_out.open("w", encoding="utf-8") as ft:
        for k, i in enumerate(order):
            row, method = chosen[i]
            ptr = TextPointer(row[2], row[3], row[4], row[5], text_sha256(row[6]))
            uid = f"b{args.batch}-{k:05d}"
            fo.write(json.dumps({"uid": uid, **ptr.to_dict(), "group": row[0], "source": row[1],
                                 "method": method, "batch": args.batch}) + "\n")
            ft.write(json.dumps({"uid": uid, "text": row[6], "before": row[7], "after": row[8]},
                                ensure_ascii=False) + "\n")
    print(f"wrote {len(chosen)} rows to {out_path} and their text to {text_out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
