"""Everything a page of digests needs to know about its readers, in a fixed number of queries.

Loading one reader costs about ten statements (person, consent, subscription, last send,
preferences, style, traits, interests, items already sent, open recommendations); for
10,000 people that is 100,000 round trips, and on SQLite each one is two thread hand-offs.
:func:`load_page` reads the same rows for a whole page of people with one ``IN`` query per
table, then builds exactly what the per-person reads built, with the same engine methods,
so a reader is the same object whichever way it was loaded.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.digest import store
from bot.digest.builder import Reader, reader_of
from profiles.engine import ProfileEngine
from profiles.models import (
    Consent,
    ConsentStatus,
    DigestItem,
    DigestRun,
    Interest,
    Person,
    Preference,
    StyleProfile,
    Trait,
)

T = TypeVar("T")
CHUNK = 900  # ids per IN (...): under SQLite's historical bound-variable limit of 999


@dataclass(frozen=True, slots=True)
class Prefetched:
    """One person of a page: the rows ``DigestRunner`` would otherwise read one by one."""

    person: Person
    allowed: bool  # consent allows learning (the digest is built only then)
    last_sent: dt.datetime | None
    reader: Reader | None  # None when not allowed


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


async def _grouped(session: AsyncSession, model: type[T], ids: Sequence[int]) -> dict[int, list[T]]:
    found: dict[int, list[T]] = defaultdict(list)
    for chunk in _chunks(ids):
        result = await session.exec(
            select(model).where(col(model.person_id).in_(chunk))  # type: ignore[attr-defined]
        )
        for row in result:
            found[row.person_id].append(row)  # type: ignore[attr-defined]
    return found


async def _may_learn(
    session: AsyncSession,
    engine: ProfileEngine,
    person: Person,
    consent: Consent,
    modes: dict[tuple[str, str], bool],
) -> bool:
    """``ProfileEngine.may_learn_in`` with each workspace's consent mode read once a page."""
    if consent.status != ConsentStatus.UNKNOWN.value:
        return consent.status == ConsentStatus.GRANTED.value
    where = (person.platform, person.workspace)
    if where not in modes:
        modes[where] = await engine.opt_out_in(session, *where)
    return modes[where]


async def load_page(
    session: AsyncSession, engine: ProfileEngine, ids: Sequence[int], now: dt.datetime
) -> dict[int, Prefetched]:
    """People of ``ids`` that still exist, with consent, last send and reader. Read-only."""
    people: dict[int, Person] = {}
    for chunk in _chunks(ids):
        for person in await session.exec(select(Person).where(col(Person.id).in_(chunk))):
            assert person.id is not None
            people[person.id] = person
    present = sorted(people)
    consents = {pid: rows[0] for pid, rows in (await _grouped(session, Consent, present)).items()}
    modes: dict[tuple[str, str], bool] = {}
    allowed = [
        pid for pid in present
        if pid in consents and await _may_learn(session, engine, people[pid], consents[pid], modes)
    ]
    last_sent: dict[int, dt.datetime] = {}
    for chunk in _chunks(allowed):
        result = await session.exec(
            select(DigestRun.person_id, func.max(DigestRun.sent_at))
            .where(col(DigestRun.person_id).in_(chunk), DigestRun.status == "sent")
            .group_by(col(DigestRun.person_id))
        )
        last_sent.update({pid: store.as_utc(at) for pid, at in result.all() if at is not None})
    preferences = await _grouped(session, Preference, allowed)
    style_rows = await _grouped(session, StyleProfile, allowed)
    styles = {pid: rows[0] for pid, rows in style_rows.items()}
    traits = await _grouped(session, Trait, allowed)
    interests = await _grouped(session, Interest, allowed)
    sent: dict[int, set[str]] = defaultdict(set)
    for chunk in _chunks(allowed):
        items = await session.exec(
            select(DigestItem.person_id, DigestItem.item_key, DigestItem.fingerprint).where(
                col(DigestItem.person_id).in_(chunk)
            )
        )
        for pid, key, fingerprint in items.all():
            sent[pid].update((key, fingerprint))
    found: dict[int, Prefetched] = {}
    for pid in present:
        reader = None
        if pid in allowed:
            style_row = styles.get(pid)
            style = engine._style_view(style_row, traits.get(pid, []), now) if style_row else None
            prefs = engine._resolve(preferences.get(pid, []), style, style_row)
            views = engine._interest_views(interests.get(pid, []), now, None, False)
            reader = reader_of(people[pid], prefs, views, sent.get(pid, set()), learning=True)
        found[pid] = Prefetched(people[pid], pid in allowed, last_sent.get(pid), reader)
    return found
