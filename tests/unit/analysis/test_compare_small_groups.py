"""compare_outlets on degenerate groups: a group of one article, groups without tone,
groups whose tone never varies, cues never present, a single group, no rows at all.

Every case must give defined numbers (NaN where nothing is defined), say why in the
``note`` column, leave the other groups' results alone and emit no warning (warnings
are errors in this module)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from framing.analysis import compare as C
from framing.cli.app import main
from framing.stats import inference as S
from synth_scores import FRAMES, make_scores

pytestmark = pytest.mark.filterwarnings("error")

FAST = {"n_boot": 200, "n_permutations": 199}
#: No resampling (t intervals, Welch's t): results depend on the data only, not on how
#: far the shared random stream has been drawn.
EXACT = {"n_boot": 0, "n_permutations": 0}
PAIRWISE = ("pairwise_tone", "pairwise_cues", "pairwise_frames")


def _with_tiny(sizes=None, seed=1, **kw):
    """Ordinary outlets plus ``Tiny``, an outlet with a single article (drawn last, so
    the other outlets' rows are the same as without it)."""
    return make_scores(sizes or {"Alpha": 25, "Beta": 25, "Tiny": 1}, seed=seed, **kw)


def _involves(table: pd.DataFrame, group: str) -> pd.Series:
    return (table["group_a"] == group) | (table["group_b"] == group)


# -- the reported crash ----------------------------------------------------------------------
def test_one_article_outlet_does_not_crash():
    """The issue: the tone test against the rest reached scipy's permutation test with a
    sample of one and raised."""
    df = _with_tiny()
    cmp = C.compare_outlets(df, **FAST)
    g = cmp.groups.set_index("outlet")
    tiny = df[df["outlet"] == "Tiny"].iloc[0]
    # the estimate is kept; nothing needing two values is made up
    assert g.loc["Tiny", "n_articles"] == 1 and g.loc["Tiny", "tone_n"] == 1
    assert g.loc["Tiny", "tone_mean"] == pytest.approx(tiny["tone"])
    assert math.isnan(g.loc["Tiny", "tone_sd"])
    assert math.isnan(g.loc["Tiny", "tone_ci_low"]) and math.isnan(g.loc["Tiny", "tone_ci_high"])
    assert g.loc["Tiny", "tone_ci_method"] == "none"
    # its test is skipped, with the reason in the row
    assert g.loc["Tiny", "tone_test_vs_rest"] == "none"
    assert math.isnan(g.loc["Tiny", "tone_p_vs_rest"]) and math.isnan(g.loc["Tiny", "tone_p_adj_vs_rest"])
    assert not g.loc["Tiny", "tone_significant_vs_rest"]
    assert g.loc["Tiny", "note"] == ("too few articles with a tone (1; a tone interval and a "
                                     "test need 2)")
    # the other groups are tested as usual
    assert (g.loc[["Alpha", "Beta"], "tone_test_vs_rest"] == "permutation").all()
    assert g.loc[["Alpha", "Beta"], "tone_p_vs_rest"].notna().all()
    assert (g.loc[["Alpha", "Beta"], "note"] == "").all()
    # one note names the small group
    small = [n for n in cmp.notes if n.startswith("too few articles for a test")]
    assert len(small) == 1 and "1 group(s): Tiny;" in small[0]


def test_cli_compare_with_a_one_article_outlet(tmp_path, capsys):
    """``framing compare out.csv --by outlet`` exits 0 and shows why Tiny is untested:
    in the printed notes and in the ``note`` column of every CSV table."""
    csv = tmp_path / "out.csv"
    _with_tiny().to_csv(csv, index=False)
    out_dir = tmp_path / "tables"
    rc = main(["compare", str(csv), "--by", "outlet", "--n-boot", "50",
               "--n-permutations", "99", "--out-dir", str(out_dir)])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "| Tiny | 1 |" in captured.out
    assert "- too few articles for a test (fewer than 2) in 1 group(s): Tiny;" in captured.out
    groups = pd.read_csv(out_dir / "groups.csv").set_index("outlet")
    assert groups.loc["Tiny", "note"].startswith("too few articles with a tone (1;")
    assert groups.loc[["Alpha", "Beta"], "note"].isna().all()  # "" reads back as missing
    assert math.isnan(groups.loc["Tiny", "tone_p_vs_rest"])
    for name in ("pairwise_tone", "pairwise_cues"):
        table = pd.read_csv(out_dir / f"{name}.csv")
        tiny = _involves(table, "Tiny")
        assert tiny.sum() > 0 and table.loc[tiny, "p_value"].isna().all(), name
        assert table.loc[tiny, "note"].str.contains("too few articles").all(), name
        assert table.loc[~tiny, "p_value"].notna().all(), name
    cues = pd.read_csv(out_dir / "cues.csv")
    assert (cues.loc[cues["outlet"] == "Tiny", "note"]
            == "too few articles (1; a test needs 2)").all()


# -- a group of one --------------------------------------------------------------------------
@pytest.mark.parametrize("settings", [EXACT, {"n_boot": 0, "n_permutations": 0,
                                              "within": "topic"}],
                         ids=["whole-table", "within-strata"])
def test_other_contrasts_are_unchanged_by_a_tiny_group(settings):
    """Pairwise rows not involving Tiny equal a run without Tiny, p_adj included: the
    BH adjustment counts only the tests that ran."""
    df = _with_tiny({"Alpha": 30, "Beta": 30, "Gamma": 30, "Tiny": 1},
                    tone_mean={"Alpha": 0.25}, prevalence={"Alpha": {"win_win": 0.6}},
                    frames={"narrative": FRAMES["narrative"]},
                    frame_prevalence={"Alpha": {"narrative:conflict": 0.6}})
    df["topic"] = np.where(np.arange(len(df)) % 2 == 0, "economy", "politics")
    with_tiny = C.compare_outlets(df, error_rates={}, **settings)
    without = C.compare_outlets(df[df["outlet"] != "Tiny"], error_rates={}, **settings)
    for name in PAIRWISE:
        table = getattr(with_tiny, name)
        tiny = _involves(table, "Tiny")
        assert tiny.any(), name
        pd.testing.assert_frame_equal(table[~tiny].reset_index(drop=True),
                                      getattr(without, name), obj=name)
        skipped = table[tiny]
        assert (skipped["test"] == "none").all(), name
        assert skipped[["statistic", "p_value", "p_adj"]].isna().all().all(), name
        assert not skipped["significant"].any(), name
        assert skipped["note"].str.contains(r"too few articles(?: with a tone)? in Tiny \(1;").all()
        # estimates are still given for the pairs with Tiny
        assert skipped[["n_a", "n_b"]].notna().all().all()
    # the planted differences still come out significant
    assert with_tiny.pairwise_tone["significant"].sum() >= 2
    # the plain per-group estimates of the other groups do not move either
    for name, cols in (("groups", ["n_articles", "tone_n", "tone_mean", "tone_sd"]),
                       ("cues", ["n_present", "prevalence", "prevalence_low"])):
        mine = getattr(with_tiny, name)
        keep = mine["outlet"] != "Tiny"
        pd.testing.assert_frame_equal(mine.loc[keep, cols].reset_index(drop=True),
                                      getattr(without, name)[cols], obj=name)


def test_bh_counts_only_the_tests_that_ran():
    df = _with_tiny({"Alpha": 30, "Beta": 30, "Gamma": 30, "Tiny": 1},
                    tone_mean={"Alpha": 0.2}, prevalence={"Alpha": {"win_win": 0.55}})
    cmp = C.compare_outlets(df, error_rates={}, **FAST)
    families = [(cmp.pairwise_tone, "p_value", "p_adj"), (cmp.pairwise_cues, "p_value", "p_adj"),
                (cmp.groups, "tone_p_vs_rest", "tone_p_adj_vs_rest"),
                (cmp.cues, "p_vs_rest", "p_adj_vs_rest")]
    for table, p_col, adj_col in families:
        ran = table[p_col].notna()
        assert ran.any() and (~ran).any()
        assert table.loc[~ran, adj_col].isna().all()
        np.testing.assert_allclose(table.loc[ran, adj_col], S.bh_adjust(table.loc[ran, p_col]))
    # three tone pairs ran (Tiny's three did not): BH over 3, not 6
    tone = cmp.pairwise_tone[cmp.pairwise_tone["p_value"].notna()]
    smallest = tone["p_value"].min()
    assert len(tone) == 3
    assert tone.loc[tone["p_value"].idxmin(), "p_adj"] == pytest.approx(min(1.0, 3 * smallest))


def test_group_of_one_keeps_its_estimates():
    df = _with_tiny()
    cmp = C.compare_outlets(df, **FAST)
    tiny = df[df["outlet"] == "Tiny"].iloc[0]
    g = cmp.groups.set_index("outlet").loc["Tiny"]
    label = tiny["tone_label"]
    assert g[f"share_{label}"] == 1.0
    assert (g[f"share_{label}_low"], g[f"share_{label}_high"]) == pytest.approx(
        tuple(float(v) for v in S.wilson_interval(1, 1)))
    cues = cmp.cues[cmp.cues["outlet"] == "Tiny"].set_index("cue")
    for cue, row in cues.iterrows():
        k = int(tiny[f"cue_{cue}_present"])
        assert row["n_present"] == k and row["prevalence"] == k
        low, high = (float(v) for v in S.wilson_interval(k, 1))
        assert (row["prevalence_low"], row["prevalence_high"]) == pytest.approx((low, high))
        assert row["rate_per_1000"] == pytest.approx(k / tiny["n_sentences"] * 1000)
        assert not math.isnan(row["diff_vs_rest"])  # an estimate, kept
        assert row["test_vs_rest"] == "none" and math.isnan(row["p_vs_rest"])
    pw = cmp.pairwise_tone.set_index(["group_a", "group_b"]).loc[("Alpha", "Tiny")]
    alpha_mean = cmp.groups.set_index("outlet").loc["Alpha", "tone_mean"]
    assert pw["mean_diff"] == pytest.approx(alpha_mean - tiny["tone"])
    assert pw["diff_ci_method"] == "none" and math.isnan(pw["diff_ci_low"])


def test_two_groups_one_of_them_single():
    """The big group's tests against the rest have a pool of one article: skipped, with
    the reason given from its side."""
    cmp = C.compare_outlets(make_scores({"Alpha": 20, "Tiny": 1}, seed=3), **FAST)
    g = cmp.groups.set_index("outlet")
    assert g.loc["Alpha", "note"] == ("too few articles with a tone in the other groups "
                                      "(1; a test needs 2)")
    assert g["tone_p_vs_rest"].isna().all() and g["tone_p_adj_vs_rest"].isna().all()
    assert not math.isnan(g.loc["Alpha", "tone_diff_vs_rest"])
    cues = cmp.cues.set_index("outlet")
    assert (cues.loc["Alpha", "note"].str.startswith(
        "too few articles in the other groups (1; a test needs 2)")).all()
    assert cmp.cues["p_vs_rest"].isna().all()
    assert cmp.pairwise_tone["p_value"].isna().all() and cmp.pairwise_cues["p_value"].isna().all()
    assert not cmp.pairwise_tone["significant"].any()


def test_two_single_article_groups():
    cmp = C.compare_outlets(make_scores({"One": 1, "Two": 1}, seed=2), **FAST)
    assert len(cmp.pairwise_tone) == 1
    row = cmp.pairwise_tone.iloc[0]
    assert row["note"] == ("too few articles with a tone in One (1; a test needs 2); "
                           "too few articles with a tone in Two (1; a test needs 2)")
    assert math.isnan(row["p_value"]) and math.isnan(row["cohens_d"])  # no spread at all
    assert any("2 group(s): One, Two;" in n for n in cmp.notes)


# -- no tone, or tone without spread ---------------------------------------------------------
def test_group_without_any_tone():
    df = make_scores({"Alpha": 20, "Beta": 20, "Mute": 6}, seed=5)
    df.loc[df["outlet"] == "Mute", "tone"] = np.nan
    cmp = C.compare_outlets(df, **FAST)
    g = cmp.groups.set_index("outlet")
    assert g.loc["Mute", "tone_n"] == 0 and math.isnan(g.loc["Mute", "tone_mean"])
    assert g.loc["Mute", "note"] == ("too few articles with a tone (0; a tone interval and a "
                                     "test need 2)")
    assert math.isnan(g.loc["Mute", "tone_p_vs_rest"])
    pw = cmp.pairwise_tone
    mute = _involves(pw, "Mute")
    assert pw.loc[mute, "p_value"].isna().all() and pw.loc[~mute, "p_value"].notna().all()
    assert (pw.loc[mute, "note"] == "too few articles with a tone in Mute (0; a test needs 2)").all()
    # its six articles still enter the cue tests
    cues = cmp.cues[cmp.cues["outlet"] == "Mute"]
    assert cues["p_vs_rest"].notna().all() and (cues["note"] == "").all()
    assert any(n.startswith("too few articles with a tone for a tone test") and "Mute" in n
               for n in cmp.notes)


def test_table_without_a_tone_column_has_no_tone_notes():
    df = make_scores({"Alpha": 10, "Beta": 10}, seed=5).drop(columns=["tone"])
    cmp = C.compare_outlets(df, **FAST)
    assert (cmp.groups["note"] == "").all() and (cmp.pairwise_tone["note"] == "").all()
    assert cmp.groups["tone_p_vs_rest"].isna().all()
    assert cmp.pairwise_cues["p_value"].notna().all()
    assert any("no tone column" in n for n in cmp.notes)
    assert not any("with a tone for a tone test" in n for n in cmp.notes)


@pytest.mark.parametrize("settings", [FAST, {**FAST, "max_resample_n": 0}],
                         ids=["permutation", "welch"])
def test_group_whose_tone_never_varies(settings):
    df = make_scores({"Alpha": 20, "Beta": 20, "Flat": 10}, seed=7)
    df.loc[df["outlet"] == "Flat", "tone"] = 0.4
    cmp = C.compare_outlets(df, **settings)
    g = cmp.groups.set_index("outlet").loc["Flat"]
    assert g["tone_mean"] == pytest.approx(0.4) and g["tone_sd"] == 0
    assert (g["tone_ci_low"], g["tone_ci_high"]) == pytest.approx((0.4, 0.4))
    assert g["note"] == "" and 0 <= g["tone_p_vs_rest"] <= 1
    pw = cmp.pairwise_tone.set_index(["group_a", "group_b"])
    row = pw.loc[("Alpha", "Flat")]
    assert 0 <= row["p_value"] <= 1 and not math.isnan(row["hedges_g"]) and row["note"] == ""


@pytest.mark.parametrize("settings, test", [(FAST, "permutation"),
                                            ({**FAST, "max_resample_n": 0}, "welch_t")],
                         ids=["permutation", "welch"])
def test_every_article_with_the_same_tone(settings, test):
    df = make_scores({"Alpha": 15, "Beta": 15}, seed=7)
    df["tone"] = 0.25
    same = C.compare_outlets(df, **settings)
    row = same.pairwise_tone.iloc[0]
    assert (row["test"], row["statistic"], row["p_value"]) == (test, 0.0, 1.0)
    assert math.isnan(row["cohens_d"]) and math.isnan(row["hedges_g"])
    assert row["diff_ci_low"] == row["diff_ci_high"] == 0.0
    assert (same.groups["tone_p_vs_rest"] == 1.0).all()
    df.loc[df["outlet"] == "Beta", "tone"] = -0.25
    apart = C.compare_outlets(df, **settings).pairwise_tone.iloc[0]
    assert apart["mean_diff"] == pytest.approx(0.5) and math.isnan(apart["cohens_d"])
    assert apart["p_value"] <= 0.01  # the smallest p 199 permutations can give
    if test == "welch_t":
        assert apart["statistic"] == math.inf and apart["p_value"] == 0.0


# -- cues never (or always) present ----------------------------------------------------------
def test_cue_never_present_in_any_article():
    df = make_scores({"Alpha": 20, "Beta": 20}, seed=8)
    df["cue_win_win_present"] = False
    cmp = C.compare_outlets(df, error_rates={}, **FAST)
    cues = cmp.cues[cmp.cues["cue"] == "win_win"]
    assert (cues["prevalence"] == 0).all() and (cues["prevalence_low"] == 0).all()
    np.testing.assert_allclose(cues["prevalence_high"], float(S.wilson_interval(0, 20)[1]))
    assert (cues["rate_per_1000"] == 0).all()
    assert (cues["p_vs_rest"] == 1.0).all()
    assert (cues["note"] == "no article compared has the cue: ratios undefined, p = 1").all()
    pw = cmp.pairwise_cues.set_index("cue").loc["win_win"]
    assert pw["test"] == "fisher" and pw["p_value"] == 1.0 and pw["diff"] == 0
    assert pw[["risk_ratio", "odds_ratio", "rr_ci_low", "or_ci_high"]].isna().all()
    assert pw["note"] == "no article compared has the cue: ratios undefined, p = 1"
    # other cues: no note, and the p = 1 test stays in their BH family
    others = cmp.pairwise_cues[cmp.pairwise_cues["cue"] != "win_win"]
    assert (others["note"] == "").all()
    np.testing.assert_allclose(cmp.pairwise_cues["p_adj"], S.bh_adjust(cmp.pairwise_cues["p_value"]))
    assert any(n.startswith("cue(s) that no article has: win_win;") for n in cmp.notes)


def test_cue_in_every_article():
    df = make_scores({"Alpha": 20, "Beta": 20}, seed=8)
    df["cue_mutual_respect_present"] = True
    cmp = C.compare_outlets(df, error_rates={}, **FAST)
    pw = cmp.pairwise_cues.set_index("cue").loc["mutual_respect"]
    assert pw["p_value"] == 1.0 and math.isnan(pw["risk_ratio"])
    assert pw["note"] == "every article compared has the cue: ratios undefined, p = 1"
    assert any(n.startswith("cue(s) that every article has: mutual_respect;") for n in cmp.notes)


# -- one group, no rows ----------------------------------------------------------------------
def test_single_group_overall():
    cmp = C.compare_outlets(make_scores({"Solo": 12}, seed=4), **FAST)
    g = cmp.groups.iloc[0]
    assert g["note"] == "no other group to test against"
    assert not math.isnan(g["tone_ci_low"]) and math.isnan(g["tone_p_vs_rest"])
    assert (cmp.cues["note"] == "no other group to test against").all()
    assert cmp.cues["p_vs_rest"].isna().all() and cmp.cues["prevalence_low"].notna().all()
    assert cmp.pairwise_tone.empty and "note" in cmp.pairwise_tone.columns
    assert cmp.pairwise_cues.empty and "note" in cmp.pairwise_cues.columns
    assert any("no pairwise comparisons" in n for n in cmp.notes)
    assert not any(n.startswith("too few") for n in cmp.notes)


def test_single_article_overall():
    cmp = C.compare_outlets(make_scores({"Solo": 1}, seed=4), **FAST)
    assert cmp.groups.iloc[0]["note"].startswith("too few articles with a tone (1;")
    assert (cmp.cues["note"].str.startswith("too few articles (1; a test needs 2)")).all()
    cmp.to_markdown()


@pytest.mark.parametrize("make", [lambda df: df.iloc[0:0],
                                  lambda df: df.assign(error="boom")],
                         ids=["no-rows", "every-row-errored"])
def test_no_usable_rows(make):
    df = make(make_scores({"Alpha": 5, "Beta": 5}, seed=4))
    cmp = C.compare_outlets(df, time="date", **FAST)
    for name in ("groups", "cues", "pairwise_tone", "pairwise_cues", "frames", "pairwise_frames"):
        table = getattr(cmp, name)
        assert table.empty and "note" in table.columns, name
    assert cmp.over_time.empty
    assert any("no pairwise comparisons" in n for n in cmp.notes)
    cmp.to_markdown()


# -- the test itself -------------------------------------------------------------------------
def test_mean_difference_test_needs_two_values_per_sample():
    """Was a ValueError from scipy (permutation) or NaN with warnings (Welch)."""
    b = np.linspace(-0.5, 0.5, 9)
    for max_n in (1000, 0):
        test, stat, p = S.mean_difference_test(np.array([0.3]), b, 99, max_n, rng=0)
        assert test == "none" and math.isnan(stat) and math.isnan(p)
        assert S.mean_difference_test(b, np.array([0.3]), 99, max_n, rng=0)[0] == "none"
    assert S.mean_difference_test(b[:2], b[2:], 99, 1000, rng=0)[0] == "permutation"


def test_welch_with_a_constant_sample_matches_scipy():
    a, b = np.full(6, 0.3), np.linspace(-0.5, 0.5, 9)
    test, t, p = S.mean_difference_test(a, b, 0, 0)
    with pytest.warns(RuntimeWarning):  # what the summary-statistics route avoids
        ref = stats.ttest_ind(a, b, equal_var=False)
    assert test == "welch_t" and (t, p) == pytest.approx((ref.statistic, ref.pvalue))
    assert S.mean_difference_test(np.full(3, 0.2), np.full(4, 0.2), 0, 0) == ("welch_t", 0.0, 1.0)
    assert S.mean_difference_test(np.full(3, -0.2), np.full(4, 0.2), 0, 0) == (
        "welch_t", -math.inf, 0.0)


def test_summary_counts_only_the_tests_that_ran():
    """With a one-article outlet among three, the pairs with it are skipped: the summary's
    'no significant difference (N tests)' counts the tests run, not the rows."""
    from framing.analysis.summary import summary_sections

    df = make_scores({"Alpha": 20, "Beta": 20, "Tiny": 1}, seed=3)
    cmp = C.compare_outlets(df, **EXACT)
    table = cmp.pairwise_cues
    ran = int(table["p_value"].notna().sum())
    assert 0 < ran < len(table)
    assert not table["significant"].any()  # equal prevalences: nothing to find here
    texts = [s.text for s in summary_sections(cmp) if s.text and "No pairwise cue" in s.text]
    assert texts and f"({ran} tests)" in texts[0]
