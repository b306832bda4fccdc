"""`python -m bench --loop-steps` names the place in this project's code where each long
step of the event loop ended, and leaves the loop as it found it."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator

import pytest

from bench.loopsteps import LongSteps, TaskWaits, _frames, timed_steps

# --loop-steps runs on asyncio's loop (bench/loopsteps.py): its timing wraps Handle._run.
pytestmark = pytest.mark.asyncio_loop

ORIGINAL = asyncio.Handle._run


def _busy(seconds: float) -> None:
    """Hold the loop without a clock-bound assertion: the step's length is only the
    threshold's business, and the threshold here is zero."""
    threading.Event().wait(seconds)


async def _holds_the_loop() -> None:
    _busy(0.002)
    await asyncio.sleep(0)  # the step that held the loop ends here


async def test_long_steps_are_named_by_the_project_frame_they_ended_in() -> None:
    steps = LongSteps(threshold_ms=0.0)
    with timed_steps(steps):
        await asyncio.create_task(_holds_the_loop())
        asyncio.get_running_loop().call_soon(_busy, 0.001)
        await asyncio.sleep(0)
    assert asyncio.Handle._run is ORIGINAL  # put back
    names = list(steps.places)
    assert any(name.endswith(f"_holds_the_loop:{_line_of_sleep()}") for name in names), names
    assert "_busy" in names  # a plain callback: its function
    assert steps.steps >= 2 and steps.total_ms > 0
    report = steps.report()
    assert "_holds_the_loop" in report and "loop steps" in report


def _line_of_sleep() -> int:
    import inspect

    source, start = inspect.getsourcelines(_holds_the_loop)
    return start + next(i for i, line in enumerate(source) if "asyncio.sleep(0)" in line)


def test_a_step_under_the_threshold_is_counted_not_placed() -> None:
    steps = LongSteps(threshold_ms=1e9)
    loop = asyncio.new_event_loop()
    try:
        with timed_steps(steps):
            loop.run_until_complete(asyncio.sleep(0))
    finally:
        loop.close()
    assert steps.steps > 0 and not steps.places


@contextlib.asynccontextmanager
async def _entering(gate: asyncio.Event) -> AsyncIterator[None]:
    await gate.wait()  # a task entering this context stands here, inside the generator
    yield


async def _inside(gate: asyncio.Event) -> None:
    async with _entering(gate):
        pass


async def test_a_step_inside_an_async_context_manager_is_named_by_its_generator() -> None:
    """A transaction is an ``asynccontextmanager``: a step ending at its ``BEGIN`` or
    ``COMMIT`` must be placed in the generator, not stop at ``__aenter__`` (whose awaited
    ``asend`` has no frame)."""
    gate = asyncio.Event()
    task = asyncio.create_task(_inside(gate))
    await asyncio.sleep(0)  # the task runs until it waits on the gate
    names = [frame.f_code.co_name for frame in _frames(task.get_coro())]
    gate.set()
    await task
    assert names[0] == "_inside" and names.index("_entering") > names.index("__aenter__")
    assert names[-1] == "wait"  # down to the Event it waits on


async def _watched_waits(waits: TaskWaits, gate: asyncio.Event) -> None:
    task = asyncio.current_task()
    assert task is not None
    waits.watch(task)
    try:
        await asyncio.sleep(0)  # a turn of the loop
        await gate.wait()  # until another task lets it go
    finally:
        waits.unwatch(task)


async def _unwatched(gate: asyncio.Event) -> None:
    await gate.wait()


def _line_of(text: str) -> int:
    import inspect

    source, start = inspect.getsourcelines(_watched_waits)
    return start + next(i for i, line in enumerate(source) if text in line)


async def test_a_watched_task_s_waits_are_charged_where_it_stood() -> None:
    """Each gap between a watched task's steps goes to the place it was suspended in, once
    per wait; a task nobody watches is charged nowhere; the loop is left as it was."""
    waits = TaskWaits()
    gate = asyncio.Event()
    with timed_steps(LongSteps(threshold_ms=1e9), waits):
        watched = asyncio.create_task(_watched_waits(waits, gate))
        other = asyncio.create_task(_unwatched(gate))
        for _ in range(3):
            await asyncio.sleep(0)
        _busy(0.002)  # the watched task waits through this step of another task
        gate.set()
        await asyncio.gather(watched, other)
    assert asyncio.Handle._run is ORIGINAL
    module = "tests.bench.test_loopsteps._watched_waits"
    turn, gated = f"{module}:{_line_of('sleep(0)')}", f"{module}:{_line_of('gate.wait()')}"
    assert set(waits.places) == {turn, gated}
    assert waits.places[turn].steps == waits.places[gated].steps == 1
    assert waits.places[gated].total_ms >= 2.0  # it stood there through the busy step
    assert len(waits.total_ms) == 1 and not waits.watched
    assert waits.total_ms[0] >= waits.places[gated].total_ms + waits.own_ms[0]
    report = waits.report()
    assert report.startswith("1 DMs") and "gate.wait" not in report and gated in report
