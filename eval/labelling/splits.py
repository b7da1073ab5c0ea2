"""Train / dev / test assignment of labelled real text, by document.

A document's split is a pure function of its file and id (a seeded sha256), so every
sentence of a document lands in one split, and sentences labelled in later batches land
where their documents already are: the split never has to be redrawn. The test share is
25% of documents, dev 15%, train the rest.

    python eval/labelling/splits.py      # writes splits/test_docs.txt, dev_docs.txt

``test_docs.txt`` lists the test documents among those labelled so far; it is committed,
and nothing is ever tuned on those rows.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = "framing-real-v1"
TEST_SHARE, DEV_SHARE = 0.25, 0.15


def split_of(file: str, doc: str) -> str:
    """``"test"``, ``"dev"`` or ``"train"`` for a document."""
    h = int(hashlib.sha256(f"{SEED}|{file}|{doc}".encode()).hexdigest()[:12], 16) / 16 ** 12
    if h < TEST_SHARE:
        return "test"
    return "dev" if h < TEST_SHARE + DEV_SHARE else "train"


def main() -> int:
    docs: set[tuple[str, str]] = set()
    for path in sorted((HERE / "labels").glob("*.jsonl")):  # sentence batches and articles
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                docs.add((r["file"], r["doc"]))
    out = HERE / "splits"
    out.mkdir(exist_ok=True)
    for name in ("test", "dev"):
        chosen = sorted(f"{f}\t{d}" for f, d in docs if split_of(f, d) == name)
        (out / f"{name}_docs.txt").write_text("\n".join(chosen) + "\n", encoding="utf-8")
        print(f"{name}: {len(chosen)} documents", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
