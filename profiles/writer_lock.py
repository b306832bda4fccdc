"""SQLite's one writer within a process: a queue in which background work lets replies by.

SQLite lets one transaction write at a time; within the process its write transactions
queue here (across processes ``BEGIN IMMEDIATE`` waits the busy timeout). In plain arrival
order a reply's short transaction (a claim, a record: a millisecond) that came just after a
learning batch waited for the whole batch (~20 ms at maximum ingest, each batch every 50 ms)
— at maximum ingest the largest part of a DM's time (docs/measurement.md, "Replies ahead of
learning batches"). Background work (the write-behind batches, which no person waits for)
therefore takes the writer only when no foreground transaction is waiting for it: each
reply waits at most for the one transaction, or batch, that holds it. A background waiter
that has waited ``patience`` seconds goes ahead of foreground ones, so that a steady stream
of replies cannot hold the learning back for ever (its queue would fill and push back on
intake).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator, Callable

# How long a background waiter lets foreground ones go first: twice the learner's batching
# delay (bot/learning.py), so that a batch is at most that much later than it would be.
BACKGROUND_PATIENCE_SECONDS = 0.1


class WriterLock:
    """``async with lock`` for a foreground transaction, ``async with lock.background()`` for
    work nobody waits for. ``clock``: seconds, monotonic (the event loop's by default)."""

    def __init__(
        self,
        *,
        patience: float = BACKGROUND_PATIENCE_SECONDS,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.patience = patience
        self._clock = clock
        self._held = False
        self._foreground: deque[asyncio.Future[None]] = deque()
        self._background: deque[tuple[float, asyncio.Future[None]]] = deque()

    def locked(self) -> bool:
        return self._held

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *_exc: object) -> None:
        self.release()

    @contextlib.asynccontextmanager
    async def background(self) -> AsyncIterator[None]:
        await self.acquire(background=True)
        try:
            yield
        finally:
            self.release()

    async def acquire(self, *, background: bool = False) -> None:
        if not self._held:
            self._held = True  # free means nobody waits: a release hands it straight on
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (self._now(), waiter)
        if background:
            self._background.append(entry)
        else:
            self._foreground.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed over just as the waiter was cancelled: pass it on
            else:  # still queued, unless a release skipped it already
                with contextlib.suppress(ValueError):
                    if background:
                        self._background.remove(entry)
                    else:
                        self._foreground.remove(waiter)
            raise

    def release(self) -> None:
        """Hand the writer to the next waiter (it stays held), or free it."""
        if not self._held:
            raise RuntimeError("the writer lock is not held")
        while (waiter := self._next()) is not None:
            if not waiter.done():  # not cancelled meanwhile
                waiter.set_result(None)
                return
        self._held = False

    def _next(self) -> asyncio.Future[None] | None:
        if self._background and self._now() - self._background[0][0] >= self.patience:
            return self._background.popleft()[1]  # waited long enough: its turn
        if self._foreground:
            return self._foreground.popleft()
        if self._background:
            return self._background.popleft()[1]
        return None

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()
