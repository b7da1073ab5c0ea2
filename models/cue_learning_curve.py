"""How real-dev cue macro-F1 grows with the number of real training sentences.

    python models/cue_learning_curve.py [--profile accurate] [--fractions 0.125,0.25,0.5,1]
                                        [--seeds 3] [--out FILE.json]

Refits the cue heads of a tier (one balanced logistic head per cue, Platt scaling and the
F1-maximising threshold on the real dev split: ``fit_cue_heads``, the recipe the shipped
heads use, without pattern weights or lexical evidence) on a seeded random share of the
real **training documents** (all sentences of a drawn document, so that near-duplicate
sentences of one speech do not straddle the share) plus all project-written sentences, and
measures macro-F1 over the ten cues on the real dev split. Each share below 1 is drawn
``--seeds`` times; the table gives the mean and the spread.

What it measures and what it does not: the sentence features come from the tier's shipped
tone branch, which was itself trained on all the real training sentences, so this is the
curve of the heads on fixed features — how much more labelled data of the same kind buys
the cheap part of the model. It does not say what a branch re-trained on more data would
do. The test split is never read.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import framing
from framing.core.resources import TIERS, shipped_model_path
from framing.heads.cues.heads import fit_cue_heads
from framing.heads.tone.model import load_tone_model
from framing.stats.metrics import multilabel_metrics
from framing.text.prepare import normalise

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from real_data import DEFAULT_CORPUS, real_sentences  # noqa: E402
from train_cues import project_rows  # noqa: E402


def document_share(docs: list[str], fraction: float, seed: int) -> np.ndarray:
    """Indices of the rows whose document is in a seeded random ``fraction`` of the
    distinct documents (at least one document)."""
    distinct = sorted(set(docs))
    rng = np.random.default_rng(seed)
    k = max(1, int(round(fraction * len(distinct))))
    keep = set(rng.permutation(len(distinct))[:k].tolist())
    chosen = {distinct[i] for i in keep}
    return np.array([i for i, d in enumerate(docs) if d in chosen], dtype=int)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--profile", default="default", choices=list(TIERS))
    ap.add_argument("--real", default=str(DEFAULT_CORPUS))
    ap.add_argument("--data", default=str(HERE / "training" / "cues"))
    ap.add_argument("--fractions", default="0.125,0.25,0.5,1")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--C", type=float, default=1.0)
    ap.add_argument("--out", default=None, help="also write the curve here (JSON)")
    args = ap.parse_args()
    fractions = [float(f) for f in args.fractions.split(",") if f.strip()]
    if not fractions or any(not 0 < f <= 1 for f in fractions):
        raise SystemExit("--fractions must be numbers in (0, 1]")

    t0 = time.perf_counter()
    tier = TIERS[args.profile]
    encoder = framing.Encoder(None if tier.name == "default" else tier.encoder)
    tone = load_tone_model(shipped_model_path(tier.tone))
    branch = tone.sentence_model or tone  # the branch the tier's cue heads read
    ids = framing.load_catalogue().ids
    proj_texts, Y_proj = project_rows(args.data, ids)
    tr, dv = real_sentences("train", args.real), real_sentences("dev", args.real)
    clean = lambda texts: [normalise(t, html=False)[0] for t in texts]  # noqa: E731
    X_proj = branch.sentence_features(encoder, clean(proj_texts), with_layer=True)
    X_tr = branch.sentence_features(encoder, clean(tr.texts), with_layer=True)
    X_dv = branch.sentence_features(encoder, clean(dv.texts), with_layer=True)
    Y_tr, Y_dv = tr.cue_matrix(ids), dv.cue_matrix(ids)
    docs = [f"{r['file']}:{r['doc']}" for r in tr.rows]
    print(f"{args.profile} tier: features of {len(proj_texts)} project, {len(tr.texts)} real "
          f"train and {len(dv.texts)} real dev sentences in {time.perf_counter() - t0:.0f} s")

    curve = []
    for frac in fractions:
        scores, sizes = [], []
        for seed in range(1, (args.seeds if frac < 1 else 1) + 1):
            idx = document_share(docs, frac, seed) if frac < 1 else np.arange(len(docs))
            heads = fit_cue_heads(np.vstack([X_proj, X_tr[idx]]), np.vstack([Y_proj, Y_tr[idx]]),
                                  X_dv, Y_dv, ids, C=args.C, seed=13)
            pred = heads.predict_proba(X_dv) >= heads.thresholds[None, :]
            scores.append(multilabel_metrics(Y_dv, pred, ids, n_boot=10)["macro_f1"].value)
            sizes.append(len(idx))
        row = {"fraction": frac, "real_sentences": int(np.mean(sizes)),
               "macro_f1": float(np.mean(scores)), "sd": float(np.std(scores)),
               "runs": len(scores)}
        curve.append(row)
        print(f"share {frac:>6.3f}: {row['real_sentences']:>6} real sentences, dev cue macro-F1 "
              f"{row['macro_f1']:.3f} (sd {row['sd']:.3f}, {row['runs']} run(s))", flush=True)
    pts = [(np.log2(r["real_sentences"]), r["macro_f1"]) for r in curve]
    slope = float(np.polyfit(*zip(*pts), 1)[0]) if len(pts) > 1 else float("nan")
    print(f"least-squares slope: {slope:+.4f} macro-F1 per doubling of the real sentences")
    if args.out:
        Path(args.out).write_text(json.dumps({
            "profile": args.profile, "dev_sentences": len(dv.texts), "curve": curve,
            "slope_per_doubling": slope, "seconds": time.perf_counter() - t0}, indent=2) + "\n")


if __name__ == "__main__":
    main()
