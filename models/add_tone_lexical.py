"""Give a tone model lexical evidence for the tone of whole sentences.

    python models/add_tone_lexical.py --tone-model models/tone-newsmtsc --out OUT
        [--profile default|accurate] [--C 3.0] [--min-df 2] [--real DIR] [--report FILE]

Fits :func:`framing.heads.lexical.fit_lexical_classes` (TF-IDF weighted word unigrams and
bigrams, one class-balanced multinomial logistic model over the three tone classes) on the
whole-sentence tone labels of the real train split, and writes the tone model to ``OUT``
(a copy, or the model itself when ``OUT`` is its directory) with the evidence attached
(:func:`framing.heads.tone.model.attach_lexical`): the analyzer adds its logits to the
log-probabilities of each whole sentence's tone. The weights, and tone toward targets, stay
as they are. The real test split is never read.

Then measures the model with and without the evidence, through the analyzer of
``--profile``: real dev sentence tone (paired bootstrap), the project-written
``eval/samples/tone.jsonl`` sentences and the labelled real dev articles; prints the
comparison and, with ``--report``, writes it as JSON.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path


from framing.core.labels import TONE_LABELS
from framing.heads.lexical import LEXICAL_CONFIG, LEXICAL_WEIGHTS, fit_lexical_classes
from framing.heads.tone.model import attach_lexical, load_tone_model
from framing.stats.metrics import (bootstrap_indices, classification_metrics, confusion,
                                   macro_f1_from_confusion, paired_bootstrap)
from add_lexical import add_fit_options
from cards import set_card_section
from real_data import (real_dev_articles, real_sentences, tone_analyzer, tone_labels,
                       tone_samples)

HERE = Path(__file__).resolve().parent

SECTION = "\n## Lexical evidence for whole sentences\n"

CARD = """{section}
The tone of a whole sentence also reads the sentence's words: a multinomial logistic model
over the three tone classes on TF-IDF weighted word n-grams (1 to {max_n}; {n_features:,}
n-grams seen in at least {min_df} training sentences; C = {C}), fitted on the whole-sentence
tone labels of {rows:,} real train sentences, whose logits add to the log-probabilities of
the model's prediction (`lexical.json`, `lexical.safetensors`; not recalibrated). Tone
toward a target does not use it. Command:

    {command}

Real dev split ({n_dev:,} sentences): sentence tone macro-F1 {after:.3f} [{after_lo:.3f},
{after_hi:.3f}] against {before:.3f} without it (difference {diff:+.3f} [{diff_lo:+.3f},
{diff_hi:+.3f}], paired bootstrap p = {p:.3f}).
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--tone-model", default=str(HERE / "tone-newsmtsc"))
    ap.add_argument("--profile", default="default", help="the tier whose analyzer measures")
    add_fit_options(ap)
    ap.add_argument("--samples", default=str(HERE.parent / "eval" / "samples" / "tone.jsonl"))
    args = ap.parse_args()

    t0 = time.perf_counter()
    src, out = Path(args.tone_model), Path(args.out)
    load_tone_model(src, lazy=True)  # a tone model to begin with
    real_tr, real_dv = real_sentences("train", args.real), real_sentences("dev", args.real)
    lexical = fit_lexical_classes(real_tr.texts, real_tr.tone(), len(TONE_LABELS), C=args.C,
                                  min_df=args.min_df, seed=args.seed)
    scratch = Path(tempfile.mkdtemp(prefix="framing-tone-"))
    base = scratch / "without-words"  # the model as it was, for the comparison
    shutil.copytree(src, base, ignore=shutil.ignore_patterns(LEXICAL_CONFIG, LEXICAL_WEIGHTS))
    attach_lexical(base, None)
    if out.resolve() != src.resolve():
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(base, out)
    attach_lexical(out, lexical)
    fit_seconds = time.perf_counter() - t0

    before_an, after_an = tone_analyzer(args.profile, base), tone_analyzer(args.profile, out)
    y = real_dv.tone()
    pb, pa = tone_labels(before_an, real_dv.texts), tone_labels(after_an, real_dv.texts)
    k = len(TONE_LABELS)
    mb = classification_metrics(y, pb, TONE_LABELS, n_boot=1000, seed=args.seed)
    ma = classification_metrics(y, pa, TONE_LABELS, n_boot=1000, seed=args.seed)
    test = paired_bootstrap(lambda rows: macro_f1_from_confusion(confusion(y, pa, k, rows)),
                            bootstrap_indices(len(y), 1000, args.seed),
                            ma["macro_f1"].value, mb["macro_f1"].value,
                            lambda rows: macro_f1_from_confusion(confusion(y, pb, k, rows)))

    st, ys = tone_samples(args.samples)
    sb = classification_metrics(ys, tone_labels(before_an, st), TONE_LABELS, n_boot=1)
    sa = classification_metrics(ys, tone_labels(after_an, st), TONE_LABELS, n_boot=1)

    at, ya = real_dev_articles(args.real)
    ab = classification_metrics(ya, tone_labels(before_an, at), TONE_LABELS, n_boot=1)
    aa = classification_metrics(ya, tone_labels(after_an, at), TONE_LABELS, n_boot=1)
    seconds = time.perf_counter() - t0

    command = (f"python models/add_tone_lexical.py --tone-model {args.tone_model} --profile "
               f"{args.profile} --real {args.real} --C {args.C} --min-df {args.min_df} "
               f"--seed {args.seed} --out {args.out}")
    d = test["difference"]
    set_card_section(out / "README.md", CARD.format(
        section=SECTION.strip("\n"), max_n=lexical.max_n, n_features=len(lexical.vocabulary),
        min_df=args.min_df, C=args.C, rows=len(real_tr.texts), command=command,
        n_dev=len(y), after=ma["macro_f1"].value, after_lo=ma["macro_f1"].low,
        after_hi=ma["macro_f1"].high, before=mb["macro_f1"].value, diff=d.value,
        diff_lo=d.low, diff_hi=d.high, p=test["p_value"]))
    shutil.rmtree(scratch, ignore_errors=True)

    report = {
        "real_dev_sentence_tone": {"without": mb["macro_f1"].to_dict(),
                                   "with": ma["macro_f1"].to_dict(),
                                   "difference": d.to_dict(), "p_value": test["p_value"],
                                   "rows": len(y)},
        "samples_sentence_tone": {"without": sb["macro_f1"].value,
                                  "with": sa["macro_f1"].value, "rows": len(ys)},
        "real_dev_article_tone": {"without": ab["macro_f1"].value,
                                  "with": aa["macro_f1"].value, "rows": len(ya)},
        "n_features": len(lexical.vocabulary), "fit_seconds": fit_seconds,
        "seconds": seconds, "command": command}
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
