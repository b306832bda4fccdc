"""A reply's profile in one statement: the style row and summary, the traits, the interests
and the latest conversation turns of one person.

Why: a reply's assembly read them in three statements (history; interests; style with traits
and summary). Each costs ~0.2-0.4 ms of Python in SQLAlchemy and the driver, and on
PostgreSQL a round trip whose answer waits for a turn of the event loop — under ingest a turn
is what a reply's assembly mostly waits for (issue 16). Here the two 1:1 rows are joined to
the person, and the many-row parts come beside them as JSON arrays from scalar subqueries:
one row, one round trip, whatever the profile's size.

JSON must give back exactly what the columns hold. PostgreSQL's ``json_build_array`` writes
``float8`` with every digit; SQLite's ``json_array`` writes 15 significant digits, so REAL
columns go through ``printf('%!.17g', …)`` there (exact: a test round-trips random values) and
are read back with ``float``. Timestamps come as the text each database writes and are
parsed as the column type parses them (:func:`_timestamp_reader`).

Callers that need only part of this read the part (``ProfileEngine.interests``,
``preferences``); a reply's assembly and ``/profile``'s snapshot read it all here.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, make_dataclass
from typing import Any, Protocol

from sqlalchemy import JSON, DateTime, Float, bindparam, desc, func
from sqlalchemy import select as select_rows
from sqlalchemy.dialects import sqlite
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from profiles.db import Database
from profiles.detached import detached
from profiles.models import (
    ConversationTurn,
    Interest,
    Person,
    ProfileSummary,
    StyleProfile,
    Trait,
    table_of,
)
from profiles.upsert import dialect_of

_STYLE = table_of(StyleProfile)
_SUMMARY = table_of(ProfileSummary)


class InterestFields(Protocol):
    """What an interest view is computed from: an :class:`Interest` or a plain row of these
    columns (the reply path reads rows, not ORM objects; :data:`INTEREST_COLUMNS`)."""

    topic: str
    weight: float
    lasting_weight: float
    updated_ts: float
    evidence_count: int
    positive_feedback: int
    negative_feedback: int
    first_seen_at: dt.datetime


class TraitFields(Protocol):
    """A :class:`Trait` or a plain row of these columns (:data:`TRAIT_COLUMNS`)."""

    kind: str
    key: str
    weight: float
    updated_ts: float


# The columns the reply path selects: exactly the protocols' fields, named once.
INTEREST_COLUMNS = tuple(InterestFields.__annotations__)
TRAIT_COLUMNS = tuple(TraitFields.__annotations__)


# Plain rows of those columns, as read from JSON: the protocols' fields, not spelled twice.
InterestRow = make_dataclass("InterestRow", InterestFields.__annotations__.items(), slots=True)
TraitRow = make_dataclass("TraitRow", TraitFields.__annotations__.items(), slots=True)


@dataclass(frozen=True, slots=True)
class ProfileRows:
    """What :func:`read_profile` found (a person without a row of a kind: None, or empty)."""

    style: StyleProfile | None
    summary: ProfileSummary | None
    traits: list[TraitFields]
    interests: list[InterestFields]
    # (role, text) of the latest turns, oldest first; empty unless asked for
    history: list[tuple[str, str]]


async def read_profile(session: AsyncSession, person_id: int, *, turns: int = 0) -> ProfileRows:
    """The person's profile rows and their ``turns`` latest conversation turns, in one
    statement (see the module docstring)."""
    dialect = dialect_of(session)
    result = await session.exec(
        _profile_statement(dialect, turns), params={"person_id": person_id}
    )
    row = result.first()
    if row is None:
        return ProfileRows(None, None, [], [], [])
    style, summary, traits, interests, *latest = row
    return _profile_rows(dialect, style, summary, traits, interests, latest)


async def read_profile_now(db: Database, person_id: int, *, turns: int = 0) -> ProfileRows:
    """:func:`read_profile` straight on the driver, outside any transaction
    (:meth:`Database.read_one`): the same rows, with the style and summary as objects of no
    session. For work that holds no connection and wrote nothing (a reply's reads after its
    claim): it would not see a transaction's own writes. Why: on SQLite this statement was
    a reply's read transaction on its own, held open while the assembly worked
    (docs/measurement.md, "A reply's profile straight to the driver on SQLite")."""
    dialect = db.engine.dialect.name
    row = await db.read_one(_profile_statement(dialect, turns, False), {"person_id": person_id})
    if row is None:
        return ProfileRows(None, None, [], [], [])
    styles, summaries = len(_STYLE.c), len(_SUMMARY.c)
    style = detached(StyleProfile, _STYLE, row[:styles])
    summary = detached(ProfileSummary, _SUMMARY, row[styles : styles + summaries])
    traits, interests, *latest = row[styles + summaries :]
    return _profile_rows(dialect, style, summary, traits, interests, latest)


def _profile_rows(
    dialect: str, style: StyleProfile | None, summary: ProfileSummary | None, traits: Any,
    interests: Any, latest: list[Any],
) -> ProfileRows:
    readers = _readers(dialect)
    history = sorted(latest[0] or []) if latest else []  # [id, role, text]: by id
    return ProfileRows(
        style=style,
        summary=summary,
        traits=[TraitRow(*_typed(values, readers.trait)) for values in traits or []],
        interests=[InterestRow(*_typed(values, readers.interest)) for values in interests or []],
        history=[(str(role), str(text)) for _, role, text in history],
    )


def _typed(values: Sequence[Any], readers: Sequence[Callable[[Any], Any] | None]) -> list[Any]:
    return [
        v if read is None or v is None else read(v)
        for v, read in zip(values, readers, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class _Readers:
    interest: tuple[Callable[[Any], Any] | None, ...]
    trait: tuple[Callable[[Any], Any] | None, ...]


@functools.cache
def _readers(dialect: str) -> _Readers:
    """How each JSON value becomes what the column's own type would have returned."""

    def reader(column: Any) -> Callable[[Any], Any] | None:
        if isinstance(column.type, DateTime):
            return _timestamp_reader(dialect, column.type)
        if isinstance(column.type, Float) and dialect == "sqlite":
            return float  # written as text, see _json_value
        return None

    return _Readers(
        interest=tuple(reader(getattr(Interest, name)) for name in INTEREST_COLUMNS),
        trait=tuple(reader(getattr(Trait, name)) for name in TRAIT_COLUMNS),
    )


def _timestamp_reader(dialect: str, kind: DateTime) -> Callable[[Any], dt.datetime | None]:
    """PostgreSQL writes a ``timestamptz`` in JSON as ISO 8601 with its offset; SQLite's
    column holds SQLAlchemy's text, which the type's own processor reads back (as the ORM
    would: a naive UTC datetime)."""
    if dialect == "sqlite":
        sqlite_dialect = sqlite.dialect()
        processor = kind.dialect_impl(sqlite_dialect).result_processor(sqlite_dialect, None)
        assert processor is not None
        return processor
    return dt.datetime.fromisoformat


def _json_value(dialect: str, column: Any) -> Any:
    """A column as it goes into a JSON array: SQLite's REALs as exact text."""
    if dialect == "sqlite" and isinstance(column.type, Float):
        return func.printf("%!.17g", column)
    return column


def _json_rows(dialect: str, columns: Sequence[Any]) -> Any:
    """An aggregate of one JSON array per row (PostgreSQL gives NULL over no rows)."""
    values = [_json_value(dialect, c) for c in columns]
    if dialect == "postgresql":
        return func.json_agg(func.json_build_array(*values), type_=JSON)
    return func.json_group_array(func.json_array(*values), type_=JSON)


@functools.lru_cache(maxsize=16)
def _profile_statement(dialect: str, turns: int, entities: bool = True) -> Any:
    """Built once per dialect and number of turns, with a bound person id; the style and
    summary as ORM entities, or (``entities`` False, for the driver) as their columns."""
    person_id: Any = bindparam("person_id")
    interests = (
        select_rows(_json_rows(dialect, [getattr(Interest, n) for n in INTEREST_COLUMNS]))
        .where(col(Interest.person_id) == person_id)
        .scalar_subquery()
    )
    traits = (
        select_rows(_json_rows(dialect, [getattr(Trait, n) for n in TRAIT_COLUMNS]))
        .where(col(Trait.person_id) == person_id)
        .scalar_subquery()
    )
    columns: list[Any] = [
        *([StyleProfile, ProfileSummary] if entities else [*_STYLE.c, *_SUMMARY.c]),
        traits.label("traits"),
        interests.label("interests"),
    ]
    if turns:
        latest = (
            select_rows(
                col(ConversationTurn.id), col(ConversationTurn.role), col(ConversationTurn.text)
            )
            .where(col(ConversationTurn.person_id) == person_id)
            .order_by(desc(col(ConversationTurn.id)))
            .limit(turns)
            .subquery()
        )
        history = select_rows(
            _json_rows(dialect, [latest.c.id, latest.c.role, latest.c.text])
        ).scalar_subquery()
        columns.append(history.label("history"))
    return (
        select_rows(*columns)
        .select_from(Person)
        .outerjoin(StyleProfile, col(StyleProfile.person_id) == col(Person.id))
        .outerjoin(ProfileSummary, col(ProfileSummary.person_id) == col(Person.id))
        .where(col(Person.id) == person_id)
        # Learning upserts these rows with Core statements: never serve a stale copy from
        # the identity map.
        .execution_options(populate_existing=True)
    )

