"""Side-by-side tone evaluation on the NewsMTSC dev split (tone toward a target mention).

    python eval/newsmtsc_dev.py [--data ../shared/data/newsmtsc/train.jsonl]

Rebuilds the dev split the shipped tone model was measured on (the sentence ids are in
the model's dev_split.json), and runs the shipped trained model, the zero-shot similarity
baseline and VADER through framing.evaluate with the target mention given by its
character offsets. Writes eval/results/newsmtsc_dev.{json,md,png}. The report keeps no
example sentences (NewsMTSC text is not copied into this repository).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import framing
from framing.evaluation.harness import Samples
from framing.heads.tone.factory import shipped_tone_model_path
from framing.core.labels import TONE_LABELS as LABELS
from framing.training.tone import newsmtsc_examples

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", default=str(HERE.parent.parent / "shared" / "data" / "newsmtsc" / "train.jsonl"))
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args()

    split = json.loads((shipped_tone_model_path() / "dev_split.json").read_text())
    dev_groups = set(split["dev_groups"])
    dev = [e for e in newsmtsc_examples(args.data, sentence_level=False) if e.group in dev_groups]
    samples = Samples("tone", [e.text for e in dev], [LABELS[e.label] for e in dev],
                      list(LABELS), list(range(len(dev))), [e.span for e in dev],
                      source="NewsMTSC train.jsonl, dev split of the shipped tone model")
    encoder = framing.Encoder()
    scorers = {name: framing.Analyzer(tone=name, cues=False, encoder=encoder)
               for name in ("trained", "similarity", "vader")}
    report = framing.evaluate(scorers, samples, reference="vader", n_boot=args.n_boot,
                              top_mistakes=0)
    print(report.to_markdown("newsmtsc_dev"))
    report.save(args.out, "newsmtsc_dev")


if __name__ == "__main__":
    main()
