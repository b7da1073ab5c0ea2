"""Give trained cue heads a named operating point fitted on the real dev split, in place.

    python models/add_operating_point.py --cue-heads models/cues-builtin [--name strict]
        [--max-fpr 0.02] [--tone-model models/tone-newsmtsc] [--real ../shared/data/real]
        [--default]

The heads' weights, calibration and pattern weights stay as they are; only a threshold set
is added (the one they hold becomes ``balanced`` if they had none named): per cue, the
F1-best threshold on the real dev sentences that flags at most ``--max-fpr`` of the
cue-free dev sentences of each source group (``models/train_cues.py`` and
``models/distill_student.py`` fit the same ``strict`` point when they train heads). The
test split is never read. With ``--default`` the new point becomes the heads' default.
"""

from __future__ import annotations

import argparse
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
from train_cues import STRICT_MAX_FPR, operating_points_card

HERE = Path(__file__).resolve().parent
SECTION = "\n## Operating points\n"


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
    fit_operating_point(heads, probs, matched, Y, args.name, max_fpr=args.max_fpr,
                        groups=groups, default=args.default)

    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    extra = {k: v for k, v in config.items() if k not in heads.config()}
    card = (path / "README.md").read_text(encoding="utf-8")
    card = card.split(SECTION)[0].rstrip("\n") + "\n" + operating_points_card(heads)
    heads.save(path, card, extra=extra)
    lifted = lift(probs, matched, np.asarray(heads.pattern_weights, dtype=float))
    free = ~Y.any(axis=1)
    for name in heads.operating_points:
        pred = lifted >= np.asarray(heads.at_operating_point(name).thresholds)[None, :]
        f1 = multilabel_metrics(Y, pred, catalogue.ids, n_boot=1)["macro_f1"].value
        worst = max(pred[free & (groups == g)].mean(axis=0).max() for g in set(groups))
        print(f"{name}: real dev macro-F1 {f1:.3f} (in-sample), cue-free flagged "
              f"{pred[free].any(axis=1).mean():.1%}, worst cue in a group {worst:.1%}")
    print(f"written {path / 'config.json'}")


if __name__ == "__main__":
    main()
