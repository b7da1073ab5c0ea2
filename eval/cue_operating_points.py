"""Choose the cue heads' operating point on the real dev split alone: how much F1 a cap on
false positives costs, estimated by cross-fitting inside dev.

    python eval/cue_operating_points.py [--caps none,0.03,0.02,0.01] [--repeats 20]
                                        [--tone DIR --cue-heads DIR] [--data ../shared/data/real]
                                        [--out eval/results/cue_operating_points.md]

The real dev sentences' documents are cut in two halves at random (seeded, ``--repeats``
times); on one half each cue's pattern weight and threshold are fitted as the training
recipe fits them (``fit_pattern_weights``: F1-best; then, for a cap,
``fit_operating_point``: F1-best under a cap on the false-positive rate on cue-free
sentences in each source group, never below the F1-best threshold), and the other half
measures them: cue macro-F1 over the ten cues, the share of cue-free sentences flagged
with any cue, and the worst single cue's false-positive rate, per source group. Every
figure is a mean over both halves of every repeat; the spread is the standard deviation.
The test split is never read here: the cap chosen from this table is then measured once on
test by ``eval/real_sentences.py``.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

import framing
from framing.core.pointers import TextPointer, resolve_pointers
from framing.core.resources import SHIPPED_CUE_HEADS, SHIPPED_TONE_MODEL, shipped_model_path
from framing.heads.cues.detector import CueDetector
from framing.heads.cues.heads import (fit_operating_point, fit_pattern_weights, lift,
                                      load_cue_heads)
from framing.heads.tone.model import load_tone_model
from framing.stats.metrics import multilabel_metrics
from framing.text.prepare import normalise

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from real_sentences import labelled_rows  # noqa: E402


def parse_caps(text: str) -> list[float | None]:
    """``"none,0.02"`` → ``[None, 0.02]``."""
    return [None if c.strip().lower() == "none" else float(c) for c in text.split(",") if c.strip()]


def measure(probs: np.ndarray, matched: np.ndarray, Y: np.ndarray, groups: np.ndarray,
            heads, rows: np.ndarray, ids: list[str]) -> dict[str, float]:
    """Macro-F1 and false-positive figures of ``heads``' pattern weights and thresholds on
    ``rows``."""
    p = lift(probs[rows], matched[rows], np.asarray(heads.pattern_weights))
    pred = p >= heads.thresholds[None, :]
    out = {"macro_f1": multilabel_metrics(Y[rows], pred, ids, n_boot=1)["macro_f1"].value}
    free = ~Y[rows].any(axis=1)
    for g in sorted(set(groups)):
        m = free & (groups[rows] == g)
        if m.any():
            out[f"any {g}"] = float(pred[m].any(axis=1).mean())
            out[f"worst {g}"] = float(pred[m].mean(axis=0).max())
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--caps", default="none,0.03,0.02,0.015,0.01,0.005")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pooled", action="store_true",
                    help="cap the false-positive rate over all cue-free rows, not per group")
    ap.add_argument("--tone", default=str(shipped_model_path(SHIPPED_TONE_MODEL)))
    ap.add_argument("--cue-heads", default=str(shipped_model_path(SHIPPED_CUE_HEADS)))
    ap.add_argument("--model", default=None,
                    help="the encoder the tone model reads (default: the bundled one; "
                         "all-mpnet-base-v2 with --tone models/tone-mpnet/sentence for the "
                         "accurate tier's heads)")
    ap.add_argument("--data", default=str(HERE.parent.parent / "shared" / "data" / "real"))
    ap.add_argument("--out", default=str(HERE / "results" / "cue_operating_points.md"))
    args = ap.parse_args(argv)

    rows = labelled_rows("dev")
    if not rows:
        print("no labelled dev rows", file=sys.stderr)
        return 1
    texts = [normalise(t, html=False)[0] for t in
             resolve_pointers([TextPointer.from_dict(r) for r in rows], args.data)]
    catalogue = framing.load_catalogue()
    ids = catalogue.ids
    heads = load_cue_heads(args.cue_heads)
    tone = load_tone_model(args.tone)
    encoder = framing.Encoder(args.model)
    feats = tone.sentence_features(encoder, texts,
                                   with_layer=heads.feature_source == "layer+tone-branch")
    probs = heads.predict_proba(feats, texts)
    matched = CueDetector(catalogue, None, use_similarity=False).pattern_matrix(texts)
    Y = np.array([[c in r["final"]["cues"] for c in ids] for r in rows], dtype=bool)
    groups = np.array([r["group"] for r in rows])
    docs = np.array([f"{r['file']}:{r['doc']}" for r in rows])
    uniq = np.unique(docs)
    rng = np.random.default_rng(args.seed)

    table: dict[str, list[dict[str, float]]] = {}
    for _ in range(args.repeats):
        half = set(rng.permutation(uniq)[: len(uniq) // 2])
        a = np.array([d in half for d in docs])
        for fit_rows, eval_rows in ((a, ~a), (~a, a)):
            # the training recipe on the fitting half: pattern weights and F1-best
            # thresholds, then each capped point on top of them
            base = fit_pattern_weights(replace(heads, operating_points=None, operating_point=None),
                                       probs[fit_rows], matched[fit_rows], Y[fit_rows])
            for cap in parse_caps(args.caps):
                h = base if cap is None else fit_operating_point(
                    replace(base), probs[fit_rows], matched[fit_rows], Y[fit_rows], "capped",
                    max_fpr=cap, groups=None if args.pooled else groups[fit_rows], default=True)
                table.setdefault(str(cap), []).append(
                    measure(probs, matched, Y, groups, h, eval_rows, ids))

    keys = list(next(iter(table.values()))[0])
    command = " ".join(["python eval/cue_operating_points.py"] + (argv if argv is not None else sys.argv[1:]))
    lines = [f"# Cue operating points, cross-fitted on the real dev split ({len(rows)} sentences, "
             f"{len(uniq)} documents)", "",
             f"Written by `{command}`. Fit on half of the dev documents, measured on the other "
             f"half; mean (sd) over {args.repeats} random halvings × 2. The cap bounds each "
             f"cue's false-positive rate on cue-free sentences "
             f"{'over all of them' if args.pooled else 'within each source group'} of the "
             "fitting half. Heads: "
             f"`{Path(args.cue_heads).name}`; the test split is not read.", "",
             "| cap | " + " | ".join(keys) + " |", "|---|" + "---:|" * len(keys)]
    for cap, runs in table.items():
        cells = []
        for k in keys:
            v = np.array([r.get(k, np.nan) for r in runs])
            fmt = "{:.3f} ({:.3f})" if k == "macro_f1" else "{:.1%} ({:.1%})"
            cells.append(fmt.format(np.nanmean(v), np.nanstd(v)))
        lines.append(f"| {'none (max F1)' if cap == 'None' else cap} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
