"""Cue detection on paraphrased sentences: trained heads vs few-shot vs phrase patterns.

    python eval/cue_paraphrases.py

Takes from eval/samples/cues.jsonl the cue sentences marked ``paraphrase`` (the cue said
without its stock wording) together with every cue-free sentence (so false alarms count),
scores them with the three detectors through the harness, and writes
eval/results/cue_paraphrases.{json,md} (macro-F1 with 95% intervals, paired bootstrap
against patterns only) plus a few paraphrases the trained heads find and the patterns miss.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import framing

HERE = Path(__file__).resolve().parent


def main() -> None:
    rows = pd.read_json(HERE / "samples" / "cues.jsonl", lines=True)
    keep = rows["paraphrase"].fillna(False).astype(bool) | rows["cues"].map(len).eq(0)
    subset = rows[keep].reset_index(drop=True)
    # the cues the samples label (they predate criticism_of_others, catalogue v2's tenth)
    labelled = {c for cues in rows["cues"] for c in cues}
    ids = [c for c in framing.load_catalogue().ids if c in labelled]
    samples = framing.load_samples(subset, "cues", label_set=ids)
    enc = framing.Encoder()
    scorers = {
        "cue-trained": framing.Analyzer(tone=None, frames=None, encoder=enc),
        "cue-detector": framing.Analyzer(tone=None, frames=None, encoder=enc, cues="few-shot"),
        "cue-patterns": framing.Analyzer(tone=None, frames=None, encoder=enc,
                                         cue_detector=framing.CueDetector(
                                             None, None, use_similarity=False)),
    }
    rep = framing.evaluate(scorers, samples, reference="cue-patterns", n_boot=1000, seed=0)
    n_para = int(subset["cues"].map(len).gt(0).sum())
    title = (f"cue_paraphrases: {n_para} paraphrased cue sentences + "
             f"{len(subset) - n_para} cue-free sentences")
    md = rep.to_markdown(title)
    # paraphrases found by the trained heads and missed by the patterns
    trained, patterns = scorers["cue-trained"], scorers["cue-patterns"]
    found = []
    for text, cues in zip(subset["text"], subset["cues"]):
        if not cues:
            continue
        t, p = trained.score(text), patterns.score(text)
        for c in cues:
            if t.cues[c].present and not p.cues[c].present:
                found.append((c, t.cues[c].probability, text))
                break
    md += "\n\nParaphrases the trained heads find and phrase patterns miss (first 5):\n\n"
    md += "\n".join(f"- `{c}` (p = {pr:.2f}): {tx}" for c, pr, tx in found[:5]) + "\n"
    md += (f"\nIn all, the trained heads find {len(found)} of the {n_para} paraphrased cue "
           "sentences' cues that the patterns miss.\n")
    out = HERE / "results"
    (out / "cue_paraphrases.md").write_text(md, encoding="utf-8")
    rep.save(out, "cue_paraphrases")
    print(md)


if __name__ == "__main__":
    main()
