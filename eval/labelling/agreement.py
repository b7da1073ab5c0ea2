"""Agreement between the two independent labelling passes over every labelled batch,
from the committed label files (no text needed).

    python eval/labelling/agreement.py      # writes results/agreement_all.md

Cohen's kappa per cue (present / absent), for "any cue", for sentence tone, and for target
tone where both passes named the same span; also by source group.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from merge_passes import CUES, kappa  # noqa: E402


def main() -> int:
    rows = [json.loads(x) for p in sorted((HERE / "labels").glob("batch*.jsonl"))
            for x in p.read_text(encoding="utf-8").splitlines() if x.strip()]
    rows = [r for r in rows if "A" in r["passes"] and "B" in r["passes"]]
    lines = ["# Agreement between the two labelling passes, all batches", "",
             f"Written by `python eval/labelling/agreement.py`; {len(rows)} sentences, each "
             "labelled by two independent AI-annotator passes (see README.md for what that "
             "does and does not measure).", "",
             "| label | kappa, all | chinese_official | other_government | news | positives (A / B) |",
             "|---|---:|---:|---:|---:|---:|"]
    groups = ("chinese_official", "other_government", "news")

    def k_of(sel, fn):
        a = [fn(r["passes"]["A"]) for r in sel]
        b = [fn(r["passes"]["B"]) for r in sel]
        return kappa(a, b), a, b

    for c in CUES:
        fn = (lambda c: lambda x: c in x["cues"])(c)
        k, a, b = k_of(rows, fn)
        per = [k_of([r for r in rows if r["group"] == g], fn)[0] for g in groups]
        lines.append(f"| {c} | {k:.3f} | " + " | ".join(f"{v:.3f}" for v in per)
                     + f" | {sum(a)} / {sum(b)} |")
    k, a, b = k_of(rows, lambda x: bool(x["cues"]))
    per = [k_of([r for r in rows if r["group"] == g], lambda x: bool(x["cues"]))[0] for g in groups]
    lines.append(f"| any cue | {k:.3f} | " + " | ".join(f"{v:.3f}" for v in per) + f" | {sum(a)} / {sum(b)} |")
    k, _, _ = k_of(rows, lambda x: x["tone"])
    per = [k_of([r for r in rows if r["group"] == g], lambda x: x["tone"])[0] for g in groups]
    lines.append(f"| sentence tone | {k:.3f} | " + " | ".join(f"{v:.3f}" for v in per) + " | |")
    ta, tb = [], []
    for r in rows:
        tB = {(t["start"], t["end"]): t["tone"] for t in r["passes"]["B"]["targets"]}
        for t in r["passes"]["A"]["targets"]:
            if (t["start"], t["end"]) in tB:
                ta.append(t["tone"])
                tb.append(tB[(t["start"], t["end"])])
    nA = sum(len(r["passes"]["A"]["targets"]) for r in rows)
    nB = sum(len(r["passes"]["B"]["targets"]) for r in rows)
    lines += [f"| target tone ({len(ta)} spans both named) | {kappa(ta, tb):.3f} | | | | |", "",
              f"Targets named: A {nA}, B {nB}, the same span in both {len(ta)} "
              f"({len(ta) / max(min(nA, nB), 1):.0%} of the smaller count): passes agree less on which "
              "spans get a target than on the tone of a span both named.", ""]
    (HERE / "results" / "agreement_all.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
