"""The SQL side of the learning rule: the three upserts every learning path executes.

Why a module of its own: the per-event methods of :class:`profiles.engine.ProfileEngine` and
the batched :class:`profiles.ingest.BatchIngestor` are one implementation (the engine's
methods apply a batch of one), so both need these statements and neither may import the
other's module at load time. Python's side of the same rule (combining deltas inside a batch)
is :func:`profiles.decay.accumulate`.

Lock order (PostgreSQL): each upsert sends its rows in the order of its unique key
(:class:`profiles.upsert.ManyRows`), and a statement that locks interest rows otherwise
orders them the same way (:func:`interest_lock_order`: an erasure or the retention purge
taking an author's share back from readers' interests, profiles/borrowed.py). Learning
batches of two processes, a batch and a judgement of the same person, a batch and an
erasure taking back what a reader of theirs learned: each pair writes the same rows at the
same moment, and in two orders of their own each could hold a row the other waited for.
Before any of these, a batch holds its people's rows in id order
(:meth:`profiles.engine.ProfileEngine.still_learning`): ``FOR NO KEY UPDATE`` when it will
write their ``last_seen_at`` — two batches that share-locked a person and then both updated
the row each waited for the other's share (a deadlock) — so two batches of the same people
run one after the other, and an erasure's ``FOR KEY SHARE`` on a reader waits for neither.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, case, func, update
from sqlmodel.ext.asyncio.session import AsyncSession

from profiles.decay import DAY_SECONDS, to_ts
from profiles.models import Interest, Person, StyleProfile, Trait, table_of
from profiles.upsert import BinaryArray, ManyRows, dialect_of, many_rows
from profiles.write_queue import queue_of

LASTING_HALF_LIFE_DAYS = 365.0
# The columns each statement takes, in the order PostgreSQL's arrays carry them.
INTEREST_COLUMNS = (
    "person_id", "topic", "weight", "lasting_weight", "updated_ts", "evidence_count",
    "positive_feedback", "negative_feedback", "first_seen_at",
)
TRAIT_COLUMNS = ("person_id", "kind", "key", "weight", "updated_ts")
STYLE_COLUMNS = (
    "person_id", "messages_seen", "avg_length", "formality", "emoji_rate", "updated_at",
)
# Each statement's unique key: its conflict target, and the order its rows go in.
INTEREST_KEY = ("person_id", "topic")
TRAIT_KEY = ("person_id", "kind", "key")
STYLE_KEY = ("person_id",)


def _decayed_sum(old: Any, new: Any, column: str, hl: float) -> Any:
    """SQL twin of :func:`profiles.decay.accumulate` for one weight column."""
    return case(
        (
            new.updated_ts >= old.updated_ts,
            old[column] * func.power(0.5, (new.updated_ts - old.updated_ts) / hl) + new[column],
        ),
        else_=old[column] + new[column] * func.power(0.5, (old.updated_ts - new.updated_ts) / hl),
    )


def interest_upsert(
    session: AsyncSession,
    half_life_seconds: float,
    lasting_half_life_seconds: float = LASTING_HALF_LIFE_DAYS * DAY_SECONDS,
) -> ManyRows:
    """INSERT … ON CONFLICT for interests: decay the stored weights (fading and lasting) to
    the new signal's time and add it (see profiles.decay), atomically, so concurrent workers
    never lose an update. Each row's ``lasting_weight`` equals its ``weight``; one row per
    (person, topic). Rows go in as :class:`profiles.upsert.ManyRows` parameters, never as a
    multi-row ``.values([...])``, which SQLAlchemy cannot cache and recompiles every time.
    Built once per dialect and half-lives: statements are immutable, constructing one costs
    more Python than executing the cached compiled form."""
    return _interest_upsert(dialect_of(session), half_life_seconds, lasting_half_life_seconds)


@functools.lru_cache(maxsize=16)
def _interest_upsert(
    dialect: str, half_life_seconds: float, lasting_half_life_seconds: float
) -> ManyRows:
    table = table_of(Interest)

    def upsert(insert: Any) -> Any:
        new, old = insert.excluded, table.c
        return insert.on_conflict_do_update(
            index_elements=list(INTEREST_KEY),
            set_={
                "weight": _decayed_sum(old, new, "weight", half_life_seconds),
                "lasting_weight": _decayed_sum(
                    old, new, "lasting_weight", lasting_half_life_seconds
                ),
                "updated_ts": case(
                    (new.updated_ts >= old.updated_ts, new.updated_ts), else_=old.updated_ts
                ),
                "evidence_count": old.evidence_count + new.evidence_count,
                # the earliest evidence in the row, whatever order it came in: an author's
                # erasure takes back what the row holds since then (profiles/borrowed.py;
                # a reaction learned after a later message of the reader's own was not)
                "first_seen_at": case(
                    (new.first_seen_at < old.first_seen_at, new.first_seen_at),
                    else_=old.first_seen_at,
                ),
                "positive_feedback": old.positive_feedback + new.positive_feedback,
                "negative_feedback": old.negative_feedback + new.negative_feedback,
            },
        )

    return many_rows(dialect, table, INTEREST_COLUMNS, upsert, key=INTEREST_KEY)


def interest_lock_order(dialect: str) -> tuple[Any, ...]:
    """``ORDER BY`` for a statement that locks interest rows (``FOR UPDATE``): the order
    :func:`interest_upsert` writes them in, Python's, so the topic by code point: the "C"
    collation on PostgreSQL, whatever the database's own (SQLite's default compares the
    same way and locks nothing)."""
    interest = table_of(Interest)
    topic = interest.c.topic.collate("C") if dialect == "postgresql" else interest.c.topic
    return interest.c.person_id, topic


def trait_upsert(session: AsyncSession, half_life_seconds: float) -> ManyRows:
    """INSERT … ON CONFLICT for decayed habit counters (language, active hour); one row per
    (person, kind, key)."""
    return _trait_upsert(dialect_of(session), half_life_seconds)


@functools.lru_cache(maxsize=16)
def _trait_upsert(dialect: str, half_life_seconds: float) -> ManyRows:
    table = table_of(Trait)

    def upsert(insert: Any) -> Any:
        new, old = insert.excluded, table.c
        return insert.on_conflict_do_update(
            index_elements=list(TRAIT_KEY),
            set_={
                "weight": old.weight
                * func.power(0.5, func.abs(new.updated_ts - old.updated_ts) / half_life_seconds)
                + new.weight,
                "updated_ts": case(
                    (new.updated_ts >= old.updated_ts, new.updated_ts), else_=old.updated_ts
                ),
            },
        )

    return many_rows(dialect, table, TRAIT_COLUMNS, upsert, key=TRAIT_KEY)


def style_upsert(session: AsyncSession) -> ManyRows:
    """INSERT … ON CONFLICT for the style profile: a running mean for the first messages, then
    an exponentially weighted average (alpha 0.1) so style follows the person as they change.
    One row per person (a person's next message goes in the next statement). Returns
    ``(person_id, messages_seen)`` for every row."""
    return _style_upsert(dialect_of(session))


@functools.lru_cache(maxsize=4)
def _style_upsert(dialect: str) -> ManyRows:
    table = table_of(StyleProfile)

    def upsert(insert: Any) -> Any:
        new, old = insert.excluded, table.c
        alpha = case((old.messages_seen < 9, 1.0 / (old.messages_seen + 1.0)), else_=0.1)
        return insert.on_conflict_do_update(
            index_elements=list(STYLE_KEY),
            set_={
                "messages_seen": old.messages_seen + 1,
                "avg_length": old.avg_length + (new.avg_length - old.avg_length) * alpha,
                "formality": old.formality + (new.formality - old.formality) * alpha,
                "emoji_rate": old.emoji_rate + (new.emoji_rate - old.emoji_rate) * alpha,
                "updated_at": new.updated_at,
            },
            # The new count comes back with each row: it tells the caller where pruning is
            # due without a second read.
        ).returning(table.c.person_id, table.c.messages_seen)

    return many_rows(dialect, table, STYLE_COLUMNS, upsert, key=STYLE_KEY)


def interest_row(
    person_id: int,
    topic: str,
    delta: float,
    at: dt.datetime,
    *,
    evidence: int = 1,
    positive: int = 0,
    negative: int = 0,
) -> dict[str, Any]:
    """The parameters :func:`interest_upsert` takes for one (person, topic) delta at ``at``."""
    return {
        "person_id": person_id,
        "topic": topic,
        "weight": delta,
        "lasting_weight": delta,
        "updated_ts": to_ts(at),
        "evidence_count": evidence,
        "positive_feedback": positive,
        "negative_feedback": negative,
        "first_seen_at": at,
    }


async def mark_seen(session: AsyncSession, latest: Mapping[int, dt.datetime]) -> None:
    """``last_seen_at`` of these people (person id → when), never moved back in time, in id
    order (their rows are held already: ``ProfileEngine.still_learning``). One executemany;
    queued with the batch's other writes where its transaction carries a queue
    (profiles/write_queue.py), as one ``UPDATE … FROM unnest(…)``."""
    if not latest:
        return
    rows = [{"pid": pid, "seen": latest[pid]} for pid in sorted(latest)]
    queue = queue_of(session)
    if queue is None:
        await session.exec(_seen_each(), params=rows)
        return
    queue.add(
        _seen_from_arrays(), "person", rows,
        lambda rows: {"pids": [r["pid"] for r in rows], "seens": [r["seen"] for r in rows]},
    )


@functools.cache
def _seen_each() -> Any:
    """Built once (see ProfileEngine.still_learning): for an executemany."""
    table = table_of(Person)
    return (
        update(table)
        .where(table.c.id == bindparam("pid"), table.c.last_seen_at < bindparam("seen"))
        .values(last_seen_at=bindparam("seen"))
    )


@functools.cache
def _seen_from_arrays() -> Any:
    """PostgreSQL: every row of :func:`mark_seen` in one statement, one array per column."""
    table = table_of(Person)
    given = (
        func.unnest(
            bindparam("pids", type_=BinaryArray(table.c.id.type)),
            bindparam("seens", type_=BinaryArray(table.c.last_seen_at.type)),
        )
        .table_valued("pid", "seen")
        .render_derived()
    )
    return (
        update(table)
        .where(table.c.id == given.c.pid, table.c.last_seen_at < given.c.seen)
        .values(last_seen_at=given.c.seen)
    )
