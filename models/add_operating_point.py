"""Give trained cue heads a named operating point fitted on the real dev split, in place.

    python models/add_operating_point.py --cue-heads models/cues-builtin [--name strict]
        [--max-fpr 0.005] [--tone-model models/tone-newsmtsc] [--real ../shared/data/real]
        [--default]
    python models/add_operating_point.py --cue-heads DIR --scan 0.15,0.1,0.08,0.05


The heads' weights, calibration and pattern weights stay as they are; only a threshold set
is added (the one they hold becomes ``balanced`` if they had none named): per cue, the
F1-best threshold on the real dev sentences that flags at most ``--max-fpr`` of the
cue-free dev sentences of each source group (``models/train_cues.py`` and
``models/distill_student.py`` fit the same ``strict`` point when they train heads). The
test split is never read. With ``--default`` the new point becomes the heads' default, and
the card's figure on the project-written samples (``--eval``) is measured again at it.

``--scan CAPS`` writes nothing: for each cap it prints the in-sample dev macro-F1 and the
share of each source group's cue-free dev sentences flagged with any cue, which is how a
cap can be chosen against a stated false-positive budget before the point is written.
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path

import numpy as np

import framing
from framing.heads.cues.detector import CueDetector
from framing.heads.cues.heads import STRICT, fit_operating_point, lift, load_cue_heads
from framing.heads.tone.model import load_tone_model
from framing.stats.metrics import multilabel_metrics
from framing.text.prepare import normalise
from real_data import DEFAULT_CORPUS, real_sentences
from train_cues import STRICT_MAX_FPR, append_evaluation, operating_points_card

HERE = Path(__file__).resolve().parent
SECTION = "\n## Operating points\n"
EVALUATION = "\n## Independent evaluation\n"


def with_operating_points(card: str, section: str) -> tuple[str, str]:
    """``card`` with its operating-points section replaced by ``section``, and, apart,
    its independent-evaluation section ('' if it has none), which follows it in the cards
    the training scripts write; nothing else of the card is lost."""
    head, _, rest = card.partition(SECTION)
    evaluation = ""
    if EVALUATION in rest:
        evaluation = EVALUATION + rest.split(EVALUATION, 1)[1]
    elif EVALUATION in head:  # an evaluation section written before the points
        head, _, tail = head.partition(EVALUATION)
        evaluation = EVALUATION + tail
    return head.rstrip("\n") + "\n" + section, evaluation.rstrip("\n") + "\n" if evaluation else ""


def point_figures(lifted: np.ndarray, thresholds, Y: np.ndarray, groups: np.ndarray,
                  ids) -> dict:
    """In-sample figures of one threshold set on pattern-lifted probabilities: macro-F1,
    the share of cue-free rows flagged with any cue (overall and per source group) and the
    worst single cue's share of a group's cue-free rows."""
    Y, groups = np.asarray(Y).astype(bool), np.asarray(groups)
    free = ~Y.any(axis=1)
    pred = lifted >= np.asarray(thresholds, dtype=float)[None, :]
    per_group = sorted(set(groups[free].tolist()))
    return {"macro_f1": float(multilabel_metrics(Y, pred, ids, n_boot=1)["macro_f1"].value),
            "any": float(pred[free].any(axis=1).mean()),
            "flagged": {g: float(pred[free & (groups == g)].any(axis=1).mean())
                        for g in per_group},
            "worst": max(float(pred[free & (groups == g)].mean(axis=0).max())
                         for g in per_group)}


def scan_caps(heads, probs: np.ndarray, matched: np.ndarray, Y: np.ndarray,
              groups: np.ndarray, caps, ids) -> list[dict]:
    """For each cap (``None``: uncapped), fit a throwaway operating point on a copy of
    ``heads`` and return its :func:`point_figures` with the cap; ``heads`` is left
    unchanged."""
    weights = np.asarray(heads.pattern_weights if heads.pattern_weights is not None else 0.0,
                         dtype=float)
    lifted = lift(probs, matched, weights)
    rows = []
    for cap in caps:
        trial = fit_operating_point(copy.deepcopy(heads), probs, matched, Y, "scan",
                                    max_fpr=cap, groups=groups, default=True)
        rows.append({"cap": cap, **point_figures(lifted, trial.thresholds, Y, groups, ids)})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cue-heads", required=True)
    ap.add_argument("--name", default=STRICT)
    ap.add_argument("--max-fpr", type=float, default=STRICT_MAX_FPR)
    ap.add_argument("--tone-model", default=str(HERE / "tone-newsmtsc"),
                    help="the tone model whose branch the heads read")
    ap.add_argument("--model", default=None, help="the encoder (default: the bundled one)")
    ap.add_argument("--real", default=str(DEFAULT_CORPUS))
    ap.add_argument("--default", action="store_true", help="make the new point the default")
    ap.add_argument("--eval", default=str(HERE.parent / "eval" / "samples" / "cues.jsonl"),
                    help="project-written cue samples: with --default the card's figure on them "
                         "is measured again ('' to skip)")
    ap.add_argument("--scan", default=None, metavar="CAPS",
                    help="comma-separated caps ('none' for uncapped): print each one's dev "
                         "figures and write nothing")
    args = ap.parse_args()

    path = Path(args.cue_heads)
    heads = load_cue_heads(path)
    catalogue = framing.load_catalogue()
    heads.check(catalogue, None)
    encoder = framing.Encoder(args.model)
    tone = load_tone_model(args.tone_model)
    if heads.feature_model and heads.feature_model.get("digest") != tone.digest:
        raise SystemExit(f"{path} read another tone branch than {args.tone_model}")
    dev = real_sentences("dev", args.real)
    texts = [normalise(t, html=False)[0] for t in dev.texts]
    Y = dev.cue_matrix(catalogue.ids)
    feats = tone.sentence_features(encoder, texts,
                                   with_layer=heads.feature_source == "layer+tone-branch")
    probs = heads.predict_proba(feats, texts)
    matched = CueDetector(catalogue, None, use_similarity=False).pattern_matrix(texts)
    groups = np.array([r["group"] for r in dev.rows])
    if args.scan:
        caps = [None if c.strip().lower() == "none" else float(c) for c in args.scan.split(",")]
        for row in scan_caps(heads, probs, matched, Y, groups, caps, catalogue.ids):
            cap = "none" if row["cap"] is None else f"{row['cap']:g}"
            print(f"cap {cap}: real dev macro-F1 {row['macro_f1']:.3f} (in-sample), cue-free "
                  "flagged " + ", ".join(f"{g} {v:.1%}" for g, v in row["flagged"].items()))
        return
    fit_operating_point(heads, probs, matched, Y, args.name, max_fpr=args.max_fpr,
                        groups=groups, default=args.default)

    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    extra = {k: v for k, v in config.items() if k not in heads.config()}
    card, evaluation = with_operating_points(
        (path / "README.md").read_text(encoding="utf-8"), operating_points_card(heads))
    remeasure = bool(args.eval) and (args.default or not evaluation)
    heads.save(path, card if remeasure else card + evaluation, extra=extra)
    if remeasure:  # the default thresholds moved: the card's figure would be stale
        append_evaluation(path, Path(args.eval), encoder, tone)
    lifted = lift(probs, matched, np.asarray(heads.pattern_weights, dtype=float))
    for name in heads.operating_points:
        fig = point_figures(lifted, heads.at_operating_point(name).thresholds, Y, groups,
                            catalogue.ids)
        print(f"{name}: real dev macro-F1 {fig['macro_f1']:.3f} (in-sample), cue-free flagged "
              f"{fig['any']:.1%}, worst cue in a group {fig['worst']:.1%}")
    print(f"written {path / 'config.json'}")


if __name__ == "__main__":
    main()
