"""Measure an analyzer on the labelled real sentences (labels in eval/labelling/labels,
text resolved from ../shared/data/real), by split and by source group.

    python eval/real_sentences.py [--split test|dev|train|all] [--data ../shared/data/real]
                                  [--out eval/results/real_sentences_<split>.md]
                                  [--tone DIR --cue-heads DIR --catalogue YAML --name NAME]
                                  [--profile default|accurate] [--predictions preds.jsonl]

The default analyzer is measured unless --tone / --cue-heads / --catalogue name other
artefacts (e.g. an earlier release's, for a before/after table). --profile accurate measures
the accurate tier (all-mpnet-base-v2 and the models trained on it; needs the framing[mpnet]
extra) and writes real_sentences_<split>_accurate.md beside the default's. --predictions
writes each row's uid with the predicted cues, tone and target tones (no text) for
comparisons.

Reports, with 95% bootstrap intervals: cue macro-F1 over the ten cues of the v2 catalogue
(a cue the analyzer does not score counts as never predicted), per-cue precision / recall /
F1, the false-positive rate on cue-free sentences ("any cue" and the highest single cue)
per source group, and sentence-tone macro-F1. Only rows with final (agreed or
adjudicated) labels count.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import framing
from framing.core.labels import TONE_LABELS
from framing.core.pointers import TextPointer, resolve_pointers
from framing.core.resources import TIERS, get_tier, shipped_model_path
from framing.heads.cues.heads import is_cue_heads_dir
from framing.heads.tone.model import is_tone_model_dir
from framing.stats.inference import wilson_interval
from framing.stats.metrics import (Estimate, bootstrap_indices, classification_metrics,
                                   confusion, multilabel_metrics)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "labelling"))
from merge_passes import CUES  # noqa: E402  (the ten cue ids of catalogue v2, in spec order)
from splits import split_of  # noqa: E402


def score_against_labels(an, rows: list[dict], texts: list[str], n_boot: int):
    """Score ``texts`` with analyzer ``an`` and measure them against the rows' final labels.

    Returns ``(results, Y, P, cue metrics over the ten cues, cue metrics over the cues the
    analyzer scores, tone metrics)``; a cue the analyzer does not score counts as never
    predicted in the ten-cue figure."""
    res = an.score_many(texts, batch_size=128)
    Y = np.array([[c in r["final"]["cues"] for c in CUES] for r in rows])
    P = np.array([[bool(x.cues[c].present) if c in x.cues else False for c in CUES] for x in res])
    own = [j for j, c in enumerate(CUES) if c in an.cue_ids]
    cue = multilabel_metrics(Y, P, CUES, n_boot=n_boot)
    cue_own = multilabel_metrics(Y[:, own], P[:, own], [CUES[j] for j in own], n_boot=n_boot)
    y = np.array([TONE_LABELS.index(r["final"]["tone"]) for r in rows])
    p = np.array([TONE_LABELS.index(x.tone_label) if x.tone_label in TONE_LABELS else 1
                  for x in res])
    tone = classification_metrics(y, p, TONE_LABELS, n_boot=n_boot)
    return res, Y, P, cue, cue_own, tone


def macro_f1_over_gold_classes(y: np.ndarray, p: np.ndarray, n_boot: int) -> Estimate:
    """Macro-F1 averaged over the classes present in ``y`` only, from the full confusion
    (predictions of another class count as misses), with a 95% bootstrap interval.

    Labelled targets are those a sentence evaluates, so almost none is neutral; averaging
    an empty neutral class in (F1 0 whenever anything is predicted neutral) would cap the
    figure near 2/3 whatever the model does."""
    k = len(TONE_LABELS)
    classes = np.unique(y)

    def macro(cm: np.ndarray) -> np.ndarray:
        tp = np.diagonal(cm, axis1=-2, axis2=-1)
        denom = cm.sum(axis=-1) + cm.sum(axis=-2)
        f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
        return f1[..., classes].mean(axis=-1)

    idx = bootstrap_indices(len(y), n_boot, 0)
    point = float(macro(confusion(y, p, k)))
    boots = macro(confusion(y, p, k, idx))
    return Estimate(point, float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975)))


def per_cue_table(cue: dict, Y: np.ndarray, count_header: str) -> list[str]:
    """Markdown rows of per-cue positives, precision, recall and F1 over the ten cues."""
    rows = [f"| cue | {count_header} | precision | recall | F1 |", "|---|---:|---:|---:|---:|"]
    for j, c in enumerate(CUES):
        pc = cue["per_label"][c]
        rows.append(f"| {c} | {int(Y[:, j].sum())} | {pc['precision']:.2f} | "
                    f"{pc['recall']:.2f} | {pc['f1']:.2f} |")
    return rows


def write_report(lines: list[str], out: str | None, default_name: str) -> None:
    """Print the report and write it to ``out`` (default: ``results/<default_name>``)."""
    text = "\n".join(lines) + "\n"
    print(text)
    path = Path(out) if out else HERE / "results" / default_name
    path.write_text(text, encoding="utf-8")


def add_model_options(ap: argparse.ArgumentParser) -> None:
    """The options naming the artefacts to measure (default: the shipped analyzer)."""
    ap.add_argument("--tone", help="tone model directory (default: shipped)")
    ap.add_argument("--cue-heads", help="cue heads directory (default: shipped)")
    ap.add_argument("--catalogue", help="catalogue YAML the cue heads serve (default: built-in)")
    ap.add_argument("--profile", default="default", choices=list(TIERS),
                    help="the model tier: its encoder and shipped models (default: %(default)s)")
    ap.add_argument("--cue-operating-point", default=None, metavar="NAME",
                    help="the cue heads' operating point to measure (default: theirs)")
    ap.add_argument("--name", default=None,
                    help="what the report calls the measured analyzer (default: shipped "
                         "PROFILE analyzer)")


def parse_model_options(ap: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """Parse ``argv`` and fill in what depends on the profile (the analyzer's name)."""
    args = ap.parse_args(argv)
    if args.name is None:
        args.name = f"shipped {args.profile} analyzer" + (
            f", cue operating point {args.cue_operating_point}" if args.cue_operating_point else "")
    return args


def report_name(stem: str, args) -> str:
    """The report's file name: ``<stem>.md``, ``<stem>_<profile>.md`` for another tier and
    ``..._<point>.md`` for a cue operating point named, so that the reports lie side by side."""
    name = stem if args.profile == "default" else f"{stem}_{args.profile}"
    point = getattr(args, "cue_operating_point", None)
    return f"{name}_{point}.md" if point else f"{name}.md"


def analyzer_from(args, **options) -> "framing.Analyzer":
    """The analyzer the options name (frames off: nothing here measures them)."""
    tier = get_tier(args.profile)
    if tier.name != "default":  # missing shipped models would fail late or fall back quietly
        missing = [str(path) for path, given, present in (
            (shipped_model_path(tier.tone), args.tone, is_tone_model_dir),
            (shipped_model_path(tier.cue_heads), args.cue_heads or args.catalogue,
             is_cue_heads_dir)) if not given and not present(path)]
        if missing:
            raise SystemExit(f"the {tier.name} tier's models are not in {', '.join(missing)} "
                             "yet; train them first, or name others with --tone / --cue-heads")
    return framing.Analyzer(frames=None, profile=tier.name, tone=args.tone or "trained",
                            catalogue=args.catalogue, cue_heads=args.cue_heads,
                            cue_operating_point=getattr(args, "cue_operating_point", None),
                            **options)


def labelled_rows(split: str) -> list[dict]:
    rows = []
    for path in sorted((HERE / "labelling" / "labels").glob("batch*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            r = json.loads(line) if line.strip() else None
            if r and r.get("final") and (split == "all" or split_of(r["file"], r["doc"]) == split):
                rows.append(r)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", default="test", choices=["test", "dev", "train", "all"])
    ap.add_argument("--data", default=str(HERE.parent.parent / "shared" / "data" / "real"))
    ap.add_argument("--out")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--predictions", help="write per-row predictions (uid, no text) here")
    add_model_options(ap)
    args = parse_model_options(ap, argv)
    rows = labelled_rows(args.split)
    if not rows:
        print("no labelled rows in this split", file=sys.stderr)
        return 1
    texts = resolve_pointers([TextPointer.from_dict(r) for r in rows], args.data)
    # one sentence is not a page: the page-furniture filter (bylines, bios) is for articles
    an = analyzer_from(args, furniture=False)
    res, Y, P, cue, cue_own, tone = score_against_labels(an, rows, texts, args.n_boot)
    target_pred: dict[str, list[str]] = {}
    # tone toward each labelled target, scored with the target's offsets in the sentence
    t_rows = [(i, t) for i, r in enumerate(rows) for t in r["final"]["targets"]]
    target_line = "- target tone macro-F1: no labelled targets in this split"
    if t_rows:
        t_res = an.score_many([texts[i] for i, _ in t_rows], batch_size=128,
                              targets=[(t["start"] - rows[i]["start"], t["end"] - rows[i]["start"])
                                       for i, t in t_rows])
        yt = np.array([TONE_LABELS.index(t["tone"]) for _, t in t_rows])
        pt = np.array([TONE_LABELS.index(x.tone_label) if x.tone_label in TONE_LABELS else 1
                       for x in t_res])
        for (i, _), x in zip(t_rows, t_res):
            target_pred.setdefault(rows[i]["uid"], []).append(x.tone_label)
        tt = classification_metrics(yt, pt, TONE_LABELS, n_boot=args.n_boot)
        gold = macro_f1_over_gold_classes(yt, pt, args.n_boot)
        target_line = (f"- target tone macro-F1 ({len(t_rows)} targets): **{gold}** over the "
                       f"classes the labels use ({', '.join(TONE_LABELS[c] for c in sorted(set(yt)))}"
                       f"; a neutral prediction counts as a miss); {tt['macro_f1']} with the "
                       "neutral class averaged in although no target is labelled neutral")
    if args.predictions:
        with open(args.predictions, "w", encoding="utf-8") as fh:
            for r, x in zip(rows, res):
                fh.write(json.dumps({"uid": r["uid"], "cues": [c for c in CUES if c in x.cues
                                                               and x.cues[c].present],
                                     "tone": x.tone_label,
                                     "target_tones": target_pred.get(r["uid"], [])}) + "\n")
    command = " ".join(["python eval/real_sentences.py"] + (argv if argv is not None else sys.argv[1:]))
    lines = [f"# Real sentences, split `{args.split}`: {args.name}", "",
             f"Written by `{command}`; {len(rows)} "
             "sentences with final labels; 95% bootstrap intervals.", "",
             f"- cue macro-F1 (10 cues): **{cue['macro_f1']}**; over the "
             f"{len(cue_own['labels'])} cues the analyzer scores: {cue_own['macro_f1']}",
             f"- sentence tone macro-F1: **{tone['macro_f1']}**", target_line, "",
             *per_cue_table(cue, Y, "n true")]
    lines += ["", "False positives on cue-free sentences, by source group:", "",
              "| group | cue-free sentences | any cue flagged [95% CI] | worst single cue |",
              "|---|---:|---:|---|"]
    groups = np.array([r["group"] for r in rows])
    free = ~Y.any(axis=1)
    for g in sorted(set(groups)):
        m = free & (groups == g)
        n = int(m.sum())
        if not n:
            continue
        k = int(P[m].any(axis=1).sum())
        lo, hi = wilson_interval(k, n)
        per = P[m].mean(axis=0)
        w = int(per.argmax())
        lines.append(f"| {g} | {n} | {k / n:.1%} [{float(lo):.1%}, {float(hi):.1%}] | "
                     f"{CUES[w]} {per[w]:.1%} |")
    write_report(lines, args.out, report_name(f"real_sentences_{args.split}", args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
