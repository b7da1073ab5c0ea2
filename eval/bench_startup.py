"""Time to first result: ``import framing`` + ``Analyzer()`` + the first ``score()`` of one
short article, per backend, each in a fresh Python process.

    python eval/bench_startup.py [--repeats 5] [--variants torch,auto,onnx,onnx-eager]
                                 [--json OUT]

Variants (each a child process that imports framing, builds the analyzer and scores one
two-sentence article written for this script):

- ``torch``: ``Analyzer(backend="torch")`` (imports torch and transformers, loads the
  weights);
- ``auto``: ``Analyzer()``, the default backend as the policy resolves it
  (``framing.pipeline.onnx_backend.AUTO_BACKEND``);
- ``onnx``: ``Analyzer(backend="onnx")`` on the cached graph (no torch, no transformers);
- ``onnx-eager``: the ONNX graph behind an encoder loaded with torch and transformers
  (``Analyzer(backend="onnx", encoder=Encoder())``), which is how ``backend="onnx"``
  started before it learnt to skip them: the "before" figure of the ONNX path.

Before timing, one untimed child per variant runs (it exports the ONNX graph if it is not
cached yet, and warms the file cache). Then the variants take turns, ``--repeats`` times,
so that a change in machine load touches them alike. Printed per variant: the median wall
time of the child process (interpreter start included), the medians of its three phases
as the child measures them, whether torch and transformers were imported, and the ratio of
the median to the torch variant's median of the same run. ``--json`` also writes it all.
Timings depend on the machine and on what else runs on it: compare only figures from one
run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ARTICLE = ("The two ministers signed the water agreement in the harbour city on Tuesday. "
           "Farmers' groups said the plan would bring steady work to the valley.")

VARIANTS = {
    "torch": "framing.Analyzer(backend='torch')",
    "auto": "framing.Analyzer()",
    "onnx": "framing.Analyzer(backend='onnx')",
    "onnx-eager": "framing.Analyzer(backend='onnx', encoder=framing.Encoder())",
}

CHILD = """
import time
t0 = time.perf_counter()
import json, sys
import framing
t1 = time.perf_counter()
an = {build}
t2 = time.perf_counter()
r = an.score({article!r})
t3 = time.perf_counter()
print(json.dumps({{"import": t1 - t0, "analyzer": t2 - t1, "score": t3 - t2,
                  "backend": an.backend, "tone_label": r.tone_label,
                  "torch": "torch" in sys.modules,
                  "transformers": "transformers" in sys.modules}}))
"""


def run_child(variant: str) -> dict:
    """One fresh process for ``variant``: its wall time and what it reports. Raises
    :class:`RuntimeError` with the child's stderr when it fails."""
    code = CHILD.format(build=VARIANTS[variant], article=ARTICLE)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{variant} failed:\n{done.stderr[-3000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["wall"] = wall
    return out


def summarise(runs: dict[str, list[dict]]) -> dict[str, dict]:
    """Medians per variant and the ratio of each wall-time median to torch's."""
    out = {}
    for variant, rows in runs.items():
        out[variant] = {k: statistics.median(r[k] for r in rows)
                        for k in ("wall", "import", "analyzer", "score")}
        out[variant].update(backend=rows[0]["backend"], torch=any(r["torch"] for r in rows),
                            transformers=any(r["transformers"] for r in rows), n=len(rows))
    ref = out.get("torch", {}).get("wall")
    for row in out.values():
        row["ratio_to_torch"] = row["wall"] / ref if ref else None
    return out


def table(summary: dict[str, dict]) -> str:
    lines = ["| variant | backend | n | median s | import | Analyzer() | first score | "
             "torch imported | transformers imported | / torch |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for variant, r in summary.items():
        ratio = f"{r['ratio_to_torch']:.2f}" if r["ratio_to_torch"] is not None else "-"
        lines.append(f"| {variant} | {r['backend']} | {r['n']} | {r['wall']:.2f} | "
                     f"{r['import']:.2f} | {r['analyzer']:.2f} | {r['score']:.3f} | "
                     f"{'yes' if r['torch'] else 'no'} | "
                     f"{'yes' if r['transformers'] else 'no'} | {ratio} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per variant")
    ap.add_argument("--variants", default="torch,auto,onnx,onnx-eager",
                    help=f"comma-separated, from {', '.join(VARIANTS)} (torch first: the "
                         "reference of the ratios)")
    ap.add_argument("--json", default=None, help="also write the runs and medians here")
    args = ap.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants or args.repeats < 1:
        raise SystemExit(f"--variants must name some of {', '.join(VARIANTS)} (unknown: "
                         f"{unknown}); --repeats must be at least 1")
    for v in variants:  # untimed: exports the ONNX graph if needed, warms the file cache
        run_child(v)
    runs: dict[str, list[dict]] = {v: [] for v in variants}
    for _ in range(args.repeats):
        for v in variants:
            runs[v].append(run_child(v))
    summary = summarise(runs)
    print(f"time to first result, {args.repeats} fresh processes per variant "
          f"(python {platform.python_version()}, {os.cpu_count()} CPUs)\n")
    print(table(summary))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(
            {"article": ARTICLE, "repeats": args.repeats, "python": platform.python_version(),
             "cpus": os.cpu_count(), "runs": runs, "summary": summary}, indent=2) + "\n")


if __name__ == "__main__":
    main()
