"""eval/tier_table.py: model tiers side by side from per-row prediction files, with paired
bootstrap differences against a reference tier. Synthetic prediction files only (ids and
labels made up here), so no corpus is needed."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from framing.core.labels import TONE_LABELS
from framing.stats.metrics import bootstrap_indices

EVAL = Path(__file__).resolve().parents[3] / "eval"


def _script(name: str):
    """Import eval/<name>.py as a module (the eval scripts are not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, EVAL / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


tt = _script("tier_table")
CUES = tt.CUES
N_BOOT = 300


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _gold_sentences(n: int, seed: int = 1) -> list[dict]:
    """Made-up gold labels for ``n`` sentences: one or two cues or none, a tone, and a
    critical or promotional target on every third sentence."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        cues = [] if i % 4 == 0 else sorted({CUES[int(rng.integers(10))]
                                             for _ in range(int(rng.integers(1, 3)))})
        targets = [str(rng.choice(["critical", "promotional"]))] if i % 3 == 0 else []
        out.append({"uid": f"s-{i:04d}", "gold_cues": cues,
                    "gold_tone": TONE_LABELS[int(rng.integers(3))],
                    "gold_target_tones": targets})
    return out


def _predict(gold: list[dict], accuracy: float, seed: int) -> list[dict]:
    """Predictions agreeing with gold on about ``accuracy`` of the rows, random elsewhere."""
    rng = np.random.default_rng(seed)
    out = []
    for g in gold:
        right = rng.random() < accuracy
        cues = g["gold_cues"] if right else sorted({CUES[int(rng.integers(10))]})
        tone = g["gold_tone"] if right else TONE_LABELS[int(rng.integers(3))]
        targets = [t if right else str(rng.choice(TONE_LABELS)) for t in g["gold_target_tones"]]
        out.append({**g, "cues": cues, "tone": tone, "target_tones": targets})
    return out


def _gold_news(n: int) -> list[dict]:
    return [{"id": f"g{i}:0-5", "row": i, "gold": TONE_LABELS[i % 3]} for i in range(n)]


def _predict_news(gold: list[dict], accuracy: float, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [{**g, "pred": g["gold"] if rng.random() < accuracy
             else TONE_LABELS[int(rng.integers(3))]} for g in gold]


@pytest.fixture()
def better_worse(tmp_path):
    gold = _gold_sentences(240)
    news = _gold_news(300)
    files = {}
    for tier, acc, seed in (("default", 0.35, 2), ("accurate", 0.95, 3)):
        files[tier] = {
            "real_sentences": _write(tmp_path / f"{tier}_s.jsonl", _predict(gold, acc, seed)),
            "newsmtsc": _write(tmp_path / f"{tier}_n.jsonl", _predict_news(news, acc, seed)),
        }
    return files


def _row(table: dict, dataset: str, measure: str) -> dict:
    return next(r for r in table["rows"] if r["dataset"] == dataset and r["measure"] == measure)


def test_a_clearly_better_tier_shows_a_positive_difference_with_a_small_p(better_worse, tmp_path):
    table = tt.build_table(better_worse, "default", n_boot=N_BOOT, labels=tmp_path)
    assert [r["measure"] for r in table["rows"]] == ["tone", "cues", "tone", "targets"]
    for row in table["rows"]:
        cell_ref, cell = row["tiers"]["default"], row["tiers"]["accurate"]
        assert cell["low"] <= cell["value"] <= cell["high"]
        assert cell["value"] > cell_ref["value"]
        c = row["comparisons"]["accurate"]
        assert c["difference"].value == pytest.approx(cell["value"] - cell_ref["value"])
        assert c["difference"].low > 0
        assert c["p_value"] < 0.01
        assert c["n_rows"] == cell["n"] == cell_ref["n"]
    assert _row(table, "real_sentences", "targets")["gold_classes"] == ["critical", "promotional"]
    text = tt.to_markdown(table, "python eval/tier_table.py ...")
    assert "| measure | default (reference) | accurate | accurate − default |" in text
    assert f"< {1 / N_BOOT:g}" in text or "| 0.0" in text


def test_identical_predictions_give_difference_zero_and_p_one(better_worse):
    files = {"default": better_worse["default"], "copy": dict(better_worse["default"])}
    table = tt.build_table(files, "default", n_boot=N_BOOT)
    for row in table["rows"]:
        c = row["comparisons"]["copy"]
        d = c["difference"]
        assert (d.value, d.low, d.high) == (0.0, 0.0, 0.0)
        assert c["p_value"] == 1.0
        assert row["tiers"]["copy"] == row["tiers"]["default"]
    assert "| +0.000 [+0.000, +0.000] | 1.000 |" in tt.to_markdown(table, "cmd")


def test_cells_match_the_figures_the_evaluation_scripts_report(better_worse):
    table = tt.build_table({"default": better_worse["default"]}, "default", n_boot=N_BOOT)
    rows = tt.read_jsonl(better_worse["default"]["real_sentences"])
    y = np.array([TONE_LABELS.index(t) for r in rows for t in r["gold_target_tones"]])
    p = np.array([TONE_LABELS.index(t) for r in rows for t in r["target_tones"]])
    want = tt.macro_f1_over_gold_classes(y, p, N_BOOT)
    assert _row(table, "real_sentences", "targets")["tiers"]["default"] == \
        {**want.to_dict(), "n": len(y)}
    # the paired test's resampler is the same measure, resample by resample
    fn = tt.resampler("gold_classes", y, p)
    boots = fn(bootstrap_indices(len(y), N_BOOT, 0))
    assert float(fn(np.arange(len(y))[None])[0]) == pytest.approx(want.value)
    assert np.quantile(boots, [0.025, 0.975]) == pytest.approx([want.low, want.high])


def test_rows_in_one_file_only_are_matched_by_id_and_counted(tmp_path):
    gold = _gold_news(120)
    ref = _predict_news(gold[:100], 0.5, 4)
    other = _predict_news(gold[20:], 0.9, 5)[::-1]  # other order, 20 rows each side unmatched
    files = {"default": {"newsmtsc": _write(tmp_path / "a.jsonl", ref)},
             "accurate": {"newsmtsc": _write(tmp_path / "b.jsonl", other)}}
    table = tt.build_table(files, "default", n_boot=N_BOOT)
    c = _row(table, "newsmtsc", "tone")["comparisons"]["accurate"]
    assert (c["n_rows"], c["only_in_reference"], c["only_in_tier"]) == (80, 20, 20)
    # the difference is taken on the 80 shared rows, not on the two tiers' own rows
    shared = {r["id"] for r in ref} & {r["id"] for r in other}
    sub = {t: {"newsmtsc": _write(tmp_path / f"{t}_shared.jsonl",
                                  [r for r in rows if r["id"] in shared])}
           for t, rows in (("default", ref), ("accurate", other))}
    sub_row = _row(tt.build_table(sub, "default", n_boot=N_BOOT), "newsmtsc", "tone")
    assert c["difference"].value == pytest.approx(
        sub_row["tiers"]["accurate"]["value"] - sub_row["tiers"]["default"]["value"])
    assert "| 80 (20 only in reference; 20 only in this tier) |" in tt.to_markdown(table, "cmd")


def test_a_dataset_missing_for_one_tier_leaves_its_cells_empty_with_a_note(better_worse):
    files = {"default": better_worse["default"],
             "distilled": {"real_sentences": better_worse["accurate"]["real_sentences"]}}
    table = tt.build_table(files, "default", n_boot=N_BOOT)
    row = _row(table, "newsmtsc", "tone")
    assert row["tiers"]["distilled"] is None
    assert row["comparisons"]["distilled"]["difference"] is None
    assert "no predictions for distilled" in row["comparisons"]["distilled"]["note"]
    assert any("distilled" in n and "NewsMTSC" in n for n in table["notes"])
    assert table["missing"] == ["real_articles"]  # no tier has it: its rows are left out
    assert {r["dataset"] for r in table["rows"]} == {"newsmtsc", "real_sentences"}
    text = tt.to_markdown(table, "cmd")
    news = next(line for line in text.splitlines() if line.startswith("| NewsMTSC"))
    assert news.split(" | ")[2] == "—"
    assert "distilled: no NewsMTSC dev predictions given" in text


def test_sentence_gold_labels_come_from_the_labels_directory(tmp_path):
    labels = tmp_path / "labels"
    labels.mkdir()
    gold = _gold_sentences(60)
    _write(labels / "batch1.jsonl",
           [{"uid": g["uid"], "final": {"cues": g["gold_cues"], "tone": g["gold_tone"],
                                        "targets": [{"start": 0, "end": 1, "tone": t}
                                                    for t in g["gold_target_tones"]]}}
            for g in gold])
    with_gold = _predict(gold, 0.6, 6)
    bare = [{k: r[k] for k in ("uid", "cues", "tone", "target_tones")} for r in with_gold]
    a = tt.build_table({"x": {"real_sentences": _write(tmp_path / "a.jsonl", with_gold)}}, "x",
                       n_boot=N_BOOT, labels=labels)
    b = tt.build_table({"x": {"real_sentences": _write(tmp_path / "b.jsonl", bare)}}, "x",
                       n_boot=N_BOOT, labels=labels)
    assert a["rows"] == b["rows"]
    _write(tmp_path / "c.jsonl", [{**bare[0], "uid": "s-9999"}])
    with pytest.raises(ValueError, match="no gold labels"):
        tt.build_table({"x": {"real_sentences": tmp_path / "c.jsonl"}}, "x", labels=labels)


def test_matched_rows_with_other_gold_labels_are_refused(tmp_path):
    gold = _gold_news(40)
    other = [{**r, "gold": "neutral"} for r in _predict_news(gold, 1.0, 7)]
    files = {"a": {"newsmtsc": _write(tmp_path / "a.jsonl", _predict_news(gold, 1.0, 7))},
             "b": {"newsmtsc": _write(tmp_path / "b.jsonl", other)}}
    with pytest.raises(ValueError, match="different gold labels"):
        tt.build_table(files, "a", n_boot=N_BOOT)
    _write(tmp_path / "dup.jsonl", [gold[0] | {"pred": "neutral"}] * 2)
    with pytest.raises(ValueError, match="appears twice"):
        tt.build_table({"a": {"newsmtsc": tmp_path / "dup.jsonl"}}, "a")


def test_command_line_writes_markdown_and_json_from_tier_directories(better_worse, tmp_path,
                                                                     capsys):
    for tier, per in better_worse.items():
        d = tmp_path / tier
        d.mkdir()
        (d / "real_sentences_test.jsonl").write_text(per["real_sentences"].read_text())
    out = tmp_path / "out" / "tiers.md"
    rc = tt.main(["--tier", f"default={tmp_path / 'default'}",
                  "--tier", f"accurate={tmp_path / 'accurate'}",
                  "--newsmtsc", f"accurate={better_worse['accurate']['newsmtsc']}",
                  "--n-boot", "200", "--out", str(out)])
    assert rc == 0
    text = out.read_text()
    assert text in capsys.readouterr().out
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["reference"] == "default" and data["tiers"] == ["default", "accurate"]
    assert data["n_boot"] == 200 and data["seed"] == 0
    news = next(r for r in data["rows"] if r["dataset"] == "newsmtsc")
    assert news["tiers"]["default"] is None and news["tiers"]["accurate"]["n"] == 300
    cue = next(r for r in data["rows"] if r["measure"] == "cues")
    assert cue["comparisons"]["accurate"]["difference"]["low"] > 0
    with pytest.raises(SystemExit):
        tt.main(["--tier", f"default={tmp_path / 'nowhere'}", "--out", str(out)])


def test_format_p():
    assert tt.format_p(0.0, 1000) == "< 0.001"
    assert tt.format_p(0.0, 200) == "< 0.005"
    assert tt.format_p(0.0421, 1000) == "0.042"
    assert tt.format_p(1.0, 1000) == "1.000"
    assert tt.format_p(None, 1000) == ""


def test_the_evaluation_scripts_prediction_files_read_back(tmp_path):
    """What eval/newsmtsc_dev.py and eval/real_articles.py write, tier_table reads."""
    news = _script("newsmtsc_dev")
    dev = [SimpleNamespace(group="g1", span=(0, 4)), SimpleNamespace(group="g1", span=(9, 12)),
           SimpleNamespace(group="g2", span=(3, 8)), SimpleNamespace(group="g2", span=(3, 8))]
    news.write_predictions(tmp_path / "sub" / "n.jsonl", dev, [0, 1, 2, 2], [0, 2, 2, 1])
    rows = tt.read_jsonl(tmp_path / "sub" / "n.jsonl")
    assert [r["id"] for r in rows] == ["g1:0-4", "g1:9-12", "g2:3-8", "g2:3-8#2"]
    assert rows[1] == {"id": "g1:9-12", "row": 1, "gold": "neutral", "pred": "promotional"}
    assert tt.load_predictions("newsmtsc", tmp_path / "sub" / "n.jsonl", None)["tone"] == \
        {"g1:0-4": (0, 0), "g1:9-12": (1, 2), "g2:3-8": (2, 2), "g2:3-8#2": (2, 1)}

    arts = _script("real_articles")
    labelled = [{"aid": "a-1", "file": "f.jsonl.gz", "doc": "d1",
                 "final": {"cues": ["win_win", "achievement"], "tone": "promotional"}},
                {"aid": "a-2", "file": "f.jsonl.gz", "doc": "d2",
                 "final": {"cues": [], "tone": "critical"}}]
    cue = lambda present: SimpleNamespace(present=present)  # noqa: E731
    res = [SimpleNamespace(cues={"win_win": cue(True), "commitment": cue(False)},
                           tone_label="promotional"),
           SimpleNamespace(cues={"commitment": cue(True)}, tone_label="neutral")]
    arts.write_predictions(tmp_path / "a.jsonl", labelled, res)
    rows = tt.read_jsonl(tmp_path / "a.jsonl")
    assert rows[0] == {"aid": "a-1", "file": "f.jsonl.gz", "doc": "d1",
                       "gold_cues": ["win_win", "achievement"], "gold_tone": "promotional",
                       "cues": ["win_win"], "tone": "promotional"}
    assert "text" not in rows[1]
    got = tt.load_predictions("real_articles", tmp_path / "a.jsonl", None)
    assert got["tone"] == {"a-1": (2, 2), "a-2": (0, 1)}
    assert got["cues"]["a-2"] == (tt.cue_vector([]), tt.cue_vector(["commitment"]))
