"""framing.analysis.compare and framing.stats.inference: statistics against scipy /
statsmodels, and simulated corpora."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import framing
import framing.pipeline.schema
from framing.analysis import compare as C
from framing.analysis.compare import load_scores
from framing.errors import ColumnError, InputFormatError
from framing.stats import inference as S
from synth_scores import FRAMES, make_scores



def _sm(module: str):
    """A statsmodels reference module, imported only by the tests that compare against it
    (statsmodels is in the ``test`` extra)."""
    return pytest.importorskip(f"statsmodels.stats.{module}")

FAST = {"n_boot": 300, "n_permutations": 299}


# -- statistical building blocks ----------------------------------------------------------
@pytest.mark.parametrize("x,n", [(0, 10), (1, 10), (7, 12), (12, 12), (37, 250), (499, 1000)])
def test_wilson_matches_statsmodels(x, n):
    low, high = S.wilson_interval(x, n)
    ref = _sm("proportion").proportion_confint(x, n, alpha=0.05, method="wilson")
    assert float(low) == pytest.approx(ref[0], abs=1e-12)
    assert float(high) == pytest.approx(ref[1], abs=1e-12)


def test_wilson_vectorised_and_empty():
    low, high = S.wilson_interval([0, 5, 3], [0, 10, 3], alpha=0.1)
    assert math.isnan(low[0]) and math.isnan(high[0])
    ref = _sm("proportion").proportion_confint(5, 10, alpha=0.1, method="wilson")
    assert (low[1], high[1]) == pytest.approx(ref)


def test_bh_matches_statsmodels():
    rng = np.random.default_rng(1)
    p = np.concatenate([rng.uniform(0, 1, 40), rng.uniform(0, 0.01, 10)])
    ref = _sm("multitest").multipletests(p, method="fdr_bh")[1]
    np.testing.assert_allclose(S.bh_adjust(p), ref, rtol=1e-12)
    with_nan = S.bh_adjust([0.01, np.nan, 0.04, 0.03])
    assert math.isnan(with_nan[1])
    np.testing.assert_allclose(with_nan[[0, 2, 3]],
                               _sm("multitest").multipletests([0.01, 0.04, 0.03], method="fdr_bh")[1])


def test_newcombe_matches_statsmodels():
    for x1, n1, x2, n2 in [(7, 12, 10, 12), (30, 100, 12, 90), (0, 20, 5, 20)]:
        ref = _sm("proportion").confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
        assert S.newcombe_interval(x1, n1, x2, n2) == pytest.approx(ref, abs=1e-10)


def test_poisson_rate_matches_statsmodels_exact():
    rate, low, high = S.poisson_rate_interval(7, 83, per=1)
    ref = _sm("rates").confint_poisson(7, 83, method="exact-c")
    assert rate == pytest.approx(7 / 83)
    assert (low, high) == pytest.approx(ref, rel=1e-9)
    _, low0, high0 = S.poisson_rate_interval(0, 50, per=1000)
    assert low0 == 0 and high0 == pytest.approx(-math.log(0.025) / 50 * 1000, rel=1e-6)


def test_ratios_match_statsmodels_table2x2():
    table = np.array([[7, 5], [10, 2]])
    t = _sm("contingency_tables").Table2x2(table)
    r = S.ratio_intervals(7, 12, 10, 12, 0.05)
    assert r["risk_ratio"] == pytest.approx(t.riskratio)
    assert (r["rr_ci_low"], r["rr_ci_high"]) == pytest.approx(t.riskratio_confint())
    assert r["odds_ratio"] == pytest.approx(t.oddsratio)
    assert (r["or_ci_low"], r["or_ci_high"]) == pytest.approx(t.oddsratio_confint())


def test_proportion_test_uses_chi2_then_fisher():
    test, stat, p = S.two_proportion_test(40, 100, 25, 100)
    ref = stats.chi2_contingency([[40, 60], [25, 75]], correction=False)
    assert test == "chi2" and stat == pytest.approx(ref.statistic) and p == pytest.approx(ref.pvalue)
    test, _, p = S.two_proportion_test(3, 10, 0, 10)
    assert test == "fisher" and p == pytest.approx(stats.fisher_exact([[3, 7], [0, 10]]).pvalue)
    assert S.two_proportion_test(0, 10, 0, 12)[2] == pytest.approx(1.0)


def test_cohens_d_and_hedges_g_by_hand():
    a = np.array([0.2, 0.4, 0.6, 0.8])
    b = np.array([0.0, 0.1, 0.2])
    sp = math.sqrt((3 * np.var(a, ddof=1) + 2 * np.var(b, ddof=1)) / 5)
    d = (a.mean() - b.mean()) / sp
    assert S.cohens_d(a, b) == pytest.approx(d)
    # the exact correction is close to the usual approximation 1 - 3 / (4 df - 1)
    assert S.hedges_g(a, b) == pytest.approx(d * (1 - 3 / (4 * 5 - 1)), rel=0.01)
    assert abs(S.hedges_g(a, b)) < abs(d)
    assert math.isnan(S.cohens_d([1.0, 1.0], [1.0, 1.0]))
    assert S.cohens_h(0.5, 0.5) == 0
    assert S.cohens_h(0.9, 0.1) == pytest.approx(2 * math.asin(math.sqrt(0.9)) - 2 * math.asin(math.sqrt(0.1)))


def test_bootstrap_ci_contains_the_mean_and_shrinks():
    rng = np.random.default_rng(3)
    small = rng.normal(0.2, 0.3, 30)
    big = rng.normal(0.2, 0.3, 3000)
    lo, hi = S.bootstrap_mean_ci(small, n_boot=1000, rng=1)
    assert lo < small.mean() < hi
    lo2, hi2 = S.bootstrap_mean_ci(big, n_boot=1000, rng=1)
    assert lo2 < big.mean() < hi2 and hi2 - lo2 < hi - lo
    # close to the t interval for a symmetric sample
    t_lo, t_hi = S.t_mean_ci(big, 0.05)
    assert lo2 == pytest.approx(t_lo, abs=0.005) and hi2 == pytest.approx(t_hi, abs=0.005)
    assert all(math.isnan(v) for v in S.bootstrap_mean_ci([0.5]))


def test_mean_difference_test_and_interval():
    rng = np.random.default_rng(5)
    a, b = rng.normal(0.3, 0.3, 40), rng.normal(0.0, 0.3, 50)
    # large samples (above max_resample_n): Welch's t-test and the Welch interval
    test, stat, p = S.mean_difference_test(a, b, n_permutations=999, max_resample_n=10, rng=0)
    ref = stats.ttest_ind(a, b, equal_var=False)
    assert test == "welch_t" and stat == pytest.approx(ref.statistic) and p == pytest.approx(ref.pvalue)
    low, high, method = S.mean_difference_ci(a, b, n_boot=999, max_resample_n=10)
    ci = ref.confidence_interval(0.95)
    assert method == "welch_t" and (low, high) == pytest.approx((ci.low, ci.high))
    # small samples: a permutation test and a bootstrap interval, close to Welch's here
    test, stat, p_perm = S.mean_difference_test(a, b, n_permutations=1999, max_resample_n=1000,
                                                rng=1)
    assert test == "permutation" and stat == pytest.approx(a.mean() - b.mean())
    assert p_perm == pytest.approx(ref.pvalue, abs=0.01)
    blow, bhigh, method = S.mean_difference_ci(a, b, n_boot=2000, max_resample_n=1000, rng=1)
    assert method == "bootstrap" and blow < a.mean() - b.mean() < bhigh
    assert (blow, bhigh) == pytest.approx((low, high), abs=0.03)
    # degenerate samples
    assert S.mean_difference_test(a[:1], b[:1], 99, 1000)[0] == "none"
    assert S.mean_difference_test(np.ones(4), np.ones(5), 99, 1000) == ("permutation", 0.0, 1.0)
    assert S.mean_difference_ci(a[:1], b, n_boot=99, max_resample_n=1000)[2] == "none"
    assert S.mean_difference_ci(np.ones(3), np.zeros(4), n_boot=99,
                                max_resample_n=1000) == (1.0, 1.0, "bootstrap")


def test_pooled_sd_and_hedges_g_interval():
    a, b = np.array([0.2, 0.4, 0.6, 0.8]), np.array([0.0, 0.1, 0.2])
    assert S.pooled_sd(a, b) == pytest.approx(
        math.sqrt((3 * np.var(a, ddof=1) + 2 * np.var(b, ddof=1)) / 5))
    assert math.isnan(S.pooled_sd([1.0], [2.0]))
    g = S.hedges_g(a, b)
    low, high = S.hedges_g_ci(g, 4, 3)
    se = math.sqrt(7 / 12 + g * g / 14)
    assert (low, high) == pytest.approx((g - 1.959964 * se, g + 1.959964 * se), rel=1e-6)
    assert all(math.isnan(v) for v in S.hedges_g_ci(math.nan, 4, 3))
    assert S.z_critical(0.05) == pytest.approx(1.959964, rel=1e-6)


def test_adjust_prevalence_formula_and_clipping():
    assert S.adjust_prevalence(0.24, 0.8, 0.1) == pytest.approx(0.2)
    assert S.adjust_prevalence(0.05, 0.8, 0.1) == 0.0
    assert S.adjust_prevalence(0.95, 0.8, 0.1) == 1.0
    assert math.isnan(S.adjust_prevalence(0.3, 0.2, 0.4))


# -- compare_outlets on simulated corpora ----------------------------------------------------
def test_planted_differences_are_recovered():
    df = make_scores({"Alpha": 150, "Beta": 150, "Gamma": 150},
                     tone_mean={"Alpha": 0.35}, prevalence={"Alpha": {"win_win": 0.6}},
                     base_prevalence=0.2, seed=11)
    cmp = framing.compare_outlets(df, **FAST)
    tone = cmp.pairwise_tone.set_index(["group_a", "group_b"])
    assert tone.loc[("Alpha", "Beta"), "significant"] and tone.loc[("Alpha", "Gamma"), "significant"]
    assert not tone.loc[("Beta", "Gamma"), "significant"]
    assert tone.loc[("Alpha", "Beta"), "hedges_g"] > 0.8
    lo, hi = tone.loc[("Alpha", "Beta"), ["diff_ci_low", "diff_ci_high"]]
    assert lo < 0.35 < hi
    pc = cmp.pairwise_cues.set_index(["cue", "group_a", "group_b"])
    assert pc.loc[("win_win", "Alpha", "Beta"), "significant"]
    assert pc.loc[("win_win", "Alpha", "Gamma"), "significant"]
    assert pc.loc[("win_win", "Alpha", "Beta"), "risk_ratio"] > 2
    unplanted = cmp.pairwise_cues[cmp.pairwise_cues["cue"] != "win_win"]
    assert not unplanted["significant"].any()
    cues = cmp.cues.set_index(["outlet", "cue"])
    assert cues.loc[("Alpha", "win_win"), "significant_vs_rest"]
    g = cmp.groups.set_index("outlet")
    assert g.loc["Alpha", "tone_significant_vs_rest"]
    assert g.loc["Alpha", "tone_ci_low"] < g.loc["Alpha", "tone_mean"] < g.loc["Alpha", "tone_ci_high"]
    # BH adjustment is applied over the whole family
    np.testing.assert_allclose(cmp.pairwise_cues["p_adj"], S.bh_adjust(cmp.pairwise_cues["p_value"]))


def test_false_positive_rate_under_the_null():
    rng = np.random.default_rng(2024)
    n_sim, cue_hits, tone_hits = 200, 0, 0
    for _ in range(n_sim):
        n = 60
        df = pd.DataFrame({
            "outlet": ["A"] * n + ["B"] * n,
            "tone": rng.normal(0, 0.3, 2 * n),
            "cue_x": 0.5,
            "cue_x_present": rng.random(2 * n) < 0.3,
        })
        cmp = C.compare_outlets(df, n_boot=0, n_permutations=199, seed=int(rng.integers(1e9)),
                                error_rates={})
        cue_hits += bool(cmp.pairwise_cues["p_value"].iloc[0] < 0.05)
        tone_hits += bool(cmp.pairwise_tone["p_value"].iloc[0] < 0.05)
    assert 0.01 <= cue_hits / n_sim <= 0.08
    assert 0.01 <= tone_hits / n_sim <= 0.08


def test_adjusted_prevalence_recovers_true_share():
    rng = np.random.default_rng(5)
    n, true_p, tpr, fpr = 6000, 0.2, 0.8, 0.1
    truth = rng.random(n) < true_p
    flagged = np.where(truth, rng.random(n) < tpr, rng.random(n) < fpr)
    df = pd.DataFrame({"outlet": "A", "tone": 0.0, "cue_x": 0.5, "cue_x_present": flagged})
    cmp = C.compare_outlets(df, error_rates={"x": (tpr, fpr)}, **FAST)
    row = cmp.cues.iloc[0]
    assert not row["prevalence_low"] <= true_p <= row["prevalence_high"]  # raw is biased
    assert row["prevalence_adj_low"] <= true_p <= row["prevalence_adj_high"]
    assert row["prevalence_adj"] == pytest.approx(true_p, abs=0.02)
    assert (row["tpr"], row["fpr"]) == (tpr, fpr)


def test_error_rates_from_json_and_shipped_default(tmp_path, monkeypatch):
    df = make_scores({"A": 40, "B": 40}, seed=2)
    path = tmp_path / "rates.json"
    path.write_text(json.dumps({"source": "eval", "cues": {
        "win_win": {"tpr": 0.9, "fpr": 0.05}, "mutual_respect": [0.7, 0.1],
        "counter_criticism": {"sensitivity": 0.8, "specificity": 0.9}}}))
    rates = C.load_error_rates(path)
    assert rates["counter_criticism"] == pytest.approx((0.8, 0.1))
    cmp = C.compare_outlets(df, error_rates=path, **FAST)
    assert cmp.cues["prevalence_adj"].notna().all()
    assert cmp.error_rates_source == str(path)
    # None: the shipped file is used only when it exists and names the table's cues
    monkeypatch.setattr(C, "shipped_model_path", lambda name: tmp_path)
    assert C.compare_outlets(df, **FAST).cues["prevalence_adj"].isna().all()
    (tmp_path / C.ERROR_RATES_FILE).write_text(json.dumps({"win_win": {"tpr": 0.9, "fpr": 0.05}}))
    cmp = C.compare_outlets(df, **FAST)
    adj = cmp.cues.set_index("cue")["prevalence_adj"]
    assert adj.loc["win_win"].notna().all() and adj.loc["mutual_respect"].isna().all()
    assert any("mutual_respect" in n for n in cmp.notes)
    (tmp_path / C.ERROR_RATES_FILE).write_text(json.dumps({"other_cue": [0.9, 0.1]}))
    assert C.compare_outlets(df, **FAST).error_rates_source is None
    with pytest.raises(ValueError):
        C.load_error_rates({"x": (1.2, 0.1)})


def test_shipped_error_rates_follow_the_tier_that_scored(tmp_path, monkeypatch):
    """Scores whose manifest names the accurate tier's encoder are corrected with that
    tier's cue heads' error rates, others with the default tier's."""
    df = make_scores({"A": 20, "B": 20}, seed=4)
    dirs = {}
    for name, tpr in (("cues-builtin", 0.9), ("cues-mpnet", 0.6)):
        dirs[name] = tmp_path / name
        dirs[name].mkdir()
        (dirs[name] / C.ERROR_RATES_FILE).write_text(json.dumps({"win_win": [tpr, 0.05]}))
    monkeypatch.setattr(C, "shipped_model_path", lambda name: dirs.get(name, tmp_path / name))
    shards = tmp_path / "scores"
    shards.mkdir()
    df.to_parquet(shards / "part-00000.parquet")
    for encoder, want in (("all-mpnet-base-v2", "cues-mpnet"), ("all-MiniLM-L6-v2", "cues-builtin"),
                          (None, "cues-builtin")):
        (shards / "manifest.json").write_text(json.dumps({"analyzer": {"encoder": encoder}}))
        cmp = C.compare_outlets(shards, **FAST)
        assert cmp.error_rates_source == str(dirs[want] / C.ERROR_RATES_FILE)
        assert cmp.error_rates["win_win"][0] == (0.6 if want == "cues-mpnet" else 0.9)


def test_shipped_error_rates_follow_the_cue_operating_point(tmp_path, monkeypatch):
    """Scores made at the strict operating point are corrected with the strict point's
    rates; with no file measured at that point, not at all (never with another point's)."""
    df = make_scores({"A": 20, "B": 20}, seed=5)
    heads = tmp_path / "cues-builtin"
    heads.mkdir()
    (heads / C.ERROR_RATES_FILE).write_text(json.dumps(
        {"operating_point": "balanced", "cues": {"win_win": [0.9, 0.2]}}))
    monkeypatch.setattr(C, "shipped_model_path", lambda name: heads)
    shards = tmp_path / "scores"
    shards.mkdir()
    df.to_parquet(shards / "part-00000.parquet")

    def compare(point):
        (shards / "manifest.json").write_text(json.dumps(
            {"analyzer": {"encoder": "all-MiniLM-L6-v2", "cue_operating_point": point}}))
        return C.compare_outlets(shards, **FAST)

    assert compare("balanced").error_rates["win_win"] == (0.9, 0.2)
    strict = compare("strict")
    assert strict.error_rates_source is None
    assert strict.cues["prevalence_adj"].isna().all()
    (heads / "error_rates-strict.json").write_text(json.dumps(
        {"operating_point": "strict", "cues": {"win_win": [0.5, 0.02]}}))
    strict = compare("strict")
    assert strict.error_rates_source == str(heads / "error_rates-strict.json")
    assert strict.error_rates["win_win"] == (0.5, 0.02)


def test_one_group_does_not_crash():
    df = make_scores({"Solo": 30}, seed=4)
    cmp = C.compare_outlets(df, **FAST)
    assert len(cmp.groups) == 1 and len(cmp.cues) == 3
    assert cmp.pairwise_tone.empty and cmp.pairwise_cues.empty
    assert "group_a" in cmp.pairwise_tone.columns and "cohens_h" in cmp.pairwise_cues.columns
    assert any("no pairwise" in n for n in cmp.notes)
    assert math.isnan(cmp.groups["tone_p_vs_rest"].iloc[0])
    md = cmp.to_markdown()
    assert "Solo" in md and "no pairwise comparisons" in md


def test_error_rows_are_excluded_and_counted():
    df = make_scores({"A": 30, "B": 30}, seed=6)
    clean = C.compare_outlets(df, **FAST)
    bad = df.iloc[:5].copy()
    bad["error"] = "malformed JSON line"
    bad["tone"] = 0.99
    bad["cue_win_win_present"] = True
    cmp = C.compare_outlets(pd.concat([df, bad], ignore_index=True), **FAST)
    assert cmp.n_excluded == 5 and cmp.n_articles == 60
    g = cmp.groups.set_index("outlet")
    assert g.loc["A", "n_excluded"] == 5 and g.loc["B", "n_excluded"] == 0
    assert g.loc["A", "n_articles"] == 30
    pd.testing.assert_series_equal(cmp.groups["tone_mean"], clean.groups["tone_mean"])
    pd.testing.assert_series_equal(cmp.cues["prevalence"], clean.cues["prevalence"])
    assert any("excluded" in n for n in cmp.notes)


def test_within_strata_and_time_bins():
    df = make_scores({"A": 60, "B": 60, "C": 30}, seed=8)
    df["topic"] = np.where(np.arange(len(df)) % 2 == 0, "economy", "politics")
    cmp = C.compare_outlets(df, within="topic", time="date", freq="ME", **FAST)
    assert list(cmp.groups.columns[:2]) == ["topic", "outlet"]
    assert len(cmp.groups) == 6
    assert len(cmp.pairwise_tone) == 6  # 3 pairs in each of 2 topics
    assert set(cmp.pairwise_tone["topic"]) == {"economy", "politics"}
    ot = cmp.over_time
    assert set(ot["kind"]) == {"tone", "share", "cue"}
    assert ot["period"].str.match(r"^2026-0[1-6]$").all()
    cell = ot[(ot["measure"] == "win_win") & (ot["outlet"] == "A") & (ot["topic"] == "economy")]
    assert cell["n"].sum() == 30


def test_inputs_files_and_shards(tmp_path):
    df = make_scores({"A": 20, "B": 20}, seed=9)
    shards = tmp_path / "scores"
    shards.mkdir()
    df.iloc[:25].to_parquet(shards / "part-00000.parquet")
    df.iloc[25:].to_parquet(shards / "part-00001.parquet")
    (shards / "manifest.json").write_text(json.dumps({"rows": 40, "shards": 2}))
    cmp = C.compare_outlets(shards, **FAST)
    assert cmp.n_articles == 40 and cmp.manifest == {"rows": 40, "shards": 2}
    csv = tmp_path / "scores.csv"
    df.to_csv(csv, index=False)  # booleans come back as strings
    jsonl = tmp_path / "scores.jsonl"
    df.to_json(jsonl, orient="records", lines=True)
    ref = C.compare_outlets(df, **FAST).cues["n_present"].tolist()
    assert C.compare_outlets(csv, **FAST).cues["n_present"].tolist() == ref
    assert C.compare_outlets(jsonl, **FAST).cues["n_present"].tolist() == ref
    with pytest.raises(InputFormatError, match="no \\*.parquet"):
        C.load_scores(_empty_dir(tmp_path))
    with pytest.raises(FileNotFoundError):
        C.load_scores(tmp_path / "nope.parquet")
    with pytest.raises(ColumnError, match="paper"):
        C.compare_outlets(df, by="paper")


def test_load_scores_gives_one_frame_for_a_directory_and_each_file(tmp_path):
    """The same scores as shards (out of input order) and as a single Parquet / CSV / TSV /
    JSONL file (shuffled): rows in input order, ids kept as text ("007" stays "007")."""
    df = make_scores({"A": 12, "B": 9}, frames={"narrative": FRAMES["narrative"]}, seed=3)
    df["id"] = [f"{i:03d}" for i in range(len(df))]  # ids that look like numbers
    df.loc[4, "error"] = "malformed JSON line"
    df = df.sample(frac=1.0, random_state=1).reset_index(drop=True)
    shards = tmp_path / "scores"
    shards.mkdir()
    pa, pq = pytest.importorskip("pyarrow"), pytest.importorskip("pyarrow.parquet")
    schema = pa.Schema.from_pandas(df, preserve_index=False)  # one schema, as the writer has
    for name, part in (("part-00001.parquet", df.iloc[:8]), ("part-00000.parquet", df.iloc[8:])):
        pq.write_table(pa.Table.from_pandas(part, schema=schema, preserve_index=False),
                       shards / name)
    ref, manifest = load_scores(shards)
    assert manifest is None
    assert ref["row"].tolist() == sorted(df["row"]) and ref.index.equals(pd.RangeIndex(len(df)))
    assert ref["id"].iloc[0] == "000"
    pd.testing.assert_frame_equal(ref, framing.read_scores(shards))
    writers = {"scores.parquet": lambda p: df.to_parquet(p, index=False),
               "scores.jsonl": lambda p: df.to_json(p, orient="records", lines=True),
               "scores.jsonl.gz": lambda p: df.to_json(p, orient="records", lines=True),
               "scores.csv": lambda p: df.to_csv(p, index=False),
               "scores.tsv": lambda p: df.to_csv(p, index=False, sep="\t")}
    for name, write in writers.items():
        path = tmp_path / name
        write(path)
        got, manifest = load_scores(path)
        assert manifest is None
        # text files cannot tell an empty string or an all-missing column from NaN
        exact = name.endswith((".parquet", ".jsonl", ".jsonl.gz"))
        expect = ref if exact else ref.replace("", np.nan)
        pd.testing.assert_frame_equal(got, expect, check_dtype=exact, obj=name)
        if not name.endswith(".gz"):  # the row order and ids read_scores gives
            pd.testing.assert_frame_equal(got[["row", "id"]],
                                          framing.read_scores(path)[["row", "id"]],
                                          check_dtype=exact, obj=name)


def _empty_dir(tmp_path):
    d = tmp_path / "empty"
    d.mkdir()
    return d


def test_rates_per_1000_sentences():
    df = pd.DataFrame({"outlet": ["A"] * 4, "tone": 0.0, "n_sentences": [10, 20, 30, 40],
                       "cue_x": 0.5, "cue_x_present": [True, False, True, False]})
    row = C.compare_outlets(df, **FAST).cues.iloc[0]
    assert row["rate_per_1000"] == pytest.approx(2 / 100 * 1000)
    assert row["rate_low"] < row["rate_per_1000"] < row["rate_high"]


def test_compare_module_does_not_import_torch_or_matplotlib():
    code = ("import sys, framing, framing.analysis.compare, framing.analysis.sample, "
            "framing.analysis.report, framing.stats.inference; "
            "framing.compare_outlets; "
            "bad = [m for m in ('torch', 'transformers', 'matplotlib') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_report_does_not_import_compare():
    """compare -> report only: the report and the summary work without the comparison
    module loaded (no import cycle)."""
    code = ("import sys, framing.analysis.report, framing.analysis.summary; "
            "assert 'framing.analysis.compare' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- article-level frames ------------------------------------------------------------------
FRAME_COLUMNS = ["outlet", "frame", "scheme", "n_articles", "n_present", "prevalence",
                 "prevalence_low", "prevalence_high", "tpr", "fpr", "prevalence_adj",
                 "prevalence_adj_low", "prevalence_adj_high", "diff_vs_rest", "test_vs_rest",
                 "p_vs_rest", "p_adj_vs_rest", "significant_vs_rest", "note"]


@pytest.mark.parametrize("where", [framing.pipeline.schema], ids=["pipeline.schema"])
def test_frame_ids_of_reads_schemes_and_leaves_cues_alone(where):
    df = pd.DataFrame({
        "cue_x": [0.5], "cue_x_present": [True], "cues_present": ["x"],
        "frame_narrative_human_interest": [0.9], "frame_narrative_human_interest_present": [True],
        "frame_policy_crime_punishment_present": [False],
        "frame_my_scheme_big_idea_present": [True],  # unknown scheme: read from frames_present
        "frame_other_thing_present": [False],  # unknown and not in frames_present: first "_"
        "frames_present": ["narrative:human_interest;my_scheme:big_idea"],
        "frame_nounderscore_present": [True],  # no scheme and id: not a frame
    })
    assert where.frame_ids_of(df) == [("narrative", "human_interest"),
                                      ("policy", "crime_punishment"),
                                      ("my_scheme", "big_idea"), ("other", "thing")]
    assert where.cue_ids_of(df) == ["x"]
    assert where.cue_ids_of(list(df.columns)) == ["x"]
    assert where.frame_ids_of(make_scores({"A": 3})) == []
    framed = make_scores({"A": 3}, frames=FRAMES)
    assert where.frame_ids_of(framed) == [(sc, f) for sc, ids in FRAMES.items() for f in ids]
    assert where.cue_ids_of(framed) == ["win_win", "mutual_respect", "counter_criticism"]


@pytest.fixture(scope="module")
def framed():
    sizes = {"Alpha": 150, "Beta": 150, "Gamma": 150}
    kw = dict(prevalence={"Alpha": {"win_win": 0.6}}, base_prevalence=0.2, seed=11)
    df = make_scores(sizes, frames=FRAMES, frame_prevalence={"Alpha": {"narrative:conflict": 0.6}},
                     base_frame_prevalence=0.25, **kw)
    return df, make_scores(sizes, **kw)


def test_planted_frame_difference_is_recovered(framed):
    df, _ = framed
    cmp = C.compare_outlets(df, **FAST)
    pf = cmp.pairwise_frames.set_index(["frame", "group_a", "group_b"])
    for other in ("Beta", "Gamma"):
        row = pf.loc[("narrative:conflict", "Alpha", other)]
        assert row["significant"] and row["p_adj"] < 0.001 and row["scheme"] == "narrative"
        assert row["diff_ci_low"] < 0.35 < row["diff_ci_high"] and row["risk_ratio"] > 1.5
        assert row["cohens_h"] > 0.5
    unplanted = cmp.pairwise_frames[cmp.pairwise_frames["frame"] != "narrative:conflict"]
    assert len(unplanted) == 3 * 18 and not unplanted["significant"].any()
    # the same frame id in another scheme is another frame
    assert not pf.loc[("policy:economic", "Alpha", "Beta"), "significant"]
    fr = cmp.frames.set_index(["outlet", "frame"])
    assert fr.loc[("Alpha", "narrative:conflict"), "significant_vs_rest"]
    assert fr.loc[("Alpha", "narrative:conflict"), "diff_vs_rest"] > 0.2
    assert not fr.drop(index=[("Alpha", "narrative:conflict"), ("Beta", "narrative:conflict"),
                              ("Gamma", "narrative:conflict")])["significant_vs_rest"].any()
    # each frame family is BH-corrected on its own
    np.testing.assert_allclose(cmp.pairwise_frames["p_adj"], S.bh_adjust(cmp.pairwise_frames["p_value"]))
    np.testing.assert_allclose(cmp.frames["p_adj_vs_rest"], S.bh_adjust(cmp.frames["p_vs_rest"]))


def test_frames_tables_shape_and_columns(framed):
    df, plain = framed
    cmp = C.compare_outlets(df, **FAST)
    n_frames = len(FRAMES["narrative"]) + len(FRAMES["policy"])
    assert cmp.frame_ids[:3] == ["narrative:conflict", "narrative:economic",
                                 "narrative:human_interest"]
    assert len(cmp.frame_ids) == n_frames and "policy:health_safety" in cmp.frame_ids
    assert list(cmp.frames.columns) == FRAME_COLUMNS
    assert len(cmp.frames) == 3 * n_frames
    assert set(cmp.frames["scheme"]) == {"narrative", "policy"}
    assert (cmp.frames["frame"].str.split(":").str[0] == cmp.frames["scheme"]).all()
    assert cmp.frames["prevalence_adj"].isna().all()  # no error rates for frames
    f = cmp.frames.iloc[0]
    assert f["prevalence_low"] < f["prevalence"] < f["prevalence_high"]
    assert f["n_present"] == df.loc[df["outlet"] == f["outlet"],
                                    "frame_narrative_conflict_present"].sum()
    pw = cmp.pairwise_frames
    assert list(pw.columns[:5]) == ["group_a", "group_b", "frame", "scheme", "n_a"]
    assert list(pw.columns[5:]) == list(cmp.pairwise_cues.columns[4:])
    assert len(pw) == 3 * n_frames
    assert "frames=19" in repr(cmp)
    # frames change nothing about the cues (separate tables, separate BH families)
    ref = C.compare_outlets(plain, **FAST)
    for name in ("groups", "cues", "pairwise_tone", "pairwise_cues"):
        pd.testing.assert_frame_equal(getattr(cmp, name), getattr(ref, name))
    md = cmp.to_markdown()
    assert "### Frame prevalence" in md
    assert re.search(r"\| narrative:conflict \| \d+%\*\*\* \|", md)  # Alpha's share, starred
    assert "Significant pairwise frame differences" in md


def test_scores_without_frames_give_empty_frame_tables():
    df = make_scores({"A": 30, "B": 30}, seed=6)
    cmp = C.compare_outlets(df, time="date", **FAST)
    assert cmp.frame_ids == [] and cmp.frames.empty and cmp.pairwise_frames.empty
    assert list(cmp.frames.columns) == FRAME_COLUMNS
    assert "frame" in cmp.pairwise_frames.columns and "cohens_h" in cmp.pairwise_frames.columns
    assert "frame" not in set(cmp.over_time["kind"])
    md = cmp.to_markdown()
    assert "frame" not in md.lower() and "frames=" not in repr(cmp)


def test_frames_over_time_within_strata_and_error_rates():
    df = make_scores({"A": 60, "B": 60}, frames={"narrative": FRAMES["narrative"]}, seed=8)
    df["topic"] = np.where(np.arange(len(df)) % 2 == 0, "economy", "politics")
    cmp = C.compare_outlets(df, within="topic", time="date", **FAST,
                            error_rates={"narrative:morality": (0.8, 0.1)})
    assert list(cmp.frames.columns[:4]) == ["topic", "outlet", "frame", "scheme"]
    assert len(cmp.pairwise_frames) == 2 * 5 and set(cmp.pairwise_frames["topic"]) == {
        "economy", "politics"}
    adj = cmp.frames.set_index("frame")["prevalence_adj"]
    assert adj.loc["narrative:morality"].notna().all() and adj.drop("narrative:morality").isna().all()
    assert any("narrative:conflict" in n for n in cmp.notes)
    ot = cmp.over_time
    assert set(ot["kind"]) == {"tone", "share", "cue", "frame"}
    cell = ot[(ot["measure"] == "narrative:conflict") & (ot["outlet"] == "A")
              & (ot["topic"] == "economy")]
    assert cell["n"].sum() == 30
    assert cell["estimate_adj"].isna().all()


# -- trends over time ------------------------------------------------------------------------
TREND_COLUMNS = ["outlet", "measure", "kind", "first_period", "last_period", "n_periods",
                 "n_articles", "estimate_first", "estimate_last", "trend_first", "trend_last",
                 "slope", "slope_ci_low", "slope_ci_high", "test", "statistic", "p_value",
                 "p_adj", "significant", "note"]


def _rising(seed: int = 21, **kw) -> pd.DataFrame:
    """Two outlets over six months: Rising's win_win share climbs from about 15% to 75%
    and its tone falls; Steady's share and tone stay where they are."""
    df = make_scores({"Rising": 150, "Steady": 150}, seed=seed, **kw)
    month = pd.to_datetime(df["date"]).dt.month.to_numpy() - 1
    rng = np.random.default_rng(seed + 1)
    rising = (df["outlet"] == "Rising").to_numpy()
    df["cue_win_win_present"] = rng.random(len(df)) < np.where(rising, 0.15 + 0.12 * month, 0.3)
    df.loc[rising, "tone"] = np.clip(0.3 - 0.08 * month[rising]
                                     + rng.normal(0, 0.2, int(rising.sum())), -1, 1)
    return df


@pytest.fixture(scope="module")
def trending():
    return C.compare_outlets(_rising(), time="date", freq="M", error_rates={}, **FAST)


def test_trends_find_the_planted_rise_and_nothing_where_nothing_changes(trending):
    tr = trending.trends
    assert list(tr.columns) == TREND_COLUMNS
    assert len(tr) == 2 * (1 + 3)  # per outlet: tone and three cues
    row = tr.set_index(["outlet", "measure"])
    up = row.loc[("Rising", "win_win")]
    assert up["test"] == "cochran_armitage" and bool(up["significant"])
    assert up["slope"] > 0.05 and up["slope_ci_low"] > 0 and up["p_adj"] < 0.001
    assert (up["first_period"], up["last_period"], up["n_periods"]) == ("2026-01", "2026-06", 6)
    assert up["n_articles"] == 150 and up["estimate_last"] > up["estimate_first"]
    assert 0 <= up["trend_first"] < up["trend_last"] <= 1
    down = row.loc[("Rising", "tone")]
    assert down["test"] == "ols_t" and bool(down["significant"]) and down["slope_ci_high"] < 0
    flat = row.loc[("Steady", "win_win")]
    assert not flat["significant"] and flat["slope_ci_low"] < 0 < flat["slope_ci_high"]
    assert not row.loc[("Steady", "tone")]["significant"]
    assert (tr["note"] == "").all()


def test_trend_rows_are_the_statistic_on_the_articles(trending):
    df = _rising()
    steady = df[df["outlet"] == "Steady"]
    months = pd.to_datetime(steady["date"]).dt.month.to_numpy() - 1
    row = trending.trends.set_index(["outlet", "measure"]).loc[("Steady", "win_win")]
    ref = S.proportion_trend_test(months - months.min(), steady["cue_win_win_present"])
    for col, key in (("slope", "slope"), ("slope_ci_low", "ci_low"), ("p_value", "p_value"),
                     ("statistic", "statistic")):
        assert row[col] == pytest.approx(ref[key]), col
    tone = trending.trends.set_index(["outlet", "measure"]).loc[("Steady", "tone")]
    lin = stats.linregress(months, steady["tone"].to_numpy())
    assert tone["slope"] == pytest.approx(lin.slope) and tone["p_value"] == pytest.approx(lin.pvalue)
    first = steady[months == months.min()]
    assert tone["estimate_first"] == pytest.approx(first["tone"].mean())


def test_trends_are_corrected_per_family(trending):
    tr = trending.trends
    for kind in ("tone", "cue"):
        fam = tr[tr["kind"] == kind]
        np.testing.assert_allclose(fam["p_adj"], S.bh_adjust(fam["p_value"]))
    assert (tr["significant"] == (tr["p_adj"] < 0.05)).all()


def test_thin_trends_are_blank_with_a_note_and_never_crash():
    df = make_scores({"Wide": 60, "OneMonth": 20, "Tiny": 6}, seed=3)
    df.loc[df["outlet"] == "OneMonth", "date"] = "2026-03-15"
    df.loc[df["outlet"] == "Tiny", "date"] = ["2026-01-05", "2026-02-05", "2026-03-05",
                                              "2026-04-05", "2026-05-05", "2026-06-05"]
    df.loc[df.index[:2], "date"] = "not a date"
    cmp = C.compare_outlets(df, time="date", freq="M", error_rates={}, **FAST)
    tr = cmp.trends.set_index(["outlet", "measure"])
    one = tr.loc[("OneMonth", "win_win")]
    assert one["test"] == "none" and math.isnan(one["slope"]) and math.isnan(one["p_adj"])
    assert one["note"] == "1 time bin with articles (a trend needs 3)" and not one["significant"]
    assert one["first_period"] == one["last_period"] == "2026-03"
    tiny = tr.loc[("Tiny", "tone")]
    assert tiny["note"] == "too few articles with a tone (6; a trend needs 10)"
    assert math.isnan(tiny["p_value"]) and tiny["n_periods"] == 6
    wide = tr.loc["Wide"]
    assert (wide["test"] != "none").all() and wide["p_adj"].notna().all()
    assert wide.loc["tone", "n_articles"] == 58  # two rows without a readable date
    # BH counts only the trends that ran
    ran = cmp.trends[cmp.trends["p_value"].notna() & (cmp.trends["kind"] == "cue")]
    np.testing.assert_allclose(ran["p_adj"], S.bh_adjust(ran["p_value"]))


def test_a_cue_no_article_has_gets_a_flat_trend_with_a_note():
    df = make_scores({"A": 40, "B": 40}, prevalence={"A": {"win_win": 0.0}}, seed=2)
    cmp = C.compare_outlets(df, time="date", error_rates={}, **FAST)
    row = cmp.trends.set_index(["outlet", "measure"]).loc[("A", "win_win")]
    assert (row["slope"], row["p_value"]) == (0, 1)
    assert row["note"] == "no article of the group has the cue: slope 0, p = 1"


def test_trends_without_time_are_empty_and_within_strata_add_a_column():
    cmp = C.compare_outlets(make_scores({"A": 20, "B": 20}, seed=1), **FAST)
    assert cmp.trends.empty and list(cmp.trends.columns) == TREND_COLUMNS
    df = make_scores({"A": 60, "B": 60}, frames={"narrative": FRAMES["narrative"][:2]}, seed=8)
    df["topic"] = np.where(np.arange(len(df)) % 2 == 0, "economy", "politics")
    cmp = C.compare_outlets(df, within="topic", time="date", freq="Q", **FAST)
    tr = cmp.trends
    assert list(tr.columns[:2]) == ["topic", "outlet"]
    assert set(tr["kind"]) == {"tone", "cue", "frame"} and len(tr) == 4 * (1 + 3 + 2)
    # two quarters of data: too few bins for a trend
    assert (tr["test"] == "none").all() and tr["note"].str.contains("2 time bins").all()
