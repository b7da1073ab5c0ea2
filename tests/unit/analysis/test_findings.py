"""Findings first: ranked plain-English sentences from an outlet comparison."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
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
    assert cue.text.startswith("Alpha uses the cue “win win” in ")
    assert re.search(r"in \d+% of its articles \[\d+%, \d+%\] against \d+% for Beta", cue.text)
    assert "BH-adjusted p < 0.001" in cue.text
    assert items[-1].kind == "summary" and "No other difference in cue use" in items[-1].text
    _no_scientific(items)


def test_names_and_alpha_are_honoured(planted):
    named = planted.findings(names={"win_win": "Mutual benefit"})
    assert any("the cue “Mutual benefit” in " in f.text for f in named)
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


# -- trends over time ------------------------------------------------------------------------
def _rising_scores(seed: int = 21):
    """Rising's win_win share climbs from about 15% to 75% over six months while its
    tone falls; Steady stays where it is."""
    df = make_scores({"Rising": 150, "Steady": 150}, seed=seed)
    month = pd.to_datetime(df["date"]).dt.month.to_numpy() - 1
    rng = np.random.default_rng(seed + 1)
    rising = (df["outlet"] == "Rising").to_numpy()
    df["cue_win_win_present"] = rng.random(len(df)) < np.where(rising, 0.15 + 0.12 * month, 0.3)
    df.loc[rising, "tone"] = np.clip(0.3 - 0.08 * month[rising]
                                     + rng.normal(0, 0.2, int(rising.sum())), -1, 1)
    return df


@pytest.fixture(scope="module")
def trending():
    cmp = framing.compare_outlets(_rising_scores(), time="date", freq="M", **FAST)
    cmp.manifest = {"analyzer": {"catalogue": "builtin"}}  # cue names from the catalogue
    return cmp


def test_trend_findings_name_the_cue_and_the_direction(trending):
    items = trending.trend_findings()
    trends = [f for f in items if f.kind == "trend"]
    assert {(f.group_a, f.label) for f in trends} == {("Rising", "win_win"), ("Rising", "tone")}
    cue = next(f for f in trends if f.label == "win_win")
    # the name as the catalogue (and every table) writes it, quoted
    assert cue.name == "Mutual benefit" and cue.significant and cue.diff > 0
    assert cue.text.startswith("The cue “Mutual benefit” at Rising rose from ")
    assert re.search(r"rose from \d+% of articles in 2026-01 to \d+% in 2026-06 \(\+\d+(\.\d)? "
                     r"points per month \[\+\d+(\.\d)?, \+\d+(\.\d)?\], BH-adjusted p < 0\.001\)\.$",
                     cue.text), cue.text
    assert cue.effect == "slope per month" and cue.estimate_b > cue.estimate_a
    tone = next(f for f in trends if f.label == "tone")
    assert tone.text.startswith("Mean tone at Rising fell from +0.")
    assert re.search(r"\(−0\.\d{3} per month \[−0\.\d{3}, −0\.\d{3}\]", tone.text), tone.text
    assert items[-1].kind == "summary" and items[-1].label == "trend"
    assert items[-1].text == ("No other trend over time is significant after BH correction "
                              "(8 tests in all).")
    _no_scientific(items)


def test_trend_findings_keep_the_contrast_findings_as_they_were(trending):
    assert not any(f.kind == "trend" or f.label == "trend" for f in trending.findings())
    plain = framing.compare_outlets(make_scores({"A": 30, "B": 30}, seed=2), **FAST)
    assert plain.trend_findings() == []
    capped = trending.trend_findings(max_items=1)
    assert sum(f.kind == "trend" for f in capped) == 1
    assert capped[1].text == "1 more significant trend is in the trends table."
    assert not any(f.kind == "trend" for f in trending.trend_findings(alpha=0.0))
    named = trending.trend_findings(names={"win_win": "Shared gains"})
    assert any(f.text.startswith("The cue “Shared gains” at Rising rose") for f in named)


def test_trend_findings_count_the_trends_that_could_not_be_tested():
    df = make_scores({"A": 40, "B": 40}, seed=6)
    df.loc[df["outlet"] == "B", "date"] = "2026-02-10"
    cmp = framing.compare_outlets(df, time="date", **FAST)
    items = cmp.trend_findings()
    assert items[-1].text.startswith("4 trends could not be tested (too few time bins")
    assert not any(f.kind == "trend" and f.group_a == "B" for f in items)
    _no_scientific(items)


def test_cli_prints_the_trends_after_the_findings(tmp_path, capsys):
    scores = tmp_path / "scores.parquet"
    _rising_scores().to_parquet(scores)
    assert main(["compare", str(scores), "--time", "date", "--n-boot", "200",
                 "--n-permutations", "199"]) == 0
    out = capsys.readouterr().out
    assert out.index("## Findings") < out.index("## Trends over time") < out.index(
        "## Outlet comparison by outlet")
    trends = out[out.index("## Trends over time"):out.index("## Outlet comparison")]
    assert "The cue “win win” at Rising rose from" in trends
    assert "### Significant trends over time (slope per month)" in out
    assert re.search(r"\| Rising \| win_win \| 2026-01 – 2026-06 \| \d+% → \d+% \| "
                     r"\+\d+\.\d \[\+\d+\.\d, \+\d+\.\d\] pts \|", out)
