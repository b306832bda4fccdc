"""Interval statistics against published and hand-computed values."""

import pytest

from bot.experiments.stats import (
    mean_interval,
    mean_interval_from_sums,
    two_proportion_p,
    wilson,
)


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        # Newcombe, "Two-sided confidence intervals for the single proportion" (Stat. Med.
        # 1998), Table I, method 3 (Wilson score interval)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe_1998(successes, n, low, high):
    interval = wilson(successes, n)
    assert interval.estimate == pytest.approx(successes / n)
    assert interval.low == pytest.approx(low, abs=1e-4)
    assert interval.high == pytest.approx(high, abs=1e-4)


def test_wilson_without_data_is_the_whole_range():
    interval = wilson(0, 0)
    assert (interval.low, interval.high, interval.n) == (0.0, 1.0, 0)
    assert str(interval) == "—"
    with pytest.raises(ValueError):
        wilson(3, 2)


def test_t_interval_by_hand():
    # mean 3, sd sqrt(2.5), sem sqrt(0.5), t(0.975, 4) = 2.776445
    interval = mean_interval([1, 2, 3, 4, 5])
    half = 2.776445 * 0.5**0.5
    assert interval.estimate == 3
    assert interval.low == pytest.approx(3 - half, abs=1e-5)
    assert interval.high == pytest.approx(3 + half, abs=1e-5)
    from_sums = mean_interval_from_sums(5, 15, 55)
    assert from_sums.low == pytest.approx(interval.low)
    assert from_sums.high == pytest.approx(interval.high)
    assert mean_interval([]).n == 0
    assert mean_interval_from_sums(1, 7, 49).low == 7


def test_two_proportion_z_test():
    assert two_proportion_p(50, 100, 50, 100) == pytest.approx(1.0)
    # z = 0.2 / sqrt(0.25 * 0.02) = 2.8284 → p = 0.004678
    assert two_proportion_p(60, 100, 40, 100) == pytest.approx(0.004678, abs=1e-5)
    assert two_proportion_p(1, 0, 1, 10) is None
