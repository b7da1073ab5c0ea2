"""Throughput of the full scoring pipeline against the bare encoder, in one run.

    python eval/bench_score.py [--repeat 3] [--copies 4] [--tone trained]

Scores the shipped example corpus (``--copies`` times over, each copy made distinct so the
per-call sentence cache cannot help) with the default Analyzer, and times the bare encoder
forward pass over the same sentences. Prints articles/s, sentences/s and the ratio of the
pipeline's sentence throughput to the encoder's (1.0 = the pipeline costs nothing beyond
the encoder). The best of ``--repeat`` runs is reported for each, since this machine is
shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch

import framing


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--copies", type=int, default=4)
    ap.add_argument("--tone", default="trained",
                    help="tone scorer: trained (default), similarity, vader or a model directory")
    args = ap.parse_args()

    rows = [json.loads(line) for line in open(framing.example_corpus_path(), encoding="utf-8")]
    texts = [f"[{c}] {r['body']}" for c in range(args.copies) for r in rows]
    an = framing.Analyzer(tone=args.tone)
    an.score("Warm-up sentence for the models.")
    sentences = [s.clean for t in texts for s in an.prepare(t).sentences]

    def best(fn) -> float:
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times)

    t_pipe = best(lambda: an.score_many(texts))
    t_enc = best(lambda: an.encoder.encode(sentences))
    print(f"machine: {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} torch threads, torch {torch.__version__}")
    print(f"corpus: {len(texts)} articles, {len(sentences)} sentences; tone: {an.tone_name}")
    print(f"pipeline (segment + encode + tone + cues + evidence): "
          f"{len(texts) / t_pipe:.1f} articles/s, {len(sentences) / t_pipe:.1f} sentences/s")
    print(f"bare encoder forward pass: {len(sentences) / t_enc:.1f} sentences/s")
    print(f"ratio pipeline/encoder (sentence throughput): {t_enc / t_pipe:.2f}")


if __name__ == "__main__":
    main()
