"""Evaluation suites: a YAML file naming datasets, scorers and runs; one call runs them all.

A suite (read with ``yaml.safe_load``)::

    name: default
    root: ..                  # directory the paths below are relative to (from this file)
    output: results           # where reports go (relative to root)
    n_boot: 1000
    seed: 0
    datasets:
      tone: {path: samples/tone.jsonl, task: tone, label: label}
      cues: {path: samples/cues.jsonl, task: cues, label: cues, label_set: builtin}
    scorers:
      similarity: {tone: similarity, cues: false}
      patterns:   {tone: null, cues: patterns}
    runs:
      - {dataset: tone, scorers: [similarity], reference: similarity}
      - {dataset: cues, scorers: [patterns], tune: dev}

Dataset options are :func:`~framing.evaluation.harness.load_samples` options, plus ``require``
(columns that must be non-empty for a row to be kept). Scorer options: ``tone``
(trained, similarity, vader or null), ``cues`` (trained heads, few-shot detector,
patterns or false), ``operating_point`` (with ``cues: trained``: which of the heads'
named threshold sets decides, e.g. ``strict``), ``catalogue`` (a YAML path under root, or
a shipped catalogue's name) and ``profile`` (the model tier, :data:`framing.core.resources.TIERS`: ``default``
when left out, or ``accurate``). A dataset's ``label_set`` may name a shipped catalogue
(its cue ids). Paths may not leave ``root``.

The scorers of one profile share one encoder (the tier's), and ``tone: trained`` /
``cues: trained`` use that tier's shipped tone model and cue heads. A profile is loaded
only when a run uses one of its scorers. A scorer that cannot be loaded (the tier's extra
is not installed, or its artefacts are missing) is left out of every run, and
``summary.md``/``summary.json`` say which and why; a run left with no scorer, or without
its ``reference``, is skipped with that note instead.

A dataset may instead point into a corpus kept outside the repository: ``pointers`` (a glob
under root matching pointer label files) in place of ``path``::

    real_cues:
      pointers: labelling/labels/batch*.jsonl
      corpus: ../../shared/data/real     # FRAMING_REAL_DATA, when set, overrides it
      documents: labelling/splits/test_docs.txt   # optional: keep only these documents
      unit: sentence                      # or target (one row per labelled target)
      task: cues
      label: cues
      label_set: builtin

The table comes from :func:`~framing.core.pointers.pointer_samples` (columns ``id``,
``text``, ``cues``, ``tone``, ``group``, ``source``; for ``unit: target`` also
``target_start``, ``target_end`` and ``target``) and goes to ``load_samples`` with the
other options; ``id`` defaults to ``id``, ``label`` to ``tone`` for a tone task, and for
``unit: target`` ``target_start``/``target_end`` default to those columns. ``corpus`` is
relative to root but, being read-only input, may lie outside it; ``documents`` must be a
file under root. When the corpus directory does not exist the suite still runs: that
dataset's runs are skipped, and ``summary.md``/``summary.json`` say so. Reports on a
pointer dataset name their most confident mistakes by row id, never by text.
"""

from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from framing.core.pointers import UNITS, PointerError, pointer_samples
from framing.core.resources import TIERS, get_tier, shipped_model_path
from framing.core.tables import read_table
from framing.encoding.encoder import Encoder, resolve_device
from framing.errors import FramingError, MissingExtraError, ModelLoadError, ModelNotFoundError
from framing.evaluation.harness import evaluate, load_samples
from framing.heads.cues.detector import CueDetector
from framing.heads.cues.heads import is_cue_heads_dir
from framing.heads.tone.model import is_tone_model_dir
from framing.pipeline.analyzer import Analyzer
from framing.text.catalogue import load_catalogue, shipped_catalogues, yaml_error_line

__all__ = ["SuiteError", "SuiteResult", "run_suite", "load_suite"]


class SuiteError(FramingError, ValueError):
    """A suite file is missing or invalid; the message names the file and the entry."""


@dataclass
class SuiteResult:
    """The reports of a suite run, in run order, and where they were written; ``skipped``
    maps each run that could not run (its corpus is missing, or none of its scorers could
    be loaded) to the reason, and ``dropped`` maps each run that ran without some of its
    scorers to ``{scorer: reason}``."""

    name: str
    reports: dict[str, Any]
    paths: dict[str, dict[str, str]]
    summary_path: str | None
    skipped: dict[str, str] = field(default_factory=dict)
    dropped: dict[str, dict[str, str]] = field(default_factory=dict)

    def to_markdown(self) -> str:
        return "\n".join([r.to_markdown(name) + _dropped_markdown(self.dropped.get(name))
                          for name, r in self.reports.items()]
                         + [_skipped_markdown(name, why) for name, why in self.skipped.items()])


def _skipped_markdown(name: str, reason: str) -> str:
    return f"### {name}\n\nskipped: {reason}\n"


def _dropped_markdown(dropped: dict[str, str] | None) -> str:
    """The note under a run's table naming the scorers left out of it, and why."""
    if not dropped:
        return ""
    return "\n" + "".join(f"dropped scorer `{name}`: {why}\n" for name, why in dropped.items())


def _inside(root: Path, rel: str, where: str, source: str) -> Path:
    path = (root / rel).resolve()
    if path != root and root not in path.parents:
        raise SuiteError(f"{source}: {where}: path {rel!r} leaves the suite root {root}")
    return path


def load_suite(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a suite file; returns the parsed mapping with absolute paths."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SuiteError(f"{path}: suite file not found") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SuiteError(f"{path}: invalid suite file: {yaml_error_line(exc)}") from None
    if not isinstance(data, dict):
        raise SuiteError(f"{path}: top level must be a mapping")
    for key in ("datasets", "scorers", "runs"):
        if not isinstance(data.get(key), (dict if key != "runs" else list)) or not data[key]:
            raise SuiteError(f"{path}: field {key!r} is missing or empty")
    root = (path.parent / str(data.get("root", "."))).resolve()
    data["_root"] = root
    data["_source"] = str(path)
    data["_output"] = _inside(root, str(data.get("output", "results")), "output", str(path))
    for name, ds in data["datasets"].items():
        if not isinstance(ds, dict) or "task" not in ds or not ("path" in ds or "pointers" in ds):
            raise SuiteError(f"{path}: dataset {name!r} needs 'path' (or 'pointers') and 'task'")
        if "path" in ds and "pointers" in ds:
            raise SuiteError(f"{path}: dataset {name!r}: give exactly one of 'path' and "
                             "'pointers'")
        if "path" in ds:
            ds["_path"] = _inside(root, str(ds["path"]), f"dataset {name!r}", str(path))
        else:
            _check_pointer_dataset(ds, name, root, str(path))
    for i, run in enumerate(data["runs"]):
        if not isinstance(run, dict) or run.get("dataset") not in data["datasets"]:
            raise SuiteError(f"{path}: runs[{i}] names an unknown dataset {run.get('dataset')!r}"
                             if isinstance(run, dict) else f"{path}: runs[{i}] must be a mapping")
        for s in run.get("scorers", []):
            if s not in data["scorers"]:
                raise SuiteError(f"{path}: runs[{i}] names an unknown scorer {s!r}")
    data["_scorers"] = _scorer_specs(data["scorers"], str(path), root)
    return data


def _check_pointer_dataset(ds: dict[str, Any], name: str, root: Path, source: str) -> None:
    """Validate a ``pointers`` dataset and record its files, corpus and document list."""
    where = f"dataset {name!r}"
    pattern = str(ds["pointers"])
    files = sorted({_inside(root, match, where, source)
                    for match in glob.glob(pattern, root_dir=root, recursive=True)})
    files = [f for f in files if f.is_file()]
    if not files:
        raise SuiteError(f"{source}: {where}: pointers {pattern!r} match no file under {root}")
    ds["_pointers"] = files
    if ds.get("corpus") in (None, "") and not os.environ.get("FRAMING_REAL_DATA"):
        raise SuiteError(f"{source}: {where}: a pointers dataset needs 'corpus' (or set "
                         "FRAMING_REAL_DATA)")
    # read-only input kept outside the repository: the one path allowed to leave root
    ds["_corpus"] = Path(os.environ.get("FRAMING_REAL_DATA")
                         or root / str(ds["corpus"])).resolve()
    if ds.get("documents") is not None:
        docs = _inside(root, str(ds["documents"]), where, source)
        if not docs.is_file():
            raise SuiteError(f"{source}: {where}: documents file {ds['documents']!r} not found")
        ds["_documents"] = docs
    if ds.get("unit", "sentence") not in UNITS:
        raise SuiteError(f"{source}: {where}: unit must be one of {', '.join(UNITS)}, got "
                         f"{ds['unit']!r}")


def _pointer_table(ds: dict[str, Any], name: str, source: str) -> Any:
    """The labelled table of a ``pointers`` dataset (its corpus exists)."""
    try:
        return pointer_samples(ds["_pointers"], ds["_corpus"], documents=ds.get("_documents"),
                               unit=ds.get("unit", "sentence"))
    except PointerError as exc:
        raise SuiteError(f"{source}: dataset {name!r}: {exc}") from None


@dataclass(frozen=True)
class _ScorerSpec:
    """One scorer of a suite, validated: what :class:`_ScorerPool` builds it from."""

    tone: Any
    cues: Any
    catalogue: str | None
    profile: str
    operating_point: str | None = None


def _scorer_specs(spec: dict[str, Any], source: str, root: Path) -> dict[str, _ScorerSpec]:
    """Check every scorer's options (nothing is loaded yet); SuiteError naming the scorer."""
    out = {}
    for name, opts in spec.items():
        if opts is not None and not isinstance(opts, dict):
            raise SuiteError(f"{source}: scorer {name!r} must be a mapping of options")
        opts = dict(opts or {})
        tone = opts.pop("tone", None)
        cues = opts.pop("cues", False)
        catalogue = opts.pop("catalogue", None)
        profile = opts.pop("profile", None)
        point = opts.pop("operating_point", None)
        if opts:
            raise SuiteError(f"{source}: scorer {name!r}: unknown option(s) {sorted(opts)}")
        profile = "default" if profile is None else str(profile)
        if profile not in TIERS:
            raise SuiteError(f"{source}: scorer {name!r}: profile must be one of "
                             f"{', '.join(TIERS)}, got {profile!r}")
        if catalogue is not None and str(catalogue) not in shipped_catalogues():
            catalogue = str(_inside(root, str(catalogue), f"scorer {name!r}", source))
        if cues and cues not in ("trained", "detector", "patterns"):
            raise SuiteError(f"{source}: scorer {name!r}: cues must be trained, detector, "
                             "patterns or false")
        if point is not None and cues != "trained":
            raise SuiteError(f"{source}: scorer {name!r}: operating_point goes with "
                             "cues: trained (the heads' named thresholds)")
        out[name] = _ScorerSpec(tone, cues, catalogue, profile,
                                None if point is None else str(point))
    return out


#: what a scorer that cannot be loaded raises: the tier's extra is not installed, or its
#: model artefacts are missing, damaged or trained on another encoder
_UNAVAILABLE = (ModelNotFoundError, ModelLoadError, MissingExtraError)


class _ScorerPool:
    """Builds each scorer the first time a run asks for it. The scorers of one profile
    share that tier's encoder (loaded once, with the first of them), cue detectors are
    shared per (profile, cues, catalogue), and a scorer that cannot be loaded is recorded
    in :attr:`dropped` with the reason, never raised."""

    def __init__(self, specs: dict[str, _ScorerSpec], device: str = "cpu") -> None:
        self.specs = specs
        self.device = device
        self.built: dict[str, Analyzer] = {}
        self.dropped: dict[str, str] = {}
        self._encoders: dict[str, Encoder] = {}
        self._profile_errors: dict[str, str] = {}
        self._detectors: dict[tuple, CueDetector] = {}

    def get(self, name: str) -> Analyzer | None:
        """The scorer ``name``, or None when it could not be loaded (see :attr:`dropped`)."""
        if name not in self.built and name not in self.dropped:
            spec = self.specs[name]
            try:
                self.built[name] = self._build(spec)
            except _UNAVAILABLE as exc:
                self.dropped[name] = f"not loaded (profile {spec.profile}): {exc}"
        return self.built.get(name)

    def _encoder(self, profile: str) -> Encoder:
        if profile in self._profile_errors:  # tried once for an earlier scorer: failed
            raise ModelNotFoundError(self._profile_errors[profile])
        if profile not in self._encoders:
            tier = get_tier(profile)
            try:
                self._encoders[profile] = Encoder(
                    None if tier.name == "default" else tier.encoder, device=self.device)
            except _UNAVAILABLE as exc:
                self._profile_errors[profile] = f"its encoder {tier.encoder} did not load: {exc}"
                raise ModelNotFoundError(self._profile_errors[profile]) from exc
        return self._encoders[profile]

    def _build(self, spec: _ScorerSpec) -> Analyzer:
        tier = get_tier(spec.profile)
        # the tier's artefacts first: looking for them costs nothing, the encoder does not
        if spec.tone is not None and str(spec.tone).lower() in ("trained", "default"):
            tone_dir = shipped_model_path(tier.tone)
            if not is_tone_model_dir(tone_dir):
                raise ModelNotFoundError(f"the {tier.name} tier's tone model is missing from "
                                         f"{tone_dir}")
        heads = None
        if spec.cues == "trained":
            heads = shipped_model_path(tier.cue_heads)
            if not is_cue_heads_dir(heads):
                raise ModelNotFoundError(f"the {tier.name} tier's cue heads are missing from "
                                         f"{heads}")
        encoder = self._encoder(spec.profile)
        detector = None
        if spec.cues:
            key = (spec.profile, spec.cues, spec.catalogue, spec.operating_point)
            if key not in self._detectors:
                point = {} if spec.operating_point is None else {
                    "operating_point": spec.operating_point}
                self._detectors[key] = CueDetector(
                    spec.catalogue, encoder if spec.cues != "patterns" else None,
                    use_similarity=spec.cues != "patterns", heads=heads, **point)
            detector = self._detectors[key]
        return Analyzer(tone=spec.tone, cues=bool(spec.cues), encoder=encoder,
                        cue_detector=detector)


def run_suite(path: str | os.PathLike, *, output: str | os.PathLike | None = None,
              n_boot: int | None = None, device: str = "cpu") -> SuiteResult:
    """Run every run of the suite at ``path``; write JSON, Markdown and PNG per run and a
    ``summary.md``/``summary.json`` into the suite's output directory (or ``output``).
    ``device``: where the scorers' encoders and branches run (checked first: a device
    torch cannot use here raises :class:`ValueError` before the suite is read)."""
    device = resolve_device(device)
    suite = load_suite(path)
    source, root = suite["_source"], suite["_root"]
    out_dir = Path(output) if output is not None else suite["_output"]
    n_boot = int(n_boot or suite.get("n_boot", 1000))
    seed = int(suite.get("seed", 0))
    pool = _ScorerPool(suite["_scorers"], device)
    datasets: dict[str, Any] = {}
    skip: dict[str, str] = {}
    pointer_keys = ("pointers", "corpus", "documents", "unit")
    for name, ds in suite["datasets"].items():
        opts = {k: v for k, v in ds.items() if not k.startswith("_")
                and k not in ("path", "require", *pointer_keys)}
        if "pointers" in ds:
            if not ds["_corpus"].is_dir():
                skip[name] = (f"corpus directory {ds['_corpus']} not found (set "
                              "FRAMING_REAL_DATA)")
                continue
            opts.setdefault("id", "id")
            if opts.get("task") == "tone":
                opts.setdefault("label", "tone")
            if ds.get("unit") == "target":
                opts.setdefault("target_start", "target_start")
                opts.setdefault("target_end", "target_end")
        if isinstance(opts.get("label_set"), str):  # the cue ids of a shipped catalogue
            if opts["label_set"] not in shipped_catalogues():
                raise SuiteError(f"{source}: dataset {name!r}: label_set must be a list or the "
                                 f"name of a shipped catalogue ({', '.join(shipped_catalogues())})")
            opts["label_set"] = load_catalogue(opts["label_set"]).ids
        pointers = "pointers" in ds
        data: Any = _pointer_table(ds, name, source) if pointers else ds["_path"]
        if ds.get("require"):
            df, _ = read_table(data, opts.get("format"), what="Samples")
            for col in ds["require"]:
                if col not in df.columns:
                    raise SuiteError(f"{source}: dataset {name!r}: required column {col!r} is "
                                     f"not in {ds['pointers' if pointers else 'path']}")
                keep = df[col].map(lambda v: v is not None and v == v and str(v).strip() != "")
                df = df[keep]
            data = df.reset_index(drop=True)
        samples = load_samples(data, **opts)
        samples.source = str(ds["pointers"]) if pointers else os.path.relpath(ds["_path"], root)
        datasets[name] = samples
    reports, paths, skipped, dropped, order = {}, {}, {}, {}, []
    for i, run in enumerate(suite["runs"]):
        names = run.get("scorers") or list(pool.specs)
        tune = run.get("tune")
        run_name = run.get("name") or f"{run['dataset']}_{'dev-tuned' if tune else 'shipped'}"
        order.append(run_name)
        if run["dataset"] in skip:
            skipped[run_name] = skip[run["dataset"]]
            continue
        scorers = {n: a for n in names if (a := pool.get(n)) is not None}
        missing = {n: pool.dropped[n] for n in names if n not in scorers}
        why_not = _why_not_run(missing, scorers, run.get("reference"))
        if why_not:
            skipped[run_name] = why_not
            continue
        if missing:
            dropped[run_name] = missing
        report = evaluate(scorers, datasets[run["dataset"]],
                          reference=run.get("reference"), tune=tune,
                          calibrate=bool(run.get("calibrate", False)), n_boot=n_boot, seed=seed,
                          dev_fraction=float(run.get("dev_fraction", 0.3)),
                          split_seed=int(run.get("split_seed", 13)))
        if "pointers" in suite["datasets"][run["dataset"]]:
            _redact_texts(report)
        reports[run_name] = report
        paths[run_name] = report.save(out_dir, run_name)
    summary = out_dir / "summary.md"
    header = (f"# Evaluation suite `{suite.get('name', Path(source).stem)}`\n\n"
              f"Written by `framing eval --suite {os.path.relpath(source)}`; 95% bootstrap "
              f"intervals ({n_boot} resamples, seed {seed}).\n\n")
    out_dir.mkdir(parents=True, exist_ok=True)  # every run may have been skipped
    summary.write_text(header + "\n".join(
        _skipped_markdown(n, skipped[n]) if n in skipped
        else reports[n].to_markdown(n) + _dropped_markdown(dropped.get(n))
        for n in dict.fromkeys(order)), encoding="utf-8")
    (out_dir / "summary.json").write_text(json.dumps(
        {n: {"skipped": skipped[n]} if n in skipped
         else _summary_entry(reports[n], dropped.get(n))
         for n in dict.fromkeys(order)}, indent=2) + "\n", encoding="utf-8")
    return SuiteResult(str(suite.get("name", "")), reports, paths, str(summary), skipped,
                       dropped)


def _why_not_run(missing: dict[str, str], scorers: dict[str, Any],
                 reference: str | None) -> str | None:
    """Why a run cannot go ahead once the scorers that could not be loaded are left out
    (none of its scorers is left, or its reference is gone); None when it can."""
    if not scorers:
        return "no scorer could be loaded: " + "; ".join(f"`{n}`: {why}"
                                                         for n, why in missing.items())
    if reference is not None and reference in missing:
        return f"its reference scorer `{reference}` could not be loaded: {missing[reference]}"
    return None


def _redact_texts(report: Any) -> None:
    """Replace the text of each listed mistake by its row id: a pointer dataset's text
    lives in a corpus kept outside the repository, and reports must not copy it."""
    for items in report.mistakes.values():
        for m in items:
            m["text"] = f"[text not stored: row {m.get('id')}]"


def _summary_entry(report: Any, dropped: dict[str, str] | None = None) -> dict[str, Any]:
    entry = {"task": report.task, "dataset": report.dataset, "n": report.n,
             "macro_f1": {s: float(np.round(res["macro_f1"].value, 4))
                          for s, res in report.results.items()}}
    if dropped:
        entry["dropped"] = dict(dropped)
    return entry
