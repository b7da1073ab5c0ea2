"""Notebook rendering of an outlet comparison, and the shared number formats."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from framing.analysis.compare import compare_outlets
from framing.core.formatting import (
    MISSING,
    Html,
    escape,
    format_number,
    format_p_value,
    format_percent,
    format_percent_interval,
    format_signed,
    format_signed_interval,
    html_table,
    is_missing,
)
from synth_scores import FRAMES, make_scores

EVIL = "<script>alert(1)</script>"


# -- the formats --------------------------------------------------------------------------
def test_percent_with_interval():
    assert format_percent_interval(0.58, 0.32, 0.81) == "58% [32–81%]"
    assert format_percent_interval(0.5834, 0.3249, 0.8151, digits=1) == "58.3% [32.5–81.5%]"
    assert format_percent_interval(0.2, float("nan"), None) == "20%"
    assert format_percent_interval(float("nan"), 0.1, 0.3) == MISSING


def test_tiny_and_negative_zero_values_read_as_zero():
    assert format_percent(2.776e-17) == "0%"
    assert format_percent(-1e-12) == "0%"
    assert format_percent_interval(0.01, 1e-17, 0.05) == "1% [0–5%]"
    assert format_signed(-3e-9) == "0.00"
    assert format_signed(1e-17) == "0.00"
    assert format_number(-0.0001) == "0.00"


def test_signed_with_interval():
    assert format_signed_interval(0.49, 0.31, 0.63) == "+0.49 [+0.31, +0.63]"
    assert format_signed_interval(-0.1234, -0.3, 0.05) == "\u22120.12 [\u22120.30, +0.05]"  # true minus
    assert format_signed_interval(0.4, None, None) == "+0.40"
    assert format_signed(0.005, 1) == "0.0"
    assert format_signed(float("inf")) == "+∞"


def test_p_values():
    assert format_p_value(2.776e-17) == "< 0.001"
    assert format_p_value(0.0) == "< 0.001"
    assert format_p_value(0.04321) == "0.043"
    assert format_p_value(0.0014) == "0.001"
    assert format_p_value(0.0009) == "< 0.001"
    assert format_p_value(1.0000000002) == "1.000"
    assert format_p_value(float("nan")) == MISSING


@pytest.mark.parametrize("value", [None, float("nan"), np.nan, pd.NA, np.float64("nan")])
def test_missing_values_read_as_a_dash(value):
    assert is_missing(value)
    for fmt in (format_percent, format_signed, format_number, format_p_value):
        assert fmt(value) == MISSING


def test_escape_and_table():
    assert escape(EVIL) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert escape(Html("<b>x</b>")) == "<b>x</b>"
    table = html_table(["<h>"], [[EVIL]])
    assert "<script>" not in table and "&lt;h&gt;" in table


# -- the comparison -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def comparison():
    scores = make_scores({EVIL: 25, "Beta": 40, "Gamma": 1},
                         tone_mean={"Beta": 0.6, EVIL: -0.3},
                         prevalence={"Beta": {"win_win": 0.95}, EVIL: {"win_win": 0.02}},
                         frames={"narrative": FRAMES["narrative"][:2]})
    return compare_outlets(scores, by="outlet", n_boot=200, n_permutations=200, seed=1)


def test_comparison_html_escapes_outlet_names(comparison):
    page = comparison._repr_html_()
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "http" not in page and "src=" not in page  # nothing fetched


def test_comparison_html_formats_numbers_for_people(comparison):
    page = comparison._repr_html_()
    g = comparison.groups.set_index("outlet").loc["Beta"]
    assert format_signed_interval(g["tone_mean"], g["tone_ci_low"], g["tone_ci_high"]) in page
    assert re.search(r"\+0\.\d\d \[\+0\.\d\d, \+0\.\d\d\]", page)
    c = comparison.cues.set_index(["outlet", "cue"]).loc[("Beta", "win_win")]
    assert format_percent_interval(c["prevalence"], c["prevalence_low"],
                                   c["prevalence_high"]) in page
    assert re.search(r"\d+% \[\d+–\d+%\]", page)
    assert "< 0.001" in page or "&lt; 0.001" in page
    assert "***" in page
    # no scientific notation, no raw column names as headers
    assert not re.search(r"\de[-+]\d", page)
    assert "prevalence_low" not in page and "tone_p_adj_vs_rest" not in page
    assert "Mean tone [95% CI]" in page and "Prevalence [95% CI]" in page
    assert "Frame prevalence" in page


def test_comparison_html_lists_the_notes(comparison):
    assert comparison.notes
    page = comparison._repr_html_()
    for note in comparison.notes:
        assert escape(note) in page


def test_tiny_p_values_and_bounds_are_not_scientific():
    scores = make_scores({"A": 60, "B": 60}, tone_mean={"A": -0.8, "B": 0.8}, tone_sd=0.05,
                         prevalence={"A": {"win_win": 0.0}, "B": {"win_win": 1.0}})
    cmp = compare_outlets(scores, by="outlet", n_boot=100, n_permutations=100, seed=0)
    assert cmp.cues["p_adj_vs_rest"].min() < 1e-6  # would print as 1e-xx
    page = cmp._repr_html_()
    assert not re.search(r"\de[-+]\d", page)
    assert "-0%" not in page and "-0.00" not in page
