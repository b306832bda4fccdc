"""Learning from channel messages the bot only observes, in batches, off the reply path.

Three in four events of a workspace are channel messages the bot does not answer. Through
the per-event path each cost a transaction and ~9 statements, and its keyphrase extraction
ran on the event loop, in front of everyone's replies. Here:

1. **who** — the author's person id, consent and timezone come from a small in-process
   cache (read from the database on a miss; entries live ``ttl`` seconds and are dropped at
   once when this process sees the person's consent, preferences or existence change);
2. **extraction** runs in a worker thread, so the event loop keeps serving replies;
3. the observation goes to :class:`profiles.ingest.WriteBehind`, which applies a batch
   (≤ ``max_batch`` messages or ``max_delay`` seconds) in **one transaction**: consent is
   checked again in it (a revocation or ``/forget`` since the message was queued wins, also
   one made by another worker), event ids are claimed (a retried delivery teaches nothing
   twice), the same learning as the per-event rule is applied
   (:class:`profiles.ingest.BatchIngestor`, proved equal by tests/profiles/test_ingest.py),
   ``last_seen_at`` is updated and features' observers (digest channel activity) write in
   that same transaction.

What a crash can lose: observations accepted but not yet committed — at most ``max_delay``
seconds plus one batch write, bounded by ``max_pending`` messages; while the database is
away they wait in memory (bounded; ``submit`` then applies back-pressure), not in the
outage journal. They are implicit signals of messages nobody was answered about; nothing a
person said to the bot, and no reply, is in this window.

Messages whose platform context (timezone, locale) differs from what is stored take the
per-event path, which stores it (a rare event: once per person and change).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.context import local_hour
from bot.events import MessageEvent
from profiles.db import Database
from profiles.engine import PersonKey, ProfileEngine
from profiles.ingest import BatchIngestor, Claim, Item, Observation, WriteBehind
from profiles.models import Consent, ConsentStatus, Person, Preference, Source, table_of
from profiles.preferences import PreferenceError, validate
from profiles.signals import MessageSignals, SignalExtractor

Observer = Callable[[AsyncSession, Person, MessageEvent, MessageSignals], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Known:
    person: Person  # detached: id, platform, workspace, user_id, display_name
    allowed: bool
    timezone: str
    platform: dict[str, str]  # key → value stored with source "platform"
    expires: float


@dataclass(frozen=True, slots=True)
class _Extra:
    person: Person
    event: MessageEvent
    signals: MessageSignals
    seen_at: dt.datetime


class ChannelLearning:
    def __init__(
        self,
        db: Database,
        engine: ProfileEngine,
        extractor: SignalExtractor,
        *,
        clock: Callable[[], dt.datetime],
        default_timezone: str,
        observers: Callable[[], list[Observer]],
        ttl: float = 30.0,
        max_batch: int = 500,
        max_delay: float = 0.005,
        max_pending: int = 20_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.engine = engine
        self.extractor = extractor
        self.clock = clock
        self.default_timezone = default_timezone
        self.observers = observers
        self.ttl = ttl
        self._monotonic = monotonic
        self._known: dict[PersonKey, _Known] = {}
        self._by_id: dict[int, PersonKey] = {}
        # One thread: extraction is pure Python, so more threads would only fight over the
        # GIL; one keeps the event loop responsive while it works.
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="tailorbot-extract")
        self.queue = WriteBehind(
            db,
            BatchIngestor(engine),
            max_batch=max_batch,
            max_delay=max_delay,
            max_pending=max_pending,
            admit=self._admit,
            applied=self._applied,
        )

    # The hot path ------------------------------------------------------------------------
    async def message(self, event: MessageEvent, key: PersonKey, text: str) -> bool:
        """Queue what this message teaches. True when handled (queued, or nothing to learn
        because the author does not allow it); False when the per-event path must take it
        (the platform reports a timezone or locale that is not stored yet)."""
        known = await self._lookup(key)
        if known is None or not known.allowed:
            return True
        if self._context_changes(known, event):
            self.invalidate(key)
            return False
        loop = asyncio.get_running_loop()
        signals = await loop.run_in_executor(self._executor, self.extractor.extract, text)
        assert known.person.id is not None
        observation = Observation.of_message(
            known.person.id,
            signals,
            at=event.occurred_at,
            local_hour=local_hour(event.occurred_at, known.timezone),
            event_id=event.event_id,
            excerpt=text,
        )
        claim = Claim(event.person.platform, event.person.workspace, event.event_id)
        await self.queue.submit(
            observation, claim, _Extra(known.person, event, signals, self.clock())
        )
        return True

    def _context_changes(self, known: _Known, event: MessageEvent) -> bool:
        context = event.context
        for key, value in (("timezone", context.timezone), ("language", context.locale)):
            if not value:
                continue
            try:
                clean = validate(key, value)
            except PreferenceError:  # ignored by the per-event path too
                continue
            if known.platform.get(key) != clean:
                return True
        return False

    async def _lookup(self, key: PersonKey) -> _Known | None:
        now = self._monotonic()
        known = self._known.get(key)
        if known is not None and known.expires > now:
            return known
        async with self.db.session() as session:
            person = await self.engine.find_person(session, key)
            if person is None or person.id is None:
                self._known.pop(key, None)
                return None  # not cached: the person may be created any moment
            consent = await session.get(Consent, person.id)
            allowed = consent is not None and self.engine.may_learn(consent)
            rows = await session.exec(
                select(Preference).where(
                    Preference.person_id == person.id,
                    col(Preference.key).in_(("timezone", "language")),
                )
            )
            stored = {(p.key, p.source): p.value for p in rows}
        timezone = (
            stored.get(("timezone", Source.EXPLICIT.value))
            or stored.get(("timezone", Source.PLATFORM.value))
            or self.default_timezone
        )
        platform = {k: v for (k, source), v in stored.items() if source == Source.PLATFORM.value}
        known = _Known(person, allowed, timezone, platform, now + self.ttl)
        self._known[key] = known
        self._by_id[person.id] = key
        return known

    # Invalidation --------------------------------------------------------------------------
    def invalidate(self, key: PersonKey) -> None:
        """Forget what is cached about a person (consent, preferences or existence changed)."""
        known = self._known.pop(key, None)
        if known is not None and known.person.id is not None:
            self._by_id.pop(known.person.id, None)

    def invalidate_id(self, person_id: int) -> None:
        key = self._by_id.pop(person_id, None)
        if key is not None:
            self._known.pop(key, None)

    async def person_changed(self, person: Person, *_: Any) -> None:
        """A deletion or preference hook: drop the person from the cache."""
        if person.id is not None:
            self.invalidate_id(person.id)
        self.invalidate(PersonKey(person.platform, person.workspace, person.user_id))

    # In the batch's transaction ------------------------------------------------------------
    async def _admit(self, session: AsyncSession, batch: list[Item]) -> list[Item]:
        """Only people who allow learning now (and still exist): one query per batch."""
        ids = {ob.person_id for ob, _, _ in batch}
        allowed = [ConsentStatus.GRANTED.value]
        if self.engine.consent_opt_out:
            allowed.append(ConsentStatus.UNKNOWN.value)
        result = await session.exec(
            select(Consent.person_id).where(
                col(Consent.person_id).in_(ids), col(Consent.status).in_(allowed)
            )
        )
        still = set(result.all())
        for pid in ids - still:
            self.invalidate_id(pid)
        admitted = [item for item in batch if item[0].person_id in still]
        # last_seen_at first and in id order: a reply's transaction also updates its person
        # row first, so the two take row locks in one order and cannot deadlock.
        seen: dict[int, dt.datetime] = {}
        for ob, _, extra in admitted:
            assert isinstance(extra, _Extra)
            seen[ob.person_id] = max(extra.seen_at, seen.get(ob.person_id, extra.seen_at))
        if seen:
            table = table_of(Person)
            await session.exec(
                update(table)
                .where(table.c.id == bindparam("pid"))
                .values(last_seen_at=bindparam("at")),
                params=[{"pid": pid, "at": seen[pid]} for pid in sorted(seen)],
            )
        return admitted

    async def _applied(self, session: AsyncSession, learned: list[Item]) -> None:
        """What the per-event path wrote with the learning: features' observers' rows."""
        observers = self.observers()
        for _, _, extra in learned:
            for observer in observers:
                await observer(session, extra.person, extra.event, extra.signals)

    # Lifecycle -----------------------------------------------------------------------------
    async def flush(self) -> None:
        await self.queue.flush()

    async def aclose(self) -> None:
        await self.queue.aclose()
        self._executor.shutdown(wait=False, cancel_futures=True)

