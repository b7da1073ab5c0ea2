"""The ONNX Runtime int8 backend against the torch float32 pipeline on the labelled samples.

    python eval/onnx_vs_torch.py [--n-boot 1000]

Evaluates ``Analyzer()`` (torch, float32) and ``Analyzer(backend="onnx")`` (the encoder
up to the tone branch plus the branch as one ONNX graph, int8 dynamic quantisation) with
:func:`framing.evaluate` on ``eval/samples/tone.jsonl`` and ``eval/samples/cues.jsonl``
(shipped settings, no tuning), with paired bootstrap differences, and how often their
per-row predictions agree. Writes ``eval/results/onnx_vs_torch.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


import framing

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args()

    torch_an = framing.Analyzer()
    onnx_an = framing.Analyzer(backend="onnx")
    scorers = {"torch-fp32": torch_an, "onnx-int8": onnx_an}
    out: dict = {"graph": onnx_an._onnx.path.name, "tasks": {}}
    lines = ["### onnx_vs_torch", "",
             "The default pipeline with `backend=\"onnx\"` (encoder layers 1-3 + tone branch as "
             "one ONNX Runtime graph, int8 dynamic quantisation of the weight matrices) "
             "against torch float32, on the project's labelled samples with shipped "
             f"settings; {args.n_boot} paired bootstrap resamples.", "",
             "| task | n | torch-fp32 macro-F1 [95% CI] | onnx-int8 macro-F1 [95% CI] | "
             "Δ (onnx − torch) [95% CI] (p) |", "|---|---|---|---|---|"]
    for task in ("tone", "cues"):
        rep = framing.evaluate(scorers, HERE / "samples" / f"{task}.jsonl", task=task,
                               n_boot=args.n_boot)
        d = rep.to_dict()
        out["tasks"][task] = d
        res = d["results"] if "results" in d else d
        m = {k: res[k]["macro_f1"] for k in scorers}
        cmp = d.get("comparisons", {}).get("onnx-int8", {})
        diff = cmp.get("macro_f1_difference") or cmp.get("difference") or {}
        p = cmp.get("p_value")
        delta = (f"{diff['value']:+.3f} [{diff['low']:+.3f}, {diff['high']:+.3f}] "
                 f"(p={p:.3f})") if diff else \
            f"{m['onnx-int8']['value'] - m['torch-fp32']['value']:+.3f}"
        lines.append(f"| {task} | {d.get('n', '')} | " + " | ".join(
            f"{m[k]['value']:.3f} [{m[k]['low']:.3f}, {m[k]['high']:.3f}]" for k in scorers)
            + f" | {delta} |")
    md = "\n".join(lines) + "\n"
    print(md)
    dest = Path(args.out)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "onnx_vs_torch.json").write_text(json.dumps(out, indent=2, default=str) + "\n")
    (dest / "onnx_vs_torch.md").write_text(md)


if __name__ == "__main__":
    main()
