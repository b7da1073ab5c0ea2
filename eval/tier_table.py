"""Model tiers side by side: each measure with its 95% interval per tier, and each tier's
difference from a reference tier with a paired-bootstrap interval and p-value.

    python eval/tier_table.py [--tier NAME=DIR ...]
                              [--newsmtsc NAME=FILE ...] [--real-sentences NAME=FILE ...]
                              [--real-articles NAME=FILE ...]
                              [--reference NAME] [--n-boot 1000] [--labels DIR]
                              [--out eval/results/tiers.md]

Reads the per-row prediction files the evaluation scripts write (ids and labels, no text):

``--newsmtsc NAME=FILE``        ``eval/newsmtsc_dev.py --predictions`` (NewsMTSC dev rows:
                                ``id``, ``gold``, ``pred``)
``--real-sentences NAME=FILE``  ``eval/real_sentences.py --predictions`` (``uid``, ``cues``,
                                ``tone``, ``target_tones``; the gold labels are looked up by
                                uid in ``--labels``, eval/labelling/labels, unless a row
                                carries ``gold_cues`` / ``gold_tone`` / ``gold_target_tones``)
``--real-articles NAME=FILE``   ``eval/real_articles.py --predictions`` (``aid``, ``gold_cues``,
                                ``gold_tone``, ``cues``, ``tone``)
``--tier NAME=DIR``             all three from DIR, under the names ``newsmtsc_dev.jsonl``,
                                ``real_sentences_test.jsonl`` and ``real_articles_test.jsonl``
                                (those present; a file named directly wins)

Each option repeats, once per tier. Tiers appear in the order first named; the reference is
``default`` when there is one, else the first tier. A dataset a tier has no file for leaves
its cells empty, with a note.

Measures, as the evaluation scripts define them: NewsMTSC dev tone macro-F1; on the real
test sentences cue macro-F1 over the ten v2 cues, sentence-tone macro-F1 and target-tone
macro-F1 over the classes the gold target labels use (eval/real_sentences.py's
``macro_f1_over_gold_classes``: critical and promotional on the test split); on the real
test articles cue macro-F1 and tone macro-F1.

Statistics: every interval is a 95% percentile interval over ``--n-boot`` bootstrap
resamples of the rows (seed 0, fixed, as in the evaluation scripts; a tier's own cell uses
all its rows and matches the figure its script reports). A comparison uses only the rows
both tiers have, matched by id, and resamples those rows once for both tiers (a paired
bootstrap, framing.stats.metrics.paired_bootstrap). Its p-value is two-sided: twice the
share of resampled differences on the far side of zero from the observed difference, ties
at zero included, capped at 1. So identical predictions give difference 0 and p = 1, and
p = 0 (printed "< 1/n-boot") means no resample crossed zero. The table says how many rows
each comparison used and how many were left out on either side.

Writes the Markdown table to ``--out`` and the same figures as JSON beside it (``.json``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from framing.core.labels import TONE_LABELS
from framing.stats.metrics import (Estimate, bootstrap_indices, classification_metrics,
                                   confusion, macro_f1_from_confusion, multilabel_macro_f1_resampler,
                                   multilabel_metrics, paired_bootstrap)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "labelling"))
from merge_passes import CUES  # noqa: E402  (the ten cue ids of catalogue v2, in spec order)
from real_sentences import macro_f1_over_gold_classes  # noqa: E402

#: The bootstrap seed of every figure here (the evaluation scripts' own).
SEED = 0

#: Dataset key -> (title, file name under a ``--tier`` directory, id field of its rows).
DATASETS = {
    "newsmtsc": ("NewsMTSC dev", "newsmtsc_dev.jsonl", "id"),
    "real_sentences": ("Real test sentences", "real_sentences_test.jsonl", "uid"),
    "real_articles": ("Real test articles", "real_articles_test.jsonl", "aid"),
}


@dataclass(frozen=True)
class Measure:
    """One row of the table: a figure on one dataset. ``kind`` is ``tone`` (macro-F1 over
    the tone classes), ``gold_classes`` (macro-F1 over the classes the gold labels use) or
    ``cues`` (multi-label macro-F1 over the ten cues)."""

    dataset: str
    key: str
    label: str
    kind: str


MEASURES = [
    Measure("newsmtsc", "tone", "tone toward the target, macro-F1", "tone"),
    Measure("real_sentences", "cues", "cue macro-F1 (10 cues)", "cues"),
    Measure("real_sentences", "tone", "sentence tone macro-F1", "tone"),
    Measure("real_sentences", "targets", "target tone macro-F1 over the gold classes", "gold_classes"),
    Measure("real_articles", "cues", "article cue macro-F1 (10 cues)", "cues"),
    Measure("real_articles", "tone", "article tone macro-F1", "tone"),
]

#: one row's gold and predicted value: tone class indices, or cue presence vectors
Pair = tuple[Any, Any]


# -- reading prediction files --------------------------------------------------------
def tone_index(label: Any) -> int:
    """Class index of a tone label; anything else (no tone) counts as neutral, as
    eval/real_sentences.py counts it."""
    return TONE_LABELS.index(label) if label in TONE_LABELS else 1


def cue_vector(cues: Any) -> tuple[bool, ...]:
    """Presence of each of the ten cues (others ignored)."""
    have = set(cues or ())
    return tuple(c in have for c in CUES)


def read_jsonl(path: str | Path) -> list[dict]:
    """The JSON objects of a JSON-lines file (blank lines skipped)."""
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _final_by_id(path: Path, key: str) -> dict[str, dict]:
    rows = read_jsonl(path)
    return {r[key]: r["final"] for r in rows if r.get("final")}


class GoldLabels:
    """The final labels of the real sentences (``batch*.jsonl``, by uid) and articles
    (``articles.jsonl``, by aid) in a labels directory, read when first needed."""

    def __init__(self, directory: str | Path) -> None:
        self.dir = Path(directory)
        self._sentences: dict[str, dict] | None = None
        self._articles: dict[str, dict] | None = None

    def sentence(self, uid: str) -> dict | None:
        if self._sentences is None:
            self._sentences = {}
            for path in sorted(self.dir.glob("batch*.jsonl")):
                self._sentences.update(_final_by_id(path, "uid"))
        return self._sentences.get(uid)

    def article(self, aid: str) -> dict | None:
        if self._articles is None:
            path = self.dir / "articles.jsonl"
            self._articles = _final_by_id(path, "aid") if path.is_file() else {}
        return self._articles.get(aid)


def _gold(row: dict, field: str, final: Callable[[], dict | None], final_field: str,
          where: str) -> Any:
    """The row's own ``field`` when it carries one, else ``final_field`` of its final
    labels; :class:`ValueError` when neither is there."""
    if field in row:
        return row[field]
    labels = final()
    if labels is None:
        raise ValueError(f"{where}: no gold labels in the row and none under its id in the "
                         "labels directory")
    if final_field == "targets":
        return [t["tone"] for t in labels["targets"]]
    return labels[final_field]


def load_predictions(dataset: str, path: str | Path, gold: GoldLabels
                     ) -> dict[str, dict[str, Pair]]:
    """Read one tier's prediction file for ``dataset``. Returns ``{measure key: {row id:
    (gold, predicted)}}``: tone class indices, or cue presence vectors; the targets of a
    sentence are rows ``<uid>#<n>``, in the order of its labelled targets (a sentence with
    fewer predicted than labelled target tones contributes only those predicted).
    :class:`ValueError` on a repeated id or a row without gold labels."""
    id_field = DATASETS[dataset][2]
    out: dict[str, dict[str, Pair]] = {m.key: {} for m in MEASURES if m.dataset == dataset}
    for n, row in enumerate(read_jsonl(path), 1):
        where = f"{path}, line {n}"
        if id_field not in row:
            raise ValueError(f"{where}: no {id_field!r} field")
        rid = str(row[id_field])
        if any(rid in rows for rows in out.values()):
            raise ValueError(f"{where}: id {rid!r} appears twice")
        if dataset == "newsmtsc":
            out["tone"][rid] = (tone_index(row["gold"]), tone_index(row["pred"]))
            continue
        if dataset == "real_sentences":
            final = lambda: gold.sentence(rid)  # noqa: E731
        else:
            final = lambda: gold.article(rid)  # noqa: E731
        out["cues"][rid] = (cue_vector(_gold(row, "gold_cues", final, "cues", where)),
                            cue_vector(row.get("cues")))
        out["tone"][rid] = (tone_index(_gold(row, "gold_tone", final, "tone", where)),
                            tone_index(row.get("tone")))
        if dataset == "real_sentences":
            gold_t = _gold(row, "gold_target_tones", final, "targets", where)
            for j, (g, p) in enumerate(zip(gold_t, row.get("target_tones") or [])):
                out["targets"][f"{rid}#{j}"] = (tone_index(g), tone_index(p))
    return out


# -- figures -------------------------------------------------------------------------
def _arrays(pairs: list[Pair], kind: str) -> tuple[np.ndarray, np.ndarray]:
    if kind == "cues":
        k = len(CUES)
        y = np.array([g for g, _ in pairs], dtype=bool).reshape(-1, k)
        p = np.array([q for _, q in pairs], dtype=bool).reshape(-1, k)
    else:
        y = np.array([g for g, _ in pairs], dtype=int)
        p = np.array([q for _, q in pairs], dtype=int)
    return y, p


def resampler(kind: str, y: np.ndarray, p: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A function of bootstrap row indices ``(B, n)`` giving the measure on each resample,
    as :func:`paired_bootstrap` wants it. ``gold_classes`` averages over the classes in the
    whole of ``y`` (fixed, as :func:`macro_f1_over_gold_classes` does), the other kinds as
    :func:`classification_metrics` and :func:`multilabel_metrics` do."""
    if kind == "cues":
        return multilabel_macro_f1_resampler(y, p)
    k = len(TONE_LABELS)
    if kind == "tone":
        return lambda rows: macro_f1_from_confusion(confusion(y, p, k, rows))
    classes = np.unique(y)

    def gold_macro(rows: np.ndarray) -> np.ndarray:
        cm = confusion(y, p, k, rows)
        tp = np.diagonal(cm, axis1=-2, axis2=-1)
        denom = cm.sum(axis=-1) + cm.sum(axis=-2)
        f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
        return f1[..., classes].mean(axis=-1)
    return gold_macro


def estimate(kind: str, pairs: list[Pair], n_boot: int) -> Estimate:
    """The measure on ``pairs`` with its 95% bootstrap interval, computed as the evaluation
    script reporting it does (so the figure is the same)."""
    y, p = _arrays(pairs, kind)
    if kind == "cues":
        return multilabel_metrics(y, p, CUES, n_boot=n_boot, seed=SEED)["macro_f1"]
    if kind == "tone":
        return classification_metrics(y, p, TONE_LABELS, n_boot=n_boot, seed=SEED)["macro_f1"]
    return macro_f1_over_gold_classes(y, p, n_boot)  # seed 0 inside, as SEED


def compare(kind: str, rows_a: dict[str, Pair], rows_ref: dict[str, Pair], n_boot: int
            ) -> dict[str, Any]:
    """Paired bootstrap of tier A's measure minus the reference's over the rows both have
    (matched by id, in the reference's order). Returns ``difference`` (Estimate or None),
    ``p_value``, ``n_rows`` (rows used), ``only_in_reference``, ``only_in_tier`` and
    ``note`` (why there is no difference, else None). :class:`ValueError` when a matched
    row's gold labels differ between the two files."""
    common = [i for i in rows_ref if i in rows_a]
    out: dict[str, Any] = {"n_rows": len(common),
                           "only_in_reference": len(rows_ref) - len(common),
                           "only_in_tier": len(rows_a) - len(common),
                           "difference": None, "p_value": None, "note": None}
    if not common:
        out["note"] = "no rows in common"
        return out
    differ = [i for i in common if rows_a[i][0] != rows_ref[i][0]]
    if differ:
        raise ValueError(f"{len(differ)} matched rows carry different gold labels in the two "
                         f"files (first: {differ[0]!r}); were they measured on other labels?")
    y, pa = _arrays([rows_a[i] for i in common], kind)
    _, pr = _arrays([rows_ref[i] for i in common], kind)
    fa, fr = resampler(kind, y, pa), resampler(kind, y, pr)
    whole = np.arange(len(common))[None, :]
    idx = bootstrap_indices(len(common), n_boot, SEED)
    test = paired_bootstrap(fa, idx, float(fa(whole)[0]), float(fr(whole)[0]), fr)
    out["difference"], out["p_value"] = test["difference"], test["p_value"]
    return out


def build_table(files: dict[str, dict[str, str | Path]], reference: str, *, n_boot: int = 1000,
                labels: str | Path = HERE / "labelling" / "labels") -> dict[str, Any]:
    """Every measure for every tier, and each other tier against ``reference``.

    ``files`` maps tier -> dataset key (see :data:`DATASETS`) -> prediction file; tiers in
    the order given. Datasets no tier has are left out; a tier without a dataset another
    has gets empty cells (None) and a note. Returns a plain dict (the JSON written)."""
    tiers = list(files)
    if reference not in files:
        raise ValueError(f"reference tier {reference!r} is not among the tiers {tiers}")
    unknown = {d for per in files.values() for d in per} - set(DATASETS)
    if unknown:
        raise ValueError(f"unknown datasets {sorted(unknown)}; choose from {list(DATASETS)}")
    gold = GoldLabels(labels)
    loaded = {t: {d: load_predictions(d, path, gold) for d, path in per.items()}
              for t, per in files.items()}
    present = [d for d in DATASETS if any(d in per for per in files.values())]
    notes = [f"{t}: no {DATASETS[d][0]} predictions given; its cells there are empty"
             for d in present for t in tiers if d not in files[t]]
    rows = []
    for m in MEASURES:
        if m.dataset not in present:
            continue
        row: dict[str, Any] = {"dataset": m.dataset, "measure": m.key,
                               "label": f"{DATASETS[m.dataset][0]}: {m.label}",
                               "tiers": {}, "comparisons": {}}
        for t in tiers:
            rows_t = loaded[t].get(m.dataset, {}).get(m.key)
            if not rows_t:
                row["tiers"][t] = None
                if rows_t is not None:
                    notes.append(f"{t}: no rows for {row['label']}")
                continue
            est = estimate(m.kind, list(rows_t.values()), n_boot)
            row["tiers"][t] = {**est.to_dict(), "n": len(rows_t)}
        if m.kind == "gold_classes":
            used = {g for t in tiers for g, _ in loaded[t].get(m.dataset, {}).get(m.key, {})
                    .values()}
            row["gold_classes"] = [TONE_LABELS[c] for c in sorted(used)]
        ref_rows = loaded[reference].get(m.dataset, {}).get(m.key)
        for t in tiers:
            if t == reference:
                continue
            rows_t = loaded[t].get(m.dataset, {}).get(m.key)
            if rows_t is None or ref_rows is None:
                row["comparisons"][t] = {"difference": None, "p_value": None, "n_rows": 0,
                                         "only_in_reference": 0, "only_in_tier": 0,
                                         "note": "no predictions for "
                                                 f"{t if rows_t is None else reference}"}
                continue
            row["comparisons"][t] = compare(m.kind, rows_t, ref_rows, n_boot)
        rows.append(row)
    return {"reference": reference, "tiers": tiers, "n_boot": n_boot, "seed": SEED,
            "p_value": "two-sided paired bootstrap: twice the share of resampled differences "
                       "on the far side of zero (ties included), capped at 1",
            "files": {t: {d: str(p) for d, p in per.items()} for t, per in files.items()},
            "missing": [d for d in DATASETS if d not in present],
            "rows": rows, "notes": notes}


# -- writing -------------------------------------------------------------------------
def _json_ready(obj: Any) -> Any:
    if isinstance(obj, Estimate):
        return _json_ready(obj.to_dict())
    if isinstance(obj, dict):
        return {k: _json_ready(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_json_ready(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def format_p(p: float | None, n_boot: int) -> str:
    """A p-value for the table: three decimals, "< 1/n_boot" when no resample crossed
    zero, "" when there is none."""
    if p is None or not math.isfinite(p):
        return ""
    return f"< {1 / n_boot:g}" if p < 1 / n_boot else f"{p:.3f}"


def _cell(t: dict | None) -> str:
    return "—" if t is None else f"{Estimate(t['value'], t['low'], t['high'])}"


def _diff(c: dict) -> str:
    d = c["difference"]
    return "—" if d is None else f"{d:+.3f}"


def _rows_used(c: dict) -> str:
    if c["difference"] is None:
        return c["note"] or ""
    extra = [f"{c['only_in_reference']} only in reference"] if c["only_in_reference"] else []
    extra += [f"{c['only_in_tier']} only in this tier"] if c["only_in_tier"] else []
    return f"{c['n_rows']:,}" + (f" ({'; '.join(extra)})" if extra else "")


def to_markdown(table: dict[str, Any], command: str) -> str:
    """The table as Markdown: one row per measure, a column per tier, and for each other
    tier its difference from the reference, the p-value and the rows compared."""
    ref, tiers, n_boot = table["reference"], table["tiers"], table["n_boot"]
    others = [t for t in tiers if t != ref]
    head = ["measure", *(f"{t} (reference)" if t == ref else t for t in tiers)]
    for t in others:
        head += [f"{t} − {ref}", f"p ({t})", f"rows compared ({t})"]
    lines = ["# Model tiers side by side", "",
             f"Written by `{command}`. Each cell: the measure on that tier's rows with its 95% "
             f"bootstrap interval ({n_boot:,} resamples, seed {table['seed']}). Differences "
             f"are tier minus {ref} on the rows both files have (matched by id), with a 95% "
             "paired-bootstrap interval (the same resampled rows for both tiers) and its "
             "two-sided p-value (twice the share of resampled differences on the far side of "
             "zero, ties included; identical predictions give p = 1).", "",
             "| " + " | ".join(head) + " |",
             "|---|" + "---:|" * (len(head) - 1)]
    for row in table["rows"]:
        label = row["label"]
        if row.get("gold_classes"):
            label += f" ({', '.join(row['gold_classes'])})"
        cells = [label, *(_cell(row["tiers"][t]) for t in tiers)]
        for t in others:
            c = row["comparisons"][t]
            cells += [_diff(c), format_p(c["p_value"], n_boot), _rows_used(c)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Rows per tier:", ""]
    for row in table["rows"]:
        counts = ", ".join(f"{t} {row['tiers'][t]['n']:,}" if row["tiers"][t] else f"{t} none"
                           for t in tiers)
        lines.append(f"- {row['label']}: {counts}")
    notes = list(table["notes"])
    if table["missing"]:
        notes.append("no tier has predictions for "
                     + ", ".join(DATASETS[d][0] for d in table["missing"])
                     + "; those measures are left out")
    if notes:
        lines += ["", "Notes:", "", *(f"- {n}" for n in notes)]
    lines += ["", "Prediction files:", ""]
    lines += [f"- {t}: " + ", ".join(f"{DATASETS[d][0]} `{p}`" for d, p in per.items())
              for t, per in table["files"].items()]
    return "\n".join(lines) + "\n"


# -- command line --------------------------------------------------------------------
def _name_value(text: str, option: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise SystemExit(f"{option} wants NAME=PATH, not {text!r}")
    return name, value


def gather_files(args: argparse.Namespace) -> dict[str, dict[str, str]]:
    """tier -> dataset -> file from ``--tier`` directories and the per-dataset options (a
    file named directly wins over one found in a directory), tiers in the order first
    named."""
    files: dict[str, dict[str, str]] = {}
    for text in args.tier or []:
        name, directory = _name_value(text, "--tier")
        if not Path(directory).is_dir():
            raise SystemExit(f"--tier {name}: {directory} is not a directory")
        found = {d: str(Path(directory) / fname) for d, (_, fname, _) in DATASETS.items()
                 if (Path(directory) / fname).is_file()}
        if not found:
            raise SystemExit(f"--tier {name}: none of "
                             f"{', '.join(f for _, f, _ in DATASETS.values())} in {directory}")
        files.setdefault(name, {}).update(found)
    for dataset, option in (("newsmtsc", "--newsmtsc"), ("real_sentences", "--real-sentences"),
                            ("real_articles", "--real-articles")):
        for text in getattr(args, dataset) or []:
            name, path = _name_value(text, option)
            if not Path(path).is_file():
                raise SystemExit(f"{option} {name}: no file {path}")
            files.setdefault(name, {})[dataset] = path
    return files


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog="See the module docstring for the file formats and "
                                        "the p-value convention.")
    ap.add_argument("--tier", action="append", metavar="NAME=DIR",
                    help="a tier's prediction files, by their usual names in DIR")
    ap.add_argument("--newsmtsc", action="append", metavar="NAME=FILE",
                    help="a tier's eval/newsmtsc_dev.py --predictions file")
    ap.add_argument("--real-sentences", dest="real_sentences", action="append",
                    metavar="NAME=FILE", help="a tier's eval/real_sentences.py --predictions file")
    ap.add_argument("--real-articles", dest="real_articles", action="append",
                    metavar="NAME=FILE", help="a tier's eval/real_articles.py --predictions file")
    ap.add_argument("--reference", help="the tier the others are compared with (default: "
                                        "'default' if given, else the first tier)")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--labels", default=str(HERE / "labelling" / "labels"),
                    help="labels directory for the real sentences' gold labels")
    ap.add_argument("--out", default=str(HERE / "results" / "tiers.md"))
    args = ap.parse_args(argv)
    files = gather_files(args)
    if not files:
        ap.error("name at least one tier's predictions (--tier or a per-dataset option)")
    reference = args.reference or ("default" if "default" in files else next(iter(files)))
    try:
        table = build_table(files, reference, n_boot=args.n_boot, labels=args.labels)
    except ValueError as exc:
        print(f"tier_table: {exc}", file=sys.stderr)
        return 2
    command = " ".join(["python eval/tier_table.py"]
                       + (argv if argv is not None else sys.argv[1:]))
    text = to_markdown(table, command)
    print(text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps(_json_ready(table), indent=2) + "\n",
                                        encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
