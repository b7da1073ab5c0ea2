"""Give a tier's tone model a sentence-tone head trained on the real train sentences.

    python models/add_sentence_head.py --profile default|accurate [--tone-model DIR]
        [--out DIR] [--features branch|branch+main] [--articles head|branch] [--C 1.0]
        [--real DIR] [--report FILE]

Fits :class:`framing.heads.tone.sentence_head.SentenceToneHead` (a multinomial logistic
regression over the three tone classes, no class weights) on the whole-sentence tone labels
of the real train split, reading the pooled states the tier's analyzer computes for every
sentence (``--features``: ``branch`` by default; ``branch+main`` for a tone model with a
sentence branch, the accurate tier's), and attaches it to a copy of the tone model in
``--out`` (or to the model itself when ``--out`` is left out or is its directory): its
probabilities then give the tone of whole sentences; tone toward a target is untouched.
``--articles branch`` keeps the tone of texts of two or more sentences on the branch's own
probabilities (the head then serves sentences and one-sentence texts only).

Then measures the model without and with the head through the analyzer on the dev splits
only (the real test split is never read): real dev sentence tone (paired bootstrap over
documents), the labelled real dev articles and the project-written
``eval/samples/tone.jsonl`` sentences; prints the comparison, adds a section to the
model's card and, with ``--report``, writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from framing.core.resources import get_tier, shipped_model_path
from framing.heads.tone.model import (attach_sentence_head, load_tone_model,
                                      sentence_head_features)
from framing.heads.tone.sentence_head import SentenceToneHead
from framing.text.prepare import normalise
from cards import set_card_section
from real_data import (DEFAULT_CORPUS, real_dev_articles, real_sentences, tone_analyzer,
                       tone_labels, tone_samples)
from real_data import tone_macro_f1 as macro

HERE = Path(__file__).resolve().parent

SECTION = "\n## Sentence-tone head\n"
CARD = """{section}
The tone of a whole sentence comes from a multinomial logistic head (`sentence_head.safetensors`,
{dim} features: {what}; C = {C}, no class weights) fitted on the whole-sentence tone labels of
{rows:,} real train sentences, not from the branch's own head; tone toward a target does not
use it. {articles_text} Command:

    {command}

Dev splits (nothing was fitted on them): real dev sentence tone {after:.3f} against
{before:.3f} with the branch's head (difference {diff:+.3f} [{lo:+.3f}, {hi:+.3f}], paired
bootstrap over documents, one-sided p = {p:.3f}); the {n_art} labelled real dev articles
{art_after:.3f} against {art_before:.3f}; the project-written tone sentences
{s_after:.3f} against {s_before:.3f}.
"""
ARTICLES_TEXT = {
    "head": "An article's tone aggregates the head's probabilities of its sentences.",
    "branch": "An article's tone (a text of two or more sentences) still aggregates the "
              "branch's own probabilities; the head gives each sentence's tone and that of "
              "one-sentence texts."}
WHAT = {"branch": "the whole-sentence branch's pooled shared-layer and own states",
        "branch+main": "the sentence branch's pooled shared-layer and own states, then the "
                       "main branch's pooled states"}



def paired(y: np.ndarray, a: np.ndarray, b: np.ndarray, docs: np.ndarray, n_boot: int = 2000,
           seed: int = 0) -> dict:
    """Macro-F1 of ``a`` minus that of ``b``, with a 95% interval and one-sided p from a
    bootstrap that resamples whole documents."""
    rng = np.random.default_rng(seed)
    unique = np.unique(docs)
    rows = [np.flatnonzero(docs == d) for d in unique]
    diffs = []
    for _ in range(n_boot):
        s = np.concatenate([rows[j] for j in rng.integers(0, len(unique), len(unique))])
        diffs.append(macro(y[s], a[s]) - macro(y[s], b[s]))
    diffs = np.array(diffs)
    return {"difference": macro(y, a) - macro(y, b), "low": float(np.percentile(diffs, 2.5)),
            "high": float(np.percentile(diffs, 97.5)), "p_one_sided": float(np.mean(diffs <= 0))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--profile", default="default", choices=["default", "accurate"])
    ap.add_argument("--tone-model", default=None, help="default: the tier's shipped model")
    ap.add_argument("--out", default=None, help="default: the tone model itself")
    ap.add_argument("--features", default=None, choices=["branch", "branch+main"],
                    help="default: branch+main for a model with a sentence branch, else branch")
    ap.add_argument("--articles", default="head", choices=["head", "branch"],
                    help="what a text of two or more sentences aggregates (default: head)")
    ap.add_argument("--C", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--real", default=str(DEFAULT_CORPUS))
    ap.add_argument("--samples", default=str(HERE.parent / "eval" / "samples" / "tone.jsonl"))
    ap.add_argument("--report", default=None, help="also write the figures here (JSON)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    src = Path(args.tone_model or shipped_model_path(get_tier(args.profile).tone))
    out = Path(args.out) if args.out else src
    scratch = Path(tempfile.mkdtemp(prefix="framing-sentence-head-"))
    base = scratch / "branch-head"  # the model without a sentence-tone head
    shutil.copytree(src, base)
    attach_sentence_head(base, None)
    tone = load_tone_model(base)
    features = args.features or ("branch+main" if tone.sentence_model is not None else "branch")


    before_an = tone_analyzer(args.profile, base)
    train, dev = real_sentences("train", args.real), real_sentences("dev", args.real)
    clean = [normalise(t, html=False)[0] for t in train.texts]
    X = np.concatenate([sentence_head_features(tone, before_an.encoder, clean[i:i + 1000],
                                               features)
                        for i in range(0, len(clean), 1000)])
    head = SentenceToneHead.fit(X, train.tone(), features, C=args.C, seed=args.seed,
                                training={"data": "real train split, whole-sentence tone"})
    head.articles = args.articles
    fit_seconds = time.perf_counter() - t0
    if out.resolve() != src.resolve():
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(src, out)
    attach_sentence_head(out, head)
    after_an = tone_analyzer(args.profile, out)

    y = dev.tone()
    docs = np.array([f"{r['file']}|{r['doc']}" for r in dev.rows])
    pb, pa = tone_labels(before_an, dev.texts), tone_labels(after_an, dev.texts)
    test = paired(y, pa, pb, docs)
    st, ys = tone_samples(args.samples)
    at, ya = real_dev_articles(args.real)
    report = {
        "features": features, "articles": args.articles, "dim": head.dim, "C": args.C, "train_rows": len(train.rows),
        "real_dev_sentence_tone": {"branch_head": macro(y, pb), "sentence_head": macro(y, pa),
                                   **test, "rows": len(y)},
        "real_dev_article_tone": {"branch_head": macro(ya, tone_labels(before_an, at)),
                                  "sentence_head": macro(ya, tone_labels(after_an, at)),
                                  "rows": len(ya)},
        "samples_sentence_tone": {"branch_head": macro(ys, tone_labels(before_an, st)),
                                  "sentence_head": macro(ys, tone_labels(after_an, st)),
                                  "rows": len(ys)},
        "fit_seconds": fit_seconds}
    command = (f"python models/add_sentence_head.py --profile {args.profile}"
               + (f" --tone-model {args.tone_model}" if args.tone_model else "")
               + (f" --out {args.out}" if args.out else "")
               + f" --features {features} --articles {args.articles} --C {args.C}"
               + f" --seed {args.seed}")
    d, art, sam = report["real_dev_sentence_tone"], report["real_dev_article_tone"], \
        report["samples_sentence_tone"]
    set_card_section(out / "README.md", CARD.format(
        section=SECTION.strip("\n"), dim=head.dim, what=WHAT[features], C=args.C,
        articles_text=ARTICLES_TEXT[args.articles],
        rows=len(train.rows), command=command, after=d["sentence_head"],
        before=d["branch_head"], diff=d["difference"], lo=d["low"], hi=d["high"],
        p=d["p_one_sided"], n_art=art["rows"], art_after=art["sentence_head"],
        art_before=art["branch_head"], s_after=sam["sentence_head"],
        s_before=sam["branch_head"]))
    shutil.rmtree(scratch, ignore_errors=True)
    report["seconds"] = time.perf_counter() - t0
    report["command"] = command
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
