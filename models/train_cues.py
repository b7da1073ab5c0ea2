"""Train the shipped cue heads for the built-in catalogue and write their card.

    python models/train_cues.py --out models/cues-builtin

Reads the project's training sentences (models/training/cues/*.jsonl), encodes them with
the default encoder (normalised as the analyzer normalises sentences), holds out a seeded
20% dev split, fits one balanced logistic head per cue on the rest, calibrates each with
Platt scaling and picks its F1-maximising threshold on dev, and writes the heads with a
config, a card and metrics.json. Prints dev micro/macro-F1.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import framing
from framing.heads.cues.heads import fit_cue_heads
from framing.stats.metrics import multilabel_metrics
from framing.text.prepare import normalise
from framing.encoding.fingerprints import encoder_fingerprint

HERE = Path(__file__).resolve().parent

CARD = """# cues-builtin: trained heads for the nine built-in cues

One logistic head per cue of `framing/catalogues/builtin.yaml`, Platt-calibrated, with a
per-cue threshold; phrase patterns still add evidence on top (a match lifts a cue to at
least 0.9). {features_text}

## Data
{n} training sentences written for this project (`models/training/cues/`, MIT like the
project): {n_pos} carrying at least one cue (per cue {per_cue}), {n_neg} cue-free, of which
many hard negatives. Split: {dev_fraction:.0%} dev, seed {seed}, by sentence.

## Dev metrics (held-out training sentences, 95% bootstrap intervals)
- macro-F1 {macro:.3f} [{macro_lo:.3f}, {macro_hi:.3f}], micro-F1 {micro:.3f}
- thresholds: {thresholds}
- The thresholds and Platt parameters were fitted on this same dev split, so these figures
  are optimistic. The independent evaluation set (`eval/samples/cues.jsonl`, written
  separately and never trained or tuned on) is the honest measure: see
  `eval/results/cue_sentences_shipped.md`, written by
  `framing eval --suite eval/suites/default.yaml`.

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", default=str(HERE / "training" / "cues"))
    ap.add_argument("--dev-fraction", type=float, default=0.2)
    ap.add_argument("--C", type=float, default=4.0)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--features", choices=["embedding", "tone-branch", "layer+tone-branch"],
                    default="tone-branch",
                    help="what the heads read: the encoder's sentence embedding, or the "
                         "sentence states of the (multi-task) tone branch")
    ap.add_argument("--tone-model", default=str(HERE / "tone-newsmtsc"),
                    help="tone model whose branch the heads read (with --features tone-branch)")
    ap.add_argument("--eval", default=str(HERE.parent / "eval" / "samples" / "cues.jsonl"),
                    help="independent labelled sentences to measure the saved heads on ('' to skip)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    t0 = time.perf_counter()
    catalogue = framing.load_catalogue()
    ids = catalogue.ids
    rows, Y, train, dev = load_split(args.data, ids, args.dev_fraction, args.seed)
    n_dev = len(dev)
    encoder = framing.Encoder()
    texts = [normalise(r["text"], html=False)[0] for r in rows]
    branch = args.features in ("tone-branch", "layer+tone-branch")
    if branch:
        from framing.heads.tone.model import load_tone_model

        tone = load_tone_model(args.tone_model)
        tone.check_encoder(encoder)
        emb = tone.sentence_features(encoder, texts,
                                     with_layer=args.features == "layer+tone-branch")
    else:
        emb = encoder.encode(texts)
    heads = fit_cue_heads(emb[train], Y[train], emb[dev], Y[dev], ids, C=args.C, seed=args.seed,
                          name="cues-builtin")
    heads.catalogue_sha256 = catalogue.sha256
    heads.encoder = encoder_fingerprint(encoder)
    if branch:
        heads.features = args.features
        heads.feature_model = {"name": tone.config.name, "digest": tone.digest}
    pred = heads.predict_proba(emb[dev]) >= heads.thresholds[None, :]
    m = multilabel_metrics(Y[dev], pred, ids, n_boot=1000, seed=args.seed)
    seconds = time.perf_counter() - t0
    command = (f"python models/train_cues.py --dev-fraction {args.dev_fraction} --C {args.C} "
               f"--seed {args.seed} --features {args.features} --out {args.out}")
    per_cue = ", ".join(f"{c} {int(Y[:, j].sum())}" for j, c in enumerate(ids))
    features_text = (
        ("The heads read the pooled states after encoder layer 3 and the pooled sentence "
         "states of the tone model's branch " if args.features == "layer+tone-branch" else
         "The heads read the pooled sentence states of the tone model's branch ")
        + f"(`{heads.feature_model['name']}`, weights digest {heads.feature_model['digest']}), "
        "which was fine-tuned jointly on tone and on the training part of these sentences "
        "(multi-task): the analyzer's one truncated pass serves tone, cues and frames."
        if branch else
        "The heads read the shared all-MiniLM-L6-v2 sentence embedding (no extra pass).")
    card = CARD.format(features_text=features_text, n=len(rows), n_pos=int(Y.any(1).sum()),
                       per_cue=per_cue,
                       n_neg=int((~Y.any(1)).sum()), dev_fraction=args.dev_fraction,
                       seed=args.seed, macro=m["macro_f1"].value, macro_lo=m["macro_f1"].low,
                       macro_hi=m["macro_f1"].high, micro=m["micro_f1"].value,
                       thresholds=", ".join(f"{c} {t:.2f}" for c, t in zip(ids, heads.thresholds)),
                       command=command, seconds=seconds)
    out = heads.save(args.out, card, extra={"catalogue": catalogue.name,
                                            "training": {"rows": len(rows), "dev": int(n_dev),
                                                         "C": args.C, "seed": args.seed}})
    (out / "metrics.json").write_text(json.dumps({
        "dev_macro_f1": m["macro_f1"].to_dict(), "dev_micro_f1": m["micro_f1"].to_dict(),
        "per_cue_f1": {c: v["f1"].to_dict() for c, v in m["per_label"].items()},
        "seconds": seconds, "command": command}, indent=2) + "\n")
    print(f"dev macro-F1 {m['macro_f1'].value:.4f} [{m['macro_f1'].low:.4f}, "
          f"{m['macro_f1'].high:.4f}], micro-F1 {m['micro_f1'].value:.4f}; {seconds:.0f} s")
    if args.eval:
        append_evaluation(out, Path(args.eval), encoder, tone if branch else None)


def append_evaluation(out: Path, samples_path: Path, encoder, tone) -> None:
    """Measure the saved heads, the few-shot detector and patterns alone on an independent
    labelled set through the harness; add the table to the card and metrics.json."""
    samples = framing.load_samples(samples_path, "cues", label_set=framing.load_catalogue().ids)
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
            "half of the cue-carrying ones paraphrased; never trained or tuned on), shipped "
            "thresholds, 95% bootstrap intervals:\n\n| detector | cue macro-F1 |\n|---|---|\n"
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
