"""Which thread ran each SQLite statement (profiles/sqlite_loop.py), read from SQLite's own
trace callback, which runs in the thread that executes the statement."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import event

from profiles.db import Database

LOOP = "loop"
WORKER = "worker"


class Traced:
    """Every statement SQLite runs on the database's connections checked out from now on
    (those already open included), by its first ``words`` words, with the thread it ran in
    (``loop``: the thread of the event loop of the test that made it). Unlike SQLAlchemy's
    statement events it also sees what goes to the driver directly (``BEGIN``, ``COMMIT``,
    ``ROLLBACK``)."""

    def __init__(self, db: Database, *, words: int = 2) -> None:
        self.words = words
        self.loop_thread = threading.get_ident()
        self.seen: list[tuple[str, str]] = []
        event.listen(db.engine.sync_engine, "checkout", self._trace)

    def _trace(self, dbapi_connection: object, record: object, _proxy: object) -> None:
        raw: sqlite3.Connection = record.driver_connection._conn  # type: ignore[attr-defined]
        raw.set_trace_callback(self._saw)

    def _saw(self, statement: str) -> None:
        where = LOOP if threading.get_ident() == self.loop_thread else WORKER
        self.seen.append((" ".join(statement.split()[: self.words]), where))

    def take(self) -> list[tuple[str, str]]:
        seen, self.seen = self.seen, []
        return seen


def count_hand_offs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    """Every call handed to aiosqlite's worker thread from now on, as (the connection's id,
    the call's name): each a round trip (a queue hand-off, a thread wake-up and a wake-up of
    the event loop). Calls run inline — on the loop, or inside work already in the thread —
    are not handed over."""
    handed: list[tuple[int, str]] = []
    to_thread = aiosqlite.Connection._execute

    async def spy(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        handed.append((id(self), getattr(fn, "__name__", repr(fn))))
        return await to_thread(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", spy)
    return handed


def calls_of(handed: list[tuple[int, str]], call: str) -> list[str]:
    """The calls handed over on the connection that was handed ``call`` (the first such)."""
    connection = next(conn for conn, name in handed if name == call)
    return [name for conn, name in handed if conn == connection]


def install_function(db: Database, name: str, fn: Callable[[], int]) -> None:
    """``name()`` in SQL on every connection of ``db`` checked out from now on: ``fn``,
    called in whichever thread runs the statement (dispose the pool first so every
    connection gets it)."""

    def install(_dbapi: Any, record: Any, _proxy: Any) -> None:
        record.driver_connection._conn.create_function(name, 0, fn)

    event.listen(db.engine.sync_engine, "checkout", install)
