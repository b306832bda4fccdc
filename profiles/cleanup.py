"""Run a cleanup coroutine to its end, even if the caller is cancelled meanwhile, without a
turn of the event loop when it can finish at once.

Why: SQLAlchemy's ``async with session`` closes the session in a task of its own and waits
for it behind ``asyncio.shield`` (``sqlalchemy.ext.asyncio.base._run_to_completion``), so that
a cancelled caller cannot abandon the close half-way (a connection left checked out, or
returned to a pool disposed of meanwhile). That task costs every transaction a turn of the
event loop: under maximum ingest a turn is a wait behind every other ready task (a read-only
context assembly on SQLite, which otherwise never suspends, waited only there, issue 16).
Most closes never suspend — on SQLite a quick transaction's connection goes back to the pool
on the loop, on PostgreSQL an idle connection needs no rollback — so :func:`to_completion`
runs the close in the caller's task first and falls back to the shielded task only from the
point where it suspends, which is where a cancellation could otherwise interrupt it.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Coroutine, Generator
from typing import Any, TypeVar

T = TypeVar("T")


async def to_completion(cleanup: Coroutine[Any, Any, T]) -> T:
    """``await cleanup``, finished even if the calling task is cancelled meanwhile (the
    cancellation is raised once it has finished); without a task of its own when it
    completes without suspending."""
    try:
        waiting_on = cleanup.send(None)
    except StopIteration as done:
        result: T = done.value
        return result
    task = asyncio.ensure_future(_resumed(cleanup, waiting_on))
    cancelled: asyncio.CancelledError | None = None
    while True:
        try:
            result = await asyncio.shield(task)
        except asyncio.CancelledError as exc:
            if task.done():
                raise
            cancelled = exc
        else:
            break
    if cancelled is not None:
        raise cancelled
    return result


async def _resumed(cleanup: Coroutine[Any, Any, T], waiting_on: Any) -> T:
    return await _resume(cleanup, waiting_on)


@types.coroutine
def _resume(cleanup: Coroutine[Any, Any, T], waiting_on: Any) -> Generator[Any, Any, T]:
    """Go on driving ``cleanup``, which suspended on ``waiting_on`` (a future, as asyncio's
    coroutines yield them) in another task: the task running this one now waits for it."""
    while True:
        try:
            sent = yield waiting_on
        except BaseException as exc:  # handed to the cleanup where it waits, as a task would
            try:
                waiting_on = cleanup.throw(exc)
            except StopIteration as done:
                result: T = done.value
                return result
        else:
            try:
                waiting_on = cleanup.send(sent)
            except StopIteration as done:
                result = done.value
                return result
