"""OutletComparison.evidence and the evidence panels of the HTML report."""

from __future__ import annotations

import html

import pandas as pd
import pytest

import framing
from framing.analysis.evidence import EVIDENCE_KEEP
from synth_scores import make_scores

FAST = {"n_boot": 100, "n_permutations": 99}
GROUPS = {"Alpha Daily": 40, "Beta Post": 30}
HOSTILE = 'They said <script>alert("x")</script> & left'


def _scores() -> pd.DataFrame:
    df = make_scores(GROUPS, prevalence={"Alpha Daily": {"win_win": 0.6}}, seed=5)
    df["most_promotional"] = [f"praise in {i}" for i in df["id"]]
    df["most_critical"] = [f"blame in {i}" for i in df["id"]]
    return df


@pytest.fixture(scope="module")
def scores() -> pd.DataFrame:
    return _scores()


@pytest.fixture(scope="module")
def cmp(scores):
    return framing.compare_outlets(scores, error_rates={}, **FAST)


def test_cue_evidence_is_present_articles_by_probability(cmp, scores):
    out = cmp.evidence("Alpha Daily", "win_win", n=5)
    assert list(out.columns) == ["id", "title", "date", "probability", "sentence"]
    assert len(out) == 5
    assert out["probability"].is_monotonic_decreasing
    rows = scores.set_index("id").loc[out["id"]]
    assert rows["cue_win_win_present"].all()
    assert rows["outlet"].eq("Alpha Daily").all()
    assert list(out["sentence"]) == list(rows["cue_win_win_evidence"])
    expected = (scores[(scores["outlet"] == "Alpha Daily") & scores["cue_win_win_present"]]
                .sort_values("cue_win_win", ascending=False)["id"].head(5))
    assert list(out["id"]) == list(expected)


def test_n_is_respected_and_bounded(cmp, scores):
    assert len(cmp.evidence("Beta Post", "mutual_respect", n=2)) == 2
    n_present = int(scores.loc[scores["outlet"] == "Beta Post", "cue_win_win_present"].sum())
    assert len(cmp.evidence("Beta Post", "win_win", n=EVIDENCE_KEEP)) == min(n_present,
                                                                            EVIDENCE_KEEP)
    for bad in (0, EVIDENCE_KEEP + 1):
        with pytest.raises(ValueError, match="n must be"):
            cmp.evidence("Beta Post", "win_win", n=bad)


def test_unknown_group_and_cue_name_the_valid_ones(cmp):
    with pytest.raises(KeyError) as err:
        cmp.evidence("Nowhere Times", "win_win")
    assert "Alpha Daily" in str(err.value) and "Beta Post" in str(err.value)
    with pytest.raises(KeyError) as err:
        cmp.evidence("Alpha Daily", "no_such_cue")
    for name in ("win_win", "mutual_respect", "counter_criticism", "most_promotional",
                 "most_critical"):
        assert name in str(err.value)


def test_tone_ends(cmp, scores):
    alpha = scores[scores["outlet"] == "Alpha Daily"]
    top = cmp.evidence("Alpha Daily", "most_promotional", n=4)
    assert list(top.columns) == ["id", "title", "date", "tone", "sentence"]
    assert list(top["id"]) == list(alpha.sort_values("tone", ascending=False)["id"].head(4))
    assert top["tone"].is_monotonic_decreasing
    assert list(top["sentence"]) == [f"praise in {i}" for i in top["id"]]
    low = cmp.evidence("Alpha Daily", "most_critical", n=4)
    assert list(low["id"]) == list(alpha.sort_values("tone")["id"].head(4))
    assert low["tone"].is_monotonic_increasing
    assert list(low["sentence"]) == [f"blame in {i}" for i in low["id"]]


def test_frames_have_no_evidence():
    df = make_scores(GROUPS, frames={"narrative": ("conflict",)}, seed=2)
    cmp = framing.compare_outlets(df, error_rates={}, **FAST)
    with pytest.raises(ValueError, match="no evidence sentence per frame"):
        cmp.evidence("Alpha Daily", "narrative:conflict")


def test_error_rows_are_left_out():
    df = _scores()
    first = df.index[df["outlet"].eq("Alpha Daily") & df["cue_win_win_present"]]
    best = df.loc[first, "cue_win_win"].idxmax()
    df.loc[best, "error"] = "broken"
    cmp = framing.compare_outlets(df, error_rates={}, **FAST)
    assert df.loc[best, "id"] not in set(cmp.evidence("Alpha Daily", "win_win", n=10)["id"])


def test_within_groups_take_a_tuple():
    df = _scores()
    df["topic"] = ["trade" if i % 2 else "health" for i in range(len(df))]
    cmp = framing.compare_outlets(df, within="topic", error_rates={}, **FAST)
    out = cmp.evidence(("trade", "Beta Post"), "most_promotional", n=3)
    assert len(out) == 3
    ids = set(df.loc[(df["topic"] == "trade") & (df["outlet"] == "Beta Post"), "id"])
    assert set(out["id"]) <= ids
    assert len(cmp.evidence("trade / Beta Post", "most_promotional", n=3)) == 3


def test_html_report_has_escaped_evidence_panels():
    df = _scores()
    hit = df.index[df["outlet"].eq("Beta Post") & df["cue_counter_criticism_present"]]
    target = df.loc[hit, "cue_counter_criticism"].idxmax()
    df.loc[target, "cue_counter_criticism_evidence"] = HOSTILE
    df.loc[target, "title"] = "Headline <b>bold</b>"
    cmp = framing.compare_outlets(df, error_rates={}, **FAST)
    doc = cmp.to_html(plots=False)
    assert "The sentences behind the numbers" in doc
    assert doc.count('<details class="evidence">') >= 2 * 3  # two groups x three cues
    assert HOSTILE not in doc and doc.count("<script") == 1  # only the report's own sorter
    assert html.escape(HOSTILE) in doc
    assert "Headline &lt;b&gt;bold&lt;/b&gt;" in doc
    assert str(df.loc[target, "id"]) in doc
    # the section sits after the cue table and before the plots / tables
    assert doc.index("Cue prevalence") < doc.index("The sentences behind") < doc.index(
        "<h2>Tables</h2>")
    # bounded: no panel lists more than five articles
    counts = [panel.split("</details>")[0].count('<td class="text sentence">')
              for panel in doc.split('<details class="evidence">')[1:]]
    assert counts and min(counts) >= 1 and max(counts) <= 5
