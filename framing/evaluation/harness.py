"""The evaluation harness: labelled samples in, metrics with confidence intervals out.

``evaluate(scorers, data, task=...)`` runs one or more scorers over the same labelled
samples and returns an :class:`EvalReport`: accuracy / macro-F1 / per-class figures with
bootstrap 95% intervals, probability metrics (ROC-AUC, PR-AUC, Brier, ECE, reliability)
where a scorer gives probabilities, throughput, the most confident mistakes, and a
paired bootstrap test of each scorer against a reference scorer.

Tasks
-----
``tone``   one label per sample: critical / neutral / promotional (or a binary subset);
           optional target mention (``target`` column, with offsets if you have them).
``cues``   multi-label: the catalogue's cue ids present in a sentence or an article.
``frames`` multi-label: frame ids present in an article (any scorer that returns
           ``{frame_id: probability}`` per text).

No leakage: thresholds and calibration are fitted only on a dev split (``tune="dev"``
splits the samples with a fixed seed; or pass ``dev=`` samples) and then applied to the
evaluation rows, which never inform the fit.

Small samples: a report on fewer than :data:`MIN_RELIABLE_ROWS` rows, or with a label
held by fewer than :data:`MIN_ROWS_PER_LABEL` of them, carries a warning
(``EvalReport.warnings``, and in its JSON and Markdown): on so few rows a bootstrap
interval can collapse to a point, and it and the paired tests say little.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from framing._version import __version__
from framing.core.labels import TONE_LABELS
from framing.core.samples import Samples, load_samples, split_samples
from framing.heads.calibration import PlattCalibrator, fit_thresholds
from framing.stats.metrics import (
    Estimate,
    bootstrap_indices,
    classification_metrics,
    confusion,
    multilabel_metrics,
    probability_metrics,
    paired_bootstrap,
    macro_f1_from_confusion,
    multilabel_macro_f1_resampler,
)

__all__ = [
    "MIN_RELIABLE_ROWS",
    "MIN_ROWS_PER_LABEL",
    "Samples",
    "load_samples",
    "split_samples",
    "Predictions",
    "ScorerAdapter",
    "EvalReport",
    "evaluate",
    "fit_band",
    "tone_predictions",
]

#: Fewest evaluation rows for which a report's intervals and tests are taken at face value;
#: a report on fewer carries a warning.
MIN_RELIABLE_ROWS = 30

#: Fewest rows per label (of a tone class; carrying a cue or frame) before a report warns
#: that the per-label figures and the macro-F1 interval rest on too few examples.
MIN_ROWS_PER_LABEL = 5


# -- scorers -----------------------------------------------------------------------
@dataclass
class Predictions:
    """What a scorer said about samples.

    Tone: ``values`` (tone in [-1, 1]) and, if the scorer gives them, ``probs`` (n, 3)
    over critical / neutral / promotional. Multi-label: ``probs`` (n, k) in label order.
    """

    values: np.ndarray | None
    probs: np.ndarray | None
    seconds: float
    band: float = 0.0
    thresholds: np.ndarray | None = None
    argmax: bool = False


class ScorerAdapter:
    """Wrap an :class:`~framing.Analyzer` (or a callable) as a harness scorer.

    ``predict(samples)`` returns :class:`Predictions`. A callable for multi-label tasks
    takes a list of texts and returns, per text, a ``{label: probability}`` mapping.
    """

    def __init__(self, scorer: Any, name: str | None = None) -> None:
        self.scorer = scorer
        self.name = name or self._default_name()

    def _default_name(self) -> str:
        s = self.scorer
        tone = getattr(s, "tone_name", None)
        cues = getattr(getattr(s, "cue_detector", None), "name", None)
        return tone or cues or getattr(s, "__name__", type(s).__name__)

    def config(self) -> dict[str, Any]:
        cfg = getattr(self.scorer, "config", None)
        return cfg() if callable(cfg) else {"scorer": self.name}

    def predict(self, samples: Samples, *, warm_up: bool = True) -> Predictions:
        texts = samples.texts
        if warm_up and hasattr(self.scorer, "score_many") and texts:
            self.scorer.score_many(texts[:8])  # first-call costs are not throughput
        t0 = time.perf_counter()
        if not hasattr(self.scorer, "score_many"):  # a plain callable
            out = self.scorer(texts)
            seconds = time.perf_counter() - t0
            if samples.task == "tone":
                values = np.asarray(out, dtype=float)
                return Predictions(values, None, seconds)
            probs = np.array([[float(d.get(lab, 0.0)) for lab in samples.label_set] for d in out])
            return Predictions(None, probs, seconds, thresholds=np.full(len(samples.label_set), 0.5))
        targets = samples.targets or None
        results = self.scorer.score_many(texts, targets=targets)
        seconds = time.perf_counter() - t0
        if samples.task == "tone":
            if getattr(self.scorer, "tone_scorer", None) is None:
                raise ValueError(f"Scorer {self.name!r} has no tone scorer")
            values = np.array([np.nan if r.tone is None else r.tone for r in results])
            probs = None
            if any(r.tone_probabilities for r in results):
                # a text without a scored sentence (failed, or page furniture only) has no
                # probabilities: it counts as neutral, as its missing tone value does
                neutral = {k: float(k == "neutral") for k in TONE_LABELS}
                probs = np.array([[(r.tone_probabilities or neutral)[k] for k in TONE_LABELS]
                                  for r in results])
            argmax = bool(getattr(self.scorer.tone_scorer, "label_by_argmax", False)) and \
                probs is not None
            return Predictions(values, probs, seconds, band=self.scorer.tone_scorer.neutral_band,
                               argmax=argmax)
        cat = getattr(self.scorer, "catalogue", None)
        if cat is None:
            raise ValueError(f"Scorer {self.name!r} has no cue detector")
        missing = [lab for lab in samples.label_set if lab not in cat.ids]
        if missing:
            raise ValueError(f"Labels {missing} are not cues of catalogue {cat.name!r}")
        probs = np.array([[r.cues[lab].probability for lab in samples.label_set] for r in results])
        shipped = dict(zip(cat.ids, self.scorer.cue_detector.thresholds))
        thr = np.array([shipped[lab] for lab in samples.label_set])
        return Predictions(None, probs, seconds, thresholds=thr)


# -- fitting on dev (never on the rows being scored) --------------------------------
def tone_predictions(values: np.ndarray, band: float, label_set: Sequence[str]) -> np.ndarray:
    """Class index per tone value: critical below ``-band``, promotional above ``band``,
    neutral between (two classes, split at 0, when ``label_set`` has no neutral)."""
    v = np.nan_to_num(values, nan=0.0)
    if "neutral" not in label_set:  # binary critical / promotional
        lab = np.where(v >= 0, "promotional", "critical")
    else:
        lab = np.where(v > band, "promotional", np.where(v < -band, "critical", "neutral"))
        if len(label_set) < 3:  # e.g. critical vs neutral: the missing side counts as neutral
            lab = np.where(np.isin(lab, list(label_set)), lab, "neutral")
    pos = {x: i for i, x in enumerate(label_set)}
    return np.array([pos[x] for x in lab], dtype=int)


def _argmax_pred(probs: np.ndarray, label_set: Sequence[str]) -> np.ndarray:
    """The likeliest of the labels in ``label_set`` (probs columns in TONE_LABELS order)."""
    cols = [TONE_LABELS.index(lab) for lab in label_set]
    return np.asarray(probs)[:, cols].argmax(axis=1)


def fit_band(values: np.ndarray, y: np.ndarray, label_set: Sequence[str]) -> float:
    """The neutral band in [0, 0.9] that maximises macro-F1 on the given (dev) rows."""
    best, best_f = 0.0, -1.0
    k = len(label_set)
    for band in np.round(np.arange(0.0, 0.91, 0.02), 2):
        f = float(macro_f1_from_confusion(confusion(y, tone_predictions(values, band, label_set), k)))
        if f > best_f + 1e-12:
            best, best_f = float(band), f
    return best


# -- the report --------------------------------------------------------------------
@dataclass
class EvalReport:
    """Results of one :func:`evaluate` run: per-scorer metrics, comparisons, mistakes, and
    ``warnings`` (in words) about what makes the figures unreliable, such as too few rows."""

    task: str
    dataset: str
    n: int
    label_set: list[str]
    results: dict[str, dict[str, Any]]
    comparisons: dict[str, dict[str, Any]]
    reference: str | None
    settings: dict[str, Any]
    configs: dict[str, dict[str, Any]]
    mistakes: dict[str, list[dict[str, Any]]]
    warnings: list[str] = field(default_factory=list)
    _y: Any = field(default=None, repr=False)
    _pred: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def main_metric(self) -> str:
        return "macro_f1"

    def to_dict(self) -> dict[str, Any]:
        def plain(obj):
            if isinstance(obj, Estimate):
                return plain(obj.to_dict())
            if isinstance(obj, dict):
                return {str(k): plain(v) for k, v in obj.items()}
            if isinstance(obj, (list, tuple)):
                return [plain(v) for v in obj]
            if isinstance(obj, (np.floating, np.integer)):
                return obj.item()
            if isinstance(obj, float) and not math.isfinite(obj):
                return None
            return obj

        return plain({
            "framing_version": __version__, "task": self.task, "dataset": self.dataset,
            "n": self.n, "warnings": self.warnings, "labels": self.label_set,
            "reference": self.reference,
            "settings": self.settings, "scorers": self.configs, "results": self.results,
            "comparisons": self.comparisons, "mistakes": self.mistakes,
        })

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False, default=str)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    def to_markdown(self, title: str | None = None, *, mistakes: int = 0) -> str:
        """A Markdown table: one row per scorer, main metric with CI, paired test vs
        reference; per-label F1; and, with ``mistakes=N``, each scorer's N most confident
        mistakes."""
        multi = self.task != "tone"
        head = f"### {title}\n\n" if title else ""
        head += f"{self.task} on `{self.dataset}` (n = {self.n}"
        if self.settings.get("tuned_on"):
            head += f", thresholds fitted on {self.settings['tuned_on']}"
        head += ")\n\n"
        head += "".join(f"> **Warning:** {w}\n\n" for w in self.warnings)
        cols = ["scorer", "macro-F1 [95% CI]"]
        cols += ["micro-F1"] if multi else ["accuracy"]
        cols += ["ROC-AUC", "ECE", "samples/s", f"Δ macro-F1 vs {self.reference} (p)"]
        lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for name, res in self.results.items():
            cmp = self.comparisons.get(name)
            delta = "reference" if name == self.reference else (
                f"{cmp['difference'].value:+.3f} ({_p(cmp['p_value'])})" if cmp else "")
            prob = res.get("probability") or {}
            auc = prob.get("roc_auc")
            cells = [name, f"{res['macro_f1']:.3f}",
                     f"{res['micro_f1' if multi else 'accuracy'].value:.3f}",
                     f"{auc.value:.3f}" if auc is not None and math.isfinite(auc.value) else "–",
                     f"{prob['ece']:.3f}" if prob else "–",
                     f"{res['samples_per_second']:.1f}", delta]
            lines.append("| " + " | ".join(cells) + " |")
        body = "\n".join(lines)
        per = self._per_label_markdown()
        return head + body + "\n" + per + (self._mistakes_markdown(mistakes) if mistakes else "")

    def _mistakes_markdown(self, top: int) -> str:
        out = []
        for name, items in self.mistakes.items():
            out.append(f"\nMost confident mistakes of {name}:\n")
            for m in items[:top]:
                text = m["text"].replace("|", "\\|").replace("\n", " ")
                text = text if len(text) <= 160 else text[:157] + "..."
                if self.task == "tone":
                    what = f"true {m['true']}, predicted {m['predicted']} (tone {m['tone']:+.2f})"
                else:
                    what = f"{m['error']} `{m['label']}` (p={m['probability']:.2f})"
                out.append(f"- {what}: {text}")
        return "\n".join(out) + "\n"

    def _per_label_markdown(self) -> str:
        key = "per_label" if self.task != "tone" else "per_class"
        names = list(self.results)
        cols = ["label"] + [f"{n} F1" for n in names]
        lines = ["", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for lab in self.label_set:
            cells = [lab]
            for n in names:
                entry = self.results[n][key][lab]
                empty = entry["support"] == 0 and entry.get("predicted", 1) == 0
                cells.append("–" if empty else f"{entry['f1']:.2f}")
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def plot(self, out_dir: str | os.PathLike, prefix: str = "") -> list[str]:
        """Write PNGs: a confusion matrix per scorer (tone) and one reliability diagram."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        if self.task == "tone":
            names = list(self.results)
            fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.4), squeeze=False)
            for ax, name in zip(axes[0], names):
                cm = np.array(self.results[name]["confusion"])
                ax.imshow(cm, cmap="Blues")
                ax.set_xticks(range(len(self.label_set)), self.label_set, rotation=30, fontsize=8)
                ax.set_yticks(range(len(self.label_set)), self.label_set, fontsize=8)
                for (i, j), v in np.ndenumerate(cm):
                    ax.text(j, i, str(v), ha="center", va="center",
                            color="white" if v > cm.max() / 2 else "black", fontsize=9)
                ax.set_title(name, fontsize=9)
                ax.set_xlabel("predicted", fontsize=8)
                ax.set_ylabel("true", fontsize=8)
            fig.tight_layout()
            path = out_dir / f"{prefix}confusion.png"
            fig.savefig(path, dpi=110)
            plt.close(fig)
            written.append(str(path))
        with_probs = {n: r["probability"] for n, r in self.results.items() if r.get("probability")}
        if with_probs:
            fig, ax = plt.subplots(figsize=(4.2, 4.2))
            ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
            for name, prob in with_probs.items():
                bins = [b for b in prob["reliability"] if b["count"]]
                ax.plot([b["mean_prob"] for b in bins], [b["frequency"] for b in bins], marker="o",
                        label=f"{name} (ECE {prob['ece']:.3f})")
            ax.set_xlabel("predicted probability")
            ax.set_ylabel("observed frequency")
            ax.set_title(f"reliability: {self.task}", fontsize=10)
            ax.legend(fontsize=7)
            fig.tight_layout()
            path = out_dir / f"{prefix}reliability.png"
            fig.savefig(path, dpi=110)
            plt.close(fig)
            written.append(str(path))
        return written

    def save(self, out_dir: str | os.PathLike, name: str) -> dict[str, str]:
        """Write ``name.json``, ``name.md`` and the PNGs into ``out_dir``; return the paths."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = {"json": str(out_dir / f"{name}.json"), "markdown": str(out_dir / f"{name}.md")}
        self.to_json(paths["json"])
        Path(paths["markdown"]).write_text(self.to_markdown(name, mistakes=5), encoding="utf-8")
        for p in self.plot(out_dir, prefix=f"{name}_"):
            paths[Path(p).stem] = p
        return paths


# -- evaluate ----------------------------------------------------------------------
def _as_scorers(scorers: Any) -> dict[str, ScorerAdapter]:
    if isinstance(scorers, Mapping):
        return {str(k): v if isinstance(v, ScorerAdapter) else ScorerAdapter(v, str(k))
                for k, v in scorers.items()}
    if isinstance(scorers, (list, tuple)):
        adapters = [s if isinstance(s, ScorerAdapter) else ScorerAdapter(s) for s in scorers]
        names = [a.name for a in adapters]
        if len(set(names)) != len(names):
            raise ValueError(f"Scorer names must be unique, got {names}; pass a dict")
        return {a.name: a for a in adapters}
    a = scorers if isinstance(scorers, ScorerAdapter) else ScorerAdapter(scorers)
    return {a.name: a}


def evaluate(
    scorers: Any,
    data: Samples | Any,
    task: str | None = None,
    *,
    reference: str | None = None,
    tune: str | None = None,
    dev: Samples | None = None,
    dev_fraction: float = 0.3,
    calibrate: bool = False,
    n_boot: int = 1000,
    seed: int = 0,
    split_seed: int = 13,
    top_mistakes: int = 10,
    **columns: Any,
) -> EvalReport:
    """Evaluate one or several scorers on the same labelled samples.

    ``scorers``: an Analyzer, a list of them, or a ``{name: scorer}`` dict. ``data``:
    :class:`Samples` or anything :func:`load_samples` reads (then ``task`` and column
    options are required/allowed). ``reference`` names the scorer the others are tested
    against (default: the first). ``tune="dev"`` splits the samples (``dev_fraction``,
    ``split_seed``) and fits the tone neutral band or the per-cue thresholds (and, with
    ``calibrate=True``, Platt scaling) on the dev part only, reporting metrics on the
    rest; or pass ``dev=`` samples. Without tuning the scorers' shipped settings are used
    on every row.
    """
    samples, adapters, reference = _resolve_inputs(scorers, data, task, reference, tune,
                                                   columns)
    samples, dev, tuned_on = _tuning_split(samples, tune, dev, dev_fraction, split_seed)
    n = len(samples)
    idx = bootstrap_indices(n, n_boot, seed)
    results: dict[str, dict[str, Any]] = {}
    preds: dict[str, np.ndarray] = {}
    mistakes: dict[str, list[dict[str, Any]]] = {}
    y = samples.y_matrix() if samples.task != "tone" else samples.y_index()
    for name, adapter in adapters.items():
        p = adapter.predict(samples)
        fitted = _tune_on_dev(adapter, p, samples, dev, calibrate)
        results[name], preds[name], mistakes[name] = _scorer_result(
            p, fitted, samples, y, idx, seed, top_mistakes)
    comparisons = _compare_to_reference(list(adapters), reference, samples, y, preds, results,
                                        idx)
    settings = {"n_boot": n_boot, "seed": seed, "tune": tune, "tuned_on": tuned_on,
                "split_seed": split_seed if tune == "dev" else None,
                "dev_fraction": dev_fraction if tune == "dev" else None, "calibrate": calibrate}
    return EvalReport(samples.task, samples.source, n, list(samples.label_set), results,
                      comparisons, reference, settings,
                      {name: a.config() for name, a in adapters.items()}, mistakes,
                      warnings=_sample_size_warnings(samples), _y=y, _pred=preds)


def _sample_size_warnings(samples: Samples) -> list[str]:
    """Returns the warnings a report on ``samples`` carries: one when there are fewer than
    :data:`MIN_RELIABLE_ROWS` rows, otherwise one naming the labels held by fewer than
    :data:`MIN_ROWS_PER_LABEL` rows (a tone class, or rows carrying a cue or frame); an
    empty list when neither applies."""
    n = len(samples)
    if n < MIN_RELIABLE_ROWS:
        return [f"Only {n} row{'' if n == 1 else 's'} evaluated (fewer than "
                f"{MIN_RELIABLE_ROWS}): the 95% intervals and paired tests are unreliable at "
                "this size, so label more samples before relying on these figures."]
    if samples.task == "tone":
        counts = [samples.labels.count(lab) for lab in samples.label_set]
    else:
        counts = samples.y_matrix().sum(axis=0).tolist()
    thin = [f"{lab!r} ({c} row{'' if c == 1 else 's'})"
            for lab, c in zip(samples.label_set, counts) if c < MIN_ROWS_PER_LABEL]
    if not thin:
        return []
    return [f"Fewer than {MIN_ROWS_PER_LABEL} rows for label(s) {', '.join(thin)}: their "
            "per-label figures and the macro-F1 interval are unreliable."]


def _resolve_inputs(scorers: Any, data: Any, task: str | None, reference: str | None,
                    tune: str | None, columns: dict[str, Any]
                    ) -> tuple[Samples, dict[str, ScorerAdapter], str]:
    """Returns ``(samples, {name: adapter}, reference name)`` for :func:`evaluate`, loading
    ``data`` unless it is :class:`Samples` already; the reference defaults to the first
    scorer. Raises :class:`ValueError` for samples of another task, a ``tune`` other than
    None or "dev", duplicate scorer names or a reference that is not among the scorers."""
    samples = data if isinstance(data, Samples) else load_samples(data, task or "tone", **columns)
    if task and samples.task != task:
        raise ValueError(f"Samples are for task {samples.task!r}, not {task!r}")
    if tune not in (None, "dev"):
        raise ValueError("tune must be None or 'dev'")
    adapters = _as_scorers(scorers)
    reference = reference or next(iter(adapters))
    if reference not in adapters:
        raise ValueError(f"Reference {reference!r} is not among the scorers {list(adapters)}")
    return samples, adapters, reference


def _tuning_split(samples: Samples, tune: str | None, dev: Samples | None,
                  dev_fraction: float, split_seed: int
                  ) -> tuple[Samples, Samples | None, str | None]:
    """Returns ``(evaluation samples, dev samples or None, what tuning used, in words or
    None)``: with ``tune="dev"`` and no ``dev`` given, ``samples`` split with
    ``split_seed``. Raises :class:`ValueError` when the dev part or the evaluation part is
    empty."""
    tuned_on = None
    if tune == "dev" and dev is None:
        dev, samples = split_samples(samples, dev_fraction, split_seed)
        tuned_on = f"a {dev_fraction:.0%} dev split (seed {split_seed}, {len(dev)} rows)"
    elif dev is not None:
        tuned_on = f"separate dev samples ({len(dev)} rows)"
    if dev is not None and len(dev) == 0:
        raise ValueError("The dev split is empty: there are too few samples per label for "
                         f"dev_fraction={dev_fraction}; use more samples or a larger fraction")
    if len(samples) == 0:
        raise ValueError("No samples to evaluate")
    return samples, dev, tuned_on


def _tune_on_dev(adapter: ScorerAdapter, p: Predictions, samples: Samples,
                 dev: Samples | None, calibrate: bool) -> dict[str, Any]:
    """Fit the scorer's settings on ``dev`` alone and apply them to ``p`` (the predictions
    on the evaluation rows): per-label thresholds (and Platt scaling with ``calibrate``)
    for multi-label tasks, the neutral band for tone unless the scorer labels by its
    likeliest class. Returns what was fitted, empty without ``dev``."""
    fitted: dict[str, Any] = {}
    if dev is None:
        return fitted
    pd_ = adapter.predict(dev)
    if samples.task != "tone":
        Yd = dev.y_matrix()
        if calibrate:
            cal = PlattCalibrator().fit(pd_.probs, Yd)
            pd_.probs, p.probs = cal.transform(pd_.probs), cal.transform(p.probs)
            fitted["platt"] = cal.params_
        p.thresholds = fit_thresholds(pd_.probs, Yd)
        fitted["thresholds"] = dict(zip(samples.label_set, p.thresholds.tolist()))
    elif not p.argmax:  # a scorer labelling by its likeliest class has no band
        p.band = fit_band(pd_.values, dev.y_index(), samples.label_set)
        fitted["neutral_band"] = p.band
    return fitted


def _scorer_result(p: Predictions, fitted: dict[str, Any], samples: Samples, y: np.ndarray,
                   idx: np.ndarray, seed: int, top: int
                   ) -> tuple[dict[str, Any], np.ndarray, list[dict[str, Any]]]:
    """Returns ``(metrics, predicted labels, most confident mistakes)`` of one scorer on
    the evaluation rows: throughput and what was fitted on dev, then the task's metrics
    with bootstrap intervals over the rows ``idx``."""
    n = len(samples)
    res: dict[str, Any] = {"seconds": p.seconds,
                           "samples_per_second": n / p.seconds if p.seconds > 0 else float("nan"),
                           "fitted_on_dev": fitted or None}
    if samples.task != "tone":
        pred, mistakes = _multilabel_result(res, p, samples, y, idx, seed, top)
    else:
        pred, mistakes = _tone_result(res, p, samples, y, idx, seed, top)
    return res, pred, mistakes


def _multilabel_result(res: dict[str, Any], p: Predictions, samples: Samples, y: np.ndarray,
                       idx: np.ndarray, seed: int, top: int
                       ) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Add the multi-label metrics (per label, micro and macro, probability metrics over
    every label and row, the thresholds used) to ``res``. Returns ``(predicted matrix,
    most confident mistakes)``."""
    pred = p.probs >= p.thresholds[None, :]
    res.update(multilabel_metrics(y, pred, samples.label_set, idx=idx))
    res["probability"] = probability_metrics(y.ravel(), p.probs.ravel(), idx=None,
                                             n_boot=200, seed=seed)
    res["thresholds"] = dict(zip(samples.label_set, map(float, p.thresholds)))
    return pred, _multilabel_mistakes(samples, y, p.probs, pred, top)


def _tone_result(res: dict[str, Any], p: Predictions, samples: Samples, y: np.ndarray,
                 idx: np.ndarray, seed: int, top: int) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Add the tone metrics (classification, the labelling rule and band, and probability
    metrics when the scorer gives all three classes' probabilities) to ``res``. Returns
    ``(predicted class indices, most confident mistakes)``."""
    pred = _argmax_pred(p.probs, samples.label_set) if p.argmax else \
        tone_predictions(p.values, p.band, samples.label_set)
    res.update(classification_metrics(y, pred, samples.label_set, idx=idx))
    res["neutral_band"] = None if p.argmax else p.band
    res["label_rule"] = "likeliest class" if p.argmax else "neutral band"
    if p.probs is not None and list(samples.label_set) == list(TONE_LABELS):
        onehot = np.eye(3, dtype=int)[y]
        res["probability"] = probability_metrics(onehot.ravel(), p.probs.ravel(),
                                                 n_boot=200, seed=seed)
    return pred, _tone_mistakes(samples, y, pred, p.values, top)


def _tone_f1_resampler(y: np.ndarray, pred: np.ndarray, k: int):
    """Returns a function of resampled rows giving the macro-F1 of ``pred`` on them."""
    return lambda rows: macro_f1_from_confusion(confusion(y, pred, k, rows))


def _compare_to_reference(names: list[str], reference: str, samples: Samples, y: np.ndarray,
                          preds: dict[str, np.ndarray], results: dict[str, dict[str, Any]],
                          idx: np.ndarray) -> dict[str, dict[str, Any]]:
    """Returns ``{name: paired bootstrap test}`` of each scorer's macro-F1 against the
    reference's, over the same resampled rows ``idx`` (the reference itself left out)."""
    comparisons = {}
    k = len(samples.label_set)
    for name in names:
        if name == reference:
            continue
        if samples.task != "tone":
            fa = multilabel_macro_f1_resampler(y, preds[name])
            fb = multilabel_macro_f1_resampler(y, preds[reference])
        else:
            fa = _tone_f1_resampler(y, preds[name], k)
            fb = _tone_f1_resampler(y, preds[reference], k)
        comparisons[name] = paired_bootstrap(
            fa, idx, results[name]["macro_f1"].value, results[reference]["macro_f1"].value, fb)
    return comparisons


def _p(value: float) -> str:
    if not math.isfinite(value):
        return "p=n/a"
    return "p<0.001" if value < 0.001 else f"p={value:.3f}"


def _tone_mistakes(samples: Samples, y, pred, values, top: int) -> list[dict[str, Any]]:
    wrong = np.flatnonzero(y != pred)
    conf = np.abs(np.nan_to_num(values[wrong]))
    out = []
    for i in wrong[np.argsort(-conf, kind="stable")][:top]:
        out.append({"id": samples.ids[i], "text": samples.texts[i],
                    "true": samples.label_set[y[i]], "predicted": samples.label_set[pred[i]],
                    "tone": float(np.nan_to_num(values[i]))})
    return out


def _multilabel_mistakes(samples: Samples, Y, probs, pred, top: int) -> list[dict[str, Any]]:
    rows, cols = np.nonzero(Y != pred)
    conf = np.abs(probs[rows, cols] - 0.5)
    out = []
    for i in np.argsort(-conf, kind="stable")[:top]:
        r, c = rows[i], cols[i]
        out.append({"id": samples.ids[r], "text": samples.texts[r], "label": samples.label_set[c],
                    "error": "false positive" if pred[r, c] else "false negative",
                    "probability": float(probs[r, c])})
    return out
