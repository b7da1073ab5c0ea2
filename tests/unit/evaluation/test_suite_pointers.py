"""Suite datasets given as pointers into a corpus kept outside the suite root: the labelled
rows of the listed documents are evaluated, and a missing corpus skips their runs only."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

import framing.evaluation.suite as suite_module
from framing.core.pointers import TextPointer
from framing.evaluation.suite import SuiteError, load_suite, run_suite

# Sentences written for these tests; the cue phrases are the builtin catalogue's patterns.
DOCS = {
    "d1": ["Both capitals called the rail link a win-win project.",
           "Talks should rest on mutual respect, the envoy said.",
           "The bakery sells rye bread every Thursday."],
    "d2": ["The trade pact brings mutual benefits to farmers on each side.",
           "Neither government will tell the other how to run its courts.",
           "Showers should reach the coastal hills by Monday evening."],
    "d3": ["The deal is a win-win for the region, the minister said."],
}
# (doc, sentence index, cues); None: a row without a final label
LABELS = [("d1", 0, ["win_win"]), ("d1", 1, ["mutual_respect"]), ("d1", 2, []),
          ("d2", 0, ["win_win"]), ("d2", 1, ["mutual_respect"]), ("d2", 2, None),
          ("d3", 0, ["win_win"])]
TEST_DOCS = ("d1", "d2")
N_TEST = sum(1 for doc, _, cues in LABELS if doc in TEST_DOCS and cues is not None)  # 5


def _doc_text(doc: str) -> str:
    return " ".join(DOCS[doc])


def _write_corpus(folder: Path) -> None:
    folder.mkdir(parents=True)
    with gzip.open(folder / "news.jsonl.gz", "wt", encoding="utf-8") as fh:
        for doc in DOCS:
            fh.write(json.dumps({"id": doc, "text": _doc_text(doc)}) + "\n")


def _write_labels(root: Path) -> None:
    rows = []
    for k, (doc, i, cues) in enumerate(LABELS):
        text = _doc_text(doc)
        start = text.index(DOCS[doc][i])
        row = {"uid": f"u{k}", **TextPointer.of("news.jsonl.gz", doc, text, start,
                                                 start + len(DOCS[doc][i])).to_dict(),
               "group": "news", "source": "test"}
        if cues is not None:
            row["final"] = {"cues": cues, "tone": "neutral", "targets": []}
        rows.append(row)
    (root / "labels").mkdir(parents=True)
    for name, part in (("batch1.jsonl", rows[:4]), ("batch2.jsonl", rows[4:])):
        (root / "labels" / name).write_text("".join(json.dumps(r) + "\n" for r in part),
                                            encoding="utf-8")
    (root / "labels" / "notes.txt").write_text("not matched by the glob\n", encoding="utf-8")
    (root / "splits").mkdir()
    (root / "splits" / "test_docs.txt").write_text(
        "".join(f"news.jsonl.gz\t{d}\n" for d in TEST_DOCS), encoding="utf-8")
    (root / "data").mkdir()
    (root / "data" / "cues.jsonl").write_text("".join(
        json.dumps({"id": f"p{j}", "text": s, "cues": c}) + "\n" for j, (s, c) in enumerate(
            [(DOCS["d1"][0], ["win_win"]), (DOCS["d1"][1], ["mutual_respect"]),
             (DOCS["d1"][2], [])])), encoding="utf-8")


def _suite(root: Path, corpus: str, *, extra_dataset: str = "", extra_run: str = "") -> Path:
    path = root / "suite.yaml"
    path.write_text(
        "name: pointers\nroot: .\noutput: out\n"
        "datasets:\n"
        f"  real: {{pointers: labels/batch*.jsonl, corpus: {corpus}, "
        "documents: splits/test_docs.txt, task: cues, label: cues, id: id, "
        "label_set: [win_win, mutual_respect]}\n"
        f"{extra_dataset}"
        "scorers:\n  patterns: {tone: null, cues: patterns}\n"
        f"runs:\n  - {{dataset: real}}\n{extra_run}", encoding="utf-8")
    return path


@pytest.fixture()
def tree(tmp_path, monkeypatch, tiny_encoder):
    """A suite root with label files, and the corpus beside it (outside the root)."""
    monkeypatch.delenv("FRAMING_REAL_DATA", raising=False)
    # patterns-only scorers never encode; the tiny encoder spares loading the real model
    monkeypatch.setattr(suite_module, "Encoder", lambda *a, **k: tiny_encoder)
    _write_corpus(tmp_path / "corpus")
    _write_labels(tmp_path / "suite")
    return tmp_path


def test_pointer_dataset_evaluates_the_labelled_rows_of_the_listed_documents(tree):
    result = run_suite(_suite(tree / "suite", "../corpus"), n_boot=20)
    report = result.reports["real_shipped"]
    assert report.n == N_TEST == 5
    assert report.dataset == "labels/batch*.jsonl"
    assert report.label_set == ["win_win", "mutual_respect"]
    # one sentence says "mutual respect" in other words: a miss, reported under its uid
    missed = report.mistakes["patterns"]
    assert [(m["id"], m["label"], m["error"]) for m in missed] == \
        [("u4", "mutual_respect", "false negative")]
    summary = json.loads((tree / "suite" / "out" / "summary.json").read_text())
    assert summary["real_shipped"]["n"] == 5 and "skipped" not in summary["real_shipped"]
    assert result.skipped == {}
    # the corpus's text stays outside: the saved reports name the mistake by row id only
    assert missed[0]["text"] == "[text not stored: row u4]"
    for f in (tree / "suite" / "out").iterdir():
        if f.suffix in (".md", ".json"):
            assert DOCS["d2"][1] not in f.read_text(encoding="utf-8"), f.name


def test_a_missing_corpus_skips_its_runs_and_the_others_run(tree, monkeypatch):
    plain = "  plain: {path: data/cues.jsonl, task: cues, label_set: [win_win, mutual_respect]}\n"
    path = _suite(tree / "suite", "../no-such-corpus", extra_dataset=plain,
                  extra_run="  - {dataset: plain}\n")
    result = run_suite(path, n_boot=20)
    out = tree / "suite" / "out"
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary) == ["real_shipped", "plain_shipped"]
    assert set(summary["real_shipped"]) == {"skipped"}
    assert "no-such-corpus not found (set FRAMING_REAL_DATA)" in summary["real_shipped"]["skipped"]
    assert summary["plain_shipped"]["n"] == 3
    assert summary["plain_shipped"]["macro_f1"]["patterns"] == pytest.approx(1.0)
    md = (out / "summary.md").read_text(encoding="utf-8")
    assert "skipped: corpus directory" in md and "plain_shipped" in md
    assert not (out / "real_shipped.json").exists() and (out / "plain_shipped.json").is_file()
    assert set(result.reports) == {"plain_shipped"} and set(result.skipped) == {"real_shipped"}

    # FRAMING_REAL_DATA overrides the suite's corpus directory
    monkeypatch.setenv("FRAMING_REAL_DATA", str(tree / "corpus"))
    again = run_suite(path, n_boot=20)
    assert again.skipped == {} and again.reports["real_shipped"].n == 5


@pytest.mark.parametrize("dataset, match", [
    ("{path: data/cues.jsonl, pointers: labels/batch*.jsonl, corpus: c, task: cues}",
     "exactly one of"),
    ("{pointers: labels/none*.jsonl, corpus: c, task: cues}", "match no file"),
    ("{pointers: ../corpus/*.gz, corpus: c, task: cues}", "leaves the suite root"),
    ("{pointers: labels/batch*.jsonl, corpus: c, documents: splits/nope.txt, task: cues}",
     "documents file"),
    ("{pointers: labels/batch*.jsonl, corpus: c, unit: paragraph, task: cues}", "unit"),
    ("{pointers: labels/batch*.jsonl, task: cues}", "needs 'corpus'"),
], ids=["path-and-pointers", "no-match", "leaves-root", "no-documents", "unit", "no-corpus"])
def test_invalid_pointer_datasets_are_refused(tree, dataset, match):
    path = tree / "suite" / "bad.yaml"
    path.write_text(f"root: .\ndatasets:\n  d: {dataset}\nscorers: {{p: {{}}}}\n"
                    "runs: [{dataset: d}]\n", encoding="utf-8")
    with pytest.raises(SuiteError, match=match):
        load_suite(path)
