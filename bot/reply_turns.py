"""Replies first: a few replies' database and CPU stages at a time, and observed messages
held back while replies work.

Why both: the bot's process is CPU-bound under load, and one turn of the event loop runs a
step of every task that is ready.

* With every reply's stages interleaved, each turn of the loop grew with them (loop lag), so
  replies take one of ``reply_work_at_once`` turns, in arrival order (docs/measurement.md,
  "Replies admitted a few at a time"). The model's answer is awaited outside a turn.
* Observed channel messages and reactions — three events in four, nobody waiting for an
  answer — were handed to the intake (bot/pipeline/intake.py) at once, and their batches'
  steps filled the loop's turns while a person waited for a reply. Now one waits, at most
  ``observe_yield_ms``, while any reply works (:meth:`ReplyTurns.behind_replies`): the CPU
  goes to the person waiting first, what the message teaches is learned a little later. The
  bound keeps observation going when replies never stop. At maximum ingest (the bench's 8
  events in flight) DMs waited behind each other's turns for most of their time; with
  observed messages held back DM p99 fell by 30-60 % at no lower throughput
  (docs/measurement.md, "Observed messages wait while replies work").
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class ReplyTurns:
    """The replies' turns of one process (``services.reply_turns``)."""

    def __init__(self, at_once: int, observe_yield_ms: int) -> None:
        self._slots = asyncio.Semaphore(at_once) if at_once else None
        self.observe_yield = observe_yield_ms / 1000  # seconds
        self._working = 0  # replies waiting for or holding a turn, or in an urgent stage
        self._quiet = asyncio.Event()
        self._quiet.set()

    @contextlib.asynccontextmanager
    async def urgent(self) -> AsyncIterator[None]:
        """A reply's stage that takes no turn (the record on SQLite: one quick transaction)
        but that observed messages still wait for."""
        self._working += 1
        self._quiet.clear()
        try:
            yield
        finally:
            self._working -= 1
            if not self._working:
                self._quiet.set()

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """One of the ``at_once`` turns (no limit when 0), in arrival order. A reply waiting
        for its turn counts as working: observed messages wait for it too."""
        async with self.urgent():
            if self._slots is None:
                yield
            else:
                async with self._slots:
                    yield

    async def behind_replies(self) -> None:
        """Return once no reply works, or after ``observe_yield_ms``."""
        if self._working and self.observe_yield:
            # asyncio.timeout, not wait_for: no task a call, and on Python 3.11 wait_for drops
            # a cancellation that meets the end of what it waits for (adapters/discord/runner.py)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.observe_yield):
                    await self._quiet.wait()
