"""Labels as pointers into corpora kept elsewhere: round trip, verification, refusals."""

from __future__ import annotations

import gzip
import json

import pytest

from framing.io.pointers import PointerError, TextPointer, resolve_pointers, text_sha256

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
