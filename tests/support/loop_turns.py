"""How many turns the event loop gave the other tasks while some code ran: a task that
counts each time it is woken (``asyncio.sleep(0)`` wakes it on the next turn)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable


@contextlib.asynccontextmanager
async def loop_turns() -> AsyncIterator[Callable[[], int]]:
    """Yields a function that says how many turns have passed so far."""
    turns = 0

    async def ticker() -> None:
        nonlocal turns
        while True:
            await asyncio.sleep(0)
            turns += 1

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0)  # the ticker is running before the caller measures
    try:
        yield lambda: turns
    finally:
        ticking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticking
