"""profiles.cleanup.to_completion: a cleanup runs to its end though its caller is cancelled,
in the caller's own task while it does not suspend, in a task of its own from where it does."""

from __future__ import annotations

import asyncio

import pytest

from profiles.cleanup import to_completion
from tests.support.loop_turns import loop_turns


async def test_a_cleanup_that_does_not_suspend_runs_in_the_callers_task() -> None:
    seen: list[asyncio.Task[object] | None] = []

    async def cleanup() -> str:
        seen.append(asyncio.current_task())
        return "closed"

    assert await to_completion(cleanup()) == "closed"
    assert seen == [asyncio.current_task()]


async def test_a_cleanup_gives_the_event_loop_no_turn_unless_it_waits() -> None:
    async def quick() -> None:
        return None

    async def waits() -> None:
        await asyncio.sleep(0)

    async with loop_turns() as turns:
        before = turns()
        await to_completion(quick())
        assert turns() == before
        await to_completion(waits())
        assert turns() > before


async def test_a_cancelled_caller_waits_for_the_cleanup_then_sees_its_cancellation() -> None:
    release = asyncio.Event()
    finished: list[str] = []

    async def cleanup() -> None:
        finished.append("started")
        await release.wait()  # suspends: from here on it runs in a task of its own
        finished.append("finished")

    caller = asyncio.create_task(to_completion(cleanup()))
    await asyncio.sleep(0)
    assert finished == ["started"]
    caller.cancel()
    await asyncio.sleep(0)
    assert not caller.done()  # cancelled, but still waiting for the cleanup
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert finished == ["started", "finished"]


async def test_results_and_errors_pass_through_after_a_suspension() -> None:
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[int] = loop.create_future()
    failure: asyncio.Future[int] = loop.create_future()

    async def awaits(future: asyncio.Future[int]) -> int:
        return await future + 1

    async def recovers(future: asyncio.Future[int]) -> str:
        try:
            await future
        except KeyError as exc:  # thrown into the cleanup where it waited
            return f"recovered from {exc}"
        return "not reached"

    async def fails_after_waiting() -> None:
        await asyncio.sleep(0)
        raise ValueError("the close failed")

    loop.call_soon(answer.set_result, 41)
    assert await to_completion(awaits(answer)) == 42
    loop.call_soon(failure.set_exception, KeyError("gone"))
    assert await to_completion(recovers(failure)) == "recovered from 'gone'"
    with pytest.raises(ValueError, match="the close failed"):
        await to_completion(fails_after_waiting())


async def test_an_error_before_any_suspension_is_raised_in_the_caller() -> None:
    async def fails() -> None:
        raise RuntimeError("at once")

    with pytest.raises(RuntimeError, match="at once"):
        await to_completion(fails())
