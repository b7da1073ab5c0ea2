"""Measure the shipped cue detector's per-cue error rates at article level.

    python eval/cue_error_rates.py            # writes models/cues-builtin/error_rates.json
    python eval/cue_error_rates.py --profile accurate   # models/cues-mpnet/error_rates.json
    python eval/cue_error_rates.py --cue-operating-point strict   # .../error_rates-strict.json
    python eval/cue_error_rates.py --samples my_labelled_articles.jsonl --out rates.json

By default scores the real articles and speeches of the frozen test split
(eval/labelling/labels/articles.jsonl, documents in eval/labelling/splits/test_docs.txt,
text resolved from ../shared/data/real or --real) with the shipped analyzer of --profile
(the default tier unless told) and records, per cue, the true-positive rate (share of
articles carrying the cue that the detector flags) and the false-positive rate (share of
articles without it that it flags),
with Wilson 95% intervals and counts. ``framing.compare_outlets`` reads the file to
correct raw cue prevalences for the detector's errors (adjusted classify-and-count).
The rates are only as good as the sample: with a few dozen articles, their intervals
are wide; measure them on a labelled sample of your own corpus (``framing sample``) for
serious use.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import framing
from framing.core.resources import TIERS, get_tier, shipped_model_path
from framing.heads.cues.heads import is_cue_heads_dir, load_cue_heads
from framing.stats.inference import wilson_interval
from framing.core.pointers import pointer_samples
from framing.evaluation.harness import load_samples

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--samples", default=None,
                    help="a labelled article table (text, cues) instead of the real test split")
    ap.add_argument("--real", default=str(HERE.parent.parent / "shared" / "data" / "real"))
    ap.add_argument("--profile", default="default", choices=list(TIERS),
                    help="the model tier whose analyzer is measured (default: %(default)s)")
    ap.add_argument("--cue-operating-point", default=None, metavar="NAME",
                    help="measure the heads at this operating point (default: theirs)")
    ap.add_argument("--out", default=None,
                    help="where to write (default: error_rates.json in the profile's cue "
                         "heads directory, models/cues-builtin for the default tier; "
                         "error_rates-NAME.json for another operating point than the "
                         "heads' default)")
    args = ap.parse_args()
    tier = get_tier(args.profile)
    heads = shipped_model_path(tier.cue_heads)
    if tier.name != "default" and not is_cue_heads_dir(heads):
        # without them the analyzer would fall back to few-shot cues: not what is measured
        raise SystemExit(f"the {tier.name} tier's cue heads are not in {heads} yet; train "
                         "them first")
    t0 = time.perf_counter()
    an = framing.Analyzer(profile=None if tier.name == "default" else tier.name,
                          cue_operating_point=args.cue_operating_point)
    point = an.config()["cue_operating_point"]
    default_point = load_cue_heads(heads).operating_point if is_cue_heads_dir(heads) else None
    args.out = args.out or str(heads / ("error_rates.json" if point == default_point
                                        else f"error_rates-{point}.json"))
    ids = an.cue_ids
    if args.samples:
        source, data = args.samples, args.samples
    else:
        labels = HERE / "labelling"
        source = ("eval/labelling/labels/articles.jsonl, test split "
                  "(eval/labelling/splits/test_docs.txt)")
        data = pointer_samples([labels / "labels" / "articles.jsonl"], args.real,
                               documents=labels / "splits" / "test_docs.txt")
    samples = load_samples(data, "cues", label_set=ids)
    Y = samples.y_matrix().astype(bool)
    results = an.score_many(samples.texts)
    P = np.array([[r.cues[c].present for c in ids] for r in results])
    cues = {}
    for j, c in enumerate(ids):
        pos, neg = Y[:, j], ~Y[:, j]
        tp, fp = int((P[:, j] & pos).sum()), int((P[:, j] & neg).sum())
        n_pos, n_neg = int(pos.sum()), int(neg.sum())
        tpr_ci = wilson_interval(tp, n_pos) if n_pos else (float("nan"),) * 2
        fpr_ci = wilson_interval(fp, n_neg) if n_neg else (float("nan"),) * 2
        cues[c] = {"tpr": tp / n_pos if n_pos else None, "fpr": fp / n_neg if n_neg else None,
                   "tpr_ci95": [float(x) for x in tpr_ci[-2:]],
                   "fpr_ci95": [float(x) for x in fpr_ci[-2:]],
                   "positives": n_pos, "negatives": n_neg, "true_positives": tp,
                   "false_positives": fp}
    out = {
        "level": "article",
        "source": source,
        "n_articles": len(samples),
        "detector": an.config()["cue_detector"],
        "operating_point": point,
        "framing_version": framing.__version__,
        "command": "python eval/cue_error_rates.py"
                   + (f" --profile {tier.name}" if tier.name != "default" else "")
                   + (f" --samples {args.samples}" if args.samples else "")
                   + (f" --cue-operating-point {args.cue_operating_point}"
                      if args.cue_operating_point else ""),
        "cues": cues,
    }
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    for c, v in cues.items():
        tpr = "n/a" if v["tpr"] is None else f"{v['tpr']:.2f}"
        fpr = "n/a" if v["fpr"] is None else f"{v['fpr']:.2f}"
        print(f"{c:24s} tpr {tpr} ({v['true_positives']}/{v['positives']})  "
              f"fpr {fpr} ({v['false_positives']}/{v['negatives']})")
    print(f"written {args.out} in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
