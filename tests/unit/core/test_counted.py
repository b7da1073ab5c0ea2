"""Counts in messages take the singular for one (\"Scored 1 article\", \"1 cue\")."""

from __future__ import annotations

from framing.core.formatting import counted


def test_counted_takes_the_singular_for_one_only():
    assert counted(1, "article") == "1 article"
    assert counted(0, "article") == "0 articles"
    assert counted(2, "cue") == "2 cues"
    assert counted(1, "stratum", "strata") == "1 stratum"
    assert counted(3, "stratum", "strata") == "3 strata"


def test_the_comparison_summary_counts_one_group_in_the_singular():
    import framing
    from framing.analysis.summary import summary_markdown
    from synth_scores import make_scores

    cmp = framing.compare_outlets(make_scores({"Solo": 6}, seed=2), n_boot=0, n_permutations=0)
    text = summary_markdown(cmp)
    assert "6 articles in 1 group" in text and "1 groups" not in text
