"""Confidence intervals for experiment metrics.

* rates (share of replies with a 👍, of digest items engaged with): the Wilson score interval,
  which stays inside [0, 1] and behaves at small counts and at rates near 0 or 1 where the
  textbook normal interval does not;
* means (reply length): Student's t interval;
* a variant against the control: the two-proportion z-test (pooled), reported as a p-value
  so nobody reads a difference inside the noise as a win.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Interval:
    estimate: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        if self.n == 0:
            return "—"
        return f"{self.estimate:.3f} [{self.low:.3f}, {self.high:.3f}]"


def _z(confidence: float) -> float:
    return statistics.NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(successes: int, n: int, confidence: float = 0.95) -> Interval:
    if n < 0 or not 0 <= successes <= max(n, 0):
        raise ValueError("need 0 <= successes <= n")
    if n == 0:
        return Interval(0.0, 0.0, 1.0, 0)
    z = _z(confidence)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half), n)


def _t_quantile(confidence: float, df: int) -> float:
    """Student's t quantile; scipy is imported here, on the first report, because it costs
    about a CPU-second and the bot itself never needs it."""
    from scipy import stats as scipy_stats

    return float(scipy_stats.t.ppf(0.5 + confidence / 2, df))


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    n = len(values)
    if n == 0:
        return Interval(0.0, 0.0, 0.0, 0)
    mean = statistics.fmean(values)
    if n == 1:
        return Interval(mean, mean, mean, 1)
    sem = statistics.stdev(values) / math.sqrt(n)
    half = _t_quantile(confidence, n - 1) * sem
    return Interval(mean, mean - half, mean + half, n)


def two_proportion_p(successes_a: int, n_a: int, successes_b: int, n_b: int) -> float | None:
    """Two-sided p-value that the two rates are equal; None when undefined."""
    if n_a == 0 or n_b == 0:
        return None
    pooled = (successes_a + successes_b) / (n_a + n_b)
    if pooled in (0.0, 1.0):
        return 1.0
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    z = (successes_a / n_a - successes_b / n_b) / se
    return 2 * (1 - statistics.NormalDist().cdf(abs(z)))


def mean_interval_from_sums(
    n: int, total: float, total_squares: float, confidence: float = 0.95
) -> Interval:
    """Student's t interval from n, Σx and Σx² (what a SQL aggregate returns, so reports
    never load every row)."""
    if n == 0:
        return Interval(0.0, 0.0, 0.0, 0)
    mean = total / n
    if n == 1:
        return Interval(mean, mean, mean, 1)
    variance = max(0.0, (total_squares - n * mean * mean) / (n - 1))
    half = _t_quantile(confidence, n - 1) * math.sqrt(variance / n)
    return Interval(mean, mean - half, mean + half, n)
