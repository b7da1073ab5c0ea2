"""Fit label biases for tone not toward a target, for macro-F1: for whole sentences on the
real dev split, or (``--articles``) for articles on the labelled real train articles.

    python models/add_tone_biases.py --profile accurate [--tone-model DIR] [--out DIR]
        [--articles] [--real DIR] [--halvings 20] [--min-gain 0.01] [--min-share 0.8]
        [--force] [--report FILE]

A text's tone label is the likeliest class of its calibrated (for an article: aggregated)
probabilities, which maximises accuracy rather than macro-F1. This script scores the
labelled texts with the tier's analyzer (the tone model ``--tone-model``, default the tier's
shipped one, with any biases of the kind being fitted taken away), fits two additive
log-probability biases (critical and promotional; neutral fixed at 0) by
:func:`framing.heads.calibration.fit_class_biases`, and estimates the honest gain by
cross-fitting: the documents are halved at random ``--halvings`` times, the biases fitted
on each half and measured on the other.

- Sentences (default): the real dev sentences; the biases become ``label_biases``, used
  for every text.
- ``--articles``: the labelled real **train** articles (``eval/labelling/labels/
  articles.jsonl``, nothing else uses them); the biases become ``article_biases``, used
  for texts whose tone aggregates two or more sentences. The dev articles stay held out.

The biases are written (``set_label_biases``, into ``--out``: a copy of the model, or the
model itself when ``--out`` is its directory or is left out) only when the mean
cross-fitted gain is at least ``--min-gain`` and the gain is positive in at least
``--min-share`` of the fits (``--force`` writes them anyway). Then the model is measured
with and without them through the analyzer: real dev sentences, the project-written
``eval/samples/tone.jsonl`` sentences and the labelled real dev articles; a section with
the figures is added to the model's card. Tone toward a target never uses the biases. The
real test split is never read.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from framing.core.labels import TONE_LABELS
from framing.core.resources import get_tier, shipped_model_path
from framing.heads.calibration import BIAS_GRID, biased_argmax, fit_class_biases
from framing.heads.tone.model import set_label_biases
from cards import set_card_section
from real_data import (DEFAULT_CORPUS, real_articles, real_dev_articles, real_sentences,
                       tone_analyzer, tone_labels, tone_samples)
from real_data import tone_macro_f1 as macro

HERE = Path(__file__).resolve().parent

SECTION = "\n## Label biases for whole sentences\n"
CARD = """{section}
The label of tone that is not toward a target is the likeliest class after adding biases to
the log-probabilities: critical {critical:+.1f}, neutral 0, promotional {promotional:+.1f}
(`label_biases` in `config.json`). They were fitted for macro-F1 on the {n_dev:,} real dev
sentences (grid −1 to +1 in steps of 0.1); the probabilities and the tone score are not
changed, and tone toward a target does not use them. Command:

    {command}

Cross-fitted on the dev documents ({fits} fits: biases fitted on one half, measured on the
other), they gained {gain:+.4f} macro-F1 on average (sd {sd:.4f}), positive in {share:.0%}
of the fits. In-sample on all of dev: {before:.3f} with argmax, {after:.3f} with the biases.
"""


ARTICLE_SECTION = "\n## Label biases for articles\n"
ARTICLE_CARD = """{section}
The label of an article's tone (a text whose tone aggregates two or more sentences; not
toward a target) is the likeliest class of its aggregated probabilities after adding biases
to their logarithms: critical {critical:+.1f}, neutral 0, promotional {promotional:+.1f}
(`article_biases` in `config.json`; one-sentence texts do not use them). They were fitted
for macro-F1 on the {n_fit:,} labelled real train articles (grid −1 to +1 in steps of 0.1);
the probabilities and the tone score are not changed. Command:

    {command}

Cross-fitted on those articles ({fits} fits: biases fitted on one half, measured on the
other), they gained {gain:+.4f} macro-F1 on average (sd {sd:.4f}), positive in {share:.0%}
of the fits. On the {n_dev} held-out real dev articles: {dev_before:.3f} without them,
{dev_after:.3f} with them.
"""


def probabilities(analyzer, texts: list[str]) -> np.ndarray:
    """Each text's tone class probabilities ``(n, 3)`` in TONE_LABELS order."""
    out = []
    for x in analyzer.score_many(texts, batch_size=128):
        p = x.tone_probabilities
        out.append([p[k] for k in TONE_LABELS] if p else [0.0, 1.0, 0.0])
    return np.array(out)



def cross_fit(P: np.ndarray, y: np.ndarray, docs: np.ndarray, halvings: int, seed: int
              ) -> np.ndarray:
    """The macro-F1 gain over argmax of biases fitted on one random half of the documents
    and measured on the other, ``2 * halvings`` values."""
    rng = np.random.default_rng(seed)
    unique = np.unique(docs)
    gains = []
    for _ in range(halvings):
        half = set(rng.choice(unique, len(unique) // 2, replace=False).tolist())
        a = np.array([d in half for d in docs])
        for fit_rows, eval_rows in ((a, ~a), (~a, a)):
            b = fit_class_biases(P[fit_rows], y[fit_rows])
            gains.append(macro(y[eval_rows], biased_argmax(P[eval_rows], b))
                         - macro(y[eval_rows], P[eval_rows].argmax(1)))
    return np.array(gains)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--profile", default="default", choices=["default", "accurate"])
    ap.add_argument("--tone-model", default=None, help="default: the tier's shipped model")
    ap.add_argument("--out", default=None, help="default: the tone model itself")
    ap.add_argument("--articles", action="store_true",
                    help="article biases, fitted on the labelled real train articles")
    ap.add_argument("--real", default=str(DEFAULT_CORPUS))
    ap.add_argument("--halvings", type=int, default=20)
    ap.add_argument("--min-gain", type=float, default=0.01)
    ap.add_argument("--min-share", type=float, default=0.8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--force", action="store_true", help="write the biases whatever the gain")
    ap.add_argument("--samples", default=str(HERE.parent / "eval" / "samples" / "tone.jsonl"))
    ap.add_argument("--report", default=None, help="also write the figures here (JSON)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    src = Path(args.tone_model or shipped_model_path(get_tier(args.profile).tone))
    out = Path(args.out) if args.out else src
    scratch = Path(tempfile.mkdtemp(prefix="framing-biases-"))
    base = scratch / "argmax"  # the model without biases, for the fit and the comparison
    shutil.copytree(src, base)
    set_label_biases(base, None, articles=args.articles)


    dev = real_sentences("dev", args.real)
    before_an = tone_analyzer(args.profile, base)
    if args.articles:
        texts, y = real_articles("train", args.real)
        docs = np.arange(len(y))  # each labelled article is a document of its own
        what = f"real train split, {len(y)} labelled articles"
    else:
        texts, y = dev.texts, dev.tone()
        docs = np.array([f"{r['file']}|{r['doc']}" for r in dev.rows])
        what = f"real dev split, {len(y)} sentences"
    P = probabilities(before_an, texts)
    biases = fit_class_biases(P, y)
    gains = cross_fit(P, y, docs, args.halvings, args.seed)
    share = float(np.mean(gains > 0))
    ship = args.force or (gains.mean() >= args.min_gain and share >= args.min_share)
    named = dict(zip(TONE_LABELS, map(float, biases)))
    print(f"biases {named}; cross-fitted gain {gains.mean():+.4f} (sd {gains.std():.4f}), "
          f"positive in {share:.0%} of {len(gains)} fits: "
          f"{'written' if ship else 'not written'}", flush=True)
    report = {"biases": named, "kind": "article_biases" if args.articles else "label_biases",
              "data": what, "crossfit_gain_mean": float(gains.mean()),
              "crossfit_gain_sd": float(gains.std()), "crossfit_positive_share": share,
              "fits": len(gains), "written": bool(ship),
              "fit_in_sample": {"argmax": macro(y, P.argmax(1)),
                                "biased": macro(y, biased_argmax(P, biases)), "rows": len(y)}}
    if ship:
        if out.resolve() != src.resolve():
            shutil.rmtree(out, ignore_errors=True)
            shutil.copytree(src, out)
        command = (f"python models/add_tone_biases.py --profile {args.profile}"
                   + (f" --tone-model {args.tone_model}" if args.tone_model else "")
                   + (f" --out {args.out}" if args.out else "")
                   + (" --articles" if args.articles else "")
                   + f" --halvings {args.halvings} --seed {args.seed}")
        set_label_biases(out, named, {
            "data": what, "grid": [float(BIAS_GRID[0]), float(BIAS_GRID[-1]), 0.1],
            "crossfit_gain_mean": round(float(gains.mean()), 4),
            "crossfit_positive_share": round(share, 3), "command": command},
            articles=args.articles)
        after_an = tone_analyzer(args.profile, out)
        st, ys = tone_samples(args.samples)
        at, ya = real_dev_articles(args.real)
        yd = dev.tone()
        report["real_dev_sentence_tone"] = {"argmax": macro(yd, tone_labels(before_an, dev.texts)),
                                            "biased": macro(yd, tone_labels(after_an, dev.texts)),
                                            "rows": len(yd)}
        report["samples_sentence_tone"] = {"argmax": macro(ys, tone_labels(before_an, st)),
                                           "biased": macro(ys, tone_labels(after_an, st)),
                                           "rows": len(ys)}
        report["real_dev_article_tone"] = {"argmax": macro(ya, tone_labels(before_an, at)),
                                           "biased": macro(ya, tone_labels(after_an, at)),
                                           "rows": len(ya)}
        section = ARTICLE_SECTION if args.articles else SECTION
        if args.articles:
            art = report["real_dev_article_tone"]
            text = ARTICLE_CARD.format(
                section=section.strip("\n"), critical=named["critical"],
                promotional=named["promotional"], n_fit=len(y), command=command,
                fits=len(gains), gain=gains.mean(), sd=gains.std(), share=share,
                n_dev=art["rows"], dev_before=art["argmax"], dev_after=art["biased"])
        else:
            text = CARD.format(
                section=section.strip("\n"), critical=named["critical"],
                promotional=named["promotional"], n_dev=len(y), command=command,
                fits=len(gains), gain=gains.mean(), sd=gains.std(), share=share,
                before=report["fit_in_sample"]["argmax"],
                after=report["fit_in_sample"]["biased"])
        set_card_section(out / "README.md", text)
    shutil.rmtree(scratch, ignore_errors=True)
    report["seconds"] = time.perf_counter() - t0
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
