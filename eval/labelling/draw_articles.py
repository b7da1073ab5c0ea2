"""Draw whole real documents for article-level labels (cues present, overall tone).

    python eval/labelling/draw_articles.py --n 240 --text-out /tmp/labelling/articles.jsonl

A seeded draw of documents of 1,500-9,000 characters (Chinese official speeches up to
16,000, since few are shorter): 80 Chinese official (UN General Debate speeches of China,
Xi Jinping speeches), 80 other governments (Kremlin pages, State Department releases, other
states' UN speeches) and 80 news articles (AllSides; half of them mentioning China).
Writes ``draws/articles.jsonl`` (pointer to the whole text, group, source) and the text
outside the repository for the labelling pass.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from framing.core.pointers import TextPointer, iter_documents

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from draw_sentences import FILES, group_of  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=240)
    ap.add_argument("--data", default=str(HERE.parents[1].parent / "shared" / "data" / "real"))
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--text-out", required=True)
    ap.add_argument("--draw", type=int, default=1, help="draw number (later draws skip earlier documents)")
    args = ap.parse_args(argv)
    out = HERE / "draws" / ("articles.jsonl" if args.draw == 1 else f"articles{args.draw}.jsonl")
    if out.exists():
        print(f"{out} exists; draws are never redrawn", file=sys.stderr)
        return 2
    rng = random.Random(args.seed * 100 + args.draw)
    earlier = {(r["file"], r["doc"]) for p in (HERE / "draws").glob("articles*.jsonl")
               for r in map(json.loads, p.read_text(encoding="utf-8").splitlines()) if r}
    pools: dict[str, list] = {"chinese_official": [], "other_government": [], "news_china": [],
                              "news_other": []}
    for source, file in FILES.items():
        if source == "cn_official_tweet":
            continue  # posts are not articles
        for doc in iter_documents(Path(args.data) / file):
            g = group_of(source, doc)
            limit = 16_000 if g == "chinese_official" else 9_000
            if not 1_500 <= len(doc["text"]) <= limit or (file, str(doc["id"])) in earlier:
                continue
            if g == "news":
                g = "news_china" if doc.get("china_mention") else "news_other"
            pools[g].append((source, file, doc))
    per = args.n // 3
    quota = {"chinese_official": per, "other_government": per, "news_china": per // 2,
             "news_other": per - per // 2}
    chosen = []
    for g, q in quota.items():
        pool = pools[g]
        rng.shuffle(pool)
        chosen += [(g, *x) for x in pool[:q]]
        print(f"{g}: {min(q, len(pool))} of {len(pool)}", file=sys.stderr)
    rng.shuffle(chosen)
    with out.open("w", encoding="utf-8") as fo, open(args.text_out, "w", encoding="utf-8") as ft:
        for k, (g, source, file, doc) in enumerate(chosen):
            ptr = TextPointer.of(file, str(doc["id"]), doc["text"], 0, len(doc["text"]))
            aid = f"a-{k:04d}" if args.draw == 1 else f"a{args.draw}-{k:04d}"
            fo.write(json.dumps({"aid": aid, **ptr.to_dict(),
                                 "group": "news" if g.startswith("news") else g,
                                 "source": source}) + "\n")
            ft.write(json.dumps({"aid": aid, "title": doc.get("title", ""), "text": doc["text"]},
                                ensure_ascii=False) + "\n")
    print(f"wrote {len(chosen)} articles to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
