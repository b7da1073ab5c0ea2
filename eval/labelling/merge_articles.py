"""Join the article-level labelling pass to the article pointers.

    python eval/labelling/merge_articles.py --labels /tmp/labelling/art_out

Reads ``*.labels.jsonl`` rows ``{"aid", "cues", "tone", "note"}`` and writes
``labels/articles.jsonl``: per article the pointer (the whole text), group, source and the
labels (cues present anywhere in the article, overall tone), with ``labelled_by`` saying
how. No text is stored.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from merge_passes import CUES, TONES  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--labels", required=True, help="folder of *.labels.jsonl (outside the repo)")
    args = ap.parse_args(argv)
    labels = {}
    for path in sorted(Path(args.labels).glob("*.labels.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                labels[r["aid"]] = r
    rows = [json.loads(x) for path in sorted((HERE / "draws").glob("articles*.jsonl"))
            for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    n = 0
    with (HERE / "labels" / "articles.jsonl").open("w", encoding="utf-8") as fh:
        for r in rows:
            lab = labels.get(r["aid"])
            if lab is None:
                continue
            r["final"] = {"cues": sorted({c for c in lab.get("cues", []) if c in CUES},
                                         key=CUES.index),
                          "tone": lab["tone"] if lab.get("tone") in TONES else "neutral"}
            r["labelled_by"] = "one AI-annotator pass over the whole article (GUIDE.md)"
            fh.write(json.dumps(r) + "\n")
            n += 1
    print(f"{n} of {len(rows)} articles labelled", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
