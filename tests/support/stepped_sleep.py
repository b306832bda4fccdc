"""A sleep the test ends: what code under test waits on between two retries or checks, with
each wait recorded and lasting until the test lets it end (no real minute passes)."""

from __future__ import annotations

import asyncio


class SteppedSleep:
    """Pass :meth:`sleep` where the code takes its sleep; :attr:`asleep` is set while it
    waits; :meth:`tick` ends the wait."""

    def __init__(self) -> None:
        self.slept: list[float] = []
        self.asleep = asyncio.Event()
        self._done: asyncio.Future[None] | None = None

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self._done = asyncio.get_running_loop().create_future()
        self.asleep.set()
        await self._done

    def tick(self) -> None:
        assert self._done is not None
        self.asleep.clear()
        self._done.set_result(None)
