"""`bench.ingest`: what `max_ingest` measures is the ingest alone, and the loop lag it
reports is timed finer than the loop's own clock."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

import pytest

from bench.ingest import LoopLag, max_ingest
from bench.loopsteps import LongSteps, timed_steps
from bench.scale import seeded_core


@pytest.mark.asyncio_loop  # as --loop-steps runs (bench/loopsteps.py)
async def test_only_the_ingest_is_timed_not_the_warm_up_or_the_row_counts() -> None:
    """``--loop-steps`` times every step of the loop inside ``timed``: the warm-up's
    ``gc.collect`` (one step of ~100 ms) and the bench's own ``count(*)`` of signal rows
    (~170 ms at 1k people) were reported as the run's longest steps. ``timed`` is entered
    once the warm-up is over and left before the last count."""
    steps = LongSteps(threshold_ms=0.0)
    entered: list[str] = []

    @contextlib.contextmanager
    def marked() -> Iterator[None]:
        entered.append("in")
        with timed_steps(steps):
            yield
        entered.append("out")

    async with seeded_core("sqlite", 20) as seeded:
        figures = await max_ingest(seeded.core, seeded.users, 40, timed=marked())

    assert entered == ["in", "out"] and figures.events == 40
    places = " ".join(steps.places)
    assert [p for p in steps.places if "warm_up" in p or "signal_count" in p] == []
    assert "bot." in places  # the events' own steps are there


async def test_loop_lag_is_timed_finer_than_the_loop_s_clock() -> None:
    """A step that holds the loop shows as lag, in fractions of a millisecond: uvloop's
    clock counts whole milliseconds, and a p99 of "20.0" (20 plus a rounding error) once
    missed the 20 ms goal."""
    lag = LoopLag()
    lag.start()
    await asyncio.sleep(0.05)
    threading.Event().wait(0.03)  # a step that holds the loop (tests/adapters/cli/test_run.py)
    await asyncio.sleep(0.05)
    await lag.stop()
    assert max(lag.samples) >= 25
    assert any(abs(sample - round(sample)) > 1e-3 for sample in lag.samples)
