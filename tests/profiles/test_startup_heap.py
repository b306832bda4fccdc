"""A process keeps what it loaded at start out of the collector's full passes
(profiles/startup_heap.py): the bot's process and each extraction worker."""

from __future__ import annotations

import gc

from profiles.startup_heap import freeze_startup_objects


def test_start_up_objects_leave_the_collectors_full_passes() -> None:
    """What start-up loaded is no longer walked by a full collection (the event-loop stall
    it causes grows with it): after freezing, the collector tracks a small fraction."""
    tracked_before = len(gc.get_objects())
    try:
        frozen = freeze_startup_objects()
        assert frozen >= tracked_before // 2  # the start-up's objects, minus its garbage
        assert len(gc.get_objects()) < tracked_before // 10
    finally:
        gc.unfreeze()  # the rest of the test session collects as usual
