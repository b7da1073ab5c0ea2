"""List likely label errors among the labelled real sentences by cross-validated
disagreement (the idea behind confident learning), for a review pass.

    python eval/labelling/suspect_labels.py [--data ../shared/data/real] [--folds 5]
        [--out /tmp/labelling/suspects.jsonl] [--max 300] [--batch 5 --batch 6]

Only train and dev rows are examined: reviewing test labels with a model's hints would
pull the test split toward what models find. Each sentence is encoded once (the default
encoder's sentence embedding); per cue a class-balanced logistic regression is fitted
``--folds`` times, each time predicting the held-out fold. A label is a suspect when the
out-of-fold probability contradicts it confidently: labelled present with p < 0.1, or
absent with p > 0.9 (and the cue has at least 10 positives). Writes the suspects (with
text, for the reviewer; outside the repository) and prints counts per cue and the share
of rows with any suspect; ``results/suspects.json`` keeps the counts only. ``--batch``
(repeatable) lists only the suspects of those batches, for a review of newly labelled
rows; the classifiers still learn from every train and dev row, and the counts go to
``results/suspects_batch<N>[-<M>...].json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

import framing
from framing.core.pointers import TextPointer, resolve_pointers

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from merge_passes import CUES  # noqa: E402
from splits import split_of  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(HERE.parents[1].parent / "shared" / "data" / "real"))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--out", default="/tmp/labelling/suspects.jsonl")
    ap.add_argument("--max", type=int, default=300)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--batch", type=int, action="append", default=None,
                    help="list suspects of this batch only (repeatable; default: every batch)")
    args = ap.parse_args(argv)
    rows = []
    for path in sorted((HERE / "labels").glob("batch*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            r = json.loads(line) if line.strip() else None
            if r and r.get("final") and split_of(r["file"], r["doc"]) != "test":
                rows.append(r)
    texts = resolve_pointers([TextPointer.from_dict(r) for r in rows], args.data)
    X = framing.Encoder().encode(texts)
    Y = np.array([[c in r["final"]["cues"] for c in CUES] for r in rows], dtype=int)
    oof = np.full(Y.shape, np.nan)
    for j, cue in enumerate(CUES):
        if Y[:, j].sum() < 10:
            continue
        folds = StratifiedKFold(args.folds, shuffle=True, random_state=args.seed)
        for tr, te in folds.split(X, Y[:, j]):
            lr = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced")
            lr.fit(X[tr], Y[tr, j])
            oof[te, j] = lr.predict_proba(X[te])[:, 1]
    listed = np.array([args.batch is None or r.get("batch") in args.batch for r in rows])
    missed = (Y == 1) & (oof < 0.1) & listed[:, None]
    extra = (Y == 0) & (oof > 0.9) & listed[:, None]
    score = np.nan_to_num(np.where(missed, 1 - oof, 0) + np.where(extra, oof, 0))
    order = np.argsort(-score.max(axis=1))
    out = []
    for i in order[: args.max]:
        if score[i].max() <= 0:
            break
        out.append({"uid": rows[i]["uid"], "text": texts[i], "final": rows[i]["final"],
                    "suspect": {c: ("labelled present, model says absent" if missed[i, j] else
                                    "labelled absent, model says present")
                                for j, c in enumerate(CUES) if missed[i, j] or extra[i, j]}})
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        for r in out:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    counts = {c: {"missed": int(missed[:, j].sum()), "extra": int(extra[:, j].sum())}
              for j, c in enumerate(CUES)}
    summary = {"rows_examined": int(listed.sum()), "rows_fitted": len(rows),
               "rows_with_a_suspect": int((missed | extra).any(axis=1).sum()),
               "per_cue": counts, "written": len(out)}
    print(json.dumps(summary, indent=2))
    name = ("suspects_batch" + "-".join(str(b) for b in sorted(args.batch)) if args.batch
            else "suspects")
    (HERE / "results" / f"{name}.json").write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
