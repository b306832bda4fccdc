import math

from hypothesis import given
from hypothesis import strategies as st

from profiles.decay import DAY_SECONDS, accumulate, decay_factor, decayed

HALF = 14 * DAY_SECONDS


def test_weight_halves_after_one_half_life():
    assert decayed(8.0, 0.0, HALF, HALF) == 4.0
    assert decayed(8.0, 0.0, 3 * HALF, HALF) == 1.0


def test_accumulate_decays_then_adds():
    weight, ts = accumulate(2.0, 0.0, 1.0, HALF, HALF)
    assert (weight, ts) == (2.0, HALF)


def test_late_signal_is_discounted_not_boosted():
    weight, ts = accumulate(1.0, HALF, 1.0, 0.0, HALF)
    assert ts == HALF
    assert weight == 1.5


def test_future_elapsed_never_grows():
    assert decay_factor(-100.0, HALF) == 1.0


@given(
    deltas=st.lists(st.floats(0.01, 5), min_size=1, max_size=30),
    gaps=st.lists(st.floats(0, 60 * DAY_SECONDS), min_size=30, max_size=30),
)
def test_incremental_equals_recomputation_from_history(deltas, gaps):
    """The O(1) update gives exactly what a full rescan of the history would."""
    times, t = [], 0.0
    for gap in gaps[: len(deltas)]:
        t += gap
        times.append(t)
    weight, ts = 0.0, 0.0
    for delta, at in zip(deltas, times, strict=True):
        weight, ts = accumulate(weight, ts, delta, at, HALF)
    now = times[-1] + DAY_SECONDS
    full = sum(d * 0.5 ** ((now - at) / HALF) for d, at in zip(deltas, times, strict=True))
    assert math.isclose(decayed(weight, ts, now, HALF), full, rel_tol=1e-9, abs_tol=1e-12)
