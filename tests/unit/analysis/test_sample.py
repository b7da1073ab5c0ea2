"""framing.analysis.sample: stratified validation samples in the harness's format."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import framing
from framing.cli import main
from framing.errors import ColumnError
from framing.evaluation.harness import load_samples
from framing.analysis.sample import allocate, uncertainty
from synth_scores import make_scores


@pytest.fixture
def scores() -> pd.DataFrame:
    return make_scores({"Big Daily": 400, "Mid Post": 100, "Tiny Wire": 12}, seed=21)


def test_allocation_is_even_with_spillover():
    assert allocate({"a": 100, "b": 100, "c": 100}, 30) == {"a": 10, "b": 10, "c": 10}
    assert allocate({"a": 100, "b": 100, "c": 4}, 30) == {"a": 13, "b": 13, "c": 4}
    assert allocate({"a": 3, "b": 2}, 50) == {"a": 3, "b": 2}
    assert sum(allocate({"a": 7, "b": 9, "c": 11}, 10).values()) == 10


def test_stratified_by_outlet_and_uncertainty(scores):
    s = framing.draw_validation_sample(scores, n=60, seed=1)
    assert len(s) == 60 and s["id"].is_unique
    counts = s["outlet"].value_counts()
    assert counts["Tiny Wire"] == 12  # all it has; the rest goes to the others
    assert counts["Big Daily"] == counts["Mid Post"] == 24
    bands = s["stratum"].str.split("|").str[1]
    assert set(bands) == {"u1", "u2", "u3"}
    big = s[s["outlet"] == "Big Daily"]["stratum"].value_counts()
    assert big.max() - big.min() <= 1  # even over the uncertainty bands
    # weights turn the sample back into the corpus: they sum to the articles per outlet
    assert s.groupby("outlet")["weight"].sum().round(6).to_dict() == {
        "Big Daily": 400, "Mid Post": 100, "Tiny Wire": 12}
    # the least sure band holds the most uncertain articles
    u = s.groupby(bands)["uncertainty"].mean()
    assert u["u1"] < u["u2"] < u["u3"]


def test_reproducible_and_seeded(scores):
    a = framing.draw_validation_sample(scores, n=30, seed=7)
    b = framing.draw_validation_sample(scores, n=30, seed=7)
    c = framing.draw_validation_sample(scores, n=30, seed=8)
    assert a["id"].tolist() == b["id"].tolist()
    assert set(a["id"]) != set(c["id"])


def test_error_rows_never_drawn_and_small_corpora(scores):
    scores.loc[:399, "error"] = "broken"
    s = framing.draw_validation_sample(scores, n=500)
    assert len(s) == 112 and "Big Daily" not in set(s["outlet"])


def test_uncertainty_measures(scores):
    u = uncertainty(scores, "tone")
    assert ((u >= 0) & (u <= 1)).all()
    flat = scores.assign(tone_p_critical=1 / 3, tone_p_neutral=1 / 3, tone_p_promotional=1 / 3)
    assert np.allclose(uncertainty(flat, "tone"), 1.0)
    sure = scores.assign(cue_win_win=0.99, cue_mutual_respect=0.01, cue_counter_criticism=0.0)
    assert np.allclose(uncertainty(sure, "cues"), 0.02)
    no_probs = scores.drop(columns=["tone_p_critical", "tone_p_neutral", "tone_p_promotional"])
    assert np.allclose(uncertainty(no_probs, "tone"), 1 - scores["tone"].abs())


def test_harness_format_and_text_join(scores, tmp_path):
    corpus = tmp_path / "corpus.jsonl"
    with open(corpus, "w", encoding="utf-8") as fh:
        for rid in scores["id"]:
            fh.write(json.dumps({"doc": rid, "body": f"Text of {rid}."}) + "\n")
    out = tmp_path / "sample.jsonl"
    s = framing.draw_validation_sample(scores, n=20, text_source=corpus, text="body", id="doc",
                                       out=out)
    assert (s["text"] == "Text of " + s["id"] + ".").all()
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 20 and all(r["label"] == "" for r in rows)
    assert {"id", "outlet", "text", "pred_label", "pred_tone", "pred_cues", "weight"} <= set(rows[0])
    assert isinstance(rows[0]["pred_cues"], list)
    with pytest.raises(ValueError):  # blank labels must be filled in first
        load_samples(out, "tone")
    for r in rows:
        r["label"] = r["pred_label"]
    out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    samples = load_samples(out, "tone")
    assert len(samples) == 20 and samples.ids == [r["id"] for r in rows]


def test_text_join_by_row_number_and_cues_task(scores, tmp_path):
    # without --id, rows match on the row number score_corpus recorded (JSONL: line number)
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"text": f"row {i}"}) + "\n"
                              for i in range(1, len(scores) + 1)), encoding="utf-8")
    s = framing.draw_validation_sample(scores, n=10, task="cues", text_source=corpus)
    assert (s["text"] == "row " + scores.set_index("id").loc[s["id"], "row"].astype(str).values).all()
    assert "cues" in s.columns and "label" not in s.columns
    out = tmp_path / "cues.jsonl"
    framing.analysis.sample.write_sample(s.assign(cues=[["win_win"]] * len(s)), out)
    loaded = load_samples(out, "cues")
    assert loaded.labels == [["win_win"]] * 10


def test_bad_arguments(scores):
    with pytest.raises(ColumnError):
        framing.draw_validation_sample(scores, by="paper")
    with pytest.raises(ValueError):
        framing.draw_validation_sample(scores, task="frames")


def test_cli_sample(scores, tmp_path, capsys):
    path = tmp_path / "scores.parquet"
    scores.to_parquet(path)
    out = tmp_path / "s.jsonl"
    assert main(["sample", str(path), "-n", "15", "-o", str(out), "--task", "cues",
                 "--seed", "3"]) == 0
    err = capsys.readouterr().err
    assert "15 articles written" in err and "without text" in err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 15 and all(r["cues"] is None for r in rows)
    csv_out = tmp_path / "s.csv"
    assert main(["sample", str(path), "-n", "5", "-o", str(csv_out), "--by", "none"]) == 0
    assert len(pd.read_csv(csv_out)) == 5
