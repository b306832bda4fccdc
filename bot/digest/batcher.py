"""Digests that fire together run together.

The scheduler fires one job per person at their local time, so a team in one timezone that
chose 08:00 has all its jobs fire in the same second. Run one by one, each digest would pay
its own claim, recording and finishing transactions; gathered here for a few milliseconds,
they go through :meth:`DigestRunner.run_batch` as one page (a handful of statements whatever
its size). A fire waits at most ``window`` seconds for company; a page never grows past
``size`` people; fires for different instants never share a page (each instant has its own
shared cache of workspace activity and feeds).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from bot.digest.runner import Due, RunOutcome

log = logging.getLogger(__name__)

RunPage = Callable[[Sequence[Due], dt.datetime], Awaitable[list[RunOutcome]]]


@dataclass(slots=True)
class _Page:
    dues: list[Due] = field(default_factory=list)
    waiters: list[asyncio.Future[RunOutcome]] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None


class FireBatcher:
    def __init__(self, run_page: RunPage, *, window: float, size: int) -> None:
        self._run_page = run_page
        self.window = window
        self.size = max(1, size)
        self._open: dict[dt.datetime, _Page] = {}
        self._running: set[asyncio.Task[None]] = set()

    async def submit(self, due: Due) -> RunOutcome:
        """``due``'s outcome, once the page it joined has run."""
        loop = asyncio.get_running_loop()
        page = self._open.get(due.fire)
        if page is None or any(d.person_id == due.person_id for d in page.dues):
            if page is not None:  # the same person twice: the first page goes now
                self._flush(due.fire)
            page = self._open[due.fire] = _Page()
            page.timer = loop.call_later(self.window, self._flush, due.fire)
        waiter: asyncio.Future[RunOutcome] = loop.create_future()
        page.dues.append(due)
        page.waiters.append(waiter)
        if len(page.dues) >= self.size:
            self._flush(due.fire)
        return await waiter

    def _flush(self, fire: dt.datetime) -> None:
        page = self._open.pop(fire, None)
        if page is None:
            return
        if page.timer is not None:
            page.timer.cancel()
        task = asyncio.get_running_loop().create_task(self._run(page, fire))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, page: _Page, fire: dt.datetime) -> None:
        try:
            outcomes = await self._run_page(page.dues, fire)
        except BaseException as exc:  # every waiter hears of it, none hangs
            for waiter in page.waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for waiter, outcome in zip(page.waiters, outcomes, strict=True):
            if not waiter.done():
                waiter.set_result(outcome)

    async def aclose(self) -> None:
        """Run what is waiting now rather than drop it, then wait for every page."""
        for fire in list(self._open):
            self._flush(fire)
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
