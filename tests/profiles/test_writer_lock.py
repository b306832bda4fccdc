"""SQLite's writer within a process (profiles/writer_lock.py): transactions in arrival order,
background work behind every transaction waiting, until it has waited its patience."""

from __future__ import annotations

import asyncio

import pytest

from profiles.writer_lock import WriterLock


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def take(lock: WriterLock, name: str, order: list[str], *, background: bool = False,
               hold: asyncio.Event | None = None) -> None:
    await lock.acquire(background=background)
    try:
        order.append(name)
        if hold is not None:
            await hold.wait()
    finally:
        lock.release()


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


async def queued_behind_a_holder(
    lock: WriterLock, arrivals: list[tuple[str, bool]]
) -> list[str]:
    """Who gets the writer in which order, when ``arrivals`` (name, background) queue up in
    that order while it is held."""
    order: list[str] = []
    release = asyncio.Event()
    holder = asyncio.create_task(take(lock, "holder", order, hold=release))
    await settle()
    waiters = []
    for name, background in arrivals:
        waiters.append(asyncio.create_task(take(lock, name, order, background=background)))
        await settle()
    release.set()
    await asyncio.gather(holder, *waiters)
    assert not lock.locked()
    return order


async def test_transactions_take_the_writer_in_arrival_order() -> None:
    order = await queued_behind_a_holder(WriterLock(), [("a", False), ("b", False)])
    assert order == ["holder", "a", "b"]


async def test_background_work_lets_transactions_that_came_after_it_go_first() -> None:
    order = await queued_behind_a_holder(
        WriterLock(clock=Clock()), [("batch", True), ("reply", False), ("record", False)]
    )
    assert order == ["holder", "reply", "record", "batch"]


async def test_background_work_that_waited_its_patience_goes_first() -> None:
    """A steady stream of replies cannot hold the learning back for ever."""
    clock = Clock()
    lock = WriterLock(patience=0.1, clock=clock)
    order: list[str] = []
    release = asyncio.Event()
    holder = asyncio.create_task(take(lock, "holder", order, hold=release))
    await settle()
    batch = asyncio.create_task(take(lock, "batch", order, background=True))
    await settle()
    reply = asyncio.create_task(take(lock, "reply", order))
    await settle()
    clock.now = 0.1  # the batch has waited 100 ms
    release.set()
    await asyncio.gather(holder, batch, reply)
    assert order == ["holder", "batch", "reply"]


async def test_a_free_writer_is_taken_at_once_whatever_the_work() -> None:
    lock = WriterLock()
    await lock.acquire(background=True)
    assert lock.locked()
    lock.release()
    assert not lock.locked()
    with pytest.raises(RuntimeError):
        lock.release()


@pytest.mark.parametrize("background", [False, True])
async def test_a_waiter_cancelled_in_the_queue_leaves_it(background: bool) -> None:
    lock = WriterLock(clock=Clock())
    order: list[str] = []
    release = asyncio.Event()
    holder = asyncio.create_task(take(lock, "holder", order, hold=release))
    await settle()
    gone = asyncio.create_task(take(lock, "gone", order, background=background))
    after = asyncio.create_task(take(lock, "after", order))
    await settle()
    gone.cancel()
    await settle()
    release.set()
    await asyncio.gather(holder, after)
    assert gone.cancelled() and order == ["holder", "after"] and not lock.locked()


async def test_a_waiter_cancelled_as_the_writer_is_handed_to_it_passes_it_on() -> None:
    lock = WriterLock()
    order: list[str] = []
    await lock.acquire()
    first = asyncio.create_task(take(lock, "first", order))
    second = asyncio.create_task(take(lock, "second", order))
    await settle()
    lock.release()  # handed to the first waiter, which has not run yet
    first.cancel()  # … and is cancelled before it does
    await asyncio.gather(first, second, return_exceptions=True)
    assert first.cancelled() and order == ["second"] and not lock.locked()
