"""Which thread ran each SQLite statement (profiles/sqlite_loop.py), read from SQLite's own
trace callback, which runs in the thread that executes the statement."""

from __future__ import annotations

import functools
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
        self._connections: list[int] = []  # the connection of each statement seen
        event.listen(db.engine.sync_engine, "checkout", self._trace)

    def _trace(self, dbapi_connection: object, record: object, _proxy: object) -> None:
        raw: sqlite3.Connection = record.driver_connection._conn  # type: ignore[attr-defined]
        raw.set_trace_callback(functools.partial(self._saw, id(raw)))

    def _saw(self, connection: int, statement: str) -> None:
        where = LOOP if threading.get_ident() == self.loop_thread else WORKER
        self.seen.append((" ".join(statement.split()[: self.words]), where))
        self._connections.append(connection)

    def take(self) -> list[tuple[str, str]]:
        seen, self.seen, self._connections = self.seen, [], []
        return seen

    def take_transactions(self) -> list[list[str]]:
        """The statements of each committed transaction seen, between its ``BEGIN`` and its
        ``COMMIT`` (``PRAGMA`` left out), in the order they began. Grouped by connection:
        another connection's transaction — a learning batch or a background count in
        aiosqlite's thread — may run at the same time, its statements among these in time."""
        committed: list[tuple[int, list[str]]] = []
        open_on: dict[int, tuple[int, list[str]]] = {}
        for at, ((statement, _), connection) in enumerate(
            zip(self.seen, self._connections, strict=True)
        ):
            if statement.startswith("BEGIN"):
                open_on[connection] = (at, [])
            elif statement == "COMMIT":
                if connection in open_on:
                    committed.append(open_on.pop(connection))
            elif connection in open_on and not statement.startswith("PRAGMA"):
                open_on[connection][1].append(statement)
        self.take()
        return [sent for _, sent in sorted(committed, key=lambda begun: begun[0])]


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
