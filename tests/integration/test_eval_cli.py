"""``framing eval``: a suite round trip, suite path checks, and one labelled file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import framing
from framing.cli import main
from framing.evaluation.suite import SuiteError, load_suite

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Sentences written for these tests.
TONE_SET = [
    ("The festival was a wonderful success and visitors were delighted.", "promotional"),
    ("Farmers praised the excellent new irrigation scheme.", "promotional"),
    ("The clinic's friendly staff won an award for outstanding care.", "promotional"),
    ("Volunteers celebrated a great year of happy, thriving gardens.", "promotional"),
    ("The tram line runs from the station to the university.", "neutral"),
    ("The panel gathers once more in early June to review bids.", "neutral"),
    ("The report covers the period from January to April.", "neutral"),
    ("Shops on the main street open at nine in the morning.", "neutral"),
    ("The collapse of the dam was a terrible, deadly disaster.", "critical"),
    ("Angry parents blamed the board for the awful, corrupt contract.", "critical"),
    ("Investigators said the fraud caused painful losses for pensioners.", "critical"),
    ("The ugly dispute left the town bitter and divided.", "critical"),
]

CUE_SET = [
    ("Both capitals described the pipeline as a win-win project.", ["win_win"]),
    ("The trade pact brings mutual benefits to farmers on each side.", ["win_win"]),
    ("The minister vowed to finish the school programme by autumn.", ["commitment"]),
    ("The agency will continue to fund rural clinics next year.", ["commitment"]),
    ("Activists said the new law silenced independent reporters.", ["external_criticism"]),
    ("Critics argue the loan terms are far too harsh.", ["external_criticism"]),
    ("The rail link was finished ahead of schedule.", ["achievement"]),
    ("Delegates urged restraint after the border incident.", ["peaceful_coexistence"]),
    ("A ministry aide called the leaked memo groundless speculation.", ["counter_criticism"]),
    ("The bakery sells rye bread every Thursday.", []),
    ("Showers should reach the coastal hills by Monday evening.", []),
    ("The project still faces serious challenges, and the envoy pledged more support.",
     ["challenge_acknowledged", "commitment"]),
]


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture
def suite_dir(tmp_path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    _write_jsonl(data / "tone.jsonl", [{"id": f"t{i}", "text": t, "label": lab}
                                       for i, (t, lab) in enumerate(TONE_SET)])
    _write_jsonl(data / "cues.jsonl", [{"id": f"c{i}", "text": t, "cues": labs}
                                       for i, (t, labs) in enumerate(CUE_SET)])
    (tmp_path / "suite.yaml").write_text(
        "name: tiny\n"
        "root: .\n"
        "output: out\n"
        "n_boot: 50\n"
        "datasets:\n"
        "  tone: {path: data/tone.jsonl, task: tone, label: label}\n"
        "  cues: {path: data/cues.jsonl, task: cues, label: cues, label_set: builtin}\n"
        "scorers:\n"
        "  vader: {tone: vader, cues: false}\n"
        "  patterns: {tone: null, cues: patterns}\n"
        "runs:\n"
        "  - {dataset: tone, scorers: [vader]}\n"
        "  - {dataset: cues, scorers: [patterns], tune: dev}\n",
        encoding="utf-8")
    return tmp_path


def test_suite_round_trip(suite_dir, capsys):
    rc = main(["eval", "--suite", str(suite_dir / "suite.yaml")])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    out = suite_dir / "out"
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "# Evaluation suite `tiny`" in summary
    assert "| vader |" in summary and "| patterns |" in summary
    assert "50 resamples" in summary
    # one JSON report per run, named after dataset and tuning
    tone = json.loads((out / "tone_shipped.json").read_text())
    cues = json.loads((out / "cues_dev-tuned.json").read_text())
    assert tone["task"] == "tone" and tone["n"] == 12
    assert tone["dataset"] == "data/tone.jsonl"
    assert tone["scorers"]["vader"]["tone_scorer"] == "baseline-vader"
    assert tone["settings"]["n_boot"] == 50
    assert tone["framing_version"] == framing.__version__
    assert cues["task"] == "cues"
    assert cues["labels"] == framing.load_catalogue().ids
    assert cues["settings"]["tune"] == "dev"
    # metrics on the eval split only: the rows split_samples leaves out of dev
    samples = framing.load_samples(suite_dir / "data" / "cues.jsonl", "cues",
                                   label_set=framing.load_catalogue().ids)
    _, eval_rows = framing.split_samples(samples, 0.3, seed=13)
    assert cues["n"] == len(eval_rows) < 12
    assert cues["results"]["patterns"]["fitted_on_dev"]["thresholds"]
    assert tone["results"]["vader"]["fitted_on_dev"] is None
    # every cue sentence carries one of the catalogue's phrases, and VADER gets these
    # plainly worded sentences right
    assert cues["results"]["patterns"]["micro_f1"]["value"] == pytest.approx(1.0)
    assert tone["results"]["vader"]["accuracy"]["value"] >= 0.9
    summ = json.loads((out / "summary.json").read_text())
    assert set(summ) == {"tone_shipped", "cues_dev-tuned"}
    assert summ["tone_shipped"]["macro_f1"]["vader"] == pytest.approx(
        tone["results"]["vader"]["macro_f1"]["value"], abs=1e-4)
    assert (out / "tone_shipped.md").is_file()
    assert (out / "tone_shipped_confusion.png").read_bytes()[:8] == PNG_MAGIC
    assert "vader" in captured.out  # the Markdown goes to stdout
    assert str(out) in captured.err


def test_suite_dataset_leaving_root(tmp_path, capsys):
    (tmp_path / "suite").mkdir()
    _write_jsonl(tmp_path / "x.jsonl", [{"id": 1, "text": "A line.", "label": "neutral"}])
    path = tmp_path / "suite" / "s.yaml"
    path.write_text(
        "root: .\n"
        "datasets:\n"
        "  outside: {path: ../x.jsonl, task: tone}\n"
        "scorers:\n"
        "  vader: {tone: vader, cues: false}\n"
        "runs:\n"
        "  - {dataset: outside}\n", encoding="utf-8")
    rc = main(["eval", "--suite", str(path)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "leaves the suite root" in err
    assert "outside" in err and "../x.jsonl" in err
    assert not (tmp_path / "suite" / "results").exists()
    with pytest.raises(SuiteError, match="leaves the suite root"):
        load_suite(path)


@pytest.mark.parametrize("body,match", [
    ("datasets: {}\nscorers: {a: {}}\nruns: [{dataset: d}]\n", "'datasets'"),
    ("output: ../../elsewhere\ndatasets: {d: {path: d.jsonl, task: tone}}\n"
     "scorers: {a: {}}\nruns: [{dataset: d}]\n", "leaves the suite root"),
    ("datasets: {d: {path: d.jsonl, task: tone}}\nscorers: {a: {}}\n"
     "runs: [{dataset: other}]\n", "unknown dataset 'other'"),
    ("datasets: {d: {path: d.jsonl, task: tone}}\nscorers: {a: {}}\n"
     "runs: [{dataset: d, scorers: [b]}]\n", "unknown scorer 'b'"),
    ("datasets: {d: {task: tone}}\nscorers: {a: {}}\nruns: [{dataset: d}]\n", "needs 'path'"),
])
def test_invalid_suites(tmp_path, capsys, body, match):
    path = tmp_path / "bad.yaml"
    path.write_text(body, encoding="utf-8")
    assert main(["eval", "--suite", str(path)]) == 2
    err = capsys.readouterr().err
    assert match in err
    assert str(path) in err


def test_eval_single_file(tmp_path, capsys):
    data = tmp_path / "labelled.jsonl"
    _write_jsonl(data, [{"text": t, "label": lab} for t, lab in TONE_SET])
    out = tmp_path / "reports"
    rc = main(["eval", str(data), "--task", "tone", "--scorer", "vader", "--n-boot", "50",
               "-o", str(out)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    report = json.loads((out / "labelled.json").read_text())
    assert list(report["results"]) == ["vader"]
    assert report["n"] == 12
    assert report["settings"]["n_boot"] == 50
    assert "| vader |" in (out / "labelled.md").read_text()
    assert (out / "labelled_confusion.png").read_bytes()[:8] == PNG_MAGIC
    assert "### labelled" in captured.out
    assert "reports written" in captured.err



@pytest.mark.real_model  # framing eval loads the default encoder
def test_eval_small_file_warns_everywhere(tmp_path, capsys):
    # five rows: a perfect macro-F1 with a degenerate interval must not pass unremarked
    data = tmp_path / "five.jsonl"
    _write_jsonl(data, [{"text": t, "label": lab} for t, lab in TONE_SET[::2][:5]])
    out = tmp_path / "reports"
    rc = main(["eval", str(data), "--task", "tone", "--scorer", "vader", "--n-boot", "50",
               "-o", str(out)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    report = json.loads((out / "five.json").read_text())
    assert report["n"] == 5
    (warning,) = report["warnings"]
    assert "5 rows" in warning and "unreliable" in warning
    assert warning in captured.out  # the printed Markdown
    assert warning in (out / "five.md").read_text()
    assert "warning" in captured.err and "5 rows" in captured.err


def _readme_evaluate_snippet() -> str:
    """The README's Python block that calls ``framing.evaluate(``."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    found = [b for b in blocks if "framing.evaluate(" in b]
    assert len(found) == 1, "expected one README snippet calling framing.evaluate("
    return found[0]


@pytest.mark.real_model  # the snippet builds the default analyzer
def test_readme_evaluate_snippet_runs(tmp_path, monkeypatch, capsys):
    # the README's call on a file with only text and label (it raised ColumnError for 'id')
    code = _readme_evaluate_snippet()
    data = re.search(r'"([^"]+\.jsonl)"', code).group(1)
    _write_jsonl(tmp_path / data, [{"text": t, "label": lab} for t, lab in TONE_SET])
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    rep = namespace["rep"]
    assert isinstance(rep, framing.EvalReport) and rep.n == len(TONE_SET)
    assert rep.reference in rep.results
    # each scorer's name says which tone scorer it measured (the snippet once called the
    # shipped model "similarity")
    for name, cfg in rep.configs.items():
        assert name in re.split(r"[-:]", cfg["tone_scorer"]), (name, cfg["tone_scorer"])
    assert rep.warnings and rep.warnings[0] in capsys.readouterr().out
    saved = list((tmp_path / "reports").glob("*.json"))
    assert len(saved) == 1 and json.loads(saved[0].read_text())["n"] == len(TONE_SET)

def test_eval_single_file_cues_tuned(tmp_path, capsys):
    data = tmp_path / "cue_rows.jsonl"
    _write_jsonl(data, [{"text": t, "cues": labs} for t, labs in CUE_SET])
    out = tmp_path / "reports"
    rc = main(["eval", str(data), "--task", "cues", "--scorer", "patterns", "--tune", "dev",
               "--n-boot", "30", "-o", str(out)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    report = json.loads((out / "cue_rows.json").read_text())
    assert report["labels"] == framing.load_catalogue().ids
    assert report["settings"]["tune"] == "dev" and report["n"] < 12
    assert report["results"]["patterns"]["micro_f1"]["value"] == pytest.approx(1.0)
    assert (out / "cue_rows_reliability.png").read_bytes()[:8] == PNG_MAGIC
    assert "thresholds fitted on" in captured.out


def test_eval_frames_has_no_cli_scorer(tmp_path, capsys):
    data = tmp_path / "frames.jsonl"
    _write_jsonl(data, [{"text": "A line about budgets.", "frames": ["economy"]}])
    assert main(["eval", str(data), "--task", "frames"]) == 2
    assert "no built-in frame scorer" in capsys.readouterr().err

def test_eval_needs_data_or_suite(capsys):
    assert main(["eval"]) == 2
    assert "--suite" in capsys.readouterr().err


def test_eval_missing_label_column(tmp_path, capsys):
    data = tmp_path / "d.jsonl"
    _write_jsonl(data, [{"text": t, "stance": lab} for t, lab in TONE_SET[:3]])
    assert main(["eval", str(data), "--scorer", "vader"]) == 2
    err = capsys.readouterr().err
    assert "'label'" in err and "'stance'" in err


def _require_suite(tmp_path: Path, data_name: str) -> Path:
    path = tmp_path / "req.yaml"
    path.write_text(
        "root: .\noutput: out\nn_boot: 20\n"
        f"datasets:\n  d: {{path: {data_name}, task: tone, target: target, require: [target]}}\n"
        "scorers:\n  vader: {tone: vader, cues: false}\n"
        "runs:\n  - {dataset: d}\n", encoding="utf-8")
    return path


# rows 0, 4 and 8 carry a target mention
_TARGETS = {0: "festival", 4: "tram", 8: "dam"}


def test_suite_require_drops_rows_without_target(tmp_path, capsys):
    _write_jsonl(tmp_path / "d.jsonl", [{"id": i, "text": t, "label": lab,
                                         "target": _TARGETS.get(i)}
                                        for i, (t, lab) in enumerate(TONE_SET)])
    rc = main(["eval", "--suite", str(_require_suite(tmp_path, "d.jsonl"))])
    assert rc == 0, capsys.readouterr().err
    report = json.loads((tmp_path / "out" / "d_shipped.json").read_text())
    assert report["n"] == 3


def test_suite_require_with_csv_dataset(tmp_path, capsys):
    import pandas as pd

    pd.DataFrame([{"id": i, "text": t, "label": lab, "target": _TARGETS.get(i, "")}
                  for i, (t, lab) in enumerate(TONE_SET)]).to_csv(tmp_path / "d.csv",
                                                                   index=False)
    rc = main(["eval", "--suite", str(_require_suite(tmp_path, "d.csv"))])
    assert rc == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "out" / "d_shipped.json").read_text())["n"] == 3


def test_suite_require_drops_empty_strings(tmp_path, capsys):
    _write_jsonl(tmp_path / "d.jsonl", [{"id": i, "text": t, "label": lab,
                                         "target": _TARGETS.get(i, "")}
                                        for i, (t, lab) in enumerate(TONE_SET)])
    rc = main(["eval", "--suite", str(_require_suite(tmp_path, "d.jsonl"))])
    assert rc == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "out" / "d_shipped.json").read_text())["n"] == 3
