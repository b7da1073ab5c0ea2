"""The evaluation harness: loading labelled samples, splitting, evaluate(), fitting on dev only."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

import framing
from framing import ColumnError
from framing.core.samples import Samples, load_samples, split_samples
from framing.evaluation import harness
from framing.evaluation.harness import EvalReport, evaluate, fit_band
from framing.heads.calibration import PlattCalibrator, fit_thresholds
from framing.stats.metrics import expected_calibration_error

TONE = ["critical", "neutral", "promotional"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Sentences written for these tests.
TONE_ROWS = [
    ("t1", "The new bridge opened early and commuters loved it.", "promotional", "bridge"),
    ("t2", "The council published its meeting schedule for March.", "neutral", ""),
    ("t3", "Residents said the flooding plan was a costly failure.", "critical", "plan"),
    ("t4", "The museum expansion drew praise from visiting scholars.", "promotional", "museum"),
    ("t5", "The ministry listed the ferry timetable online.", "neutral", "ferry"),
    ("t6", "Auditors found the hospital budget badly mismanaged.", "critical", ""),
]

CUE_ROWS = [
    ("c1", "Both ministers called the port agreement a win-win arrangement.", ["win_win"]),
    ("c2", "The envoy vowed to keep funding the clinics and called it a win-win.",
     ["commitment", "win_win"]),
    ("c3", "Rights groups said the detentions were unlawful.", ["external_criticism"]),
    ("c4", "The weather in the capital was mild on Sunday.", []),
]


# -- helpers ----------------------------------------------------------------------------------
def lookup(table: dict[str, float], name: str = "lookup"):
    """A tone scorer: maps each text to its value in ``table``."""
    def scorer(texts):
        return [table[t] for t in texts]
    scorer.__name__ = name
    return scorer


def cue_lookup(table: dict[str, dict[str, float]]):
    return lambda texts: [table[t] for t in texts]


def tone_samples(seed: int = 0, n: int = 80, noise: float = 0.3):
    """Synthetic tone samples with a value per text: label centre + Gaussian noise."""
    rng = np.random.default_rng(seed)
    labels = list(rng.choice(TONE, n))
    centre = {"critical": -0.5, "neutral": 0.0, "promotional": 0.5}
    values = np.round([centre[lab] + rng.normal(0, noise) for lab in labels], 3)
    texts = [f"Synthetic report number {i} on the harbour works." for i in range(n)]
    return Samples("tone", texts, labels, list(TONE), list(range(n))), dict(zip(texts, values))


def expected_tone_pred(values, band=0.0):
    v = np.asarray(values)
    return np.where(v > band, 2, np.where(v < -band, 0, 1))


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# -- load_samples -------------------------------------------------------------------------
def test_load_jsonl_with_column_mapping(tmp_path):
    rows = [{"uid": i, "sentence": s, "gold": lab, "entity": tgt} for i, s, lab, tgt in TONE_ROWS]
    path = write_jsonl(tmp_path / "tone.jsonl", rows)
    s = load_samples(path, "tone", text="sentence", label="gold", id="uid", target="entity")
    assert s.task == "tone"
    assert len(s) == 6
    assert s.texts == [r[1] for r in TONE_ROWS]
    assert s.labels == [r[2] for r in TONE_ROWS]
    assert s.ids == [r[0] for r in TONE_ROWS]
    assert s.targets == ["bridge", None, "plan", "museum", "ferry", None]
    assert s.label_set == TONE
    assert s.source == str(path)
    np.testing.assert_array_equal(s.y_index(), [2, 1, 0, 2, 1, 0])


def test_load_csv_multilabel_semicolons(tmp_path):
    df = pd.DataFrame({"id": [r[0] for r in CUE_ROWS], "text": [r[1] for r in CUE_ROWS],
                       "cues": [";".join(r[2]) for r in CUE_ROWS]})
    df.loc[1, "cues"] = "commitment; win_win"  # spaces around the separator are fine
    path = tmp_path / "cues.csv"
    df.to_csv(path, index=False)
    s = load_samples(path, "cues")
    assert s.labels == [["win_win"], ["commitment", "win_win"], ["external_criticism"], []]
    assert s.label_set == ["commitment", "external_criticism", "win_win"]  # seen, sorted
    assert s.ids == ["c1", "c2", "c3", "c4"]
    Y = s.y_matrix()
    assert Y.shape == (4, 3)
    np.testing.assert_array_equal(Y.sum(axis=0), [1, 1, 2])
    assert not Y[3].any()


def test_load_parquet_tone_and_list_labels(tmp_path):
    df = pd.DataFrame({"id": [r[0] for r in TONE_ROWS], "text": [r[1] for r in TONE_ROWS],
                       "label": [r[2] for r in TONE_ROWS]})
    df.to_parquet(tmp_path / "tone.parquet")
    s = load_samples(tmp_path / "tone.parquet", "tone")
    assert s.labels == [r[2] for r in TONE_ROWS]

    cues = pd.DataFrame({"id": [r[0] for r in CUE_ROWS], "text": [r[1] for r in CUE_ROWS],
                         "tags": [r[2] for r in CUE_ROWS]})
    cues.to_parquet(tmp_path / "cues.parquet")
    builtin = framing.load_catalogue().ids
    c = load_samples(tmp_path / "cues.parquet", "cues", label="tags", label_set=builtin)
    assert c.labels == [r[2] for r in CUE_ROWS]
    assert c.label_set == builtin
    assert c.y_matrix().shape == (4, len(builtin))


def test_load_dataframe_and_arrow_table():
    df = pd.DataFrame({"body": [r[1] for r in TONE_ROWS], "y": [r[2] for r in TONE_ROWS]})
    s = load_samples(df, "tone", text="body", label="y", id=None)
    assert s.ids == list(range(6))
    assert s.source == "<DataFrame>"
    assert s.labels == [r[2] for r in TONE_ROWS]

    import pyarrow as pa

    t = load_samples(pa.Table.from_pandas(df), "tone", text="body", label="y", id=None)
    assert t.texts == s.texts and t.labels == s.labels


def test_load_hf_dataset():
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_dict({"sentence": [r[1] for r in TONE_ROWS],
                                     "gold": [r[2] for r in TONE_ROWS],
                                     "entity": [r[3] for r in TONE_ROWS]})
    s = load_samples(ds, "tone", text="sentence", label="gold", target="entity", id=None)
    assert s.labels == [r[2] for r in TONE_ROWS]
    assert s.targets[0] == "bridge" and s.targets[1] is None


def test_missing_column_is_named(tmp_path):
    df = pd.DataFrame({"id": [1, 2], "body": ["One line.", "Another line."],
                       "label": ["neutral", "neutral"]})
    with pytest.raises(ColumnError) as err:
        load_samples(df, "tone")  # text column "text" absent
    msg = str(err.value)
    assert "'text'" in msg
    for col in ("'id'", "'body'", "'label'"):
        assert col in msg
    assert isinstance(err.value, KeyError)  # still catchable as a KeyError
    with pytest.raises(ColumnError, match="'stance'"):
        load_samples(df, "tone", text="body", label="stance")


def test_unknown_label_is_named():
    df = pd.DataFrame({"id": [1, 2, 3], "text": ["A.", "B.", "C."],
                       "label": ["neutral", "glowing", "critical"]})
    with pytest.raises(ValueError, match="glowing"):
        load_samples(df, "tone")
    cues = pd.DataFrame({"id": [1], "text": ["A."], "cues": [["win_win", "made_up_cue"]]})
    with pytest.raises(ValueError, match="made_up_cue"):
        load_samples(cues, "cues", label_set=framing.load_catalogue().ids)


def test_label_map_renames():
    df = pd.DataFrame({"id": [1, 2, 3], "text": ["A.", "B.", "C."],
                       "label": ["positive", "negative", "neutral"]})
    with pytest.raises(ValueError, match="positive"):
        load_samples(df, "tone")
    s = load_samples(df, "tone", label_map={"positive": "promotional", "negative": "critical"})
    assert s.labels == ["promotional", "critical", "neutral"]
    # numeric labels map too
    num = pd.DataFrame({"id": [1, 2], "text": ["A.", "B."], "label": [1, -1]})
    s2 = load_samples(num, "tone", label_map={1: "promotional", -1: "critical"})
    assert s2.labels == ["promotional", "critical"]


def test_binary_tone_label_set():
    df = pd.DataFrame({"id": list(range(6)), "text": [f"Row {i}." for i in range(6)],
                       "label": ["critical", "promotional"] * 3})
    s = load_samples(df, "tone", label_set=["critical", "promotional"])
    assert s.label_set == ["critical", "promotional"]
    np.testing.assert_array_equal(s.y_index(), [0, 1] * 3)
    with pytest.raises(ValueError, match="neutral"):
        load_samples(df.assign(label=["neutral"] * 6), "tone",
                     label_set=["critical", "promotional"])
    # in the binary task a tone >= 0 counts as promotional, < 0 as critical
    values = [-0.4, 0.3, 0.0, -0.1, 0.2, 0.5]
    rep = evaluate({"b": lookup(dict(zip(s.texts, values)))}, s, n_boot=50)
    pred = [0 if v < 0 else 1 for v in values]
    assert rep.results["b"]["confusion"] == confusion_matrix([0, 1] * 3, pred).tolist()
    assert rep.results["b"]["macro_f1"].value == pytest.approx(
        f1_score([0, 1] * 3, pred, average="macro"))


def test_binary_subset_without_promotional():
    # critical vs neutral: a positive tone counts as neutral (was a KeyError 'promotional')
    s = Samples("tone", ["A.", "B.", "C.", "D."], ["critical", "neutral", "neutral", "critical"],
                ["critical", "neutral"], [1, 2, 3, 4])
    rep = evaluate({"f": lookup({"A.": -0.5, "B.": 0.0, "C.": 0.6, "D.": 0.3})}, s, n_boot=20)
    assert rep.n == 4
    assert rep.results["f"]["confusion"] == [[1, 1], [0, 2]]
    assert rep.results["f"]["accuracy"].value == 0.75


def test_tone_label_set_must_be_tone_labels():
    df = pd.DataFrame({"id": [1, 2], "text": ["A.", "B."], "label": ["neg", "pos"]})
    with pytest.raises(ValueError, match="label_map"):
        load_samples(df, "tone", label_set=["neg", "pos"])
    with pytest.raises(ValueError, match="two or three"):
        load_samples(df.assign(label="neutral"), "tone", label_set=["neutral"])


def test_load_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="task"):
        load_samples(pd.DataFrame({"text": ["A."]}), "sentiment")
    with pytest.raises(ValueError, match="without text"):
        load_samples(pd.DataFrame({"id": [1, 2], "text": ["A.", "  "],
                                   "label": ["neutral", "neutral"]}), "tone")
    with pytest.raises(FileNotFoundError):
        load_samples(tmp_path / "absent.jsonl", "tone")


def test_default_id_column_may_be_absent(tmp_path):
    # a file with only text and label: the README's framing.evaluate call (issue: it raised
    # ColumnError for 'id' while `framing eval` read the same file)
    path = write_jsonl(tmp_path / "plain.jsonl",
                       [{"text": t, "label": lab} for _, t, lab, _ in TONE_ROWS])
    s = load_samples(path, "tone")
    assert s.ids == list(range(len(TONE_ROWS)))  # row numbers
    values = {"promotional": 0.6, "neutral": 0.0, "critical": -0.6}
    table = {t: values[lab] for _, t, lab, _ in TONE_ROWS}
    rep = evaluate({"f": lookup(table)}, path, task="tone", n_boot=20)
    assert rep.n == len(TONE_ROWS)
    assert rep.results["f"]["accuracy"].value == 1.0
    # an id column that is present is still used by default
    with_ids = write_jsonl(tmp_path / "ids.jsonl",
                           [{"id": i, "text": t, "label": lab} for i, t, lab, _ in TONE_ROWS])
    assert load_samples(with_ids, "tone").ids == [r[0] for r in TONE_ROWS]


@pytest.mark.parametrize("requested", ["uid", "id"])
def test_requested_id_column_must_exist(tmp_path, requested):
    path = write_jsonl(tmp_path / "plain.jsonl",
                       [{"text": t, "label": lab} for _, t, lab, _ in TONE_ROWS])
    with pytest.raises(ColumnError, match=repr(requested)):
        load_samples(path, "tone", id=requested)
    with pytest.raises(ColumnError, match=repr(requested)):
        evaluate({"f": lookup({})}, path, task="tone", id=requested, n_boot=10)


# -- split_samples --------------------------------------------------------------------------
def test_split_deterministic_disjoint_covering():
    s, _ = tone_samples(seed=1, n=97)
    dev1, ev1 = split_samples(s, 0.3, seed=5)
    dev2, ev2 = split_samples(s, 0.3, seed=5)
    assert dev1.ids == dev2.ids and ev1.ids == ev2.ids
    assert set(dev1.ids).isdisjoint(ev1.ids)
    assert sorted(dev1.ids + ev1.ids) == list(range(97))
    assert dev1.texts == [s.texts[i] for i in dev1.ids]  # rows stay together
    assert dev1.labels == [s.labels[i] for i in dev1.ids]
    other, _ = split_samples(s, 0.3, seed=6)
    assert other.ids != dev1.ids


@pytest.mark.parametrize("frac", [0.2, 0.3, 0.5])
def test_split_is_stratified(frac):
    s, _ = tone_samples(seed=2, n=91)
    dev, ev = split_samples(s, frac, seed=13)
    assert abs(len(dev) - frac * len(s)) <= 3
    for lab in TONE:
        total = s.labels.count(lab)
        assert abs(dev.labels.count(lab) - frac * total) <= 1, lab
        assert dev.labels.count(lab) + ev.labels.count(lab) == total


def test_split_multilabel_stratified_by_first_label():
    labels = [["b"], ["a", "c"], [], ["c"]] * 15
    s = Samples("cues", [f"x{i}" for i in range(60)], labels, ["a", "b", "c"], list(range(60)))
    dev, _ = split_samples(s, 0.4, seed=3)
    for key in (["a", "c"], ["b"], ["c"], []):
        assert dev.labels.count(key) == 6  # 40% of 15
    with pytest.raises(ValueError):
        split_samples(s, 1.0)


# -- evaluate -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def three_scorers():
    s, truth = tone_samples(seed=3, n=150, noise=0.35)
    rng = np.random.default_rng(33)
    noisy = {t: float(np.round(v + rng.normal(0, 0.6), 3)) for t, v in truth.items()}
    constant = {t: 0.2 for t in truth}
    scorers = {"good": lookup(truth), "noisy": lookup(noisy), "always-promo": lookup(constant)}
    report = evaluate(scorers, s, n_boot=300, seed=1)
    return s, {"good": truth, "noisy": noisy, "always-promo": constant}, report


def test_evaluate_several_scorers(three_scorers):
    s, tables, rep = three_scorers
    assert isinstance(rep, EvalReport)
    assert rep.n == 150 and rep.task == "tone"
    assert list(rep.results) == ["good", "noisy", "always-promo"]
    assert rep.reference == "good"
    assert set(rep.comparisons) == {"noisy", "always-promo"}
    y = s.y_index()
    for name, table in tables.items():
        res = rep.results[name]
        pred = expected_tone_pred([table[t] for t in s.texts])
        assert res["macro_f1"].value == pytest.approx(
            f1_score(y, pred, labels=sorted(set(y) | set(pred)), average="macro"))
        assert res["accuracy"].value == pytest.approx(accuracy_score(y, pred))
        assert res["confusion"] == confusion_matrix(y, pred, labels=[0, 1, 2]).tolist()
        assert res["macro_f1"].low <= res["macro_f1"].value <= res["macro_f1"].high
        assert res["fitted_on_dev"] is None
        assert res["samples_per_second"] > 0
    # the comparisons are against the reference
    for name in ("noisy", "always-promo"):
        cmp = rep.comparisons[name]
        assert cmp["difference"].value == pytest.approx(
            rep.results[name]["macro_f1"].value - rep.results["good"]["macro_f1"].value)
    # a constant scorer is clearly worse than the true values
    assert rep.comparisons["always-promo"]["difference"].high < 0
    assert rep.comparisons["always-promo"]["p_value"] < 0.01


def test_evaluate_explicit_reference_and_identical_scorers():
    s, table = tone_samples(seed=4, n=60)
    rep = evaluate({"a": lookup(table), "b": lookup(table), "c": lookup(table)}, s,
                   reference="b", n_boot=200)
    assert rep.reference == "b"
    assert set(rep.comparisons) == {"a", "c"}
    for cmp in rep.comparisons.values():
        assert cmp["difference"].value == 0.0
        assert cmp["p_value"] == 1.0
    with pytest.raises(ValueError, match="zzz"):
        evaluate({"a": lookup(table)}, s, reference="zzz", n_boot=10)
    with pytest.raises(ValueError, match="unique"):
        evaluate([lookup(table, "same"), lookup(table, "same")], s, n_boot=10)
    rep2 = evaluate([lookup(table, "first"), lookup(table, "second")], s, n_boot=10)
    assert list(rep2.results) == ["first", "second"] and rep2.reference == "first"
    with pytest.raises(ValueError):
        evaluate(lookup(table), s, tune="test", n_boot=10)
    with pytest.raises(ValueError, match="cues"):
        evaluate(lookup(table), s, task="cues", n_boot=10)


def test_report_serialises(three_scorers, tmp_path):
    _, _, rep = three_scorers
    d = rep.to_dict()
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert back["framing_version"] == framing.__version__
    assert set(back["scorers"]) == {"good", "noisy", "always-promo"}
    assert back["scorers"]["noisy"] == {"scorer": "noisy"}
    assert back["results"]["good"]["macro_f1"]["value"] == pytest.approx(
        rep.results["good"]["macro_f1"].value)
    assert back["reference"] == "good"
    assert back["n"] == 150 and back["labels"] == TONE
    assert back["settings"]["n_boot"] == 300
    assert "p_value" in back["comparisons"]["noisy"]

    md = rep.to_markdown("tone run")
    assert md.startswith("### tone run")
    for name in ("good", "noisy", "always-promo"):
        assert f"| {name} |" in md
    assert "reference" in md and "n = 150" in md

    paths = rep.save(tmp_path / "out", "x")
    out = tmp_path / "out"
    assert (out / "x.json").is_file() and (out / "x.md").is_file()
    assert json.loads((out / "x.json").read_text())["framing_version"] == framing.__version__
    assert "good" in (out / "x.md").read_text()
    pngs = sorted(out.glob("*.png"))
    assert [p.name for p in pngs] == ["x_confusion.png"]
    assert pngs[0].read_bytes()[:8] == PNG_MAGIC
    assert paths["json"] == str(out / "x.json")


def test_small_sample_report_warns_in_every_format(tmp_path):
    # five rows gave "macro-F1 1.000 [1.000, 1.000]" with no hint that this means little
    texts = [f"Short row {i}." for i in range(5)]
    labels = ["critical", "neutral", "promotional", "critical", "promotional"]
    values = {"critical": -0.7, "neutral": 0.0, "promotional": 0.7}
    s = Samples("tone", texts, labels, list(TONE), list(range(5)))
    rep = evaluate({"f": lookup({t: values[lab] for t, lab in zip(texts, labels)})}, s,
                   n_boot=50)
    assert rep.results["f"]["macro_f1"].value == 1.0
    assert len(rep.warnings) == 1
    warning = rep.warnings[0]
    assert "5 rows" in warning and "unreliable" in warning
    assert str(harness.MIN_RELIABLE_ROWS) in warning
    assert json.loads(rep.to_json())["warnings"] == [warning]
    assert warning in rep.to_markdown("tiny")
    paths = rep.save(tmp_path, "tiny")
    assert json.loads(Path(paths["json"]).read_text())["warnings"] == [warning]
    assert warning in Path(paths["markdown"]).read_text()


def test_thin_label_warns_and_enough_rows_do_not(three_scorers):
    _, _, rep = three_scorers  # 150 rows, about 50 per class
    assert rep.warnings == []
    assert "warning" not in rep.to_markdown().lower()
    assert rep.to_dict()["warnings"] == []
    # enough rows overall, but one class almost absent
    n = harness.MIN_RELIABLE_ROWS + 10
    per_label = harness.MIN_ROWS_PER_LABEL
    labels = ["critical", "promotional"] * (n // 2)
    labels[:per_label - 1] = ["neutral"] * (per_label - 1)
    texts = [f"Balanced row {i}." for i in range(n)]
    s = Samples("tone", texts, labels, list(TONE), list(range(n)))
    rep = evaluate({"zero": lookup(dict.fromkeys(texts, 0.0))}, s, n_boot=20)
    assert len(rep.warnings) == 1
    assert "'neutral'" in rep.warnings[0] and f"{per_label - 1} rows" in \
        rep.warnings[0]
    assert "'critical'" not in rep.warnings[0]
    assert "unreliable" in rep.warnings[0]


def test_report_with_analyzer_scorer_config(tiny_model_dir, tmp_path):
    """An Analyzer as scorer: its config() goes into the report; VADER scores real words."""
    an = framing.Analyzer(tiny_model_dir, tone="vader", cues=False)
    df = pd.DataFrame({"id": [r[0] for r in TONE_ROWS], "text": [r[1] for r in TONE_ROWS],
                       "label": [r[2] for r in TONE_ROWS]})
    rep = evaluate({"vader": an}, df, task="tone", n_boot=50)
    cfg = json.loads(json.dumps(rep.to_dict(), allow_nan=False))["scorers"]["vader"]
    assert cfg["tone_scorer"] == "baseline-vader"
    assert cfg["framing_version"] == framing.__version__
    assert rep.results["vader"]["neutral_band"] == an.tone_scorer.neutral_band
    assert rep.n == 6


def test_tone_mistakes_most_confident_first():
    texts = [f"Line {i}." for i in range(8)]
    labels = ["critical", "promotional", "neutral", "neutral", "promotional", "critical",
              "neutral", "critical"]
    values = [-0.9, -0.3, 0.8, 0.0, 0.6, 0.4, -0.55, 0.1]
    # wrong rows: 1 (|-.3|), 2 (.8), 5 (.4), 6 (.55), 7 (.1)
    s = Samples("tone", texts, labels, list(TONE), [f"r{i}" for i in range(8)])
    rep = evaluate({"f": lookup(dict(zip(texts, values)))}, s, n_boot=20, top_mistakes=4)
    m = rep.mistakes["f"]
    assert [x["id"] for x in m] == ["r2", "r6", "r5", "r1"]
    assert m[0] == {"id": "r2", "text": "Line 2.", "true": "neutral", "predicted": "promotional",
                    "tone": 0.8}
    assert m[1]["predicted"] == "critical"


def _cue_samples(seed=5, n=120, labels=("alpha", "beta", "gamma", "delta")):
    rng = np.random.default_rng(seed)
    k = len(labels)
    Y = rng.random((n, k)) < [0.3, 0.4, 0.25, 0.35][:k]
    P = np.clip(np.where(Y, 0.65, 0.3) + rng.normal(0, 0.18, (n, k)), 0, 1).round(3)
    texts = [f"Cue sample {i}." for i in range(n)]
    lab = [[labels[j] for j in range(k) if Y[i, j]] for i in range(n)]
    s = Samples("cues", texts, lab, list(labels), list(range(n)))
    table = {t: dict(zip(labels, map(float, P[i]))) for i, t in enumerate(texts)}
    return s, table, Y, P


def test_evaluate_cues_matches_sklearn_and_plots(tmp_path):
    s, table, Y, P = _cue_samples()
    rep = evaluate({"probs": cue_lookup(table)}, s, n_boot=100)
    res = rep.results["probs"]
    pred = P >= 0.5  # a plain callable keeps the 0.5 thresholds
    assert res["thresholds"] == {lab: 0.5 for lab in s.label_set}
    assert res["micro_f1"].value == pytest.approx(f1_score(Y, pred, average="micro"))
    assert res["macro_f1"].value == pytest.approx(f1_score(Y, pred, average="macro"))
    from sklearn.metrics import roc_auc_score

    assert res["probability"]["roc_auc"].value == pytest.approx(roc_auc_score(Y.ravel(),
                                                                              P.ravel()))
    # multi-label mistakes: farthest from 0.5 first
    conf = [abs(m["probability"] - 0.5) for m in rep.mistakes["probs"]]
    assert conf == sorted(conf, reverse=True) and len(conf) == 10
    worst = np.abs(np.where(Y != pred, P, 0.5) - 0.5).max()
    assert conf[0] == pytest.approx(worst)
    first = rep.mistakes["probs"][0]
    j = s.label_set.index(first["label"])
    r = first["id"]
    assert first["error"] == ("false positive" if pred[r, j] else "false negative")
    assert Y[r, j] != pred[r, j]

    rep.save(tmp_path, "cues")
    rel = tmp_path / "cues_reliability.png"
    assert rel.read_bytes()[:8] == PNG_MAGIC
    assert not (tmp_path / "cues_confusion.png").exists()
    md = (tmp_path / "cues.md").read_text()
    assert "micro-F1" in md and "| probs |" in md
    for lab in s.label_set:
        assert f"| {lab} |" in md


def test_report_json_is_strict_when_auc_undefined(tmp_path):
    # no positive anywhere: ROC-AUC is NaN, which must come out as null, not NaN
    s = Samples("cues", ["A.", "B.", "C."], [[], [], []], ["x", "y"], [1, 2, 3])
    rep = evaluate({"f": lambda ts: [{"x": 0.2, "y": 0.1} for _ in ts]}, s, n_boot=20)
    assert math.isnan(rep.results["f"]["probability"]["roc_auc"].value)
    d = json.loads(json.dumps(rep.to_dict(), allow_nan=False))
    assert d["results"]["f"]["probability"]["roc_auc"] == {"value": None, "low": None,
                                                           "high": None}
    rep.to_json(tmp_path / "r.json")
    json.loads((tmp_path / "r.json").read_text(), parse_constant=lambda c: pytest.fail(c))


def test_evaluate_patterns_analyzer_on_cues(tiny_model_dir):
    """An Analyzer with the patterns-only detector as cue scorer, builtin label set."""
    det = framing.CueDetector(None, None, use_similarity=False)
    an = framing.Analyzer(tiny_model_dir, tone=None, cue_detector=det)
    df = pd.DataFrame({"id": [r[0] for r in CUE_ROWS], "text": [r[1] for r in CUE_ROWS],
                       "cues": [r[2] for r in CUE_ROWS]})
    builtin = framing.load_catalogue().ids
    rep = evaluate({"patterns": an}, df, task="cues", label_set=builtin, n_boot=50)
    res = rep.results["patterns"]
    assert res["per_label"]["win_win"]["support"] == 2
    assert res["per_label"]["win_win"]["recall"].value == 1.0
    assert res["thresholds"]["win_win"] == framing.load_catalogue()["win_win"].threshold
    with pytest.raises(ValueError, match="no tone scorer"):
        evaluate({"patterns": an}, df.assign(label="neutral"), task="tone", n_boot=10)


# -- fitting on dev only ------------------------------------------------------------------------
def _swap_adjacent(labels, rows):
    """Swap the labels of disjoint adjacent pairs (i, i+1) inside ``rows`` whose labels differ.

    Each swapped label keeps its position within its label's stratum, so the stratified
    split of the changed samples is the same as the original's."""
    out = list(labels)
    i, swapped = 0, 0
    while i < len(out) - 1:
        if i in rows and i + 1 in rows and out[i] != out[i + 1]:
            out[i], out[i + 1] = out[i + 1], out[i]
            swapped += 1
            i += 2
        else:
            i += 1
    return out, swapped


def _with_labels(s: Samples, labels) -> Samples:
    return Samples(s.task, list(s.texts), list(labels), list(s.label_set), list(s.ids))


def test_tone_band_fitted_on_dev_only():
    s, table = tone_samples(seed=0, n=80)
    scorer = {"f": lookup(table)}
    dev, ev = split_samples(s, 0.3, seed=13)
    rep = evaluate(scorer, s, tune="dev", n_boot=50)
    band = rep.results["f"]["fitted_on_dev"]["neutral_band"]
    assert rep.n == len(ev)
    assert rep.results["f"]["neutral_band"] == band
    assert band == fit_band(np.array([table[t] for t in dev.texts]), dev.y_index(), TONE)
    assert rep.settings["tuned_on"] and "13" in rep.settings["tuned_on"]

    # change many EVAL labels (the split stays the same): the fitted band does not move ...
    eval_labels, n_swapped = _swap_adjacent(s.labels, set(ev.ids))
    assert n_swapped >= 10
    s_eval = _with_labels(s, eval_labels)
    assert split_samples(s_eval, 0.3, seed=13)[0].ids == dev.ids
    values = np.array([table[t] for t in s.texts])
    # ... although a band fitted on all rows would (the change matters to a leaky fit)
    assert fit_band(values, s.y_index(), TONE) != fit_band(values, s_eval.y_index(), TONE)
    rep_e = evaluate(scorer, s_eval, tune="dev", n_boot=50)
    assert rep_e.results["f"]["fitted_on_dev"]["neutral_band"] == band
    assert rep_e.results["f"]["confusion"] != rep.results["f"]["confusion"]

    # changing DEV labels does change it
    dev_labels, n_dev = _swap_adjacent(s.labels, set(dev.ids))
    assert n_dev >= 3
    s_dev = _with_labels(s, dev_labels)
    assert split_samples(s_dev, 0.3, seed=13)[0].ids == dev.ids
    rep_d = evaluate(scorer, s_dev, tune="dev", n_boot=50)
    assert rep_d.results["f"]["fitted_on_dev"]["neutral_band"] != band


def test_cue_thresholds_fitted_on_dev_only():
    s, table, _, _ = _cue_samples(seed=6, n=150)
    scorer = {"p": cue_lookup(table)}
    dev, ev = split_samples(s, 0.3, seed=13)
    rep = evaluate(scorer, s, tune="dev", n_boot=50)
    fitted = rep.results["p"]["fitted_on_dev"]["thresholds"]
    assert rep.n == len(ev)
    assert rep.results["p"]["thresholds"] == fitted
    assert set(fitted) == set(s.label_set)

    def toggle_delta(rows):
        # "delta" never sorts first next to alpha/beta, so strata (first label) are unchanged
        out = [list(x) for x in s.labels]
        changed = 0
        for i in rows:
            if out[i] and out[i][0] in ("alpha", "beta"):
                out[i] = [x for x in out[i] if x != "delta"] if "delta" in out[i] else \
                    out[i] + ["delta"]
                changed += 1
        return _with_labels(s, out), changed

    s_eval, changed = toggle_delta(ev.ids)
    assert changed >= 30
    assert split_samples(s_eval, 0.3, seed=13)[0].ids == dev.ids
    rep_e = evaluate(scorer, s_eval, tune="dev", n_boot=50)
    assert rep_e.results["p"]["fitted_on_dev"]["thresholds"] == fitted
    assert rep_e.results["p"]["per_label"]["delta"]["support"] != \
        rep.results["p"]["per_label"]["delta"]["support"]

    s_dev, changed = toggle_delta(dev.ids)
    assert changed >= 10
    assert split_samples(s_dev, 0.3, seed=13)[0].ids == dev.ids
    rep_d = evaluate(scorer, s_dev, tune="dev", n_boot=50)
    assert rep_d.results["p"]["fitted_on_dev"]["thresholds"]["delta"] != fitted["delta"]


def test_separate_dev_samples_and_calibration():
    s, table, _, _ = _cue_samples(seed=7, n=160)
    dev, ev = split_samples(s, 0.5, seed=1)
    rep = evaluate({"p": cue_lookup(table)}, ev, dev=dev, calibrate=True, n_boot=50)
    assert rep.n == len(ev)
    assert "separate dev samples" in rep.settings["tuned_on"]
    fitted = rep.results["p"]["fitted_on_dev"]
    assert len(fitted["platt"]) == 4 and all(p is not None for p in fitted["platt"])
    P_dev = np.array([[table[t][lab] for lab in s.label_set] for t in dev.texts])
    cal = PlattCalibrator().fit(P_dev, dev.y_matrix())
    assert fitted["platt"] == cal.params_
    assert list(fitted["thresholds"].values()) == \
        fit_thresholds(cal.transform(P_dev), dev.y_matrix()).tolist()
    json.dumps(rep.to_dict(), allow_nan=False)



def test_cue_tuning_with_empty_dev_split():
    s = Samples("cues", ["A.", "B.", "C.", "D."], [["w"], ["x"], ["y"], ["z"]],
                ["w", "x", "y", "z"], [1, 2, 3, 4])
    assert len(split_samples(s, 0.3, seed=13)[0]) == 0
    try:
        rep = evaluate({"f": lambda ts: [{"w": 0.7} for _ in ts]}, s, tune="dev", n_boot=20)
    except ValueError as exc:  # a clear error naming the dev split would be fine too
        assert "dev" in str(exc)
        return
    assert rep.results["f"]["fitted_on_dev"]["thresholds"] == dict.fromkeys("wxyz", 0.5)

def test_fit_thresholds_maximises_f1():
    probs = np.array([
        [0.62, 0.9, 0.3],
        [0.70, 0.2, 0.1],
        [0.80, 0.85, 0.4],
        [0.10, 0.4, 0.2],
        [0.30, 0.35, 0.7],
        [0.55, 0.45, 0.6],
    ])
    Y = np.array([
        [1, 1, 0],
        [1, 0, 0],
        [1, 1, 0],
        [0, 0, 0],
        [0, 1, 0],
        [0, 0, 0],
    ])
    t = fit_thresholds(probs, Y)
    # label 0: positives 0.62-0.80, negatives <= 0.55 -> lowest perfect grid point 0.6
    assert t[0] == pytest.approx(0.6)
    # label 1: positives 0.9, 0.85, 0.35; negatives 0.2, 0.4, 0.45.
    # t <= 0.35 catches all 3 positives + negatives >= t: at 0.25..0.35 -> 2 FP, F1 = 6/8;
    # t in (0.45, 0.85] -> 2 TP, 0 FP, 1 FN -> F1 = 4/5 = 0.8 (best), first such grid point 0.5
    assert t[1] == pytest.approx(0.5)
    # label 2 has no positive: keeps 0.5
    assert t[2] == 0.5

    def f1(j, thr):
        p = probs[:, j] >= thr
        return 2 * (p & (Y[:, j] == 1)).sum() / (p.sum() + Y[:, j].sum())

    grid = np.round(np.arange(0.05, 0.96, 0.05), 2)
    for j in (0, 1):
        assert f1(j, t[j]) == pytest.approx(max(f1(j, g) for g in grid))


def test_fit_band_maximises_macro_f1():
    values = np.array([-0.5, -0.4, -0.1, 0.15, 0.25, 0.6, 0.7])
    y = np.array([0, 0, 1, 1, 1, 2, 2])
    # perfect for band in [0.26, 0.38]; the smallest such grid value is chosen
    assert fit_band(values, y, TONE) == pytest.approx(0.26)
    # neutral rows spread wide, promotional ones close: the band shrinks to keep them
    values2 = np.array([-0.8, -0.7, -0.05, 0.02, 0.5, 0.08, 0.12, 0.9])
    y2 = np.array([0, 0, 1, 1, 1, 2, 2, 2])
    band = fit_band(values2, y2, TONE)
    assert band == pytest.approx(0.06)
    from framing.evaluation.harness import tone_predictions

    best = max(f1_score(y2, tone_predictions(values2, b, TONE), average="macro")
               for b in np.round(np.arange(0, 0.91, 0.02), 2))
    assert f1_score(y2, tone_predictions(values2, band, TONE), average="macro") == pytest.approx(best)
    # a binary label set has nothing to fit
    assert fit_band(values, np.array([0, 0, 0, 1, 1, 1, 1]), ["critical", "promotional"]) == 0.0


def test_platt_calibrator_improves_ece():
    rng = np.random.default_rng(8)
    n = 4000
    q = rng.uniform(0.05, 0.95, (n, 2))  # true probabilities
    Y = rng.random((n, 2)) < q
    logit = np.log(q / (1 - q))
    P = 1 / (1 + np.exp(-(3.0 * logit + 0.8)))  # overconfident and shifted upwards
    fit_rows, test_rows = np.arange(0, n, 2), np.arange(1, n, 2)
    cal = PlattCalibrator().fit(P[fit_rows], Y[fit_rows])
    out = cal.transform(P[test_rows])
    assert out.shape == (n // 2, 2)
    for j in range(2):
        before = expected_calibration_error(Y[test_rows, j], P[test_rows, j])
        after = expected_calibration_error(Y[test_rows, j], out[:, j])
        assert before > 0.1
        assert after < before / 3
        assert after < 0.04
        a, b = cal.params_[j]
        assert a == pytest.approx(1 / 3, abs=0.08)  # undoes the factor 3 on the logit
    # a label with one class in the fit rows is left as it is
    Y1 = Y[fit_rows].copy()
    Y1[:, 1] = False
    cal1 = PlattCalibrator().fit(P[fit_rows], Y1)
    assert cal1.params_[1] is None
    np.testing.assert_array_equal(cal1.transform(P[test_rows])[:, 1], P[test_rows, 1])


def test_a_text_without_tone_probabilities_counts_as_neutral_not_the_whole_run():
    """A furniture-only or failed text has no tone probabilities; the others keep argmax
    labelling (it used to switch argmax off for every row)."""
    from types import SimpleNamespace

    from framing.evaluation.harness import ScorerAdapter

    probs = {"a": {"critical": 0.5, "neutral": 0.1, "promotional": 0.4},
             "b": {"critical": 0.1, "neutral": 0.2, "promotional": 0.7}}

    class Fake:
        tone_scorer = SimpleNamespace(label_by_argmax=True, neutral_band=0.5)

        def score_many(self, texts, targets=None):
            return [SimpleNamespace(tone=None, tone_probabilities=None) if t == "c" else
                    SimpleNamespace(tone=probs[t]["promotional"] - probs[t]["critical"],
                                    tone_probabilities=probs[t]) for t in texts]

    samples = framing.Samples("tone", ["a", "b", "c"], ["critical", "promotional", "neutral"],
                              ["critical", "neutral", "promotional"], [0, 1, 2])
    pred = ScorerAdapter(Fake(), "fake").predict(samples, warm_up=False)
    assert pred.argmax
    assert np.allclose(pred.probs[2], [0.0, 1.0, 0.0])
    rep = framing.evaluate({"fake": Fake()}, samples, n_boot=10, top_mistakes=0)
    assert rep.results["fake"]["accuracy"].value == pytest.approx(1.0)
