"""Export and deletion: one code path each, driven by the schema itself.

Any table with a ``person_id`` foreign key to ``person`` is included automatically (see
:func:`profiles.models.person_tables`), in the spirit of Red-DiscordBot's per-module
data-deletion contract: a new table cannot silently escape ``/export`` or ``/forget``.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from profiles.models import Person, Signal, person_tables, table_of
from profiles.upsert import AnyOf, any_of, dialect_of

EXPORT_FORMAT = "tailorbot-export/1"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


async def export_person(
    session: AsyncSession, person_id: int, *, at: dt.datetime
) -> dict[str, Any]:
    """Every row about the person, table by table, as plain JSON-able data; ``at``: when,
    by the caller's clock (the bot's services' clock)."""
    person = await session.get(Person, person_id)
    if person is None:
        raise LookupError(f"no person with id {person_id}")
    tables: dict[str, list[dict[str, Any]]] = {}
    for table in sorted(person_tables(), key=lambda t: t.name):
        order = list(table.primary_key.columns)
        result = await session.exec(  # type: ignore[call-overload]
            select(table).where(table.c.person_id == person_id).order_by(*order)
        )
        tables[table.name] = [
            {key: _jsonable(value) for key, value in row._mapping.items()} for row in result
        ]
    return {
        "format": EXPORT_FORMAT,
        "exported_at": at.isoformat(),
        "person": {
            column.name: _jsonable(getattr(person, column.name))
            for column in table_of(Person).columns
        },
        "tables": tables,
    }


def export_json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")


async def hold_for_erasure(session: AsyncSession, person_id: int) -> None:
    """Lock the person's row before anything of theirs is deleted, with their readers'
    (:func:`hold_all_for_erasure`; PostgreSQL: SQLite's one writer orders every write
    transaction already).

    Why: deletion goes children first, row by row, while other transactions write the same
    person's rows in their own order — a learning batch (which locks its people first,
    bot/learning.py) or a judgement of a reply. A forget that had deleted their interests and
    then waited for the batch's lock on their consent, while the batch waited to upsert one
    of those interests, was a deadlock, and PostgreSQL aborted the forget. With this lock
    first, a forget waits for such a transaction before it deletes anything, and one that
    starts later waits for the forget and then finds the person gone
    (:func:`hold_against_erasure`)."""
    await hold_all_for_erasure(session, [person_id])


async def hold_against_erasure(session: AsyncSession, person_id: int) -> bool:
    """Before a transaction's first write about a person: keep a forget from starting
    until it commits (``FOR KEY SHARE`` on PostgreSQL, which other writers of the row do not
    wait for); False if the person was forgotten meanwhile, and then nothing of theirs may
    be written. See :func:`hold_for_erasure` for why the order matters."""
    if dialect_of(session) == "sqlite":
        return True
    result = await session.exec(_key_share(_person_row(person_id)))
    return result.first() is not None


async def hold_people_against_erasure(
    session: AsyncSession, person_ids: Iterable[int]
) -> set[int]:
    """:func:`hold_against_erasure` for a page of people in one statement: those still there
    and not being forgotten (on both backends: a caller about to write for a page must skip
    whoever was forgotten, or the foreign key refuses the page's whole transaction; on
    PostgreSQL one a forget holds already is skipped, never waited for: see
    :func:`_people_rows`)."""
    wanted = set(person_ids)
    if not wanted:
        return set()
    stmt, ids = _people_rows(dialect_of(session), SKIPPING)
    result = await session.exec(stmt, params=ids.params(wanted))
    return {int(pid) for (pid,) in result.all()}


# How _people_rows locks: skipping whoever a forget holds (a page of digests), waiting for
# them (a reader of words being erased), or to erase.
SKIPPING, READING, ERASING = "skipping", "reading", "erasing"
_HELD = "profiles.privacy.held_for_erasure"  # Session.info: people held with their readers


@functools.lru_cache(maxsize=8)
def _people_rows(dialect: str, lock: str) -> tuple[Any, AnyOf]:
    """Built once per dialect and lock (a list bound at execution); on PostgreSQL held in id
    order: ``FOR KEY SHARE``, skipping whoever a forget holds already (``SKIPPING``) or
    waiting for them (``READING``), or ``FOR UPDATE`` to erase them (``ERASING``). Why a
    page skips: a forget of several people (linked identities, a platform-wide deletion)
    holds them one after another, the first perhaps before this statement and the next
    after it — a page waiting for the first while holding the next was a deadlock (aborting
    a page of digests or the forget). Someone being forgotten is as good as gone."""
    person = table_of(Person)
    ids = any_of(dialect, "person_ids", person.c.id)
    stmt = select(person.c.id).where(ids.clause).order_by(person.c.id)
    if dialect != "sqlite":
        stmt = (
            stmt.with_for_update()
            if lock == ERASING
            else _key_share(stmt, skip_locked=lock == SKIPPING)
        )
    return stmt, ids


def _key_share(stmt: Any, *, skip_locked: bool = False) -> Any:
    """``FOR KEY SHARE``: it conflicts with ``FOR UPDATE`` (an erasure) alone, never with a
    learning batch's ``FOR SHARE`` or ``FOR NO KEY UPDATE`` nor with a write of the row
    (``last_seen_at``).
    SQLAlchemy spells it ``read=True, key_share=True``: ``key_share=True`` alone is ``FOR NO
    KEY UPDATE``, which these holds took until a stress test found it (a digest page skipped
    whoever a batch held as if being forgotten; a /forget deadlocked with a batch: see
    :func:`hold_all_for_erasure`)."""
    return stmt.with_for_update(read=True, key_share=True, skip_locked=skip_locked)


async def hold_all_for_erasure(session: AsyncSession, person_ids: Iterable[int]) -> None:
    """Before any of these people is erased: hold them (``FOR UPDATE``) and everyone else
    whose profile holds evidence read from their words (``FOR KEY SHARE``: their erasure
    takes it back from those readers' interests, profiles/borrowed.py), all in id order
    (PostgreSQL; SQLite's one writer orders every write transaction already). Held one by
    one as each was erased, they were taken out of order.

    Why the readers, and in the same order: a reader being forgotten at the same moment
    was skipped, yet the evidence in their profile was deleted all the same (the foreign
    key's cascade would have too), so a reader's erasure that then rolled back kept the
    author's share in their interests with nothing left to find it by; and two people who
    reacted to each other, forgotten at once, each deleted the evidence in the other's
    profile and waited for the other's rows: a deadlock (review). Held together in one
    order, one erasure waits for the other before it holds anything, and finds the other's
    rows gone or all there. Readers are found before the locks and again after: once the
    authors are held no evidence of their words can be added (its foreign key waits for
    them), and readers who came in between are held by taking every lock again, from a
    savepoint that gives back those taken out of order.

    Why a reader is held no more than that (``FOR KEY SHARE``, which only another erasure of
    theirs waits for): a learning batch holds its people ``FOR SHARE``, or ``FOR NO KEY
    UPDATE`` when it writes their ``last_seen_at``, in id order
    (:meth:`profiles.engine.ProfileEngine.still_learning`; neither conflicts with a key
    share), and a ``/forget``'s command has
    written its own person's row (``last_seen_at``) before it gets here. A reader held more
    strongly, with a lower id, was held by a batch that then waited for that person, while
    the erasure waited for the reader: a deadlock (tests/bot/test_lifecycle.py). So a batch
    and an erasure can both write a reader's interests at the same moment: both lock those
    rows in one order (profiles/learning_sql.py), and a batch's pruning skips the rows an
    erasure holds (:meth:`profiles.engine.ProfileEngine.prune_interests`). The rows of the
    people being erased a batch writes only while it holds them, never at the same moment.

    A transaction holds everyone it will erase in one call: a later call for people not yet
    held would take them after the others, out of order (it is a no-op for those held)."""
    wanted = set(person_ids)
    if not wanted or dialect_of(session) == "sqlite":
        return
    held: set[int] = session.info.setdefault(_HELD, set())
    if wanted <= held:
        return
    readers = await _readers_of(session, wanted)
    while True:
        savepoint = await session.begin_nested()
        await _hold_in_id_order(session, wanted, readers - wanted)
        found = await _readers_of(session, wanted)
        if found <= readers:
            await savepoint.commit()
            held |= wanted
            return
        await savepoint.rollback()
        readers |= found


async def _readers_of(session: AsyncSession, author_ids: set[int]) -> set[int]:
    stmt, ids = _readers_statement(dialect_of(session))
    result = await session.exec(stmt, params=ids.params(author_ids))
    return {int(pid) for (pid,) in result.all()}


@functools.lru_cache(maxsize=4)
def _readers_statement(dialect: str) -> tuple[Any, AnyOf]:
    signal = table_of(Signal)
    ids = any_of(dialect, "author_ids", signal.c.source_person_id)
    # the explicit IS NOT NULL lets PostgreSQL use the partial index on source_person_id
    stmt = (
        select(signal.c.person_id)
        .where(signal.c.source_person_id.is_not(None), ids.clause)
        .distinct()
    )
    return stmt, ids


async def _hold_in_id_order(session: AsyncSession, erased: set[int], readers: set[int]) -> None:
    """One statement for each run of people locked alike, in id order."""
    dialect = dialect_of(session)
    for erasing, run in itertools.groupby(sorted(erased | readers), key=erased.__contains__):
        stmt, ids = _people_rows(dialect, ERASING if erasing else READING)
        await session.exec(stmt, params=ids.params(run))


def _person_row(person_id: int) -> Any:
    person = table_of(Person)
    return select(person.c.id).where(person.c.id == person_id)


async def forget_person(session: AsyncSession, person_id: int) -> dict[str, int]:
    """Delete every row about the person, children first, then the person itself.
    Returns the number of rows removed per table (for the confirmation message and logs)."""
    removed: dict[str, int] = {}
    for table in person_tables():
        result = await session.exec(delete(table).where(table.c.person_id == person_id))
        removed[table.name] = int(result.rowcount or 0)
    result = await session.exec(delete(Person).where(col(Person.id) == person_id))
    removed["person"] = int(result.rowcount or 0)
    return removed
