"""Give trained cue heads lexical evidence (per-cue models on the sentence's words).

    python models/add_lexical.py --cue-heads models/cues-builtin \\
        --tone-model models/tone-newsmtsc --out OUT [--C 3.0] [--min-df 2] [--real DIR]

The heads' dense weights stay as they are. A :class:`framing.heads.lexical.LexicalEvidence`
(TF-IDF weighted word unigrams and bigrams, a class-balanced logistic model per cue) is
fitted on the rows the shipped heads were fitted on with gold labels: the project's cue
sentences (``models/training/cues``) and the train split of the labelled real sentences.
Its logit adds to the heads' own; Platt scaling, thresholds, the per-cue pattern weights and
the ``strict`` operating point are refitted on the real dev split as the training scripts
fit them. The real test split is never read.

Prints (and with ``--report`` writes as JSON) the dev comparison with the heads as they
were (macro-F1 with a paired bootstrap, per cue, cue-free sentences flagged per source
group) and the project-written ``eval/samples`` cues of the new heads.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import framing
from framing.heads.cues.detector import CueDetector
from framing.heads.cues.heads import (STRICT, fit_operating_point, fit_pattern_weights, lift,
                                      load_cue_heads, with_lexical)
from framing.heads.lexical import fit_lexical
from framing.heads.tone.factory import resolve_feature_model
from framing.heads.tone.model import load_tone_model
from framing.stats.metrics import (bootstrap_indices, multilabel_macro_f1_resampler,
                                   multilabel_metrics, paired_bootstrap)
from framing.text.prepare import normalise
from real_data import DEFAULT_CORPUS, real_sentences
from train_cues import STRICT_MAX_FPR, project_rows, append_evaluation, operating_points_card

HERE = Path(__file__).resolve().parent
SECTION = "\n## Lexical evidence\n"

CARD = """{section}
Besides the dense features, these heads read the sentence's words: per cue a logistic model
on TF-IDF weighted word n-grams (1 to {max_n}; {n_features:,} n-grams seen in at least
{min_df} training sentences; C = {C}) fitted on {rows:,} gold training sentences (the
project's {n_proj:,} cue sentences and {n_real:,} real train sentences), whose logit adds to
the dense head's before calibration (`lexical.json`, `lexical.safetensors`). Platt scaling,
thresholds, pattern weights and operating points were refitted on the {n_dev:,} real dev
sentences afterwards; the dense weights are those of the heads above, but the thresholds
and pattern weights in use are those below and in `config.json`, not the ones listed
above. Command:

    {command}

Real dev split, thresholds fitted there for both: cue macro-F1 {after:.3f} [{after_lo:.3f},
{after_hi:.3f}] against {before:.3f} without the lexical evidence (difference {diff:+.3f}
[{diff_lo:+.3f}, {diff_hi:+.3f}], paired bootstrap p = {p:.3f}).
"""


def flagged_by_group(P: np.ndarray, Y: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    """Share of the cue-free rows of each group with at least one cue predicted."""
    free = ~Y.any(axis=1)
    return {g: float(P[free & (groups == g)].any(axis=1).mean()) for g in sorted(set(groups))}


def add_fit_options(ap: argparse.ArgumentParser) -> None:
    """The options this script and ``add_tone_lexical.py`` share: the real corpus, the
    lexical model's C, min_df and seed, the output directory and the JSON report."""
    ap.add_argument("--real", default=str(DEFAULT_CORPUS))
    ap.add_argument("--C", type=float, default=3.0)
    ap.add_argument("--min-df", type=int, default=2)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--out", required=True)
    ap.add_argument("--report", default=None, help="also write the dev comparison (JSON) here")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cue-heads", required=True)
    ap.add_argument("--tone-model", default=str(HERE / "tone-newsmtsc"),
                    help="a tone model whose branch (or sentence branch) the heads read")
    ap.add_argument("--model", default=None, help="the encoder (default: the bundled one)")
    ap.add_argument("--data", default=str(HERE / "training" / "cues"))
    add_fit_options(ap)
    ap.add_argument("--eval", default=str(HERE.parent / "eval" / "samples" / "cues.jsonl"))
    args = ap.parse_args()

    t0 = time.perf_counter()
    catalogue = framing.load_catalogue()
    ids = catalogue.ids
    heads = load_cue_heads(args.cue_heads)
    encoder = framing.Encoder(args.model)
    heads.check(catalogue, encoder)
    feature = resolve_feature_model(heads, encoder, load_tone_model(args.tone_model),
                                    what="Cue heads")
    with_layer = heads.feature_source == "layer+tone-branch"

    proj_texts, Y_proj = project_rows(args.data, ids)
    real_tr, real_dv = real_sentences("train", args.real), real_sentences("dev", args.real)
    texts = [normalise(t, html=False)[0] for t in proj_texts + real_tr.texts]
    Y = np.vstack([Y_proj, real_tr.cue_matrix(ids)])
    dv_texts = [normalise(t, html=False)[0] for t in real_dv.texts]
    Y_dev = real_dv.cue_matrix(ids)
    groups = np.array([r["group"] for r in real_dv.rows])

    lexical = fit_lexical(texts, Y, C=args.C, min_df=args.min_df, seed=args.seed)
    emb_dev = feature.sentence_features(encoder, dv_texts, with_layer=with_layer)
    matched = CueDetector(catalogue, None, use_similarity=False).pattern_matrix(dv_texts)

    before = lift(heads.predict_proba(emb_dev, dv_texts), matched,
                  np.asarray(heads.pattern_weights if heads.pattern_weights is not None
                             else 0.0, dtype=float)) >= heads.thresholds[None, :]
    had_strict = bool(heads.operating_points and STRICT in heads.operating_points)
    new = with_lexical(heads, lexical, emb_dev, dv_texts, Y_dev)
    dev_probs = new.predict_proba(emb_dev, dv_texts)
    new = fit_pattern_weights(new, dev_probs, matched, Y_dev)
    if had_strict:
        fit_operating_point(new, dev_probs, matched, Y_dev, STRICT, max_fpr=STRICT_MAX_FPR,
                            groups=groups)
    after = lift(dev_probs, matched, np.asarray(new.pattern_weights)) >= new.thresholds[None, :]

    m_before = multilabel_metrics(Y_dev, before, ids, n_boot=1000, seed=args.seed)
    m_after = multilabel_metrics(Y_dev, after, ids, n_boot=1000, seed=args.seed)
    fa = multilabel_macro_f1_resampler(Y_dev, after)
    fb = multilabel_macro_f1_resampler(Y_dev, before)
    test = paired_bootstrap(fa, bootstrap_indices(len(Y_dev), 2000, args.seed),
                            m_after["macro_f1"].value, m_before["macro_f1"].value, fb)
    seconds = time.perf_counter() - t0

    command = (f"python models/add_lexical.py --cue-heads {args.cue_heads} --tone-model "
               f"{args.tone_model} " + (f"--model {args.model} " if args.model else "")
               + f"--real {args.real} --C {args.C} --min-df {args.min_df} --seed {args.seed} "
               f"--out {args.out}")
    d = test["difference"]
    card_path = Path(args.cue_heads) / "README.md"
    card = card_path.read_text(encoding="utf-8").split(SECTION)[0].split(
        "\n## Operating points\n")[0].split("\n## Independent evaluation\n")[0].rstrip("\n")
    card += "\n\n" + CARD.format(
        section=SECTION.strip("\n"), max_n=lexical.max_n, n_features=len(lexical.vocabulary),
        min_df=args.min_df, C=args.C, rows=len(texts), n_proj=len(proj_texts),
        n_real=len(real_tr.texts), n_dev=len(dv_texts), command=command,
        after=m_after["macro_f1"].value, after_lo=m_after["macro_f1"].low,
        after_hi=m_after["macro_f1"].high, before=m_before["macro_f1"].value,
        diff=d.value, diff_lo=d.low, diff_hi=d.high, p=test["p_value"])
    card += operating_points_card(new)
    config = json.loads((Path(args.cue_heads) / "config.json").read_text(encoding="utf-8"))
    extra = {k: v for k, v in config.items() if k not in new.config() and k != "lexical"}
    out = new.save(args.out, card, extra=extra)
    metrics_path = Path(args.cue_heads) / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.is_file() else {}
    metrics.pop("independent_eval", None)
    metrics["lexical"] = {
        "real_dev_macro_f1": m_after["macro_f1"].to_dict(),
        "real_dev_macro_f1_without": m_before["macro_f1"].to_dict(),
        "difference": d.to_dict(), "p_value": test["p_value"], "seconds": seconds,
        "command": command}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")

    report = {
        "dev_rows": len(dv_texts),
        "macro_f1": {"without": m_before["macro_f1"].to_dict(),
                     "with": m_after["macro_f1"].to_dict()},
        "difference": d.to_dict(), "p_value": test["p_value"],
        "per_cue_f1": {c: {"without": m_before["per_label"][c]["f1"].value,
                           "with": m_after["per_label"][c]["f1"].value} for c in ids},
        "cue_free_flagged": {"without": flagged_by_group(before, Y_dev, groups),
                             "with": flagged_by_group(after, Y_dev, groups)},
        "n_features": len(lexical.vocabulary), "seconds": seconds, "command": command}
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps({k: report[k] for k in ("macro_f1", "difference", "p_value",
                                             "cue_free_flagged")}, indent=1))
    print("per cue: " + ", ".join(f"{c} {v['without']:.2f}->{v['with']:.2f}"
                                  for c, v in report["per_cue_f1"].items()))
    if args.eval:
        append_evaluation(out, Path(args.eval), encoder, feature)


if __name__ == "__main__":
    main()
