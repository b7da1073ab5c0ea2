"""Article-level narrative frames on the dev split of the shipped frame heads.

    python eval/frames_dev.py [--data ../shared/data/narrative_frames/articles_metadata.tsv]

Rebuilds the dev split the shipped heads were measured on (article ids in the model's
dev_split.json; every other labelled article is training), re-encodes the articles'
sentences with the default encoder, and compares the shipped heads with the keyword and
majority baselines (both fitted on the training articles): macro-F1 with a 95% bootstrap
interval, micro-F1, per-frame F1, and a paired bootstrap of each scorer's macro-F1 against
the keyword baseline on shared resamples. Writes eval/results/frames_dev.{json,md}. The
report keeps no article text (the corpus is not copied into this repository).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np

import framing
from framing.stats.metrics import multilabel_macro_f1_resampler
from framing.heads.frames.baselines import KeywordFrameBaseline, MajorityFrameBaseline
from framing.heads.frames.heads import load_frame_heads, shipped_frame_heads_path
from framing.training.frames import encode_articles, read_narrative_frames
from framing.stats.metrics import bootstrap_indices, multilabel_metrics, paired_bootstrap

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "narrative_frames" / "articles_metadata.tsv"
REFERENCE = "keyword"


def _p(value: float) -> str:
    if not math.isfinite(value):
        return "p=n/a"
    return "p<0.001" if value < 0.001 else f"p={value:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--heads", default=None, help="frame-heads directory (default: shipped)")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--cache", default="/tmp/framing-frames-cache",
                    help="directory for cached sentence embeddings; '' to disable")
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args()

    heads_dir = Path(args.heads) if args.heads else shipped_frame_heads_path()
    heads = load_frame_heads(heads_dir)
    split = json.loads((heads_dir / "dev_split.json").read_text())
    arts = read_narrative_frames(args.data)
    dev_ids = set(split["dev_ids"])
    dev = [i for i, a in enumerate(arts) if a.id in dev_ids]
    train = [i for i, a in enumerate(arts) if a.id not in dev_ids]
    if len(dev) != len(dev_ids):
        raise SystemExit(f"{len(dev_ids) - len(dev)} dev ids of {heads_dir} are not in {args.data}")
    Y = np.array([a.labels for a in arts], dtype=bool)
    Yd = Y[dev]

    encoder = framing.Encoder()
    heads.check(encoder)
    # the rows the analyzer gives these heads: embeddings, or a tone branch's states
    from framing.heads.frames.scorers import HeadsFrameScorer

    branch = HeadsFrameScorer(heads, encoder).feature_model
    t0 = time.perf_counter()
    sent = encode_articles([arts[i].text for i in dev], encoder, cache_dir=args.cache or None,
                           feature_model=branch, features=heads.feature_source)
    encode_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    probs = np.vstack([heads.predict_proba(heads.features(s)) for s in sent])
    heads_s = time.perf_counter() - t0
    kw = KeywordFrameBaseline().fit([arts[i].text for i in train], Y[train])
    maj = MajorityFrameBaseline().fit(Y[train])
    preds = {
        "trained": probs >= heads.thresholds[None, :],
        "keyword": kw.predict([arts[i].text for i in dev]),
        "majority": maj.predict(len(dev)),
    }
    idx = bootstrap_indices(len(dev), args.n_boot, args.seed)
    ids = heads.ids
    metrics = {name: multilabel_metrics(Yd, P, ids, idx=idx) for name, P in preds.items()}
    versus = {
        name: paired_bootstrap(multilabel_macro_f1_resampler(Yd, preds[name]), idx, metrics[name]["macro_f1"].value,
                               metrics[REFERENCE]["macro_f1"].value, multilabel_macro_f1_resampler(Yd, preds[REFERENCE]))
        for name in preds if name != REFERENCE
    }

    result = {
        "task": "frames",
        "data": f"{Path(args.data).name}, dev split of {heads_dir.name} (seed {split.get('seed')})",
        "n_dev": len(dev), "n_train": len(train), "n_boot": args.n_boot, "labels": ids,
        "support": {f: int(Yd[:, j].sum()) for j, f in enumerate(ids)},
        "heads": {"name": heads.name, "pooling": heads.pooling,
                  "features": heads.feature_source, "feature_model": heads.feature_model,
                  "thresholds": dict(zip(ids, map(float, heads.thresholds)))},
        "keyword_hit_thresholds": dict(zip(ids, map(int, kw.thresholds_))),
        "timing": {"encode_seconds": encode_s, "heads_seconds": heads_s,
                   "articles_per_second_heads": len(dev) / max(heads_s, 1e-9),
                   "embeddings_from_cache": bool(args.cache)},
        "scorers": {
            name: {"macro_f1": m["macro_f1"].to_dict(), "micro_f1": m["micro_f1"].to_dict(),
                   "subset_accuracy": m["subset_accuracy"].to_dict(),
                   "per_frame": {f: {k: (v[k].to_dict() if hasattr(v[k], "to_dict") else v[k])
                                     for k in ("precision", "recall", "f1", "support", "predicted")}
                                 for f, v in m["per_label"].items()}}
            for name, m in metrics.items()},
        "versus_" + REFERENCE: {name: {"macro_f1_difference": c["difference"].to_dict(),
                                       "p_value": c["p_value"]} for name, c in versus.items()},
    }

    lines = [
        "### frames_dev", "",
        f"article-level frames on `{result['data']}` (n = {len(dev)}; heads and baselines "
        f"fitted on the other {len(train)} articles; {args.n_boot} bootstrap resamples)", "",
        f"| scorer | macro-F1 [95% CI] | micro-F1 [95% CI] | Δ macro-F1 vs {REFERENCE} [95% CI] (p) |",
        "|---|---|---|---|",
    ]
    for name, m in metrics.items():
        if name == REFERENCE:
            cmp = "reference"
        else:
            d = versus[name]["difference"]
            cmp = f"{d.value:+.3f} [{d.low:+.3f}, {d.high:+.3f}] ({_p(versus[name]['p_value'])})"
        lines.append(f"| {name} | {m['macro_f1']:.3f} | {m['micro_f1']:.3f} | {cmp} |")
    lines += ["", "| frame | support | " + " | ".join(f"{n} F1" for n in metrics) + " |",
              "|---|---|" + "---|" * len(metrics)]
    for j, f in enumerate(ids):
        lines.append(f"| {f} | {int(Yd[:, j].sum())} | " + " | ".join(
            f"{m['per_label'][f]['f1']:.2f}" for m in metrics.values()) + " |")
    lines += ["", f"Heads: `{heads.feature_source}` sentence rows, `{heads.pooling}` pooling, thresholds "
              + ", ".join(f"{f} {t:.2f}" for f, t in zip(ids, heads.thresholds))
              + "; keyword hit thresholds "
              + ", ".join(f"{f} {t}" for f, t in result["keyword_hit_thresholds"].items())
              + f". Heads scored {result['timing']['articles_per_second_heads']:.0f} articles/s "
              "from sentence rows (encoding not included).", ""]
    md = "\n".join(lines)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "frames_dev.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "frames_dev.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
