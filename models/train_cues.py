"""Train the shipped cue heads for the built-in catalogue and write their card.

    python models/train_cues.py --real ../shared/data/real --out models/cues-builtin

Training rows: the project's sentences (models/training/cues/*.jsonl, weighted by
--proj-weight) plus the train split of the labelled real sentences (eval/labelling, text
resolved from --real). The dev split of the real sentences calibrates each head (Platt),
sets its threshold and decides, per cue, how much a phrase-pattern match counts. The real
test split is never read here. Heads read the sentence states of the (multi-task) tone
branch, so the analyzer's one truncated pass serves tone and cues. Writes the heads with
a config, a card and metrics.json; prints real-dev and eval/samples macro-F1.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import framing
from framing.encoding.fingerprints import encoder_fingerprint
from framing.heads.cues.detector import CueDetector
from framing.heads.cues.heads import (STRICT, fit_cue_heads, fit_operating_point,
                                      fit_pattern_weights, lift)
from framing.heads.tone.model import load_tone_model
from framing.stats.metrics import multilabel_metrics
from framing.text.prepare import normalise
from real_data import real_sentences

HERE = Path(__file__).resolve().parent

JOINT_TEXT = """the tone
model's branch (`{feature_name}`, weights digest {feature_digest}), which was fine-tuned
jointly on tone and on cue labels (multi-task): the analyzer's one truncated pass serves
tone, cues and frames."""

SENTENCE_TEXT = """the
real-text branch (`{feature_name}`, weights digest {feature_digest}) that the tier's tone
model carries for the tone of whole sentences (`sentence/` of the tone model; trained on the
real labelled sentences' tone and, weighted 3 to 1, on the ten cues by
`models/train_cue_branch.py`). The analyzer's one truncated encoder pass feeds both
branches (each from the layer it reads)."""

BUNDLED_TEXT = """a cue
branch (`{feature_name}`, weights digest {feature_digest}; a copy in `branch/`): copies of
the encoder's top layers fine-tuned for cues on real and project sentences
(`models/train_cue_branch.py`; its card is `branch/README.md`). It reads the same shared
layer as the tone branch, so the analyzer's one truncated encoder pass feeds both branches;
the cue branch costs its own top layers once more per sentence."""

CARD = """# {name}: trained heads for the ten built-in cues ({encoder_name})

One logistic head per cue of `framing/catalogues/builtin.yaml` (catalogue v2), Platt-calibrated,
with a per-cue threshold and a per-cue weight for phrase-pattern evidence (a pattern match
lifts the probability to at least that weight; 0 means the cue's patterns are ignored
because they did not help on real dev sentences). The heads read {reads} of {branch_text}

## Data
- {n_real} real sentences from the train split of `eval/labelling` (UN General Debate
  speeches, Chinese official statements and posts, US State Department and Kremlin pages,
  news; labelled twice against `eval/labelling/GUIDE.md` and adjudicated), and
- {n_proj} sentences written for this project (`models/training/cues/`), each weighted
  {proj_weight} relative to a real sentence.
- Positives per cue (real + project): {per_cue}.
- Calibration, thresholds and pattern weights: the {n_dev} real sentences of the dev split
  (documents disjoint from train and test).

## Real dev metrics (95% bootstrap intervals; optimistic: the thresholds were fitted here)
- macro-F1 {macro:.3f} [{macro_lo:.3f}, {macro_hi:.3f}], micro-F1 {micro:.3f}
- thresholds: {thresholds}
- pattern weights: {pattern_weights}
- The honest figures are on the frozen real test split (`eval/real_sentences.py --split
  test`, `framing eval --suite eval/suites/default.yaml`) and in the project README.

## Reproduce
```
{command}
```
Fitting took {seconds:.0f} s on a 2-core CPU (mostly encoding).
"""


def load_split(data: str | Path, ids: list[str], dev_fraction: float, seed: int):
    """Training rows, their 0/1 cue matrix, and the seeded train / dev row indices.

    The tone model's multi-task training (``train_tone_newsmtsc.py --cues``) uses the same
    split, so the dev rows that calibrate the heads are never trained on."""
    rows = [json.loads(line) for f in sorted(Path(data).glob("*.jsonl"))
            for line in open(f, encoding="utf-8") if line.strip()]
    Y = np.array([[c in r["cues"] for c in ids] for r in rows])
    order = np.random.default_rng(seed).permutation(len(rows))
    n_dev = int(round(dev_fraction * len(rows)))
    return rows, Y, order[n_dev:], order[:n_dev]


def project_rows(data: str | Path, ids: list[str]):
    """Texts and ``(n, len(ids))`` cue flags of every project-written cue sentence in the
    ``*.jsonl`` files of ``data``."""
    rows = [json.loads(line) for f in sorted(Path(data).glob("*.jsonl"))
            for line in open(f, encoding="utf-8") if line.strip()]
    return [r["text"] for r in rows], np.array([[c in r["cues"] for c in ids] for r in rows])


#: the strict operating point's cap: share of cue-free dev sentences of each source group
#: one cue may flag. The ground-truth issue's per-cue target is 2%; a cap equal to the target
#: overshoots it on new text, and cross-fitting on dev chose 0.5% as the largest cap whose
#: held-out worst cue stays at or under 2% in every group (eval/results/strict_refit.md)
STRICT_MAX_FPR = 0.005


def finish_heads(heads, catalogue, encoder, tone, features: str, dv_texts, emb_dev, Y_dev,
                 seed: int, dev_groups=None):
    """Return ``(heads, dev metrics)``: per-cue pattern weights fitted on the real dev
    split, the provenance the heads record (catalogue, encoder, the branch they read), and
    the dev macro-F1 of heads plus patterns as the analyzer combines them. With
    ``dev_groups`` (the source group of each dev sentence) the heads also get the
    ``strict`` operating point beside the default ``balanced`` one."""
    matched = CueDetector(catalogue, None, use_similarity=False).pattern_matrix(dv_texts)
    dev_probs = heads.predict_proba(emb_dev, dv_texts)
    heads = fit_pattern_weights(heads, dev_probs, matched, Y_dev)
    if dev_groups is not None:
        fit_operating_point(heads, dev_probs, matched, Y_dev, STRICT,
                            max_fpr=STRICT_MAX_FPR, groups=dev_groups)
    heads.catalogue_sha256 = catalogue.sha256
    heads.encoder = encoder_fingerprint(encoder)
    heads.feature_source = features
    heads.feature_model = {"name": tone.config.name, "digest": tone.digest}
    probs = lift(dev_probs, matched, np.asarray(heads.pattern_weights))
    m = multilabel_metrics(Y_dev, probs >= heads.thresholds[None, :], catalogue.ids,
                           n_boot=1000, seed=seed)
    return heads, m


def operating_points_card(heads) -> str:
    """The card's section on the heads' operating points (empty without named sets)."""
    if not heads.operating_points:
        return ""
    rows = "\n".join(
        f"| `{name}`{' (default)' if name == heads.operating_point else ''} | {point['rule']} | "
        + ", ".join(f"{c} {t:.2f}" for c, t in zip(heads.ids, point["thresholds"])) + " |"
        for name, point in heads.operating_points.items())
    return f"""
## Operating points
`Analyzer(cue_operating_point=NAME)` / `framing score --cue-operating-point NAME` picks the
thresholds; the phrase-pattern weights are the same for all.

| name | how the thresholds were chosen | thresholds |
|---|---|---|
{rows}
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", default=str(HERE / "training" / "cues"))
    ap.add_argument("--real", default=str(HERE.parent.parent / "shared" / "data" / "real"),
                    help="the real corpus the labels of eval/labelling point into")
    ap.add_argument("--proj-weight", type=float, default=0.3,
                    help="weight of a project-written sentence relative to a real one")
    ap.add_argument("--C", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--features", choices=["tone-branch", "layer+tone-branch"],
                    default="tone-branch",
                    help="the tone branch's sentence states, or the shared layer states it "
                         "reads followed by them")
    ap.add_argument("--tone-model", default=str(HERE / "tone-newsmtsc"),
                    help="tone model whose branch the heads read")
    ap.add_argument("--sentence-branch", action="store_true",
                    help="the branch of --tone-model is the real-text branch that the tier's "
                         "tone model carries for the tone of whole sentences "
                         "(framing.heads.tone.model.attach_sentence_branch): the heads pin it "
                         "and the analyzer's one pass serves it")
    ap.add_argument("--bundle-branch", action="store_true",
                    help="the branch of --tone-model is a cue branch (train_cue_branch.py), "
                         "not the tier's tone model: the heads carry a copy of it "
                         "(OUT/branch) and the analyzer runs it beside the tone branch")
    ap.add_argument("--eval", default=str(HERE.parent / "eval" / "samples" / "cues.jsonl"),
                    help="independent labelled sentences to measure the saved heads on ('' to skip)")
    ap.add_argument("--model", default=None,
                    help="the encoder (default: the bundled all-MiniLM-L6-v2; "
                         "all-mpnet-base-v2 with the accurate tier's tone model)")
    ap.add_argument("--name", default="cues-builtin")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    t0 = time.perf_counter()
    catalogue = framing.load_catalogue()
    ids = catalogue.ids
    proj_texts, Y_proj = project_rows(args.data, ids)
    real_tr, real_dv = real_sentences("train", args.real), real_sentences("dev", args.real)
    texts = [normalise(t, html=False)[0] for t in proj_texts + real_tr.texts]
    Y = np.vstack([Y_proj, real_tr.cue_matrix(ids)])
    weight = np.r_[np.full(len(proj_texts), args.proj_weight), np.ones(len(real_tr.texts))]
    dv_texts = [normalise(t, html=False)[0] for t in real_dv.texts]
    Y_dev = real_dv.cue_matrix(ids)
    encoder = framing.Encoder(args.model)
    tone = load_tone_model(args.tone_model)
    tone.check_encoder(encoder)
    with_layer = args.features == "layer+tone-branch"
    emb = tone.sentence_features(encoder, texts, with_layer=with_layer)
    emb_dev = tone.sentence_features(encoder, dv_texts, with_layer=with_layer)
    heads = fit_cue_heads(emb, Y, emb_dev, Y_dev, ids, C=args.C, seed=args.seed,
                          name=args.name, sample_weight=weight)
    heads, m = finish_heads(heads, catalogue, encoder, tone, args.features, dv_texts, emb_dev,
                            Y_dev, args.seed, dev_groups=[r["group"] for r in real_dv.rows])
    seconds = time.perf_counter() - t0
    command = (f"python models/train_cues.py --real {args.real} --proj-weight {args.proj_weight} "
               f"--C {args.C} --seed {args.seed} --features {args.features} "
               + (f"--model {args.model} --tone-model {args.tone_model} --name {args.name} "
                  if args.model else "")
               + ("--bundle-branch " if args.bundle_branch else "")
               + ("--sentence-branch " if args.sentence_branch else "")
               + f"--out {args.out}")
    per_cue = ", ".join(f"{c} {int(Y[:, j].sum())}" for j, c in enumerate(ids))
    card = CARD.format(
        name=args.name, encoder_name=encoder_fingerprint(encoder)["name"],
        reads=(f"the pooled shared states after encoder layer {tone.layer} (the branch's input) "
               "and the pooled sentence states" if with_layer else "the pooled sentence states"),
        branch_text=(BUNDLED_TEXT if args.bundle_branch else SENTENCE_TEXT
                     if args.sentence_branch else JOINT_TEXT).format(
            feature_name=tone.config.name, feature_digest=tone.digest),
        n_real=len(real_tr.texts),
        n_proj=len(proj_texts), proj_weight=args.proj_weight, per_cue=per_cue,
        n_dev=len(dv_texts), macro=m["macro_f1"].value, macro_lo=m["macro_f1"].low,
        macro_hi=m["macro_f1"].high, micro=m["micro_f1"].value,
        thresholds=", ".join(f"{c} {t:.2f}" for c, t in zip(ids, heads.thresholds)),
        pattern_weights=", ".join(f"{c} {w:.1f}" for c, w in zip(ids, heads.pattern_weights)),
        command=command, seconds=seconds) + operating_points_card(heads)
    out = heads.save(args.out, card, branch=args.tone_model if args.bundle_branch else None,
                     extra={
        "catalogue": catalogue.name,
        "training": {"real_rows": len(real_tr.texts), "project_rows": len(proj_texts),
                     "project_weight": args.proj_weight, "real_dev_rows": len(dv_texts),
                     "C": args.C, "seed": args.seed}})
    (out / "metrics.json").write_text(json.dumps({
        "real_dev_macro_f1": m["macro_f1"].to_dict(), "real_dev_micro_f1": m["micro_f1"].to_dict(),
        "per_cue_f1": {c: v["f1"].to_dict() for c, v in m["per_label"].items()},
        "seconds": seconds, "command": command}, indent=2) + "\n")
    print(f"real dev macro-F1 {m['macro_f1'].value:.4f} [{m['macro_f1'].low:.4f}, "
          f"{m['macro_f1'].high:.4f}], micro-F1 {m['micro_f1'].value:.4f}; {seconds:.0f} s")
    print("per cue: " + ", ".join(f"{c} {v['f1'].value:.2f}" for c, v in m["per_label"].items()))
    if args.eval:
        append_evaluation(out, Path(args.eval), encoder, tone)


def append_evaluation(out: Path, samples_path: Path, encoder, tone) -> None:
    """Measure the saved heads, the few-shot detector and patterns alone on an independent
    labelled set through the harness; add the table to the card and metrics.json."""
    # the cues that set labels (it predates catalogue v2: no criticism_of_others column)
    labelled = {c for line in samples_path.read_text(encoding="utf-8").splitlines()
                if line.strip() for c in json.loads(line)["cues"]}
    samples = framing.load_samples(samples_path, "cues", label_set=[
        c for c in framing.load_catalogue().ids if c in labelled])
    scorers = {
        "trained heads + patterns": framing.Analyzer(
            tone=None, frames=None, encoder=encoder, cue_detector=framing.CueDetector(
                None, encoder, heads=str(out), tone_model=tone)),
        "few-shot exemplars + patterns": framing.Analyzer(
            tone=None, frames=None, encoder=encoder, cues="few-shot"),
        "patterns only": framing.Analyzer(
            tone=None, frames=None, encoder=encoder,
            cue_detector=framing.CueDetector(None, None, use_similarity=False)),
    }
    rep = framing.evaluate(scorers, samples, reference="patterns only", n_boot=1000, seed=0,
                           top_mistakes=0)
    rows = []
    for name, res in rep.results.items():
        f1 = res["macro_f1"]
        rows.append(f"| {name} | {f1.value:.3f} [{f1.low:.3f}, {f1.high:.3f}] |")
    text = (f"\n## Independent evaluation\n`{samples_path.relative_to(HERE.parent)}` ({len(samples)} "
            "sentences written for the project separately from the training sentences, about "
            "half of the cue-carrying ones paraphrased; never trained on; the nine cues it labels), "
            "shipped thresholds, 95% bootstrap intervals. The feature set, C and project weight "
            "of the shipped heads were chosen among 8 settings by real dev macro-F1 subject to "
            "this figure staying at or above 0.82, so it is mildly tuned on:\n\n| detector | cue macro-F1 |\n|---|---|\n"
            + "\n".join(rows) + "\n")
    with open(out / "README.md", "a", encoding="utf-8") as fh:
        fh.write(text)
    metrics = json.loads((out / "metrics.json").read_text())
    metrics["independent_eval"] = {"samples": str(samples_path.relative_to(HERE.parent)),
                                   "macro_f1": {n: r["macro_f1"].to_dict()
                                                for n, r in rep.results.items()}}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
