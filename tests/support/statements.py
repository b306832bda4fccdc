"""The SQL a database's engine sends, recorded by tests that count or inspect statements
(a statement budget, "one statement, not one per row", "no SQL for this read")."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from profiles.db import Database


@contextmanager
def statements_sent(db: Database) -> Iterator[list[str]]:
    """Every statement ``db``'s engine sends while the block runs, as sent (those the driver
    gets straight from ``Database.write_each`` included; ``BEGIN``/``COMMIT`` that go to the
    driver directly are not: tests/support/sqlite_trace.py sees those)."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    sync = db.engine.sync_engine
    event.listen(sync, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(sync, "before_cursor_execute", record)
