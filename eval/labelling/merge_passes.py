"""Join independent labelling passes to their pointers, measure agreement, and list what
needs adjudication.

    python eval/labelling/merge_passes.py --batch 1 \
        --pass A=/tmp/labelling/passA --pass B=/tmp/labelling/passB \
        [--texts /tmp/labelling/batch1.jsonl] [--adjudicated /tmp/labelling/adjudicated.jsonl]

Each pass directory holds ``*.labels.jsonl`` files of rows ``{"uid", "cues", "tone",
"targets": [{"name", "tone"}], "note"}`` (the format the labelling passes write, see
GUIDE.md). Target names are turned into character offsets into the document (the first
occurrence inside the sentence) so that no text is stored. Writes:

- ``labels/batch<N>.jsonl``: per sentence the pointer, group, source, drawing method, each
  pass's labels, and the final (agreed or adjudicated) labels when there are any;
- ``results/agreement_batch<N>.md`` / ``.json``: Cohen's kappa per cue (present/absent),
  for "any cue", for sentence tone and for target tone where both passes named the same
  target, with counts; and ``--disagreements`` (outside the repository: it holds text) for
  the adjudication pass.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import cohen_kappa_score

HERE = Path(__file__).resolve().parent
CUES = ("win_win", "mutual_respect", "counter_criticism", "peaceful_coexistence", "shared_future",
        "achievement", "commitment", "challenge_acknowledged", "external_criticism",
        "criticism_of_others")
TONES = ("critical", "neutral", "promotional")


def read_pass(folder: Path) -> dict[str, dict]:
    rows = {}
    for path in sorted(folder.glob("*.labels.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                rows[r["uid"]] = r
    return rows


def clean_labels(r: dict, text: str, start: int) -> dict:
    """A pass's labels with target names replaced by document offsets."""
    cues = sorted({c for c in r.get("cues", []) if c in CUES}, key=CUES.index)
    tone = r.get("tone") if r.get("tone") in TONES else "neutral"
    targets = []
    for t in r.get("targets", [])[:2]:
        name, ttone = str(t.get("name", "")), t.get("tone")
        at = text.find(name) if name else -1
        if at >= 0 and ttone in TONES:
            targets.append({"start": start + at, "end": start + at + len(name), "tone": ttone})
    return {"cues": cues, "tone": tone, "targets": targets}


def kappa(a: list, b: list) -> float:
    if len(set(a) | set(b)) < 2:
        return float("nan")  # one category only: agreement is trivially perfect
    return float(cohen_kappa_score(a, b))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--pass", dest="passes", action="append", required=True,
                    help="NAME=DIR of a pass's *.labels.jsonl files")
    ap.add_argument("--texts", required=True, help="the batch's text file (outside the repo)")
    ap.add_argument("--adjudicated", help="final labels for disagreements (uid rows, pass format)")
    ap.add_argument("--disagreements", help="write the rows to adjudicate here (outside the repo)")
    ap.add_argument("--reviewed", help="labels changed by the review of suspected errors "
                    "(uid rows, pass format, with \"changed\": true|false)")
    args = ap.parse_args(argv)
    draws = [json.loads(x) for x in (HERE / "draws" / f"batch{args.batch}.jsonl")
             .read_text(encoding="utf-8").splitlines() if x.strip()]
    texts = {json.loads(x)["uid"]: json.loads(x) for x in Path(args.texts)
             .read_text(encoding="utf-8").splitlines() if x.strip()}
    passes = {}
    for spec in args.passes:
        name, folder = spec.split("=", 1)
        passes[name] = read_pass(Path(folder))
    adjudicated = {}
    if args.adjudicated and Path(args.adjudicated).is_file():
        for line in Path(args.adjudicated).read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                adjudicated[r["uid"]] = r

    reviewed = {}
    if args.reviewed and Path(args.reviewed).is_file():
        for line in Path(args.reviewed).read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                if r.get("changed"):
                    reviewed[r["uid"]] = r

    out_rows, disagree = [], []
    for d in draws:
        uid, text = d["uid"], texts[d["uid"]]["text"]
        row = {k: d[k] for k in ("uid", "file", "doc", "start", "end", "sha256", "group",
                                 "source", "method", "batch")}
        row["passes"] = {n: clean_labels(p[uid], text, d["start"])
                         for n, p in passes.items() if uid in p}
        labs = list(row["passes"].values())
        if len(labs) >= 2:
            same = all(x["cues"] == labs[0]["cues"] and x["tone"] == labs[0]["tone"] for x in labs)
            if same:
                final = dict(labs[0])
                # targets: keep those every pass named with the same tone
                keys = [{(t["start"], t["end"], t["tone"]) for t in x["targets"]} for x in labs]
                common = set.intersection(*keys)
                final["targets"] = [t for t in labs[0]["targets"]
                                    if (t["start"], t["end"], t["tone"]) in common]
                row["final"], row["final_by"] = final, "agreed"
            elif uid in adjudicated:
                row["final"] = clean_labels(adjudicated[uid], text, d["start"])
                row["final_by"] = "adjudicated"
            else:
                disagree.append({"uid": uid, **texts[uid],
                                 "passes": {n: p[uid] for n, p in passes.items() if uid in p}})
        if uid in reviewed and "final" in row:  # a suspected error, reviewed against the guide
            row["final"] = clean_labels(reviewed[uid], text, d["start"])
            row["final_by"] = "reviewed"
        out_rows.append(row)

    labels_dir = HERE / "labels"
    labels_dir.mkdir(exist_ok=True)
    with (labels_dir / f"batch{args.batch}.jsonl").open("w", encoding="utf-8") as fh:
        for r in out_rows:
            fh.write(json.dumps(r) + "\n")
    if args.disagreements:
        with open(args.disagreements, "w", encoding="utf-8") as fh:
            for r in disagree:
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")

    # agreement between the first two passes
    names = list(passes)[:2]
    both = [r for r in out_rows if all(n in r["passes"] for n in names)]
    a, b = ([r["passes"][n] for r in both] for n in names)
    stats = {"batch": args.batch, "passes": names, "n_double": len(both), "cues": {}}
    for c in CUES:
        ya, yb = [c in x["cues"] for x in a], [c in x["cues"] for x in b]
        stats["cues"][c] = {"kappa": kappa(ya, yb), "n_a": int(sum(ya)), "n_b": int(sum(yb)),
                            "agree_pct": float(np.mean(np.equal(ya, yb)))}
    anya, anyb = [bool(x["cues"]) for x in a], [bool(x["cues"]) for x in b]
    stats["any_cue"] = {"kappa": kappa(anya, anyb), "n_a": int(sum(anya)), "n_b": int(sum(anyb))}
    stats["tone"] = {"kappa": kappa([x["tone"] for x in a], [x["tone"] for x in b]),
                     "agree_pct": float(np.mean([x["tone"] == y["tone"] for x, y in zip(a, b)]))}
    ta, tb = [], []
    for x, y in zip(a, b):
        ty = {(t["start"], t["end"]): t["tone"] for t in y["targets"]}
        for t in x["targets"]:
            if (t["start"], t["end"]) in ty:
                ta.append(t["tone"])
                tb.append(ty[(t["start"], t["end"])])
    stats["target_tone"] = {"kappa": kappa(ta, tb) if ta else float("nan"), "n_shared_targets": len(ta)}
    stats["exact_match_pct"] = float(np.mean([x["cues"] == y["cues"] and x["tone"] == y["tone"]
                                              for x, y in zip(a, b)])) if both else float("nan")
    stats["to_adjudicate"] = len(disagree)
    stats["final"] = {k: sum(1 for r in out_rows if r.get("final_by") == k)
                      for k in ("agreed", "adjudicated", "reviewed")}
    res = HERE / "results"
    res.mkdir(exist_ok=True)
    (res / f"agreement_batch{args.batch}.json").write_text(json.dumps(stats, indent=2) + "\n")
    lines = [f"# Agreement, labelling batch {args.batch}", "",
             f"Written by `python eval/labelling/merge_passes.py --batch {args.batch} ...`. "
             f"Passes {names[0]} and {names[1]}, made independently (neither saw the other's "
             f"labels), on {len(both)} sentences.", "",
             "| label | kappa | positives (pass 1 / pass 2) | raw agreement |", "|---|---:|---:|---:|"]
    for c, s in stats["cues"].items():
        lines.append(f"| {c} | {s['kappa']:.3f} | {s['n_a']} / {s['n_b']} | {s['agree_pct']:.1%} |")
    lines.append(f"| any cue | {stats['any_cue']['kappa']:.3f} | {stats['any_cue']['n_a']} / "
                 f"{stats['any_cue']['n_b']} | |")
    lines.append(f"| sentence tone (3 classes) | {stats['tone']['kappa']:.3f} | | "
                 f"{stats['tone']['agree_pct']:.1%} |")
    lines.append(f"| target tone ({stats['target_tone']['n_shared_targets']} targets both named) | "
                 f"{stats['target_tone']['kappa']:.3f} | | |")
    lines += ["", f"Cues and tone identical in both passes: {stats['exact_match_pct']:.1%}; "
              f"final labels: {stats['final']['agreed']} agreed, {stats['final']['adjudicated']} "
              f"adjudicated, {stats['final']['reviewed']} changed by the review of suspected "
              f"errors, {stats['to_adjudicate']} still to adjudicate.", ""]
    (res / f"agreement_batch{args.batch}.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
