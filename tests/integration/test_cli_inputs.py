"""``framing score`` with a quoted glob pattern and with several INPUT paths."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import framing
from framing.cli import main

TEXTS = ["The two cities signed a great new water deal.",
         "Critics condemned the plan. They said it would cost too much.",
         "Both sides found the deal good for their own people.",
         "Work on the school is still behind and people are angry."]


@pytest.fixture
def corpus(tmp_path) -> Path:
    root = tmp_path / "corpus"
    root.mkdir()
    (root / "a.jsonl").write_text(
        "".join(json.dumps({"text": t, "paper": "Post"}) + "\n" for t in TEXTS[:2]),
        encoding="utf-8")
    pd.DataFrame({"text": TEXTS[2:], "paper": ["Times", "Times"]}).to_parquet(
        root / "b.parquet")
    (root / "notes.md").write_text("not a corpus file")
    return root


def _score(inputs: list[str], out: Path, model: Path, *extra: str) -> int:
    return main(["score", *inputs, "-o", str(out), "--model", str(model), "--tone",
                 "similarity", "--frames", "none", "--no-progress", *extra])


def test_a_quoted_glob_is_expanded_by_framing(corpus, tmp_path, tiny_model_dir, capsys,
                                              monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "scores"
    assert _score(["corpus/*.*[lt]"], out, tiny_model_dir, "--outlet", "paper") == 0, \
        capsys.readouterr().err
    assert "Scored 4 articles" in capsys.readouterr().err
    frame = framing.read_scores(out)
    a, b = corpus / "a.jsonl", corpus / "b.parquet"
    assert sorted(frame["id"]) == [f"{a}:1", f"{a}:2", f"{b}:1", f"{b}:2"]
    assert frame["error"].isna().all() and frame["tone"].notna().all()
    assert sorted(frame["outlet"]) == ["Post", "Post", "Times", "Times"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["input"]["kind"] == "files" and manifest["input"]["files"] == 2

    # a pattern that matches nothing: a one-line error naming it, no traceback
    assert _score(["corpus/*.csv"], tmp_path / "none", tiny_model_dir) == 2
    err = capsys.readouterr().err
    assert "No file matches corpus/*.csv" in err and "Traceback" not in err


def test_several_inputs_are_read_in_the_order_given(corpus, tmp_path, tiny_model_dir, capsys):
    out = tmp_path / "scores.jsonl"
    b, a = str(corpus / "b.parquet"), str(corpus / "a.jsonl")
    assert _score([b, a], out, tiny_model_dir) == 0, capsys.readouterr().err
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [f"{b}:1", f"{b}:2", f"{a}:1", f"{a}:2"]
    assert [r["row"] for r in rows] == [1, 2, 1, 2]


def test_help_says_globs_and_several_inputs_work(capsys):
    with pytest.raises(SystemExit):
        main(["score", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "glob pattern" in text and "'corpus/*.parquet'" in text
    assert "several INPUTs are read in the order given" in text
