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
patterns or false) and ``catalogue`` (a YAML path under root, or a shipped catalogue's
name). A dataset's ``label_set`` may name a shipped catalogue (its cue ids).
All scorers share one encoder. Paths may not leave ``root``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from framing.core.tables import read_table
from framing.encoding.encoder import Encoder
from framing.errors import FramingError
from framing.evaluation.harness import evaluate, load_samples
from framing.heads.cues.detector import CueDetector
from framing.heads.cues.heads import shipped_cue_heads_path
from framing.pipeline.analyzer import Analyzer
from framing.text.catalogue import load_catalogue, shipped_catalogues, yaml_error_line

__all__ = ["SuiteError", "SuiteResult", "run_suite", "load_suite"]


class SuiteError(FramingError, ValueError):
    """A suite file is missing or invalid; the message names the file and the entry."""


@dataclass
class SuiteResult:
    """The reports of a suite run, in run order, and where they were written."""

    name: str
    reports: dict[str, Any]
    paths: dict[str, dict[str, str]]
    summary_path: str | None

    def to_markdown(self) -> str:
        return "\n".join(r.to_markdown(name) for name, r in self.reports.items())


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
        if not isinstance(ds, dict) or "path" not in ds or "task" not in ds:
            raise SuiteError(f"{path}: dataset {name!r} needs 'path' and 'task'")
        ds["_path"] = _inside(root, str(ds["path"]), f"dataset {name!r}", str(path))
    for i, run in enumerate(data["runs"]):
        if not isinstance(run, dict) or run.get("dataset") not in data["datasets"]:
            raise SuiteError(f"{path}: runs[{i}] names an unknown dataset {run.get('dataset')!r}"
                             if isinstance(run, dict) else f"{path}: runs[{i}] must be a mapping")
        for s in run.get("scorers", []):
            if s not in data["scorers"]:
                raise SuiteError(f"{path}: runs[{i}] names an unknown scorer {s!r}")
    return data


def _build_scorers(spec: dict[str, Any], source: str, root: Path) -> dict[str, Any]:
    encoder = Encoder()
    detectors: dict[tuple, CueDetector] = {}
    built = {}
    for name, opts in spec.items():
        opts = dict(opts or {})
        tone = opts.pop("tone", None)
        cues = opts.pop("cues", False)
        catalogue = opts.pop("catalogue", None)
        if opts:
            raise SuiteError(f"{source}: scorer {name!r}: unknown option(s) {sorted(opts)}")
        if catalogue is not None and str(catalogue) not in shipped_catalogues():
            catalogue = str(_inside(root, str(catalogue), f"scorer {name!r}", source))
        detector = None
        if cues:
            if cues not in ("trained", "detector", "patterns"):
                raise SuiteError(f"{source}: scorer {name!r}: cues must be trained, detector, "
                                 "patterns or false")
            key = (cues, catalogue)
            if key not in detectors:
                detectors[key] = CueDetector(
                    catalogue, encoder if cues != "patterns" else None,
                    use_similarity=cues != "patterns",
                    heads=shipped_cue_heads_path() if cues == "trained" else None)
            detector = detectors[key]
        built[name] = Analyzer(tone=tone, cues=bool(cues), encoder=encoder, cue_detector=detector)
    return built


def run_suite(path: str | os.PathLike, *, output: str | os.PathLike | None = None,
              n_boot: int | None = None) -> SuiteResult:
    """Run every run of the suite at ``path``; write JSON, Markdown and PNG per run and a
    ``summary.md``/``summary.json`` into the suite's output directory (or ``output``)."""
    suite = load_suite(path)
    source, root = suite["_source"], suite["_root"]
    out_dir = Path(output) if output is not None else suite["_output"]
    n_boot = int(n_boot or suite.get("n_boot", 1000))
    seed = int(suite.get("seed", 0))
    scorers = _build_scorers(suite["scorers"], source, root)
    datasets = {}
    for name, ds in suite["datasets"].items():
        opts = {k: v for k, v in ds.items() if not k.startswith("_") and k not in ("path", "require")}
        if isinstance(opts.get("label_set"), str):  # the cue ids of a shipped catalogue
            if opts["label_set"] not in shipped_catalogues():
                raise SuiteError(f"{source}: dataset {name!r}: label_set must be a list or the "
                                 f"name of a shipped catalogue ({', '.join(shipped_catalogues())})")
            opts["label_set"] = load_catalogue(opts["label_set"]).ids
        data: Any = ds["_path"]
        if ds.get("require"):
            df, _ = read_table(data, opts.get("format"), what="Samples")
            for col in ds["require"]:
                if col not in df.columns:
                    raise SuiteError(f"{source}: dataset {name!r}: required column {col!r} is "
                                     f"not in {ds['path']}")
                keep = df[col].map(lambda v: v is not None and v == v and str(v).strip() != "")
                df = df[keep]
            data = df.reset_index(drop=True)
        samples = load_samples(data, **opts)
        samples.source = os.path.relpath(ds["_path"], root)
        datasets[name] = samples
    reports, paths = {}, {}
    for i, run in enumerate(suite["runs"]):
        names = run.get("scorers") or list(scorers)
        tune = run.get("tune")
        run_name = run.get("name") or f"{run['dataset']}_{'dev-tuned' if tune else 'shipped'}"
        report = evaluate({n: scorers[n] for n in names}, datasets[run["dataset"]],
                          reference=run.get("reference"), tune=tune,
                          calibrate=bool(run.get("calibrate", False)), n_boot=n_boot, seed=seed,
                          dev_fraction=float(run.get("dev_fraction", 0.3)),
                          split_seed=int(run.get("split_seed", 13)))
        reports[run_name] = report
        paths[run_name] = report.save(out_dir, run_name)
    summary = out_dir / "summary.md"
    header = (f"# Evaluation suite `{suite.get('name', Path(source).stem)}`\n\n"
              f"Written by `framing eval --suite {os.path.relpath(source)}`; 95% bootstrap "
              f"intervals ({n_boot} resamples, seed {seed}).\n\n")
    summary.write_text(header + "\n".join(r.to_markdown(n) for n, r in reports.items()),
                       encoding="utf-8")
    (out_dir / "summary.json").write_text(json.dumps(
        {n: {"task": r.task, "dataset": r.dataset, "n": r.n,
             "macro_f1": {s: float(np.round(res["macro_f1"].value, 4))
                          for s, res in r.results.items()}}
         for n, r in reports.items()}, indent=2) + "\n", encoding="utf-8")
    return SuiteResult(str(suite.get("name", "")), reports, paths, str(summary))
