"""Implicit learning that no reply waits for, applied in small batches: observed channel
messages (and their ``last_seen_at`` and digest channel activity), reactions to other
people's messages, and what messages addressed to the bot teach.

Why: three events in four are channel messages the bot only observes; one transaction and
~9 statements each capped the pipeline at a few per cent of what the database accepts
(issue 16). Here the handler does its reads (who, consent, channel policy, platform context)
and the extraction, then :meth:`Learner.submit` queues a :class:`Pending` and returns. One
background task applies what arrived within ``max_delay`` (50 ms; at most ``max_batch``
items, the ``learning_batch_max`` setting: 32 on SQLite, 500 on PostgreSQL) in one
transaction: a set-based consent re-check, the event-id claims, ``last_seen_at``, the
learning rule of :class:`profiles.ingest.BatchIngestor` and the features' observation
(digest channel activity), so a retried delivery still teaches nothing twice. On PostgreSQL
everything after the claims goes out as one statement (profiles/write_queue.py): ``BEGIN``,
the people's hold, the claims, the writes, ``COMMIT`` — five round trips (four for a DM's
learning, claimed by its reply), where each write was one. When ``max_pending`` items
wait, ``submit`` waits too (back-pressure) instead of growing memory.

Messages addressed to the bot (DMs, mentions) are claimed in their reply's first transaction
(a retried delivery must not be answered twice) and their learning queued here, unclaimed
(:attr:`Pending.claim` None), once the reply's context is read: the reply never waits for a
batch, and its own transaction writes four fewer statements (issue 16). What the reply reads
of the profile is what earlier messages taught; this one is in the prompt as itself.

Consent: nothing is learned about people who have not consented. The batch re-reads the
consent of everyone in it by the consent gate's own rule (``learning_allowed``: an unanswered
consent counts only while the workspace is opt-out; one query, rows locked on PostgreSQL
until the batch commits: ``FOR NO KEY UPDATE`` when it writes their ``last_seen_at``, so
that two workers' batches of the same people wait for each other instead of deadlocking)
and drops the items of anyone revoked, forgotten or no longer covered by the workspace's
mode since they were queued; ``/forget`` also discards the person's waiting items
(:meth:`Learner.forget`).

Durability, precisely:

* database away when a batch runs (:class:`DatabaseUnavailable`): the batch's *events* go to
  the outage journal (bot/journal.py, synced to disk) and the core's drainer replays them once
  the database answers; the event-id claims make a replay of something that did commit
  harmless. A message addressed to the bot was claimed and answered already: it is kept as
  owing its learning only, and its replay learns from it without claiming or answering.
  If the journal is full, those events are lost (logged as an error). A replayed
  event leaves the journal once it is queued again; should the database fail before its
  batch commits, it goes back to the journal.
* database busy (:class:`~profiles.db.DatabaseBusy`: a lock on some rows outlasted the wait):
  the batch is applied again person by person (profiles/ingest.py ``WriteBehind``), and only
  the events of the parts cut busy again go to the journal, kept *busy*: they hold back
  their own people only (bot/journal.py). Before, the whole batch went as if the database
  were away, and each replay brought it back into a batch with the held person's.
* graceful shutdown (``Core.aclose``, which the adapters and the CLI call when they stop):
  the queue is flushed before anything else closes.
* hard crash (kill -9, power loss): the items accepted but not yet committed are lost — at
  most ``max_delay`` seconds of arrivals plus the batch being written (with back-pressure,
  never more than ``max_pending`` items), and the observed messages still held back behind
  replies (at most ``observe_yield_ms`` of them: bot/reply_turns.py). The platform was told
  the event was handled (Slack's ack, the end of a Discord handler) when it was queued, or
  while it was held back, so it will not re-send them (a message addressed to the bot was
  answered by then). This is the price of the batching and applies only to implicit
  signals: no answer, no command and no feedback on a reply goes through here.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Collection, Hashable, Iterable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.events import AnyEvent, MessageEvent
from bot.features import Features
from bot.journal import LEARNING_ONLY, Journal, Kept, Owed
from bot.written_languages import WrittenLanguages, writer_of
from profiles.db import Database, DatabaseUnavailable, is_busy
from profiles.engine import PersonKey, ProfileEngine
from profiles.ingest import Claim, IngestStats, Observation, WriteBehind
from profiles.learning_sql import mark_seen
from profiles.models import Person
from profiles.signals import MessageSignals

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)

MAX_BATCH = 500
# On SQLite a batch holds the one writer that every reply's claim and record wait for: a
# batch of ~90 events held it ~30 ms at maximum ingest, and the DMs that came meanwhile
# waited (docs/measurement.md, "Shorter learning batches on SQLite (fortieth session)").
MAX_BATCH_SQLITE = 32
MAX_DELAY_SECONDS = 0.05
MAX_PENDING = 10_000


def default_batch_max(db: Database) -> int:
    """The ``learning_batch_max`` an unset setting means for this database."""
    return MAX_BATCH_SQLITE if db.sqlite else MAX_BATCH


@dataclass(frozen=True, slots=True)
class Pending:
    """One accepted event waiting for its batch. ``event`` is the platform event itself, kept
    so it can go to the outage journal whole if the database is away."""

    event: AnyEvent
    person: Person  # detached: its id, and what features read of it
    # None: claimed already, by the reply to a message addressed to the bot
    claim: Claim | None
    observation: Observation | None = None  # None: the channel is excluded from learning
    seen_at: dt.datetime | None = None  # the person's last_seen_at, for observed messages
    signals: MessageSignals | None = None  # for the features' observe (digest activity)

    @property
    def person_id(self) -> int:
        assert self.person.id is not None
        return self.person.id

    @property
    def key(self) -> PersonKey:
        ref = self.event.person
        return PersonKey(ref.platform, ref.workspace, ref.user_id)


class Stage(Protocol):
    """A batched stage in front of the learner (bot/pipeline/intake.py): it hands items on
    to :meth:`Learner.submit`, so it is flushed, closed and told of ``/forget`` first."""

    async def flush(self) -> None: ...

    async def aclose(self) -> None: ...

    def forget(self, keys: set[tuple[str, str, str]]) -> None: ...

    def waiting(self, key: tuple[str, str, str]) -> bool: ...


class _Parts(Protocol):
    """What the learner reads from :class:`bot.services.Services` (by structure: importing
    it would close an import cycle)."""

    db: Database
    engine: ProfileEngine
    journal: Journal
    features: Features
    written: WrittenLanguages


class Learner:
    """The write-behind learner of one process (``services.learner``)."""

    def __init__(
        self,
        parts: _Parts,
        *,
        max_batch: int = MAX_BATCH,
        max_delay: float = MAX_DELAY_SECONDS,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self.parts = parts
        # Called after events were handed to the journal: the core wakes its drainer.
        self.on_journaled: Callable[[], None] | None = None
        self.lost = 0  # events neither applied nor journaled (journal full)
        self.intakes: list[Stage] = []  # stages that feed this learner (they register)
        self.queue: WriteBehind[Pending] = WriteBehind(
            parts.db,
            self._apply,
            max_batch=max_batch,
            max_delay=max_delay,
            max_pending=max_pending,
            on_unavailable=self._journal,
            apart=lambda item: item.key,  # a batch cut busy: again person by person
            left=self._left,
        )
        # Items waiting or being applied, by person: see settle().
        self._waiting: Counter[PersonKey] = Counter()

    @property
    def pending(self) -> int:
        return self.queue.pending

    async def submit(self, item: Pending) -> None:
        """Queue ``item``; returns at once unless ``max_pending`` items already wait."""
        key = item.key
        self._waiting[key] += 1
        try:
            await self.queue.submit(item)
        except BaseException:
            self._left([item])
            raise

    def _left(self, items: list[Pending]) -> None:
        count_down(self._waiting, (item.key for item in items))

    async def settle(self, key: PersonKey) -> None:
        """Return once what this person's earlier events teach is applied (or handed to the
        journal): a command that shows or exports what the bot knows (``/profile``,
        ``/export``) right after a message must include what that message taught. Returns
        at once when none of theirs waits, so other people's commands never hurry a
        batch."""
        if any(
            intake.waiting((key.platform, key.workspace, key.user_id)) for intake in self.intakes
        ):
            await self.flush()  # through the stage in front (a channel message), then here
        elif self._waiting.get(key):
            await self.queue.flush()

    async def flush(self) -> None:
        """Wait until everything submitted so far — here or to a stage in front — is applied
        (or journaled)."""
        for intake in self.intakes:
            await intake.flush()
        await self.queue.flush()

    async def aclose(self) -> None:
        """Flush, then stop the background tasks (graceful shutdown); the stages in front
        first, since they feed this queue."""
        for intake in self.intakes:
            await intake.aclose()
        await self.queue.aclose()

    def forget(
        self, person_ids: set[int], keys: Collection[tuple[str, str, str]] = ()
    ) -> None:
        """Discard the waiting items of these people (``/forget``): none of them is applied,
        whether still queued or gathered into the next batch. ``keys`` (platform,
        workspace, user id): the same people as the stages in front know them."""
        for intake in self.intakes:
            intake.forget(set(keys))
        if person_ids:
            self.queue.discard(lambda item: item.person_id in person_ids)

    # The batch, in one transaction -------------------------------------------------------
    async def _apply(self, session: AsyncSession, batch: list[Pending]) -> IngestStats:
        # A reaction teaches another person's words: their author must still allow it too,
        # checked here under the same lock (a /forget or revocation since the reaction was
        # decided orders itself before or after this batch, never between).
        allowed = await self._still_learning(
            session,
            {item.person_id for item in batch} | _sources(batch),
            writing=bool(self._seen(batch)),
        )
        items = [item for item in batch if _all_allow(item, allowed)]
        for item in batch:
            if item.person_id not in allowed:
                # Its language was noted when it was extracted, perhaps after their /forget
                # or revocation (a message in flight): that hint goes too.
                self.parts.written.forget(writer_of(item.event))
        if not items:
            return IngestStats(0, 0, 0, 0, 0, 0)
        engine = self.parts.engine
        first = await engine.ingestor.claim(
            session,
            [(item.person_id, item.claim) for item in items],
            at=max(item.seen_at or item.event.occurred_at for item in items),
        )
        fresh = [item for item, new in zip(items, first, strict=True) if new]
        # The writes from here on need no answer from each other: on PostgreSQL they are
        # queued and go out together (profiles/write_queue.py), features' rows too.
        await self._touch(session, fresh)
        for item in fresh:
            if item.signals is not None and isinstance(item.event, MessageEvent):
                await self.parts.features.observe(session, item.person, item.event, item.signals)
        return await engine.ingestor.apply(
            session, [item.observation for item in fresh if item.observation is not None]
        )

    async def _still_learning(
        self, session: AsyncSession, person_ids: set[int], *, writing: bool
    ) -> set[int]:
        """The people of the batch who still exist and have not revoked consent. Their rows
        stay locked (PostgreSQL) until the batch commits, so a concurrent revocation or
        /forget orders itself after it; SQLite's single writer does the same.

        ``writing``: the batch may write some of their ``last_seen_at`` (:meth:`_touch`), so
        they are held ``FOR NO KEY UPDATE``, not ``FOR SHARE`` (``still_learning``): two
        workers' batches that share-locked the same person and then both updated the row
        deadlocked. Everyone of the batch is held so, not only those it will write: one
        statement takes one lock mode, and two statements would take the people out of id
        order. Two batches about the same person already waited for each other on that
        person's interest rows, so little concurrency is lost."""
        return await self.parts.engine.still_learning(session, person_ids, writing=writing)

    async def _touch(self, session: AsyncSession, items: list[Pending]) -> None:
        """``last_seen_at`` of observed authors (:meth:`_seen`), for the batch at once."""
        await mark_seen(session, self._seen(items))

    def _seen(self, items: list[Pending]) -> dict[int, dt.datetime]:
        """The ``last_seen_at`` to write, by person: the engine's rule (written at most once
        per ``last_seen_resolution``, judged against the value the handler read). Known
        before the batch locks anyone, so that it locks them for the write
        (:meth:`_still_learning`)."""
        resolution = self.parts.engine.last_seen_resolution
        latest: dict[int, dt.datetime] = {}
        for item in items:
            if item.seen_at is None:
                continue
            stored = item.person.last_seen_at
            if stored is not None and stored.tzinfo is None:  # SQLite hands back naive UTC
                stored = stored.replace(tzinfo=dt.UTC)
            if stored is not None and dt.timedelta(0) <= item.seen_at - stored < resolution:
                continue
            found = latest.get(item.person_id)
            latest[item.person_id] = item.seen_at if found is None else max(found, item.seen_at)
        return latest

    # The database is away ----------------------------------------------------------------
    async def _journal(self, batch: list[Pending], exc: DatabaseUnavailable) -> None:
        """Hand the batch's events to the outage journal: the drainer replays them through
        the core once the database is back, and they are learned then, once. Those a reply
        claimed owe only their learning. Cut busy (their part of a batch applied again
        person by person, profiles/ingest.py ``WriteBehind``), they are kept as busy: they
        hold back their own people only."""
        self.journal_events(
            [item.event for item in batch],
            [LEARNING_ONLY if item.claim is None else None for item in batch],
            busy=is_busy(exc),
        )

    def journal_events(
        self, events: list[AnyEvent], owed: list[Owed | None] | None = None, *,
        busy: bool = False,
    ) -> None:
        """Keep events the database refused in the outage journal and wake the drainer;
        ``busy``: it was busy, not away (bot/journal.py, "Busy entries")."""
        kept = self.parts.journal.keep_many(events, owed, busy=busy)
        full = sum(1 for outcome in kept if outcome is Kept.FULL)
        if full:
            self.lost += full
            log.error("outage journal full: %d observed events could not be kept", full)
        if self.on_journaled is not None:
            self.on_journaled()


def count_down(waiting: Counter[K], keys: Iterable[K]) -> None:
    """One fewer waiting for each of ``keys``; a key none waits for leaves, so that
    ``waiting.get(key)`` says whether any does."""
    for key in keys:
        waiting[key] -= 1
        if waiting[key] <= 0:
            del waiting[key]


def _source(item: Pending) -> int | None:
    """Whose words the item teaches when they are not its person's own."""
    return None if item.observation is None else item.observation.source_person_id


def _all_allow(item: Pending, allowed: set[int]) -> bool:
    source = _source(item)
    return item.person_id in allowed and (source is None or source in allowed)


def _sources(batch: list[Pending]) -> set[int]:
    return {source for item in batch if (source := _source(item)) is not None}
