"""Which thread ran each SQLite statement (profiles/sqlite_loop.py), read from SQLite's own
trace callback, which runs in the thread that executes the statement."""

from __future__ import annotations

import sqlite3
import threading

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
