"""The ``framing`` command line, in-process with a tiny model and once as a real script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import framing
from framing.cli import main
from synth_scores import make_scores

ARTICLES = [
    {"text": "The two cities signed a great win-win water deal and residents were delighted.", "id": "n1",
     "paper": "Coast Post"},
    {"text": "Critics condemned the plan. They said it would cost too much.", "id": "n2",
     "paper": "Inland News"},
]


@pytest.fixture
def corpus(tmp_path) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES), encoding="utf-8")
    return path


def _score(corpus: Path, out: Path, model: Path, *extra: str) -> int:
    return main(["score", str(corpus), "-o", str(out), "--model", str(model), "--no-progress",
                 "--tone", "similarity",
                 *extra])


def test_score_writes_output_and_summary(corpus, tmp_path, tiny_model_dir, capsys):
    out = tmp_path / "out.parquet"
    rc = _score(corpus, out, tiny_model_dir, "--id", "id", "--outlet", "paper")
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    frame = pd.read_parquet(out)
    assert len(frame) == 2
    assert list(frame["id"]) == ["n1", "n2"]
    assert list(frame["outlet"]) == ["Coast Post", "Inland News"]
    assert frame["error"].isna().all()
    assert frame["tone"].notna().all()
    assert any(c.endswith("_evidence") for c in frame.columns)
    assert "articles/s" in captured.err
    assert "Scored 2 articles" in captured.err
    assert str(out) in captured.err
    assert captured.out == ""


def test_score_vader_and_jsonl_output(corpus, tmp_path, tiny_model_dir, capsys):
    out = tmp_path / "out.jsonl"
    assert _score(corpus, out, tiny_model_dir, "--tone", "vader", "--batch-size", "1",
                  "--chunk-size", "1") == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["tone_scorer"] for r in rows] == ["baseline-vader"] * 2
    assert rows[0]["tone"] > 0 > rows[1]["tone"]  # VADER: "great", "delighted" vs "condemned"


def test_no_evidence_drops_evidence_columns(corpus, tmp_path, tiny_model_dir):
    out = tmp_path / "out.parquet"
    assert _score(corpus, out, tiny_model_dir, "--no-evidence") == 0
    cols = list(pd.read_parquet(out).columns)
    assert not [c for c in cols if c.endswith("_evidence")]
    assert "most_promotional" not in cols and "most_critical" not in cols
    assert "cue_win_win" in cols and "cue_win_win_present" in cols


def test_missing_column_exits_2_and_lists_columns(corpus, tmp_path, tiny_model_dir, capsys):
    out = tmp_path / "out.parquet"
    rc = _score(corpus, out, tiny_model_dir, "--text", "body")
    err = capsys.readouterr().err
    assert rc == 2
    assert "'body'" in err
    for col in ("'text'", "'id'", "'paper'"):
        assert col in err
    assert "Traceback" not in err
    assert not out.exists()


def test_nonexistent_input_exits_2(tmp_path, tiny_model_dir, capsys):
    missing = tmp_path / "nope.jsonl"
    rc = _score(missing, tmp_path / "out.parquet", tiny_model_dir)
    err = capsys.readouterr().err
    assert rc == 2
    assert "nope.jsonl" in err
    assert err.startswith("framing score: error:")


def test_unknown_input_format_exits_2(tmp_path, tiny_model_dir, capsys):
    src = tmp_path / "in.docx"
    src.write_text("text\n")
    assert _score(src, tmp_path / "out.parquet", tiny_model_dir) == 2
    assert "in.docx" in capsys.readouterr().err


def test_bad_model_exits_2(corpus, tmp_path, capsys):
    rc = main(["score", str(corpus), "-o", str(tmp_path / "o.parquet"), "--no-progress",
               "--model", "someorg/some-model"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "allow_network" in err or "--allow-network" in err
    rc = main(["score", str(corpus), "-o", str(tmp_path / "o.parquet"), "--no-progress",
               "--model", str(tmp_path / "no-model-here")])
    assert rc == 2
    assert "does not exist" in capsys.readouterr().err


def test_missing_output_option_is_a_usage_error(corpus, capsys):
    with pytest.raises(SystemExit) as info:
        main(["score", str(corpus)])
    assert info.value.code == 2
    assert "--output" in capsys.readouterr().err


def test_cues_lists_the_builtin_cues(capsys):
    ids = framing.load_catalogue().ids
    assert len(ids) == 10
    assert main(["cues"]) == 0
    out = capsys.readouterr().out
    listed = [line.split()[0] for line in out.splitlines()[1:] if line.startswith("  ")
              and not line.startswith("   ")]
    assert listed == ids
    assert "10 cues" in out.splitlines()[0]


def test_cues_with_examples(capsys):
    assert main(["cues", "--examples", "1"]) == 0
    out = capsys.readouterr().out
    assert out.count("e.g. ") == 10


def test_cues_json(capsys):
    assert main(["cues", "--format", "json", "--examples", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["cues"]) == 10
    assert [c["id"] for c in data["cues"]] == framing.load_catalogue().ids
    for cue in data["cues"]:
        assert cue["exemplars"] >= 1
        assert 0 < cue["threshold"] < 1
        assert len(cue["examples"]) == min(2, cue["exemplars"])
    assert data["name"]


def test_cues_custom_catalogue(tmp_path, capsys):
    cat = tmp_path / "mine.yaml"
    cat.write_text(
        "name: mine\n"
        "cues:\n"
        "  - id: harbour_talk\n"
        "    name: Harbour talk\n"
        "    description: The sentence is about harbours.\n"
        "    patterns: ['\\bharbou?r\\b']\n"
        "    exemplars: ['Ships filled the harbour at dawn.']\n",
        encoding="utf-8")
    assert main(["cues", "--catalogue", str(cat), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "mine"
    assert [c["id"] for c in data["cues"]] == ["harbour_talk"]


@pytest.mark.parametrize("content", [
    "name: [unclosed\n",                         # invalid YAML
    "name: x\ncues:\n  - id: Bad-Id\n",          # invalid cue id
])
def test_cues_bad_catalogue_exits_2(tmp_path, capsys, content):
    bad = tmp_path / "bad.yaml"
    bad.write_text(content, encoding="utf-8")
    assert main(["cues", "--catalogue", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err
    assert "Traceback" not in err


def test_cues_missing_catalogue_exits_2(tmp_path, capsys):
    assert main(["cues", "--catalogue", str(tmp_path / "gone.yaml")]) == 2
    assert "gone.yaml" in capsys.readouterr().err


def test_score_with_bad_catalogue_exits_2(corpus, tmp_path, tiny_model_dir, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    out = tmp_path / "out.parquet"
    assert _score(corpus, out, tiny_model_dir, "--catalogue", str(bad)) == 2
    assert "bad.yaml" in capsys.readouterr().err
    assert not out.exists()


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"framing {framing.__version__}"


def test_no_command_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2


def _framing_command() -> list[str]:
    script = Path(sys.executable).with_name("framing")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which("framing")
    if found:
        return [found]
    return [sys.executable, "-m", "framing.cli"]


def test_console_script_on_the_example_corpus(tmp_path):
    out = tmp_path / "example.parquet"
    cmd = _framing_command() + [
        "score", str(framing.example_corpus_path()), "--text", "body", "--id", "id",
        "--outlet", "outlet", "--date", "date", "--title", "title", "-o", str(out),
        "--no-progress"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Scored 48 articles" in proc.stderr
    assert "articles/s" in proc.stderr
    frame = pd.read_parquet(out)
    assert len(frame) == 48
    assert frame["id"].is_unique
    assert frame["error"].isna().all()
    assert frame["tone"].between(-1, 1).all()
    assert frame["outlet"].nunique() == 4
    assert set(frame["tone_label"]) <= {"promotional", "neutral", "critical"}
    expected = [json.loads(line)["id"] for line in
                framing.example_corpus_path().read_text(encoding="utf-8").splitlines()
                if line.strip()]
    assert list(frame["id"]) == expected


# Modules a light command must not load: torch and transformers (the models) and
# matplotlib (plots, only when a report is written).
HEAVY = ("torch", "transformers", "matplotlib")


def _loaded_heavy_modules(code: str) -> list[str]:
    """Run ``code`` in a fresh interpreter; the heavy modules it left in sys.modules."""
    probe = (f"import sys\n{code}\n"
             f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("HEAVY="), proc.stdout[-3000:]
    return [m for m in last[len("HEAVY="):].split(",") if m]


def test_building_the_parser_and_help_stay_light():
    code = ("import contextlib, io\n"
            "import framing.cli as cli\n"
            "cli.build_parser()\n"
            "for argv in (['--help'], ['compare', '--help'], ['score', '--help'],\n"
            "             ['eval', '--help'], ['train', 'tone', '--help']):\n"
            "    with contextlib.redirect_stdout(io.StringIO()):\n"
            "        try:\n"
            "            cli.main(argv)\n"
            "        except SystemExit as exc:\n"
            "            assert exc.code == 0, argv\n")
    assert _loaded_heavy_modules(code) == []


def test_compare_runs_without_torch(tmp_path):
    scores = tmp_path / "scores.parquet"
    make_scores({"A": 30, "B": 30}, tone_mean={"A": 0.4}, seed=3).to_parquet(scores)
    code = ("from framing.cli import main\n"
            f"assert main(['compare', {str(scores)!r}, '--n-boot', '50',\n"
            "             '--n-permutations', '99']) == 0\n")
    assert "torch" not in _loaded_heavy_modules(code)


def test_cli_package_exports_main_and_build_parser_only():
    import framing.cli

    assert sorted(framing.cli.__all__) == ["build_parser", "main"]
    assert callable(framing.cli.main) and callable(framing.cli.build_parser)


def test_help_lists_the_commands_in_order(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    positions = [out.index(f"    {name} ") for name in
                 ("score", "cues", "eval", "train", "compare", "sample")]
    assert positions == sorted(positions)


def test_python_dash_m_framing_cli():
    proc = subprocess.run([sys.executable, "-m", "framing.cli", "--version"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == f"framing {framing.__version__}"


# -- ids, the text hash and counts in single-file output ----------------------------------------
def test_an_id_column_gives_the_ids_unless_row_numbers_are_asked_for(corpus, tmp_path,
                                                                      tiny_model_dir, capsys):
    out = tmp_path / "out.csv"
    assert _score(corpus, out, tiny_model_dir) == 0
    assert list(pd.read_csv(out, dtype={"id": str})["id"]) == ["n1", "n2"]
    assert _score(corpus, out, tiny_model_dir, "--id", "") == 0
    assert list(pd.read_csv(out, dtype={"id": str})["id"]) == ["1", "2"]
    assert _score(corpus, out, tiny_model_dir, "--id", "doc") == 2
    err = capsys.readouterr().err
    assert "'doc' not found" in err and "'id'" in err


@pytest.mark.parametrize("name", ["out.csv", "out.jsonl", "out.parquet", "out.tsv"])
def test_single_file_output_carries_the_text_hash(corpus, tmp_path, tiny_model_dir, name):
    out = tmp_path / name
    assert _score(corpus, out, tiny_model_dir) == 0
    frame = framing.read_scores(out) if name != "out.tsv" else pd.read_csv(out, sep="\t")
    assert list(frame["text_sha256"]) == [framing.io.runs.text_key(a["text"], None)
                                          for a in ARTICLES]


def test_one_article_is_counted_in_the_singular(tmp_path, tiny_model_dir, capsys):
    src = tmp_path / "one.jsonl"
    src.write_text(json.dumps(ARTICLES[0]) + "\n", encoding="utf-8")
    assert _score(src, tmp_path / "out.jsonl", tiny_model_dir) == 0
    assert "Scored 1 article (0 with errors" in capsys.readouterr().err


# -- a resume with nothing left to do builds no model ------------------------------------------
def _refuse_to_build_models(monkeypatch) -> None:
    from framing.encoding.encoder import Encoder
    from framing.pipeline.analyzer import Analyzer

    def refuse(self, *args, **kwargs):
        raise AssertionError(f"a {type(self).__name__} was built")

    monkeypatch.setattr(Analyzer, "__init__", refuse)
    monkeypatch.setattr(Encoder, "__init__", refuse)


def test_a_resume_with_nothing_left_builds_no_model(corpus, tmp_path, tiny_model_dir,
                                                     monkeypatch, capsys):
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    out = tmp_path / "scores"
    assert _score(corpus, out, model, "--outlet", "paper") == 0
    scores = framing.read_scores(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["request"]["analyzer"]["tone"]
    capsys.readouterr()

    _refuse_to_build_models(monkeypatch)
    # the same command, or one that differs only in speed: nothing left, no model built
    for extra in ((), ("--batch-size", "8")):
        assert _score(corpus, out, model, "--outlet", "paper", *extra) == 0
        err = capsys.readouterr().err
        assert "Scored 0 articles" in err and "2 skipped as already done" in err
    pd.testing.assert_frame_equal(framing.read_scores(out), scores)
    again = json.loads((out / "manifest.json").read_text())
    assert again["status"] == "complete"
    for key in ("analyzer", "schema", "created", "input", "columns", "request"):
        assert again[key] == manifest[key]

    # changed options and inputs are refused with the errors of a full check
    for extra, what in ((("--no-evidence",), "evidence"), (("--shard-size", "1"), "shard_size"),
                        (("--date", "paper"), "columns.date")):
        assert _score(corpus, out, model, "--outlet", "paper", *extra) == 2
        err = capsys.readouterr().err
        assert "Cannot resume" in err and what in err and "--overwrite" in err
    # an option or a model file the analyzer depends on: it is built to compare in full
    with pytest.raises(AssertionError, match="was built"):
        _score(corpus, out, model, "--outlet", "paper", "--tone", "vader")
    config = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**config, "note": "changed"}))
    with pytest.raises(AssertionError, match="was built"):
        _score(corpus, out, model, "--outlet", "paper")
    monkeypatch.undo()
    assert _score(corpus, out, model, "--outlet", "paper") == 2
    assert "model_files.encoder" in capsys.readouterr().err
    (model / "config.json").write_text(json.dumps(config))
    assert _score(corpus, out, model, "--outlet", "paper", "--tone", "vader") == 2
    assert "tone_scorer" in capsys.readouterr().err
    _refuse_to_build_models(monkeypatch)
    corpus.write_text(corpus.read_text() + json.dumps(ARTICLES[0]) + "\n", encoding="utf-8")
    assert _score(corpus, out, model, "--outlet", "paper") == 2
    assert "input.size" in capsys.readouterr().err


def test_a_resume_with_nothing_left_loads_no_torch(corpus, tmp_path, tiny_model_dir):
    out = tmp_path / "scores"
    args = ["score", str(corpus), "-o", str(out), "--model", str(tiny_model_dir),
            "--tone", "similarity", "--no-progress"]
    assert main(args) == 0
    loaded = _loaded_heavy_modules(f"from framing.cli import main\nassert main({args!r}) == 0")
    assert "torch" not in loaded and "transformers" not in loaded
