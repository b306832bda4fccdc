"""A small async cache with time-to-live and in-flight sharing.

When 10,000 digests fall due at 08:00, they all want the same workspace activity and the same
feeds. The first caller loads a value; callers arriving while it loads await the same task
instead of loading it again; later callers reuse it until it expires. Failures are not
cached, so the next caller tries again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class SharedCache:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._values: dict[Hashable, tuple[float, Any]] = {}
        self._loading: dict[Hashable, asyncio.Task[Any]] = {}

    async def get(self, key: Hashable, ttl: float, load: Callable[[], Awaitable[T]]) -> T:
        now = self._clock()
        hit = self._values.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        task = self._loading.get(key)
        if task is None:
            task = asyncio.ensure_future(load())
            self._loading[key] = task
            task.add_done_callback(lambda done: self._settle(key, ttl, done))
        return await asyncio.shield(task)

    def _settle(self, key: Hashable, ttl: float, task: asyncio.Task[Any]) -> None:
        if self._loading.get(key) is task:
            del self._loading[key]
        if not task.cancelled() and task.exception() is None and ttl > 0:
            now = self._clock()
            if len(self._values) > 1024:  # long-running workers: drop what has expired
                self._values = {k: v for k, v in self._values.items() if v[0] > now}
            self._values[key] = (now + ttl, task.result())

    def peek(self, key: Hashable) -> Any | None:
        """The cached value if still fresh, else None; never starts a load (for callers that
        must read in their own task, e.g. inside a SQLite transaction's task)."""
        hit = self._values.get(key)
        return hit[1] if hit is not None and hit[0] > self._clock() else None

    def put(self, key: Hashable, ttl: float, value: Any) -> None:
        """Store a value loaded elsewhere (e.g. a page of people's rows read at once)."""
        self._values[key] = (self._clock() + ttl, value)

    def clear(self) -> None:
        self._values.clear()
