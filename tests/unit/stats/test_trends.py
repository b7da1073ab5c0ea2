"""framing.stats.inference trend tests: the OLS slope of a measured value on time and the
Cochran–Armitage test of a yes/no trait, against scipy, statsmodels and sums by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from framing.stats.inference import MIN_TREND_PERIODS, mean_trend_test, proportion_trend_test


def _expand(counts: list[tuple[int, int]], times: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Per-observation arrays from ``(with the trait, observations)`` per period."""
    t, y = [], []
    for (k, n), time in zip(counts, times):
        t += [time] * n
        y += [1] * k + [0] * (n - k)
    return np.array(t, dtype=float), np.array(y, dtype=float)


# -- a measured value (tone) ---------------------------------------------------------------
def test_mean_trend_matches_scipy_linregress():
    t = np.array([0, 0, 0, 1, 1, 2, 2, 2, 4, 4], dtype=float)  # period 3 has no article
    y = np.array([-0.4, -0.1, -0.3, 0.0, -0.2, 0.1, 0.3, 0.0, 0.5, 0.2])
    res = mean_trend_test(t, y, alpha=0.1)
    ref = stats.linregress(t, y)
    assert res["test"] == "ols_t" and res["note"] == ""
    assert res["slope"] == pytest.approx(ref.slope)
    assert res["intercept"] == pytest.approx(ref.intercept)
    assert res["p_value"] == pytest.approx(ref.pvalue)
    assert res["statistic"] == pytest.approx(ref.slope / ref.stderr)
    half = stats.t.ppf(0.95, len(t) - 2) * ref.stderr
    assert (res["ci_low"], res["ci_high"]) == pytest.approx((ref.slope - half, ref.slope + half))
    assert res["n"] == 10 and res["n_periods"] == 4


def test_mean_trend_by_hand_on_a_tiny_example():
    # periods 0, 1, 2 with means 0, 0.3, 0.6 and a spread of ±0.1 inside each
    t = np.array([0, 0, 1, 1, 2, 2], dtype=float)
    y = np.array([-0.1, 0.1, 0.2, 0.4, 0.5, 0.7])
    # Sxx = 4 (deviations -1, -1, 0, 0, 1, 1); Sxy = 1.2 -> slope 0.3
    # residuals ±0.1 -> SSE 0.06, s² = 0.06 / 4, SE = sqrt(s² / 4)
    res = mean_trend_test(t, y)
    se = math.sqrt(0.06 / 4 / 4)
    assert res["slope"] == pytest.approx(0.3)
    assert res["intercept"] == pytest.approx(0.0, abs=1e-12)
    assert res["statistic"] == pytest.approx(0.3 / se)
    assert res["p_value"] == pytest.approx(2 * stats.t.sf(0.3 / se, 4))
    assert res["ci_high"] - res["slope"] == pytest.approx(stats.t.ppf(0.975, 4) * se)


def test_mean_trend_drops_missing_values():
    t = [0, 1, 2, 3, np.nan, 2]
    y = [0.1, 0.2, 0.2, 0.5, 0.9, np.nan]
    res = mean_trend_test(t, y)
    ref = stats.linregress([0, 1, 2, 3], [0.1, 0.2, 0.2, 0.5])
    assert res["n"] == 4 and res["slope"] == pytest.approx(ref.slope)


def test_mean_trend_on_constant_and_exactly_linear_values():
    flat = mean_trend_test([0, 1, 2, 3], [0.2] * 4)
    assert (flat["slope"], flat["ci_low"], flat["ci_high"], flat["p_value"]) == (0, 0, 0, 1)
    assert "never vary" in flat["note"] and flat["test"] == "ols_t"
    line = mean_trend_test([0, 1, 2, 3, 4], [0.0, 0.25, 0.5, 0.75, 1.0])
    assert line["slope"] == pytest.approx(0.25) and line["p_value"] == pytest.approx(0, abs=1e-12)


@pytest.mark.parametrize("t,y,reason", [
    ([3, 3, 3, 3], [0.1, 0.2, 0.3, 0.4], "1 period with data (a trend test needs 3)"),
    ([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4], "2 periods with data (a trend test needs 3)"),
    ([], [], "0 periods with data"),
    ([np.nan, 1, 2], [0.1, 0.2, 0.3], "2 periods with data"),
])
def test_mean_trend_skips_too_few_periods(t, y, reason):
    res = mean_trend_test(t, y)
    assert res["test"] == "none" and reason in res["note"]
    for key in ("slope", "ci_low", "ci_high", "statistic", "p_value", "intercept"):
        assert math.isnan(res[key]), key


def test_mean_trend_skips_too_few_values():
    res = mean_trend_test([0, 1, 2, 3], [0.1, 0.2, 0.3, 0.5], min_n=5)
    assert res["test"] == "none" and res["note"] == "too few values (4; a trend test needs 5)"
    assert math.isnan(res["p_value"])
    # the floors cannot be lowered: a line through two periods is no trend
    assert mean_trend_test([0, 1], [0.1, 0.2], min_periods=1)["test"] == "none"
    assert MIN_TREND_PERIODS == 3


def test_mean_trend_refuses_arrays_of_different_lengths():
    with pytest.raises(ValueError, match="length"):
        mean_trend_test([0, 1, 2], [0.1, 0.2])


# -- a yes/no trait (cue present) ----------------------------------------------------------
def test_cochran_armitage_matches_the_sums_over_periods():
    counts = [(2, 12), (5, 12), (9, 12), (10, 14)]
    scores = [0.0, 1.0, 2.0, 3.0]
    t, y = _expand(counts, scores)
    res = proportion_trend_test(t, y)
    # Armitage (1955): T = sum t_i (x_i - n_i p), Var T = p q (sum n_i t_i² - (sum n_i t_i)² / N)
    x = np.array([k for k, _ in counts], dtype=float)
    n = np.array([m for _, m in counts], dtype=float)
    s = np.array(scores)
    big_n, p = n.sum(), x.sum() / n.sum()
    stat_t = float(np.sum(s * (x - n * p)))
    var_t = p * (1 - p) * (np.sum(n * s * s) - np.sum(n * s) ** 2 / big_n)
    z = stat_t / math.sqrt(var_t)
    assert res["test"] == "cochran_armitage" and res["note"] == ""
    assert res["statistic"] == pytest.approx(z)
    assert res["p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)))
    # the slope is the least-squares line through the period shares, weighted by size
    share = x / n
    mean_t = np.sum(n * s) / big_n
    slope = np.sum(n * (s - mean_t) * (share - p)) / np.sum(n * (s - mean_t) ** 2)
    assert res["slope"] == pytest.approx(slope)
    assert res["intercept"] + res["slope"] * mean_t == pytest.approx(p)
    # and z² = N r² with r the correlation of flags and times
    assert res["statistic"] ** 2 == pytest.approx(big_n * stats.pearsonr(t, y)[0] ** 2)
    assert res["n"] == big_n and res["n_periods"] == 4


def test_trait_slope_interval_is_hc3():
    sm = pytest.importorskip("statsmodels.api")
    t, y = _expand([(1, 8), (3, 9), (4, 7), (7, 10), (6, 8)], [0, 1, 2, 4, 5])
    res = proportion_trend_test(t, y, alpha=0.1)
    fit = sm.OLS(y, sm.add_constant(t)).fit(cov_type="HC3")
    assert res["slope"] == pytest.approx(fit.params[1])
    low, high = fit.conf_int(alpha=0.1)[1]
    assert (res["ci_low"], res["ci_high"]) == pytest.approx((low, high))


def test_trait_found_in_none_or_every_observation():
    t = [0, 0, 1, 1, 2, 2]
    none = proportion_trend_test(t, [False] * 6)
    every = proportion_trend_test(t, [1] * 6)
    for res, which in ((none, "no observation"), (every, "every observation")):
        assert (res["slope"], res["ci_low"], res["ci_high"], res["p_value"]) == (0, 0, 0, 1)
        assert res["note"].startswith(which)


def test_trait_trend_skips_thin_data_and_refuses_other_values():
    one = proportion_trend_test([2, 2, 2], [True, False, True])
    assert one["test"] == "none" and one["note"].startswith("1 period with data")
    assert math.isnan(one["slope"]) and math.isnan(one["p_value"])
    tiny = proportion_trend_test([0, 1, 2], [0, 1, 1], min_n=10)
    assert tiny["note"] == "too few values (3; a trend test needs 10)"
    with pytest.raises(ValueError, match="yes/no"):
        proportion_trend_test([0, 1, 2], [0, 0.5, 1])


def test_trait_trend_finds_a_planted_rise_and_no_trend_where_none_is():
    rng = np.random.default_rng(4)
    t = np.repeat(np.arange(6), 40).astype(float)
    rising = rng.random(len(t)) < 0.15 + 0.12 * t  # 15% -> 75% over six periods
    flat = rng.random(len(t)) < 0.3
    up = proportion_trend_test(t, rising)
    assert up["p_value"] < 0.001 and up["ci_low"] > 0
    assert up["slope"] == pytest.approx(0.12, abs=0.03)
    level = proportion_trend_test(t, flat)
    assert level["p_value"] > 0.05 and level["ci_low"] < 0 < level["ci_high"]
