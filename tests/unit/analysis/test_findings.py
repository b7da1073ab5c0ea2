"""Findings first: ranked plain-English sentences from an outlet comparison."""

from __future__ import annotations

import re

import pytest

import framing
from framing.analysis.findings import Finding, findings, findings_markdown
from framing.cli import main
from synth_scores import make_scores

FAST = {"n_boot": 200, "n_permutations": 199, "error_rates": {}}


@pytest.fixture(scope="module")
def planted():
    df = make_scores({"Alpha": 60, "Beta": 60}, tone_mean={"Alpha": 0.5, "Beta": -0.1},
                     prevalence={"Alpha": {"win_win": 0.8}, "Beta": {"win_win": 0.1}}, seed=5)
    return framing.compare_outlets(df, **FAST)


def _no_scientific(items: list[Finding]) -> None:
    for f in items:
        assert not re.search(r"\de[-+]?\d", f.text), f.text
        assert "nan" not in f.text.lower(), f.text


def test_planted_differences_come_first_with_the_right_direction(planted):
    items = planted.findings()
    assert items == findings(planted)
    top = items[:2]
    assert {f.kind for f in top} == {"tone", "cue"}
    for f in top:
        assert f.significant and f.group_a == "Alpha" and f.group_b == "Beta"
        assert f.estimate_a > f.estimate_b and f.p_adj < 0.05
    assert abs(top[0].effect_size) >= abs(top[1].effect_size)
    tone = next(f for f in top if f.kind == "tone")
    assert tone.effect == "Hedges' g"
    assert tone.text.startswith("Articles from Alpha are more promotional than those from Beta")
    cue = next(f for f in top if f.kind == "cue")
    assert cue.label == "win_win" and cue.effect == "Cohen's h"
    assert cue.text.startswith("Alpha uses win win framing in ")
    assert re.search(r"in \d+% of its articles \[\d+%, \d+%\] against \d+% for Beta", cue.text)
    assert "BH-adjusted p < 0.001" in cue.text
    assert items[-1].kind == "summary" and "No other difference in cue use" in items[-1].text
    _no_scientific(items)


def test_names_and_alpha_are_honoured(planted):
    named = planted.findings(names={"win_win": "Mutual benefit"})
    assert any("mutual benefit framing" in f.text for f in named)
    assert all(not f.significant for f in planted.findings(alpha=0.0)
               if f.kind in ("tone", "cue"))
    capped = planted.findings(max_items=1)
    assert sum(f.significant for f in capped) == 1
    assert "more significant difference" in capped[1].text


def test_no_differences_say_nothing_is_significant():
    df = make_scores({"A": 40, "B": 40, "C": 40}, seed=9)
    cmp = framing.compare_outlets(df, **FAST)
    items = cmp.findings()  # no planted difference: nothing survives the correction
    assert not any(f.significant for f in items)
    assert [f.kind for f in items] == ["summary", "summary"]
    by_kind = {f.label: f for f in items if f.kind == "summary"}
    assert by_kind["tone"].text == ("No difference in tone is significant after BH correction "
                                    "(3 tests in all).")
    assert by_kind["cue"].n_tests == 9 and "No difference in cue use" in by_kind["cue"].text
    _no_scientific(items)


def test_skipped_tests_give_no_finding_and_a_small_group_is_named_once():
    df = make_scores({"A": 40, "B": 40, "Tiny": 1}, tone_mean={"A": 0.6},
                     prevalence={"Tiny": {"win_win": 1.0}}, seed=4)
    cmp = framing.compare_outlets(df, **FAST)
    items = cmp.findings(alpha=1.0)  # every test that ran counts as significant
    contrasts = [f for f in items if f.kind in ("tone", "cue", "frame")]
    assert contrasts and all("Tiny" not in (f.group_a, f.group_b) for f in contrasts)
    small = [f for f in items if f.kind == "small_group"]
    assert len(small) == 1 and small[0].group_a == "Tiny"
    assert sum("Tiny" in f.text for f in items) == 1
    _no_scientific(items)


def test_html_report_starts_with_the_findings(planted):
    doc = planted.to_html(plots=False)
    assert 'id="findings">Findings</h2><ol class="findings"><li>' in doc
    assert doc.index("Findings</h2>") < doc.index("<table")
    assert doc.index("Findings</h2>") < doc.index("<h2>Summary</h2>")


def test_markdown_and_cli_print_the_findings_first(tmp_path, capsys):
    assert findings_markdown([]).startswith("## Findings")
    scores = tmp_path / "scores.parquet"
    make_scores({"A": 40, "B": 40}, tone_mean={"A": 0.6},
                prevalence={"A": {"win_win": 0.8}, "B": {"win_win": 0.1}}, seed=3
                ).to_parquet(scores)
    assert main(["compare", str(scores), "--n-boot", "200", "--n-permutations", "199"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## Findings\n\n1. ")
    assert out.index("## Findings") < out.index("## Outlet comparison by outlet")
