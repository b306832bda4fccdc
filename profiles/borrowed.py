"""Evidence in other people's profiles read from someone's words, withdrawn at their erasure.

A reaction to Carol's message teaches the reactor what it was about (bot/handlers/feedback.py):
the reactor's signal rows and the interests they added to hold Carol's words as topics. Her
``/forget`` must take them back from profiles that are not hers, or "no copy of the person's
words anywhere" is not true (privacy audit: "hyperdrive maintenance" stayed in Bob's profile).
Each such signal names her (``Signal.source_person_id``). An interest's weight is a sum of
deltas decayed to its ``updated_ts`` (profiles/decay.py), so her share is subtracted exactly;
an interest left with no evidence and no feedback goes. What the reactor also learned from
their own words, or judged in the bot's replies, stays.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, delete, select, tuple_, update
from sqlmodel.ext.asyncio.session import AsyncSession

from profiles.decay import decay_factor, to_ts
from profiles.learning_sql import interest_lock_order
from profiles.models import Interest, Signal, table_of
from profiles.privacy import hold_for_erasure, hold_people_against_erasure
from profiles.upsert import dialect_of


@dataclass(frozen=True, slots=True)
class Lent:
    """One delta an author's words added to a reader's interest."""

    weight: float
    at_ts: float


async def withdraw_words_of(
    session: AsyncSession,
    author_id: int,
    *,
    half_life: float,
    lasting_half_life: float,
) -> int:
    """Remove every signal read from ``author_id``'s words in other people's profiles and
    its share of their interests, in the caller's transaction (the author's erasure);
    returns the number of signal rows removed.

    The author and every reader are held first (:func:`profiles.privacy.hold_for_erasure`,
    nothing more when the erasure holds them already): a reader being forgotten at the
    same moment is waited for, never skipped, so whichever erasure commits first, the
    other finds the evidence and its share both there or both gone."""
    await hold_for_erasure(session, author_id)
    signal = table_of(Signal)
    mine = signal.c.source_person_id == author_id
    found = await _lent(session, mine)
    if not found:
        return 0
    await _take_back(session, _by_interest(found), half_life, lasting_half_life)
    result = await session.exec(delete(signal).where(mine))
    return int(result.rowcount or 0)


async def take_back_expiring(
    session: AsyncSession,
    signal_ids: Sequence[int],
    *,
    half_life: float,
    lasting_half_life: float,
) -> set[int]:
    """Before the retention purge deletes these signal rows: the share of those read from
    someone else's words goes from the reader's interests with them. Past that, nothing
    would tell the author's words from the reader's, and the author's ``/forget`` could not
    find them (what a reaction to another person's message teaches lasts as long as its
    evidence). Returns the ids of rows the purge must keep for next time: those of readers
    being forgotten at the same moment, skipped on PostgreSQL, never waited for
    (:func:`profiles.privacy.hold_people_against_erasure`). Deleted with the share left in,
    a reader's erasure that then rolled back kept it with nothing to find it by (review)."""
    if not signal_ids:
        return set()
    signal = table_of(Signal)
    found = await _lent(
        session,
        and_(signal.c.id.in_(list(signal_ids)), signal.c.source_person_id.is_not(None)),
    )
    if not found:
        return set()
    readers = await hold_people_against_erasure(session, {row.reader for row in found})
    lent = _by_interest([row for row in found if row.reader in readers])
    if lent:
        await _take_back(session, lent, half_life, lasting_half_life)
    return {row.id for row in found if row.reader not in readers}


@dataclass(frozen=True, slots=True)
class _Row:
    """A signal read from someone else's words."""

    id: int
    reader: int
    topic: str
    weight: float
    at: Any


async def _lent(session: AsyncSession, which: Any) -> list[_Row]:
    signal = table_of(Signal)
    rows = (
        await session.exec(  # type: ignore[call-overload]
            select(
                signal.c.id,
                signal.c.person_id,
                signal.c.value,
                signal.c.weight,
                signal.c.created_at,
            ).where(which)
        )
    ).all()
    return [_Row(int(i), int(pid), topic, float(w), at) for i, pid, topic, w, at in rows]


def _by_interest(found: Iterable[_Row]) -> dict[tuple[int, str], list[Lent]]:
    lent: dict[tuple[int, str], list[Lent]] = {}
    for row in found:
        lent.setdefault((row.reader, row.topic), []).append(Lent(row.weight, to_ts(row.at)))
    return lent


async def _take_back(
    session: AsyncSession,
    lent: dict[tuple[int, str], list[Lent]],
    half_life: float,
    lasting_half_life: float,
) -> None:
    interest = table_of(Interest)
    rows = (
        await session.exec(  # type: ignore[call-overload]
            select(
                interest.c.id, interest.c.person_id, interest.c.topic, interest.c.weight,
                interest.c.lasting_weight, interest.c.updated_ts, interest.c.evidence_count,
                interest.c.positive_feedback, interest.c.negative_feedback,
                interest.c.first_seen_at,
            )
            .where(tuple_(interest.c.person_id, interest.c.topic).in_(list(lent)))
            # locked in the order every learning upsert writes them in: a batch writing
            # the reader's interests meanwhile waits, or is waited for, never both
            .order_by(*interest_lock_order(dialect_of(session)))
            .with_for_update()  # PostgreSQL; SQLite's one writer orders this already
        )
    ).all()
    doomed: list[int] = []
    changed: list[dict[str, Any]] = []
    for row in rows:
        # A row pruned and learned again since holds none of what came before it.
        counted = _counted(lent[(int(row.person_id), row.topic)], row.first_seen_at)
        if not counted:
            continue
        evidence = int(row.evidence_count) - len(counted)
        if evidence <= 0 and not (row.positive_feedback or row.negative_feedback):
            doomed.append(int(row.id))
            continue
        changed.append({
            "row_id": row.id,
            "new_weight": row.weight - _share(counted, row.updated_ts, half_life),
            "new_lasting": row.lasting_weight
            - _share(counted, row.updated_ts, lasting_half_life),
            "new_evidence": max(evidence, 0),
        })
    if changed:  # one executemany: an author with thousands of lent rows (review)
        await session.exec(_take_back_statement(), params=changed)
    if doomed:
        await session.exec(
            delete(interest).where(interest.c.id.in_(doomed))
        )


@functools.cache
def _take_back_statement() -> Any:
    interest = table_of(Interest)
    return (
        update(interest)
        .where(interest.c.id == bindparam("row_id"))
        .values(
            weight=bindparam("new_weight"),
            lasting_weight=bindparam("new_lasting"),
            evidence_count=bindparam("new_evidence"),
        )
    )


def _counted(lent: Iterable[Lent], first_seen_at: Any) -> list[Lent]:
    since = to_ts(first_seen_at) if isinstance(first_seen_at, dt.datetime) else None
    return [one for one in lent if since is None or one.at_ts >= since]


def _share(counted: Iterable[Lent], updated_ts: float, half_life: float) -> float:
    """What these deltas are worth in a weight stored at ``updated_ts``: each was decayed to
    the row's time when a later delta was added (or added decayed, if it came late)."""
    return sum(one.weight * decay_factor(updated_ts - one.at_ts, half_life) for one in counted)
