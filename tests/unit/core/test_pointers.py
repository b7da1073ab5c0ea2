"""Labels as pointers into corpora kept elsewhere: round trip, verification, refusals,
and label files turned into labelled tables."""

from __future__ import annotations

import gzip
import json

import pytest

from framing.core.pointers import (
    PointerError,
    TextPointer,
    pointer_samples,
    read_document_list,
    resolve_pointers,
    text_sha256,
)

DOCS = [{"id": "d1", "text": "First sentence here. A second one follows."},
        {"id": "d2", "text": "Another document with its own words."}]


@pytest.fixture()
def corpus(tmp_path):
    with gzip.open(tmp_path / "c.jsonl.gz", "wt", encoding="utf-8") as fh:
        for d in DOCS:
            fh.write(json.dumps(d) + "\n")
    (tmp_path / "plain.jsonl").write_text(json.dumps(DOCS[1]) + "\n\n", encoding="utf-8")
    return tmp_path


def test_pointers_resolve_to_the_text_they_were_made_from(corpus):
    text = DOCS[0]["text"]
    a = TextPointer.of("c.jsonl.gz", "d1", text, 21, len(text))
    b = TextPointer.of("plain.jsonl", "d2", DOCS[1]["text"], 0, 7)
    assert resolve_pointers([a, b, a], corpus) == ["A second one follows.", "Another",
                                                  "A second one follows."]
    assert TextPointer.from_dict(a.to_dict()) == a
    assert a.sha256 == text_sha256("A second one follows.")


def test_changed_text_missing_documents_and_bad_offsets_are_refused(corpus):
    good = TextPointer.of("c.jsonl.gz", "d1", DOCS[0]["text"], 0, 5)
    with pytest.raises(PointerError, match="changed"):
        resolve_pointers([TextPointer("c.jsonl.gz", "d1", 0, 5, "0" * 64)], corpus)
    assert resolve_pointers([TextPointer("c.jsonl.gz", "d1", 0, 5, "0" * 64)], corpus,
                            verify=False) == ["First"]
    with pytest.raises(PointerError, match="no document"):
        resolve_pointers([TextPointer("c.jsonl.gz", "zz", 0, 5, good.sha256)], corpus)
    with pytest.raises(PointerError, match="outside"):
        resolve_pointers([TextPointer("c.jsonl.gz", "d1", 0, 500, good.sha256)], corpus)
    with pytest.raises(PointerError, match="not found"):
        resolve_pointers([TextPointer("nope.jsonl", "d1", 0, 5, good.sha256)], corpus)
    with pytest.raises(PointerError, match="not a text pointer"):
        TextPointer.from_dict({"file": "c.jsonl.gz", "doc": "d1"})
    with pytest.raises(ValueError, match="inside"):
        TextPointer.of("c.jsonl.gz", "d1", "abc", 2, 9)


def test_a_malformed_corpus_line_is_named(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"id": "x", "text": "ok"}\nnot json\n', encoding="utf-8")
    with pytest.raises(PointerError, match="bad.jsonl:2"):
        resolve_pointers([TextPointer("bad.jsonl", "y", 0, 1, "0" * 64)], tmp_path)


# -- label files into labelled tables ------------------------------------------------------
LABEL_DOCS = [{"id": "n1", "text": "The pact is a win-win deal. Critics were not convinced."},
              {"id": "n2", "text": "Rain fell. The mayor praised the new council plan."}]


def _pointer_row(doc: dict, start: int, end: int, **extra) -> dict:
    row = TextPointer.of("news.jsonl.gz", doc["id"], doc["text"], start, end).to_dict()
    return {**row, "group": "news", "source": "test_news", **extra}


@pytest.fixture()
def labelled(tmp_path):
    """A two-document gz corpus, two sentence label files, an article file and a list."""
    with gzip.open(tmp_path / "news.jsonl.gz", "wt", encoding="utf-8") as fh:
        for d in LABEL_DOCS:
            fh.write(json.dumps(d) + "\n")
    n1, n2 = LABEL_DOCS
    mayor = n2["text"].index("mayor")
    council = n2["text"].index("council")
    batch1 = [
        _pointer_row(n1, 0, 27, uid="s-1",
                     final={"cues": ["win_win"], "tone": "promotional", "targets": []}),
        _pointer_row(n1, 28, 55, uid="s-2", passes={"A": {}}),  # no final: skipped
        _pointer_row(n2, 11, len(n2["text"]), uid="s-3",
                     final={"cues": [], "tone": "promotional", "targets": [
                         {"start": mayor, "end": mayor + 5, "tone": "neutral", "name": "mayor"},
                         {"start": council, "end": council + 7, "tone": "promotional"}]}),
    ]
    batch2 = [_pointer_row(n1, 28, 55, final={"cues": [], "tone": "critical", "targets": []})]
    articles = [_pointer_row(n2, 0, len(n2["text"]), aid="a-1",
                             final={"cues": ["commitment"], "tone": "neutral"})]
    for name, rows in (("batch1.jsonl", batch1), ("batch2.jsonl", batch2),
                       ("articles.jsonl", articles)):
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in rows) + "\n",
                                     encoding="utf-8")
    (tmp_path / "docs.txt").write_text("# test documents\nnews.jsonl.gz\tn2\n", encoding="utf-8")
    return tmp_path


def test_sentence_rows_with_final_labels_become_a_table(labelled):
    df = pointer_samples([labelled / "batch1.jsonl", labelled / "batch2.jsonl"], labelled)
    assert list(df.columns) == ["id", "text", "cues", "tone", "group", "source"]
    # s-2 has no final label; the batch2 row has no uid and gets file|doc|start
    assert df["id"].tolist() == ["s-1", "s-3", "news.jsonl.gz|n1|28"]
    assert df["text"].tolist() == ["The pact is a win-win deal.",
                                   "The mayor praised the new council plan.",
                                   "Critics were not convinced."]
    assert df["cues"].tolist() == [["win_win"], [], []]
    assert df["tone"].tolist() == ["promotional", "promotional", "critical"]
    assert set(df["group"]) == {"news"} and set(df["source"]) == {"test_news"}


def test_the_document_list_keeps_only_its_documents(labelled):
    files = [labelled / "batch1.jsonl", labelled / "batch2.jsonl"]
    df = pointer_samples(files, labelled, documents=labelled / "docs.txt")
    assert df["id"].tolist() == ["s-3"]
    assert read_document_list(labelled / "docs.txt") == {("news.jsonl.gz", "n2")}
    arts = pointer_samples([labelled / "articles.jsonl"], labelled,
                           documents=labelled / "docs.txt")
    assert arts["id"].tolist() == ["a-1"] and arts["cues"].tolist() == [["commitment"]]
    assert arts["text"].tolist() == [LABEL_DOCS[1]["text"]]
    (labelled / "other.txt").write_text("news.jsonl.gz\tn1\n", encoding="utf-8")
    assert pointer_samples([labelled / "articles.jsonl"], labelled,
                           documents=labelled / "other.txt").empty


def test_targets_get_offsets_relative_to_their_sentence(labelled):
    df = pointer_samples([labelled / "batch1.jsonl", labelled / "articles.jsonl"], labelled,
                         unit="target")
    assert df["id"].tolist() == ["s-3#0", "s-3#1"]  # articles and s-1 carry no targets
    assert df["target_start"].tolist() == [4, 26] and df["target_end"].tolist() == [9, 33]
    assert [t[a:b] for t, a, b in zip(df["text"], df["target_start"], df["target_end"])] \
        == ["mayor", "council"] == df["target"].tolist()
    assert df["tone"].tolist() == ["neutral", "promotional"]


def test_bad_label_files_are_named(labelled):
    (labelled / "bad.jsonl").write_text(
        (labelled / "batch2.jsonl").read_text(encoding="utf-8").strip() + "\n{oops\n",
        encoding="utf-8")
    with pytest.raises(PointerError, match=r"bad\.jsonl:2: not JSON"):
        pointer_samples([labelled / "bad.jsonl"], labelled)
    with pytest.raises(ValueError, match="unit"):
        pointer_samples([labelled / "batch1.jsonl"], labelled, unit="paragraph")
    with pytest.raises(PointerError, match="not found"):
        pointer_samples([labelled / "missing.jsonl"], labelled)
    row = json.loads((labelled / "batch1.jsonl").read_text(encoding="utf-8").splitlines()[2])
    row["final"]["targets"][0]["start"] = 0  # before the sentence's start in the document
    (labelled / "far.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    with pytest.raises(PointerError, match=r"far\.jsonl:1: row 's-3': target 0"):
        pointer_samples([labelled / "far.jsonl"], labelled, unit="target")
    assert len(pointer_samples([labelled / "far.jsonl"], labelled)) == 1  # sentences: fine
    (labelled / "tabless.txt").write_text("news.jsonl.gz n2\n", encoding="utf-8")
    with pytest.raises(PointerError, match=r"tabless\.txt:1"):
        pointer_samples([labelled / "batch1.jsonl"], labelled,
                        documents=labelled / "tabless.txt")
