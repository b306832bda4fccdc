"""Exponential time decay. A weight ``w`` stored at time ``t`` is worth
``w * 0.5 ** ((now - t) / half_life)`` now, so adding a signal only needs the stored pair:
decay it to the signal's time and add. That is the whole O(1) update, and it can be written as
one SQL upsert (see :mod:`profiles.engine`) so concurrent workers never lose an update."""

from __future__ import annotations

import datetime as dt

DAY_SECONDS = 86_400.0


def to_ts(moment: dt.datetime) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def decay_factor(elapsed_seconds: float, half_life_seconds: float) -> float:
    """Never grows a weight: events that arrive out of order (elapsed < 0) are not boosted."""
    if elapsed_seconds <= 0:
        return 1.0
    return float(0.5 ** (elapsed_seconds / half_life_seconds))


def decayed(weight: float, updated_ts: float, now_ts: float, half_life_seconds: float) -> float:
    return weight * decay_factor(now_ts - updated_ts, half_life_seconds)


def accumulate(
    weight: float, updated_ts: float, delta: float, at_ts: float, half_life_seconds: float
) -> tuple[float, float]:
    """The Python twin of the SQL upsert: decay to ``at_ts`` then add ``delta``."""
    if at_ts < updated_ts:  # a late signal is decayed to "now" of the stored value instead
        return weight + delta * decay_factor(updated_ts - at_ts, half_life_seconds), updated_ts
    return decayed(weight, updated_ts, at_ts, half_life_seconds) + delta, at_ts
