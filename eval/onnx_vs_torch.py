"""The ONNX Runtime int8 backend against torch float32 on every row of the evaluation
suite, as one table, with the rule that decides what ``Analyzer(backend="auto")`` prefers.

    python eval/onnx_vs_torch.py [--n-boot 1000] [--limit N] [--rows ROWS] [--out DIR]

Each row is measured with ``backend="torch"`` and ``backend="onnx"`` (the encoder layers
up to the tone branch plus the branch as one ONNX graph, int8 dynamic quantisation) on
the same data with shipped settings, the two analyzers sharing one encoder:

- ``newsmtsc_dev``: tone toward the target on the NewsMTSC dev split of the shipped tone
  model (as eval/newsmtsc_dev.py; reads ../shared/data/newsmtsc/train.jsonl);
- ``samples_tone``, ``samples_cues``: eval/samples/tone.jsonl and cues.jsonl;
- ``real_sentences_test_cues`` / ``_tone`` / ``_target_tone``: the labelled real sentences
  of the test split (as ``eval/real_sentences.py --split test``: cue macro-F1 over the ten
  cues, sentence tone macro-F1, target tone macro-F1 over the classes the labels use);
- ``real_articles_test_cues`` / ``_tone``: the labelled real articles of the test split
  (as ``eval/real_articles.py --split test``); both read ../shared/data/real.

Per row: both macro-F1s with 95% bootstrap intervals, the paired difference
Δ = onnx − torch with its 95% interval (``--n-boot`` resamples of the rows, the same for
both backends), and whether the row passes the rule. **The rule:** ``"auto"`` prefers
ONNX only if no row loses more than one point of macro-F1 (Δ ≥ −0.010 on every row, point
estimates); the one line to change is ``AUTO_BACKEND`` in
framing/pipeline/onnx_backend.py. A row whose data is missing is listed as skipped, and
then the table decides nothing.

``--limit N`` keeps the first N items of every row: a quick check that the script runs,
whose figures decide nothing (the table says so); nothing is written then unless
``--out`` is given. ``--rows`` picks rows by prefix (comma-separated: newsmtsc, samples,
real_sentences, real_articles). Writes ``onnx_vs_torch.{json,md}`` to ``--out`` (default
eval/results, without ``--limit``).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

import framing
from framing.core.labels import TONE_LABELS
from framing.core.samples import Samples, load_samples
from framing.stats.metrics import (Estimate, bootstrap_indices, classification_metrics,
                                   multilabel_metrics)

HERE = Path(__file__).resolve().parent
BACKENDS = ("torch", "onnx")  # "onnx" here is the candidate: --candidate onnx|onnx-fp32
#: the ONNX backend measured against torch (``--candidate``)
CANDIDATE = "onnx"


def backend_of(b: str) -> str:
    """The ``Analyzer`` backend behind the key ``b`` of :data:`BACKENDS`."""
    return CANDIDATE if b == "onnx" else b
#: the decision rule: the largest loss of macro-F1 (onnx − torch) a row may show
MAX_LOSS = 0.010


@dataclass
class Row:
    """One suite row: its size, each backend's macro-F1, the paired difference."""

    name: str
    n: int = 0
    f1: dict[str, Estimate] = field(default_factory=dict)
    delta: Estimate | None = None
    p_value: float | None = None
    skipped: str | None = None

    @property
    def passes(self) -> bool | None:
        return None if self.delta is None else self.delta.value >= -MAX_LOSS

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.name, "n": self.n, "skipped": self.skipped,
                "macro_f1": {k: v.to_dict() for k, v in self.f1.items()},
                "delta": self.delta.to_dict() if self.delta else None,
                "p_value": self.p_value, "passes": self.passes}


def paired_delta(point: Callable[[np.ndarray, np.ndarray], float], y: np.ndarray,
                 preds: dict[str, np.ndarray], n_boot: int) -> Estimate:
    """onnx − torch of ``point(y, pred)``, with a percentile interval over ``n_boot``
    resamples of the rows (the same resample for both backends)."""
    value = point(y, preds["onnx"]) - point(y, preds["torch"])
    idx = bootstrap_indices(len(y), n_boot, 1)
    diffs = np.array([point(y[i], preds["onnx"][i]) - point(y[i], preds["torch"][i])
                      for i in idx]) if len(y) else np.zeros(0)
    diffs = diffs[np.isfinite(diffs)]
    if not diffs.size:
        return Estimate(float(value), float("nan"), float("nan"))
    return Estimate(float(value), float(np.quantile(diffs, 0.025)),
                    float(np.quantile(diffs, 0.975)))


def tone_f1(y: np.ndarray, p: np.ndarray) -> float:
    return classification_metrics(y, p, TONE_LABELS, n_boot=0)["macro_f1"].value


def gold_class_f1(y: np.ndarray, p: np.ndarray) -> float:
    """Macro-F1 over the classes present in ``y`` (as eval/real_sentences.py's target tone)."""
    f1 = []
    for c in np.unique(y):
        tp = int(((y == c) & (p == c)).sum())
        denom = int((y == c).sum() + (p == c).sum())
        f1.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(f1)) if f1 else float("nan")


def tone_index(results) -> np.ndarray:
    return np.array([TONE_LABELS.index(x.tone_label) if x.tone_label in TONE_LABELS else 1
                     for x in results])


# -- the rows -----------------------------------------------------------------------------
def evaluated_row(name: str, analyzers: dict, samples: Samples, n_boot: int) -> Row:
    """A row measured by framing.evaluate (its paired test against torch included)."""
    d = framing.evaluate(analyzers, samples, reference="torch", n_boot=n_boot,
                         top_mistakes=0).to_dict()
    res = d["results"]
    f1 = {k: Estimate(**res[k]["macro_f1"]) for k in BACKENDS}
    cmp = d.get("comparisons", {}).get("onnx", {})
    diff = cmp.get("difference")
    delta = Estimate(**diff) if diff else \
        Estimate(f1["onnx"].value - f1["torch"].value, float("nan"), float("nan"))
    return Row(name, len(samples), f1, delta, cmp.get("p_value"))


def newsmtsc_rows(encoder, args) -> list[Row]:
    data = Path(args.shared) / "newsmtsc" / "train.jsonl"
    if not data.is_file():
        return [Row("newsmtsc_dev", skipped=f"{data} not found")]
    from newsmtsc_dev import dev_groups_for

    from framing.training.tone import newsmtsc_examples

    groups = dev_groups_for("default")
    dev = [e for e in newsmtsc_examples(data, sentence_level=False) if e.group in groups]
    dev = dev[:args.limit] if args.limit else dev
    samples = Samples("tone", [e.text for e in dev], [TONE_LABELS[e.label] for e in dev],
                      list(TONE_LABELS), list(range(len(dev))), [e.span for e in dev],
                      source="NewsMTSC dev split of the shipped tone model")
    analyzers = {b: framing.Analyzer(cues=False, frames=None, encoder=encoder,
                                     backend=backend_of(b))
                 for b in BACKENDS}
    return [evaluated_row("newsmtsc_dev", analyzers, samples, args.n_boot)]


def samples_rows(analyzers: dict, args) -> list[Row]:
    rows = []
    for task in ("tone", "cues"):
        samples = load_samples(HERE / "samples" / f"{task}.jsonl", task)
        if args.limit:
            samples = samples.subset(range(min(args.limit, len(samples))))
        rows.append(evaluated_row(f"samples_{task}", analyzers, samples, args.n_boot))
    return rows


def _real(args) -> tuple[Any, Any] | str:
    """The real-text helpers of eval/real_sentences.py, or why they cannot run."""
    if not Path(args.shared, "real").is_dir():
        return f"{Path(args.shared, 'real')} not found"
    import real_sentences

    from framing.core.pointers import TextPointer, resolve_pointers

    return real_sentences, lambda rows: resolve_pointers(
        [TextPointer.from_dict(r) for r in rows], str(Path(args.shared, "real")))


def _model_args(real_sentences) -> argparse.Namespace:
    ap = argparse.ArgumentParser()
    real_sentences.add_model_options(ap)
    return real_sentences.parse_model_options(ap, [])


def real_sentence_rows(encoder, args) -> list[Row]:
    names = ["real_sentences_test_cues", "real_sentences_test_tone",
             "real_sentences_test_target_tone"]
    found = _real(args)
    if isinstance(found, str):
        return [Row(n, skipped=found) for n in names]
    rs, texts_of = found
    rows = rs.labelled_rows("test")[:args.limit or None]
    if not rows:
        return [Row(n, skipped="no labelled rows in the test split") for n in names]
    texts = texts_of(rows)
    margs = _model_args(rs)
    out: dict[str, dict] = {n: {} for n in names}
    Y = y = yt = None
    t_rows = [(i, t) for i, r in enumerate(rows) for t in r["final"]["targets"]]
    for b in BACKENDS:
        an = rs.analyzer_from(margs, furniture=False, encoder=encoder, backend=backend_of(b))
        res, Y, P, cue, _, tone = rs.score_against_labels(an, rows, texts, args.n_boot)
        y = np.array([TONE_LABELS.index(r["final"]["tone"]) for r in rows])
        out[names[0]][b], out[names[1]][b] = (P, cue["macro_f1"]), (tone_index(res),
                                                                    tone["macro_f1"])
        if t_rows:
            t_res = an.score_many([texts[i] for i, _ in t_rows], batch_size=128, targets=[
                (t["start"] - rows[i]["start"], t["end"] - rows[i]["start"]) for i, t in t_rows])
            yt = np.array([TONE_LABELS.index(t["tone"]) for _, t in t_rows])
            pt = tone_index(t_res)
            out[names[2]][b] = (pt, rs.macro_f1_over_gold_classes(yt, pt, args.n_boot))
    cues = rs.CUES
    result = [
        Row(names[0], len(rows), {b: out[names[0]][b][1] for b in BACKENDS},
            paired_delta(lambda a, p: multilabel_metrics(a, p, cues, n_boot=0)["macro_f1"].value,
                         Y, {b: out[names[0]][b][0] for b in BACKENDS}, args.n_boot)),
        Row(names[1], len(rows), {b: out[names[1]][b][1] for b in BACKENDS},
            paired_delta(tone_f1, y, {b: out[names[1]][b][0] for b in BACKENDS}, args.n_boot)),
    ]
    if t_rows:
        result.append(Row(names[2], len(t_rows), {b: out[names[2]][b][1] for b in BACKENDS},
                          paired_delta(gold_class_f1, yt,
                                       {b: out[names[2]][b][0] for b in BACKENDS}, args.n_boot)))
    else:
        result.append(Row(names[2], skipped="no labelled targets in the test split"))
    return result


def real_article_rows(encoder, args) -> list[Row]:
    names = ["real_articles_test_cues", "real_articles_test_tone"]
    found = _real(args)
    if isinstance(found, str):
        return [Row(n, skipped=found) for n in names]
    rs, texts_of = found
    from splits import split_of  # eval/labelling, put on the path by real_sentences

    path = HERE / "labelling" / "labels" / "articles.jsonl"
    rows = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    rows = [r for r in rows if split_of(r["file"], r["doc"]) == "test"][:args.limit or None]
    if not rows:
        return [Row(n, skipped="no labelled articles in the test split") for n in names]
    texts = texts_of(rows)
    margs = _model_args(rs)
    preds: dict[str, dict] = {n: {} for n in names}
    f1: dict[str, dict] = {n: {} for n in names}
    Y = y = None
    for b in BACKENDS:
        an = rs.analyzer_from(margs, encoder=encoder, backend=backend_of(b))
        res, Y, P, cue, _, tone = rs.score_against_labels(an, rows, texts, args.n_boot)
        y = np.array([TONE_LABELS.index(r["final"]["tone"]) for r in rows])
        preds[names[0]][b], f1[names[0]][b] = P, cue["macro_f1"]
        preds[names[1]][b], f1[names[1]][b] = tone_index(res), tone["macro_f1"]
    cues = rs.CUES
    return [
        Row(names[0], len(rows), f1[names[0]], paired_delta(
            lambda a, p: multilabel_metrics(a, p, cues, n_boot=0)["macro_f1"].value, Y,
            preds[names[0]], args.n_boot)),
        Row(names[1], len(rows), f1[names[1]], paired_delta(tone_f1, y, preds[names[1]],
                                                            args.n_boot)),
    ]


# -- the table ------------------------------------------------------------------------------
def decision(rows: list[Row], limit: int | None) -> str:
    """The rule applied to ``rows``, in words."""
    if limit:
        return (f"Decision: none (a --limit {limit} slice checks that the script runs; only "
                "a full run decides).")
    skipped = [r.name for r in rows if r.skipped]
    if skipped:
        return f"Decision: none (rows skipped: {', '.join(skipped)})."
    failing = [f"{r.name} ({r.delta.value:+.3f})" for r in rows if not r.passes]
    if failing:
        return ("Decision: keep torch as what backend=\"auto\" prefers: these rows lose more "
                f"than one point of macro-F1 with {CANDIDATE}: {', '.join(failing)}. Set "
                "AUTO_BACKEND = \"torch\" in framing/pipeline/onnx_backend.py.")
    return (f"Decision: backend=\"auto\" may prefer {CANDIDATE} "
            f"(AUTO_BACKEND = \"{CANDIDATE}\"): no row "
            f"loses more than one point of macro-F1 (worst Δ {min(r.delta.value for r in rows):+.3f}).")


def markdown(rows: list[Row], args, graph: str | None) -> str:
    scope = f"the first {args.limit} items of every row" if args.limit else "every row in full"
    lines = [f"### {CANDIDATE}_vs_torch", "",
             "Every evaluation suite row with `backend=\"torch\"` (float32) and "
             f"`backend=\"{CANDIDATE}\"` (encoder layers up to the tone branch + the branch "
             "as one ONNX Runtime graph, "
             + ("int8 dynamic quantisation" if CANDIDATE == "onnx" else "float32 weights")
             + (f", `{graph}`" if graph else "") + f"), shipped settings, {scope}; "
             f"95% intervals from {args.n_boot} bootstrap resamples (Δ paired). Rule: "
             "`auto` prefers ONNX only if no row loses more than one point of macro-F1 "
             f"(Δ ≥ −{MAX_LOSS:.3f}).", "",
             f"| row | n | torch macro-F1 [95% CI] | {CANDIDATE} macro-F1 [95% CI] | "
             f"Δ ({CANDIDATE} − torch) [95% CI] | within rule |", "|---|---|---|---|---|---|"]
    for r in rows:
        if r.skipped:
            lines.append(f"| {r.name} | - | - | - | - | skipped: {r.skipped} |")
            continue
        p = f" (p={r.p_value:.3f})" if r.p_value is not None else ""
        lines.append(f"| {r.name} | {r.n} | {r.f1['torch']:.3f} | {r.f1['onnx']:.3f} | "
                     f"{r.delta:+.3f}{p} | {'yes' if r.passes else 'no'} |")
    lines += ["", decision(rows, args.limit)]
    return "\n".join(lines) + "\n"


ROWS = {"newsmtsc": "newsmtsc_rows", "samples": "samples_rows",
        "real_sentences": "real_sentence_rows", "real_articles": "real_article_rows"}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--limit", type=int, default=None,
                    help="first N items of every row (a smoke test; decides nothing)")
    ap.add_argument("--rows", default=",".join(ROWS),
                    help=f"rows to measure, comma-separated from {', '.join(ROWS)}")
    ap.add_argument("--shared", default=str(HERE.parent.parent / "shared" / "data"),
                    help="the shared data directory (newsmtsc/, real/)")
    ap.add_argument("--out", default=None,
                    help="where to write onnx_vs_torch.{json,md} (default: eval/results; with "
                         "--limit nothing is written unless this is given)")
    ap.add_argument("--candidate", default="onnx", choices=["onnx", "onnx-fp32"],
                    help="the ONNX backend measured against torch (default: onnx, int8); "
                         "writes <candidate>_vs_torch.{json,md}")
    args = ap.parse_args(argv)
    global CANDIDATE
    CANDIDATE = args.candidate
    picked = [r.strip() for r in args.rows.split(",") if r.strip()]
    if not picked or any(r not in ROWS for r in picked):
        ap.error(f"--rows takes some of {', '.join(ROWS)}")
    encoder = framing.Encoder()  # one encoder pass implementation shared by both backends
    full = {b: framing.Analyzer(encoder=encoder, backend=backend_of(b)) for b in BACKENDS}
    graph = full["onnx"].onnx_graph.name if full["onnx"].onnx_graph is not None else None
    rows: list[Row] = []
    for name in picked:
        if name == "samples":
            rows += samples_rows(full, args)
        else:
            rows += globals()[ROWS[name]](encoder, args)
    md = markdown(rows, args, graph)
    print(md)
    out = args.out or (None if args.limit else str(HERE / "results"))
    if out:
        dest = Path(out)
        dest.mkdir(parents=True, exist_ok=True)
        command = " ".join(["python eval/onnx_vs_torch.py"] +
                           (argv if argv is not None else sys.argv[1:]))
        stem = f"{CANDIDATE}_vs_torch"
        (dest / f"{stem}.json").write_text(json.dumps(
            {"command": command, "graph": graph, "limit": args.limit, "n_boot": args.n_boot,
             "max_loss": MAX_LOSS, "rows": [r.to_dict() for r in rows],
             "decision": decision(rows, args.limit)}, indent=2, default=str) + "\n")
        (dest / f"{stem}.md").write_text(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
