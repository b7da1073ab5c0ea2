"""Cue operating points: thresholds under a false-positive cap, named sets in the heads,
and their choice by the detector, the analyzer, the CLI and the error-rate lookup."""

from __future__ import annotations

import json

import numpy as np
import pytest

import framing
from framing.analysis.compare import error_rates_file
from framing.cli.app import build_parser
from framing.errors import ModelLoadError, ResumeError
from framing.heads.calibration import fit_thresholds, fpr_within_cap
from framing.heads.cues.heads import (BALANCED, STRICT, CueHeads, fit_operating_point,
                                      load_cue_heads)
from framing.io.shards import check_manifest


def _scores(n=600, seed=0):
    """Two labels; cue-free rows in groups "x" and "y", where "y" scores its cue-free
    rows higher (a source whose prose looks cue-like)."""
    rng = np.random.default_rng(seed)
    Y = np.zeros((n, 2), dtype=bool)
    Y[:120, 0] = True
    Y[60:180, 1] = True
    groups = np.where(np.arange(n) % 2 == 0, "x", "y")
    probs = np.where(Y, 0.65, 0.25) + rng.normal(scale=0.15, size=(n, 2))
    probs[(groups == "y") & ~Y.any(axis=1)] += 0.12
    return np.clip(probs, 0.001, 0.999), Y, groups


def _fpr(pred, Y, groups=None):
    free = ~Y.any(axis=1)
    if groups is None:
        return pred[free].mean(axis=0)
    return np.max([pred[free & (groups == g)].mean(axis=0) for g in set(groups)], axis=0)


def test_the_cap_holds_in_every_group_and_costs_f1():
    probs, Y, groups = _scores()
    free_t = fit_thresholds(probs, Y)
    capped = fit_thresholds(probs, Y, max_fpr=0.02, groups=groups)
    pooled = fit_thresholds(probs, Y, max_fpr=0.02)
    assert (_fpr(probs >= capped, Y, groups) <= 0.02).all()
    assert (_fpr(probs >= pooled, Y) <= 0.02).all()
    # without the cap the F1-best thresholds flag more cue-free rows than allowed
    assert (_fpr(probs >= free_t, Y) > 0.02).any()
    # the per-group cap binds harder than the pooled one: group y's cue-free rows score high
    assert (capped >= pooled).all() and (capped > pooled).any()

    def f1(t):
        pred = probs >= t
        return np.mean([2 * (pred[:, j] & Y[:, j]).sum() / (pred[:, j].sum() + Y[:, j].sum())
                        for j in range(2)])
    assert f1(free_t) >= f1(capped)


def test_an_impossible_cap_gives_the_strictest_threshold():
    probs, Y, _ = _scores()
    free = ~Y.any(axis=1)
    probs[free, 0] = 0.9999  # every cue-free row scores above any candidate
    t = fit_thresholds(probs, Y, max_fpr=0.01)
    assert t[0] == pytest.approx(0.99)


def test_cap_arguments_are_checked():
    probs, Y, groups = _scores()
    with pytest.raises(ValueError, match="max_fpr"):
        fit_thresholds(probs, Y, max_fpr=2.0)
    with pytest.raises(ValueError, match="negatives"):
        fpr_within_cap(probs, np.array([0.5]), np.ones(3, dtype=bool), 0.02)
    with pytest.raises(ValueError, match="groups"):
        fit_thresholds(probs, Y, max_fpr=0.02, groups=groups[:10])
    # a group without negatives constrains nothing
    ok = fpr_within_cap(probs, np.array([0.01]), np.zeros(len(probs), dtype=bool), 0.0)
    assert ok.all()


def _heads(k=2):
    return CueHeads(["a", "b"][:k], np.eye(k, 3), np.zeros(k), np.ones(k), np.zeros(k),
                    np.array([0.3, 0.35][:k]), name="h", pattern_weights=[0.0] * k)


def test_fit_operating_point_keeps_the_default_and_adds_a_named_set(tmp_path):
    probs, Y, groups = _scores()
    heads = _heads()
    matched = np.zeros_like(Y)
    fit_operating_point(heads, probs, matched, Y, STRICT, max_fpr=0.02, groups=groups)
    assert heads.operating_point == BALANCED
    assert heads.operating_points[BALANCED]["thresholds"] == [0.3, 0.35]
    strict = heads.at_operating_point(STRICT)
    assert strict is not heads and heads.thresholds.tolist() == [0.3, 0.35]
    assert strict.operating_point == STRICT
    assert (_fpr(probs >= strict.thresholds, Y, groups) <= 0.02).all()
    assert "2.0%" in heads.operating_points[STRICT]["rule"]
    assert heads.at_operating_point(None) is heads
    assert heads.at_operating_point(BALANCED) is heads

    heads.save(tmp_path / "h", "# card\n")
    back = load_cue_heads(tmp_path / "h")
    assert back.operating_point == BALANCED
    assert back.operating_points[STRICT]["thresholds"] == pytest.approx(
        strict.thresholds.tolist())
    with pytest.raises(ValueError, match="balanced, strict"):
        back.at_operating_point("lenient")

    fit_operating_point(heads, probs, matched, Y, "capped", max_fpr=0.05, default=True)
    assert heads.operating_point == "capped"
    assert heads.thresholds.tolist() == heads.operating_points["capped"]["thresholds"]


def test_heads_without_named_sets_say_so():
    with pytest.raises(ValueError, match="offer none"):
        _heads().at_operating_point(STRICT)


@pytest.mark.parametrize("damage, message", [
    (lambda c: c["operating_points"]["strict"].update(thresholds=[0.5]), "one threshold"),
    (lambda c: c["operating_points"]["strict"].update(thresholds=[0.5, 1.5]), "one threshold"),
    (lambda c: c.update(operating_point="lenient"), "not one of"),
    (lambda c: c.update(thresholds=[0.9, 0.9]), "differ"),
    (lambda c: c.update(operating_points=[]), "map names"),
])
def test_damaged_operating_points_are_refused_naming_the_file(tmp_path, damage, message):
    probs, Y, groups = _scores()
    heads = fit_operating_point(_heads(), probs, np.zeros_like(Y), Y, STRICT, max_fpr=0.02)
    heads.save(tmp_path / "h", "# card\n")
    cfg_path = tmp_path / "h" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    damage(cfg)
    cfg_path.write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match=message) as err:
        load_cue_heads(tmp_path / "h")
    assert "config.json" in str(err.value)


def test_the_detector_needs_heads_for_an_operating_point():
    with pytest.raises(ValueError, match="needs trained cue heads"):
        framing.CueDetector(None, None, use_similarity=False, operating_point=STRICT)


def test_the_shipped_heads_offer_both_points_and_the_analyzer_records_its_choice(
        default_analyzer):
    det = default_analyzer.cue_detector
    assert det.operating_point == BALANCED
    assert default_analyzer.config()["cue_operating_point"] == BALANCED
    assert set(det.heads.operating_points) == {BALANCED, STRICT}
    strict = framing.Analyzer(cue_operating_point=STRICT, frames=None,
                              encoder=default_analyzer.encoder)
    assert strict.config()["cue_operating_point"] == STRICT
    assert (strict.cue_detector.thresholds >= det.thresholds).all()
    assert (strict.cue_detector.thresholds > det.thresholds).any()
    text = ("The two governments praised the win-win partnership and vowed to deepen "
            "cooperation. Critics said the project had stalled for years.")
    loose, tight = default_analyzer.score(text), strict.score(text)
    for cue in loose.cues:  # same probabilities, a higher bar (two separate forward passes:
        # float sums may differ in the last bits when torch splits the work differently)
        assert tight.cues[cue].probability == pytest.approx(loose.cues[cue].probability,
                                                            abs=1e-6)
        assert tight.cues[cue].present <= loose.cues[cue].present
    with pytest.raises(ValueError, match="offer"):
        framing.Analyzer(cue_operating_point="lenient", frames=None,
                         encoder=default_analyzer.encoder)


def test_an_operating_point_without_the_analyzers_own_detector_is_refused(default_analyzer):
    with pytest.raises(ValueError, match="cues are off"):
        framing.Analyzer(cues=False, cue_operating_point=STRICT, frames=None,
                         encoder=default_analyzer.encoder)
    with pytest.raises(ValueError, match="operating_point"):
        framing.Analyzer(cue_detector=default_analyzer.cue_detector, cue_operating_point=STRICT,
                         frames=None, encoder=default_analyzer.encoder)
    with pytest.raises(ValueError, match="needs trained cue heads"):
        framing.Analyzer(cues="few-shot", cue_operating_point=STRICT, frames=None,
                         encoder=default_analyzer.encoder)


def test_error_rates_are_looked_up_for_the_operating_point(tmp_path):
    (tmp_path / "error_rates.json").write_text(json.dumps(
        {"operating_point": BALANCED, "cues": {"a": {"tpr": 0.8, "fpr": 0.2}}}))
    assert error_rates_file(tmp_path) == tmp_path / "error_rates.json"
    assert error_rates_file(tmp_path, BALANCED) == tmp_path / "error_rates.json"
    # never correct strict scores with the balanced point's rates
    assert error_rates_file(tmp_path, STRICT) is None
    (tmp_path / "error_rates-strict.json").write_text(json.dumps(
        {"operating_point": STRICT, "cues": {"a": {"tpr": 0.5, "fpr": 0.02}}}))
    assert error_rates_file(tmp_path, STRICT) == tmp_path / "error_rates-strict.json"
    (tmp_path / "error_rates-strict.json").write_text("{not json")
    assert error_rates_file(tmp_path, STRICT) is None


def test_the_score_command_takes_the_operating_point():
    args = build_parser().parse_args(["score", "in.jsonl", "-o", "out", "--cue-operating-point",
                                      STRICT])
    assert args.cue_operating_point == STRICT


def test_a_resumed_run_refuses_another_operating_point(default_analyzer):
    strict = framing.Analyzer(cue_operating_point=STRICT, frames=None,
                              encoder=default_analyzer.encoder)
    old = {"analyzer": default_analyzer.config()}
    new = {"analyzer": dict(default_analyzer.config(), **{
        "cue_operating_point": strict.config()["cue_operating_point"]})}
    check_manifest("scores", old, dict(old), with_analyzer=True)  # the same point resumes
    with pytest.raises(ResumeError, match="cue_operating_point: 'balanced' then, 'strict' now"):
        check_manifest("scores", old, new, with_analyzer=True)


def test_refitting_the_default_point_with_a_cap_replaces_it_and_strict_follows():
    probs, Y, groups = _scores()
    heads = _heads()
    matched = np.zeros_like(Y)
    fit_operating_point(heads, probs, matched, Y, STRICT, max_fpr=0.02, groups=groups)
    before = heads.thresholds.copy()
    fit_operating_point(heads, probs, matched, Y, BALANCED, max_fpr=0.08, groups=groups,
                        default=True)
    assert heads.operating_point == BALANCED
    assert (heads.thresholds >= before).all()
    assert heads.operating_points[BALANCED]["thresholds"] == heads.thresholds.tolist()
    rule = heads.operating_points[BALANCED]["rule"]
    assert "8.0%" in rule and "thresholds it replaces" in rule
    assert (_fpr(probs >= heads.thresholds, Y, groups) <= 0.08).all()
    fit_operating_point(heads, probs, matched, Y, STRICT, max_fpr=0.02, groups=groups)
    strict = np.asarray(heads.operating_points[STRICT]["thresholds"])
    assert (strict >= heads.thresholds).all()
    assert "at least the balanced threshold" in heads.operating_points[STRICT]["rule"]
