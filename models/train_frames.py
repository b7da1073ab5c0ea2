"""Train the shipped article-level narrative-frame heads and write their card.

    python models/train_frames.py --out models/frames-narrative

Reads the narrative-frames corpus (Frermann, Li & Chen 2023; articles_metadata.tsv),
segments every article as the Analyzer does and encodes its sentences with the default
encoder (embeddings cached under --cache, outside the repository), holds out a seeded
20% dev split of articles (ids written to dev_split.json), chooses the pooling and C by
cross-validated macro-F1 on the training articles only, fits one balanced logistic head
per frame with Platt scaling and thresholds from out-of-fold scores, and measures the
heads against a majority and a keyword baseline on the untouched dev articles. Writes
config.json, model.safetensors, README.md (the card), dev_split.json and metrics.json.
No article text is written anywhere.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import framing
from framing.heads.frames.baselines import FRAME_KEYWORDS, KeywordFrameBaseline, MajorityFrameBaseline
from framing.heads.frames.heads import FRAME_IDS, POOLINGS, article_features, fit_frame_heads
from framing.training.frames import NARRATIVE_FRAME_COLUMNS, encode_articles, read_narrative_frames
from framing.stats.metrics import multilabel_macro_f1_resampler
from framing.stats.metrics import bootstrap_indices, multilabel_metrics, paired_bootstrap
from framing.encoding.fingerprints import encoder_fingerprint

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "narrative_frames" / "articles_metadata.tsv"
C_GRID = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)

CARD = """# {name}: article-level narrative frames

Five generic news frames, one logistic head each, on a pooled article vector built from
{features_text} (no extra encoder pass). Multi-label: an article can carry any number of the frames.

| id | frame | threshold |
|---|---|---|
{frame_rows}

## Data
The narrative-frames corpus of Frermann et al. (2023): English news articles on
climate change from outlets across the political spectrum, each annotated at article
level for the five frames (aggregated annotations, `articles_metadata.tsv`). Licence:
MIT (Copyright (c) 2023 Lea Frermann). Only the learned weights ship here; no article
text is copied into this repository.

- {n} labelled articles used ({n_skipped} row(s) of the file skipped for unreadable labels).
- Positives per frame: {per_frame}.
- Split: seeded random {dev_fraction:.0%} dev by article, seed {seed}: {n_train} train,
  {n_dev} dev. The dev article ids are in `dev_split.json`. This is our own split, not
  the paper's, so figures are not directly comparable with the paper's.

Citation:
> Lea Frermann, Jiatong Li, Shima Khanehzar and Gosia Mikolajczak (2023). Conflicts,
> Villains, Resolutions: Towards models of Narrative Media Framing. In *Proceedings of
> the 61st Annual Meeting of the Association for Computational Linguistics (ACL 2023),
> Volume 1: Long Papers*, pages 8712–8732. https://doi.org/10.18653/v1/2023.acl-long.486

## Model
- Sentences: each article is normalised and segmented as `Analyzer.prepare` does
  (`framing.text.prepare`, long sentences split to the 256-token window); no cap on
  sentences per article was needed (at most {max_sents}, mean {mean_sents:.0f}).
- Article vector: `{pooling}` pooling of the unit sentence vectors ({feat_dim} values;
  see `framing.heads.frames.heads.article_features`).
- Heads: scikit-learn `LogisticRegression` (class_weight balanced, C = {C}) per frame on
  standardised features (scaling folded into the stored weights). Platt scaling and the
  F1-maximising threshold per frame are fitted on {folds}-fold out-of-fold scores of the
  training articles, so the dev articles inform nothing.
- Pooling and C were chosen by that cross-validated training macro-F1 (dev never looked
  at); the grid:

| pooling | {c_header} |
|---|{c_rule}
{grid_rows}

## Dev metrics ({n_dev} held-out articles, 95% bootstrap intervals, {n_boot} resamples)

| scorer | macro-F1 [95% CI] | micro-F1 | {frame_header} |
|---|---|---|{frame_rule}
{metric_rows}

- keyword baseline: hand-written keyword stems per frame (`framing.heads.frames.heads.FRAME_KEYWORDS`,
  {kw_count} words in all), present at a hit count tuned for F1 on the training
  articles (thresholds {kw_thresholds}).
- majority baseline: each frame's majority value among the training articles (only
  conflict is a majority frame, so it predicts conflict for every article).
- Paired bootstrap, trained − keyword macro-F1: {delta_kw} ({p_kw}); trained − majority:
  {delta_maj} ({p_maj}).
- Known limits: {n_dev} dev articles, with few human-interest and morality positives, so
  intervals are wide. One topic (climate change) in training: expect lower figures on
  other topics. Pooling blurs which sentences carry a frame: the heads give
  article-level answers only, with no sentence evidence.{no_gain}

## Reproduce
```
{command}
```
`python eval/frames_dev.py` rewrites `eval/results/frames_dev.{{json,md}}` from the
shipped heads and this split. This run took {seconds:.0f} s on a 2-core CPU, of which
{encode_s:.0f} s to encode the {n_sentences} sentences or read them from the cache (encoding
them from scratch takes about four minutes there).
"""


def fmt_ci(e) -> str:
    return f"{e.value:.3f} [{e.low:.3f}, {e.high:.3f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--dev-fraction", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--cache", default="/tmp/framing-frames-cache",
                    help="directory for cached sentence embeddings (outside the repository)")
    ap.add_argument("--features", choices=("embedding", "tone-branch", "layer+tone-branch"),
                    default="embedding",
                    help="sentence rows: the encoder's embeddings; the shipped tone branch's "
                         "pooled sentence states; or [pooled encoder states after the "
                         "branch's layer; branch states] (the last two come from the "
                         "truncated pass the default analyzer runs)")
    ap.add_argument("--model", default=None,
                    help="the encoder (default: the bundled all-MiniLM-L6-v2; "
                         "all-mpnet-base-v2 with the accurate tier's --tone-model)")
    ap.add_argument("--tone-model", default=None,
                    help="tone model whose branch the heads read (default: the shipped one)")
    ap.add_argument("--pooling", choices=POOLINGS, default=None,
                    help="pin the article pooling (default: chosen by cross-validation)")
    ap.add_argument("--C", type=float, default=None,
                    help="pin the heads' C (default: chosen by cross-validation from "
                         f"{', '.join(map(str, C_GRID))})")
    ap.add_argument("--name", default="frames-narrative")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if args.C is not None and not args.C > 0:
        raise SystemExit("--C must be a positive number")
    poolings = [args.pooling] if args.pooling else list(POOLINGS)
    c_grid = [args.C] if args.C is not None else list(C_GRID)

    t0 = time.perf_counter()
    n_rows = sum(1 for _ in open(args.data, encoding="utf-8")) - 1
    arts = read_narrative_frames(args.data)
    Y = np.array([a.labels for a in arts], dtype=bool)
    encoder = framing.Encoder(args.model)
    tone = None
    if args.features != "embedding":
        from framing.heads.tone.factory import shipped_tone_model_path
        from framing.heads.tone.model import load_tone_model

        tone = load_tone_model(args.tone_model or shipped_tone_model_path())
        tone.check_encoder(encoder)
    t_enc = time.perf_counter()
    sent = encode_articles([a.text for a in arts], encoder, cache_dir=args.cache,
                           feature_model=tone, features=args.features)
    encode_s = time.perf_counter() - t_enc
    n_sents = np.array([len(s) for s in sent])
    feats = {p: np.stack([article_features(s, pooling=p) for s in sent]) for p in POOLINGS}

    # model choice on training articles only (cross-validated macro-F1)
    grid: dict[str, dict[float, float]] = {}
    best = None
    for pooling in poolings:
        grid[pooling] = {}
        for C in c_grid:
            h = fit_frame_heads(feats[pooling], Y, FRAME_IDS, dev_fraction=args.dev_fraction,
                                seed=args.seed, C=C, folds=args.folds, pooling=pooling,
                                name=args.name)
            score = h.split["cv_macro_f1"]
            grid[pooling][C] = score
            print(f"  {pooling:10s} C={C:<5} cv macro-F1 {score:.4f}", flush=True)
            if best is None or score > best.split["cv_macro_f1"] + 1e-9:
                best = h
    heads = best
    heads.encoder = encoder_fingerprint(encoder)
    if tone is not None:
        heads.feature_source = args.features
        heads.feature_model = {"name": tone.config.name, "digest": tone.digest,
                               "layer": tone.layer}
    dev = np.asarray(heads.split["dev_rows"])
    train = np.setdiff1d(np.arange(len(arts)), dev)
    # the config names the split; the dev article ids themselves go to dev_split.json
    del heads.split["dev_rows"]
    heads.split["dev_ids_file"] = "dev_split.json"

    # dev evaluation: trained heads against the two baselines, shared resamples
    Yd = Y[dev]
    kw = KeywordFrameBaseline().fit([arts[i].text for i in train], Y[train])
    maj = MajorityFrameBaseline().fit(Y[train])
    preds = {
        "trained": heads.predict(feats[heads.pooling][dev]),
        "keyword": kw.predict([arts[i].text for i in dev]),
        "majority": maj.predict(len(dev)),
    }
    idx = bootstrap_indices(len(dev), args.n_boot, args.seed)
    metrics = {name: multilabel_metrics(Yd, P, FRAME_IDS, idx=idx) for name, P in preds.items()}
    comparisons = {}
    for ref in ("keyword", "majority"):
        comparisons[ref] = paired_bootstrap(
            multilabel_macro_f1_resampler(Yd, preds["trained"]), idx, metrics["trained"]["macro_f1"].value,
            metrics[ref]["macro_f1"].value, multilabel_macro_f1_resampler(Yd, preds[ref]))
    seconds = time.perf_counter() - t0

    command = (f"python models/train_frames.py --data {args.data} --dev-fraction "
               f"{args.dev_fraction} --seed {args.seed} --folds {args.folds} "
               f"--n-boot {args.n_boot} --features {args.features} "
               + (f"--model {args.model} --name {args.name} " if args.model else "")
               + (f"--tone-model {args.tone_model} " if args.tone_model else "")
               + (f"--pooling {args.pooling} " if args.pooling else "")
               + (f"--C {args.C} " if args.C is not None else "")
               + f"--out {args.out}")
    frame_rows = "\n".join(f"| `{i}` | {n} | {t:.2f} |"
                           for i, n, t in zip(heads.ids, heads.names, heads.thresholds))
    c_header = " | ".join(f"C={c}" for c in c_grid)
    grid_rows = "\n".join(f"| {p} | " + " | ".join(
        (f"**{v:.3f}**" if p == heads.pooling and c == heads.split["C"] else f"{v:.3f}")
        for c, v in row.items()) + " |" for p, row in grid.items())
    metric_rows = "\n".join(
        f"| {name} | {fmt_ci(m['macro_f1'])} | {m['micro_f1'].value:.3f} | "
        + " | ".join(f"{m['per_label'][f]['f1'].value:.3f}" for f in FRAME_IDS) + " |"
        for name, m in metrics.items())

    def delta(c) -> str:
        d = c["difference"]
        return f"{d.value:+.3f} [95% CI {d.low:+.3f}, {d.high:+.3f}]"

    def pval(c) -> str:
        p = c["p_value"]
        return "p<0.001" if p < 0.001 else f"p={p:.3f}"

    flat = [f for f in FRAME_IDS if metrics["trained"]["per_label"][f]["f1"].value
            <= metrics["majority"]["per_label"][f]["f1"].value + 0.01]
    no_gain = (f"\n- No better than the majority baseline on dev for: {', '.join(flat)} (a "
               "frame most articles carry).") if flat else ""
    enc_name = heads.encoder.get("name")
    features_text = {
        "embedding": f"the {enc_name} sentence embeddings the analyzer already computes",
        "tone-branch": (f"the pooled sentence states of the shipped tone branch "
                        f"(`{tone.config.name}`, weights digest {tone.digest}) that the "
                        "analyzer already computes" if tone else ""),
        "layer+tone-branch": (
            f"per-sentence rows the analyzer already computes: the pooled, unit-normalised "
            f"{enc_name} states after layer {tone.layer} (what the tone branch reads), "
            f"followed by the tone branch's own pooled sentence states (`{tone.config.name}`, "
            f"weights digest {tone.digest}); the encoder's top layers are not needed, so the "
            f"analyzer stops its pass at layer {tone.layer}" if tone else ""),
    }[args.features]
    card = CARD.format(name=args.name, no_gain=no_gain, features_text=features_text,
        frame_rows=frame_rows, n=len(arts), n_skipped=n_rows - len(arts),
        per_frame=", ".join(f"{f} {int(Y[:, j].sum())}" for j, f in enumerate(FRAME_IDS)),
        dev_fraction=args.dev_fraction, seed=args.seed, n_train=len(train), n_dev=len(dev),
        max_sents=int(n_sents.max()), mean_sents=float(n_sents.mean()), pooling=heads.pooling,
        feat_dim=heads.W.shape[1], C=heads.split["C"], folds=args.folds, c_header=c_header,
        c_rule="---|" * len(c_grid), grid_rows=grid_rows, n_boot=args.n_boot,
        frame_header=" | ".join(f"{f} F1" for f in FRAME_IDS),
        frame_rule="---|" * len(FRAME_IDS), metric_rows=metric_rows,
        kw_count=sum(len(v) for v in FRAME_KEYWORDS.values()),
        kw_thresholds=", ".join(f"{f} {int(t)}" for f, t in zip(FRAME_IDS, kw.thresholds_)),
        delta_kw=delta(comparisons["keyword"]), p_kw=pval(comparisons["keyword"]),
        delta_maj=delta(comparisons["majority"]), p_maj=pval(comparisons["majority"]),
        command=command, seconds=seconds, encode_s=encode_s,
        n_sentences=f"{int(n_sents.sum()):,}")
    extra = {
        "data": {"corpus": "narrative_frames (Frermann, Li, Khanehzar & Mikolajczak, ACL 2023)",
                 "file": Path(args.data).name, "licence": "MIT",
                 "columns": NARRATIVE_FRAME_COLUMNS, "articles": len(arts)},
        "training": {"C_grid": c_grid, "poolings": poolings, "cv_macro_f1": grid,
                     "sentences": int(n_sents.sum()), "max_sentences_per_article": None},
    }
    out = heads.save(args.out, card, extra=extra)
    (out / "dev_split.json").write_text(json.dumps({
        "data": Path(args.data).name, "seed": args.seed, "dev_fraction": args.dev_fraction,
        "n_articles": len(arts), "dev_ids": [arts[i].id for i in dev]}, indent=2) + "\n")
    (out / "metrics.json").write_text(json.dumps({
        "n_dev": int(len(dev)),
        "scorers": {name: {"macro_f1": m["macro_f1"].to_dict(), "micro_f1": m["micro_f1"].to_dict(),
                           "per_frame_f1": {f: v["f1"].to_dict() for f, v in m["per_label"].items()}}
                    for name, m in metrics.items()},
        "trained_minus": {ref: {"macro_f1": c["difference"].to_dict(), "p_value": c["p_value"]}
                          for ref, c in comparisons.items()},
        "pooling": heads.pooling, "C": heads.split["C"], "seconds": seconds,
        "encode_seconds": encode_s, "command": command},
        indent=2) + "\n")
    for name, m in metrics.items():
        print(f"{name:9s} dev macro-F1 {fmt_ci(m['macro_f1'])}  micro-F1 {m['micro_f1'].value:.3f}")
    print(f"chose {heads.pooling}, C={heads.split['C']}; {seconds:.0f} s")


if __name__ == "__main__":
    main()
