"""Intervals, effect sizes, two-sample tests and trend tests for proportions, rates and means.

The building blocks of :func:`framing.analysis.compare.compare_outlets`, usable on their
own: plain numbers and numpy arrays in, plain numbers (or arrays) out. Only numpy and
scipy are needed; nothing here reads tables or knows what a cue is.

Every interval is two-sided at level ``1 - alpha``. Functions that resample take a
``numpy.random.Generator`` (or a seed) so that results can be reproduced.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import stats
from scipy.special import gammaln

__all__ = [
    "z_critical",
    "wilson_interval",
    "poisson_rate_interval",
    "newcombe_interval",
    "bh_adjust",
    "bootstrap_mean_ci",
    "t_mean_ci",
    "pooled_sd",
    "cohens_d",
    "hedges_g",
    "hedges_g_ci",
    "cohens_h",
    "adjust_prevalence",
    "mean_difference_test",
    "mean_difference_ci",
    "two_proportion_test",
    "ratio_intervals",
    "MIN_TREND_PERIODS",
    "mean_trend_test",
    "proportion_trend_test",
]

#: Elements (floats) that one batch of bootstrap or permutation resamples may hold.
_BATCH_ELEMENTS = 8_000_000


def z_critical(alpha: float) -> float:
    """The standard normal quantile ``z`` with ``P(|Z| > z) = alpha`` (1.96 for 0.05)."""
    return float(stats.norm.ppf(1.0 - alpha / 2.0))


def _generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng)


def _batch_size(n: int) -> int:
    """Resamples per batch, so that a batch holds about :data:`_BATCH_ELEMENTS` floats."""
    return max(1, _BATCH_ELEMENTS // max(n, 1))


def _difference_of_means(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


# -- proportions and rates -----------------------------------------------------------------
def wilson_interval(x: Any, n: Any, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for ``x`` successes out of ``n`` trials (arrays broadcast).

    Returns ``(low, high)`` as numpy arrays (0-d for scalar input), clipped to [0, 1];
    NaN where ``n <= 0``.
    """
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    z = z_critical(alpha)
    z2 = z * z
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        scale = 1.0 + z2 / n
        middle = (p + z2 / (2.0 * n)) / scale
        spread = z * np.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / scale
        low = np.clip(middle - spread, 0.0, 1.0)
        high = np.clip(middle + spread, 0.0, 1.0)
    empty = n <= 0
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def poisson_rate_interval(k: Any, exposure: Any, alpha: float = 0.05, per: float = 1000.0
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rate ``k / exposure * per`` with the exact (Garwood) Poisson interval.

    Returns ``(rate, low, high)`` as numpy arrays; NaN where ``exposure <= 0``. The lower
    bound is 0 when ``k == 0``.
    """
    k = np.asarray(k, dtype=float)
    exposure = np.asarray(exposure, dtype=float)
    k_low = np.where(k > 0, stats.chi2.ppf(alpha / 2.0, 2.0 * k) / 2.0, 0.0)
    k_high = stats.chi2.ppf(1.0 - alpha / 2.0, 2.0 * k + 2.0) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(exposure > 0, per / exposure, np.nan)
    return k * factor, k_low * factor, k_high * factor


def newcombe_interval(x1: float, n1: float, x2: float, n2: float, alpha: float = 0.05
                      ) -> tuple[float, float]:
    """Newcombe's hybrid score interval for ``x1 / n1 - x2 / n2``, built from the two
    Wilson intervals. Returns ``(low, high)``; ``(nan, nan)`` when either ``n`` is 0."""
    if n1 <= 0 or n2 <= 0:
        return math.nan, math.nan
    p1, p2 = x1 / n1, x2 / n2
    low1, high1 = (float(v) for v in wilson_interval(x1, n1, alpha))
    low2, high2 = (float(v) for v in wilson_interval(x2, n2, alpha))
    diff = p1 - p2
    below = math.sqrt((p1 - low1) ** 2 + (high2 - p2) ** 2)
    above = math.sqrt((high1 - p1) ** 2 + (p2 - low2) ** 2)
    return diff - below, diff + above


def two_proportion_test(x1: int, n1: int, x2: int, n2: int) -> tuple[str, float, float]:
    """Test ``x1 / n1`` against ``x2 / n2`` on the 2x2 table of counts.

    Pearson's chi-square test without continuity correction, or Fisher's exact test when
    an expected count is below 5. Returns ``(test, statistic, p)`` where ``test`` is
    ``"chi2"`` (statistic: chi-square), ``"fisher"`` (statistic: the sample odds ratio)
    or ``"none"`` with NaNs when either group is empty.
    """
    if n1 <= 0 or n2 <= 0:
        return "none", math.nan, math.nan
    table = np.array([[x1, n1 - x1], [x2, n2 - x2]], dtype=float)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    if expected.min() < 5:
        res = stats.fisher_exact(table.astype(int))
        return "fisher", float(res.statistic), float(res.pvalue)
    res = stats.chi2_contingency(table, correction=False)
    return "chi2", float(res.statistic), float(res.pvalue)


def ratio_intervals(x1: int, n1: int, x2: int, n2: int, alpha: float = 0.05
                    ) -> dict[str, float]:
    """Risk ratio with the Katz log interval and odds ratio with the Woolf log interval,
    group 1 over group 2.

    When a cell of the 2x2 table is zero, 0.5 is added to every cell (Haldane–Anscombe).
    Returns a dict with ``risk_ratio``, ``rr_ci_low``, ``rr_ci_high``, ``odds_ratio``,
    ``or_ci_low`` and ``or_ci_high``; all NaN when a group is empty or when no one (or
    everyone) in either group has the trait.
    """
    out = dict.fromkeys(("risk_ratio", "rr_ci_low", "rr_ci_high",
                         "odds_ratio", "or_ci_low", "or_ci_high"), math.nan)
    if n1 <= 0 or n2 <= 0:
        return out
    a, b, c, d = float(x1), float(n1 - x1), float(x2), float(n2 - x2)
    if min(a, b, c, d) == 0:
        if a + c == 0 or b + d == 0:
            return out
        a, b, c, d = (v + 0.5 for v in (a, b, c, d))
    z = z_critical(alpha)
    rr = (a / (a + b)) / (c / (c + d))
    rr_se = math.sqrt(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))
    odds = (a * d) / (b * c)
    odds_se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    out.update(risk_ratio=rr, rr_ci_low=rr * math.exp(-z * rr_se),
               rr_ci_high=rr * math.exp(z * rr_se), odds_ratio=odds,
               or_ci_low=odds * math.exp(-z * odds_se), or_ci_high=odds * math.exp(z * odds_se))
    return out


def bh_adjust(pvalues: Any) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values, as an array of the input's shape.

    NaN entries stay NaN and do not count as tests; values are clipped to [0, 1] first.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    present = ~np.isnan(p)
    if present.any():
        out[present] = stats.false_discovery_control(np.clip(p[present], 0.0, 1.0), method="bh")
    return out


def adjust_prevalence(p: Any, tpr: float, fpr: float) -> Any:
    """Adjusted classify-and-count: ``(p - fpr) / (tpr - fpr)`` clipped to [0, 1].

    Returns a float for scalar ``p``, else an array; NaN when ``tpr <= fpr`` (the
    detector carries no signal to correct).
    """
    p = np.asarray(p, dtype=float)
    if not tpr > fpr:
        return np.full(p.shape, np.nan) if p.shape else math.nan
    adjusted = np.clip((p - fpr) / (tpr - fpr), 0.0, 1.0)
    return adjusted if adjusted.shape else float(adjusted)


# -- means ---------------------------------------------------------------------------------
def bootstrap_mean_ci(x: Any, *, n_boot: int = 2000, alpha: float = 0.05,
                      rng: np.random.Generator | int | None = None) -> tuple[float, float]:
    """Percentile bootstrap interval for the mean of ``x``.

    Returns ``(low, high)``; ``(nan, nan)`` for fewer than two values and
    ``(value, value)`` when every value is the same.
    """
    x = np.asarray(x, dtype=float)
    if len(x) < 2:
        return math.nan, math.nan
    if np.all(x == x[0]):
        return float(x[0]), float(x[0])
    res = stats.bootstrap((x,), np.mean, n_resamples=n_boot, confidence_level=1 - alpha,
                          method="percentile", vectorized=True, rng=_generator(rng),
                          batch=_batch_size(len(x)))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def t_mean_ci(x: Any, alpha: float = 0.05) -> tuple[float, float]:
    """Student's t interval for the mean of ``x``: ``(low, high)``, ``(nan, nan)`` for
    fewer than two values."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    if n < 2:
        return math.nan, math.nan
    mean = float(np.mean(x))
    se = float(np.std(x, ddof=1) / math.sqrt(n))
    half = float(stats.t.ppf(1 - alpha / 2, n - 1)) * se
    return mean - half, mean + half


def pooled_sd(a: Any, b: Any) -> float:
    """The pooled standard deviation of two samples (``n_a + n_b - 2`` degrees of
    freedom); NaN when they hold two values or fewer in all."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    na, nb = len(a), len(b)
    if na + nb <= 2:
        return math.nan
    var_a = float(np.var(a, ddof=1)) if na > 1 else 0.0
    var_b = float(np.var(b, ddof=1)) if nb > 1 else 0.0
    return math.sqrt(((na - 1) * var_a + (nb - 1) * var_b) / (na + nb - 2))


def cohens_d(a: Any, b: Any) -> float:
    """Cohen's d: ``(mean(a) - mean(b)) / pooled SD``; NaN for an empty sample or when
    the pooled SD is 0 or undefined."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) == 0 or len(b) == 0:
        return math.nan
    sd = pooled_sd(a, b)
    if math.isnan(sd) or sd == 0:
        return math.nan
    return float((a.mean() - b.mean()) / sd)


def hedges_g(a: Any, b: Any) -> float:
    """Hedges' g: Cohen's d times the exact small-sample correction
    ``J = Γ(df/2) / (sqrt(df/2) Γ((df-1)/2))``, ``df = n_a + n_b - 2``; NaN when d is
    NaN or ``df < 2``."""
    d = cohens_d(a, b)
    df = len(a) + len(b) - 2
    if math.isnan(d) or df < 2:
        return math.nan
    correction = math.exp(gammaln(df / 2) - gammaln((df - 1) / 2)) / math.sqrt(df / 2)
    return d * correction


def hedges_g_ci(g: float, n_a: int, n_b: int, alpha: float = 0.05) -> tuple[float, float]:
    """Normal-approximation interval for Hedges' ``g`` from samples of ``n_a`` and
    ``n_b``: ``g ± z sqrt((n_a + n_b) / (n_a n_b) + g² / (2 (n_a + n_b)))``. Returns
    ``(low, high)``; ``(nan, nan)`` when ``g`` is NaN or a sample is empty."""
    if math.isnan(g) or n_a <= 0 or n_b <= 0:
        return math.nan, math.nan
    total = n_a + n_b
    se = math.sqrt(total / (n_a * n_b) + g * g / (2 * total))
    z = z_critical(alpha)
    return g - z * se, g + z * se


def cohens_h(p1: Any, p2: Any) -> Any:
    """Cohen's h for two proportions: ``2 asin(sqrt(p1)) - 2 asin(sqrt(p2))`` (arrays
    broadcast)."""
    return 2 * np.arcsin(np.sqrt(p1)) - 2 * np.arcsin(np.sqrt(p2))


def mean_difference_test(a: np.ndarray, b: np.ndarray, n_permutations: int,
                         max_resample_n: int, rng: np.random.Generator | int | None = None
                         ) -> tuple[str, float, float]:
    """Two-sided test of ``mean(a) == mean(b)``.

    A permutation test of the difference in means (``n_permutations`` resamples) when
    the two samples hold at most ``max_resample_n`` values together and
    ``n_permutations > 0``, else Welch's t-test. Returns ``(test, statistic, p)``:
    ``("permutation", mean(a) - mean(b), p)``, ``("welch_t", t, p)``, or
    ``("none", nan, nan)`` when either sample has fewer than two values (neither test
    is defined for a sample of one).

    Samples without spread: when every value of both samples is the same the result is
    ``(test, 0.0, 1.0)``. Welch's t for two constant samples with different means is
    ``("welch_t", ±inf, 0.0)``; with one constant sample it is computed from the summary
    statistics, which gives the same t and p without scipy's precision-loss warning.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return "none", math.nan, math.nan
    if n_permutations > 0 and len(a) + len(b) <= max_resample_n:
        diff = float(a.mean() - b.mean())
        if np.all(a == a[0]) and np.all(b == a[0]):
            return "permutation", diff, 1.0
        res = stats.permutation_test((a, b), _difference_of_means, n_resamples=n_permutations,
                                     vectorized=True, rng=_generator(rng),
                                     batch=_batch_size(len(a) + len(b)))
        return "permutation", diff, float(res.pvalue)
    flat_a, flat_b = bool(np.all(a == a[0])), bool(np.all(b == b[0]))
    if flat_a and flat_b:  # t is 0/0 or x/0: report its limit
        diff = float(a[0] - b[0])
        if diff == 0:
            return "welch_t", 0.0, 1.0
        return "welch_t", math.copysign(math.inf, diff), 0.0
    if flat_a or flat_b:  # scipy warns on a constant sample; its variance is exactly 0 here
        res = stats.ttest_ind_from_stats(float(a.mean()), float(np.std(a, ddof=1)), len(a),
                                         float(b.mean()), float(np.std(b, ddof=1)), len(b),
                                         equal_var=False)
        return "welch_t", float(res.statistic), float(res.pvalue)
    res = stats.ttest_ind(a, b, equal_var=False)
    return "welch_t", float(res.statistic), float(res.pvalue)


def mean_difference_ci(a: np.ndarray, b: np.ndarray, *, n_boot: int, alpha: float = 0.05,
                       max_resample_n: int, rng: np.random.Generator | int | None = None
                       ) -> tuple[float, float, str]:
    """Interval for ``mean(a) - mean(b)``.

    A percentile bootstrap (``n_boot`` resamples of each sample) when the samples hold at
    most ``max_resample_n`` values together and ``n_boot > 0``, else the Welch t
    interval. Returns ``(low, high, method)`` with method ``"bootstrap"`` or
    ``"welch_t"``, or ``(nan, nan, "none")`` when a sample has fewer than two values.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        return math.nan, math.nan, "none"
    diff = float(a.mean() - b.mean())
    if n_boot > 0 and na + nb <= max_resample_n:
        if np.all(a == a[0]) and np.all(b == b[0]):
            return diff, diff, "bootstrap"
        res = stats.bootstrap((a, b), _difference_of_means, n_resamples=n_boot,
                              confidence_level=1 - alpha, method="percentile", vectorized=True,
                              rng=_generator(rng), batch=_batch_size(na + nb))
        return float(res.confidence_interval.low), float(res.confidence_interval.high), "bootstrap"
    var_a, var_b = np.var(a, ddof=1) / na, np.var(b, ddof=1) / nb
    se = math.sqrt(var_a + var_b)
    if se == 0:
        return diff, diff, "welch_t"
    dof = (var_a + var_b) ** 2 / (var_a ** 2 / (na - 1) + var_b ** 2 / (nb - 1))
    half = float(stats.t.ppf(1 - alpha / 2, dof)) * se
    return diff - half, diff + half, "welch_t"


# -- trends over ordered periods -------------------------------------------------------------
#: The fewest distinct periods a trend test accepts: a line through two periods is a
#: two-sample comparison, not a trend.
MIN_TREND_PERIODS = 3


def _trend_input(times: Any, values: Any) -> tuple[np.ndarray, np.ndarray]:
    """``times`` and ``values`` as float arrays of one length, without the pairs where
    either is NaN."""
    t = np.asarray(times, dtype=float).ravel()
    y = np.asarray(values, dtype=float).ravel()
    if t.shape != y.shape:
        raise ValueError(f"times and values differ in length ({len(t)} and {len(y)})")
    keep = ~(np.isnan(t) | np.isnan(y))
    return t[keep], y[keep]


def _trend_skipped(n: int, n_periods: int, min_n: int, min_periods: int
                   ) -> dict[str, Any] | None:
    """The all-NaN result (``test`` ``"none"``, a ``note`` saying why) when the data are
    too thin for a trend test, else None."""
    if n_periods >= min_periods and n >= min_n:
        return None
    if n_periods < min_periods:
        note = (f"{n_periods} period{'' if n_periods == 1 else 's'} with data "
                f"(a trend test needs {min_periods})")
    else:
        note = f"too few values ({n}; a trend test needs {min_n})"
    out = dict.fromkeys(("slope", "ci_low", "ci_high", "statistic", "p_value", "intercept"),
                        math.nan)
    out.update(test="none", n=n, n_periods=n_periods, note=note)
    return out


def mean_trend_test(times: Any, values: Any, *, alpha: float = 0.05,
                    min_periods: int = MIN_TREND_PERIODS, min_n: int = 3) -> dict[str, Any]:
    """Linear trend of a measured value (e.g. article tone) over ordered periods.

    ``times`` holds each observation's position in time, counted in periods (0 for the
    first period, 5 for a period five steps later; gaps are allowed and count as such),
    ``values`` the observations; pairs with a NaN in either are dropped.

    The statistic is the ordinary least-squares slope of the values on time, fitted to
    the observations themselves rather than to period means, so every period weighs by
    the number of observations it holds and the within-period spread enters the error.
    The interval is ``slope ± t(1 - alpha/2, n - 2) · SE`` with the classical OLS
    standard error and the test is the t-test of a zero slope on ``n - 2`` degrees of
    freedom (what :func:`scipy.stats.linregress` computes). It reads as the average
    change per period, in the values' units, and detects steady (monotone) change;
    a rise followed by a fall can leave it near zero. Observations are taken as
    independent: a shock shared by every article of one period is not modelled, so
    with large periods that move together the interval is too narrow.

    Returns a dict with ``test`` (``"ols_t"``, or ``"none"`` when skipped), ``slope``,
    ``ci_low``, ``ci_high``, ``statistic`` (t), ``p_value``, ``intercept`` (the line at
    time 0), ``n`` (observations used), ``n_periods`` (distinct times) and ``note``
    (empty, or why the test was skipped or is degenerate). Fewer than ``min_periods``
    distinct times (never below :data:`MIN_TREND_PERIODS`) or fewer than ``min_n``
    observations (never below 3) give NaNs and a ``note``. Values that never vary give
    slope 0, a zero-width interval and p = 1; values exactly on a sloped line give
    p = 0.
    """
    t, y = _trend_input(times, values)
    n, n_periods = len(y), len(np.unique(t))
    skipped = _trend_skipped(n, n_periods, max(min_n, 3),
                             max(min_periods, MIN_TREND_PERIODS))
    if skipped is not None:
        return skipped
    out: dict[str, Any] = {"test": "ols_t", "n": n, "n_periods": n_periods, "note": ""}
    if np.all(y == y[0]):
        out.update(slope=0.0, ci_low=0.0, ci_high=0.0, statistic=0.0, p_value=1.0,
                   intercept=float(y[0]), note="the values never vary: slope 0, p = 1")
        return out
    dt = t - t.mean()
    sxx = float(dt @ dt)
    slope = float(dt @ (y - y.mean())) / sxx
    intercept = float(y.mean() - slope * t.mean())
    resid = y - (intercept + slope * t)
    df = n - 2
    se = math.sqrt(float(resid @ resid) / df / sxx)
    out.update(slope=slope, intercept=intercept)
    if se == 0:  # every value on the line
        out.update(ci_low=slope, ci_high=slope, statistic=math.copysign(math.inf, slope),
                   p_value=0.0)
        return out
    stat = slope / se
    half = float(stats.t.ppf(1 - alpha / 2, df)) * se
    out.update(ci_low=slope - half, ci_high=slope + half, statistic=stat,
               p_value=float(2 * stats.t.sf(abs(stat), df)))
    return out


def proportion_trend_test(times: Any, present: Any, *, alpha: float = 0.05,
                          min_periods: int = MIN_TREND_PERIODS, min_n: int = 3
                          ) -> dict[str, Any]:
    """Linear trend of a yes/no trait (e.g. a cue present in an article) over ordered
    periods.

    ``times`` holds each observation's position in time, counted in periods (see
    :func:`mean_trend_test`), ``present`` whether it has the trait (booleans or 0/1);
    pairs with a NaN in either are dropped.

    The estimate is the slope of the linear probability model: the least-squares line
    of the 0/1 flags on time, i.e. the change in the share per period (0.07 = seven
    percentage points per period), which reads directly in the shares people see.
    The test is the Cochran–Armitage test for trend in proportions with the period
    positions as scores: ``z = slope · sqrt(Sxx / (p (1 - p)))``, where ``p`` is the
    overall share and ``Sxx`` the sum of squared deviations of the times (``z² = n r²``,
    ``r`` the correlation of flags and times). It uses the variance under no trend,
    needs no model fit, and is well defined for shares of 0 or 1 in some periods, which
    a logistic slope is not. The interval is a Wald interval with the HC3
    heteroskedasticity-consistent standard error of the slope (the variance of a
    yes/no flag changes with its share; HC3 keeps its level in small samples). Because
    the test uses the null variance and the interval the fitted one, the two can
    disagree for a p-value near ``alpha``.

    Returns a dict with ``test`` (``"cochran_armitage"``, or ``"none"`` when skipped),
    ``slope``, ``ci_low``, ``ci_high``, ``statistic`` (z), ``p_value``, ``intercept`` (the
    line at time 0), ``n``, ``n_periods`` and ``note``, as :func:`mean_trend_test`
    does, with the same rules for thin data. When no observation (or every one) has the
    trait, the slope is 0 with a zero-width interval, p = 1 and a ``note``.
    """
    t, y = _trend_input(times, present)
    if np.any((y != 0) & (y != 1)):
        raise ValueError("present must hold yes/no values (booleans or 0/1)")
    n, n_periods = len(y), len(np.unique(t))
    skipped = _trend_skipped(n, n_periods, max(min_n, 3),
                             max(min_periods, MIN_TREND_PERIODS))
    if skipped is not None:
        return skipped
    out: dict[str, Any] = {"test": "cochran_armitage", "n": n, "n_periods": n_periods,
                           "note": ""}
    share = float(y.mean())
    if share in (0.0, 1.0):
        which = "no observation" if share == 0 else "every observation"
        out.update(slope=0.0, ci_low=0.0, ci_high=0.0, statistic=0.0, p_value=1.0,
                   intercept=share, note=f"{which} has the trait: slope 0, p = 1")
        return out
    dt = t - t.mean()
    sxx = float(dt @ dt)
    slope = float(dt @ (y - share)) / sxx
    intercept = share - slope * float(t.mean())
    z = slope * math.sqrt(sxx / (share * (1 - share)))
    resid = y - (intercept + slope * t)
    leverage = 1 / n + dt * dt / sxx  # below 1 with three or more distinct times
    se = math.sqrt(float(np.sum(dt * dt * (resid / (1 - leverage)) ** 2))) / sxx
    half = z_critical(alpha) * se
    out.update(slope=slope, intercept=intercept, ci_low=slope - half, ci_high=slope + half,
               statistic=z, p_value=float(2 * stats.norm.sf(abs(z))))
    return out
