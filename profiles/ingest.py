"""Batched ingestion: apply many people's implicit observations in one transaction.

Why: the per-message path (:meth:`ProfileEngine.observe_message`) issues five statements per
message, each compiled by SQLAlchemy and, on SQLite, handed to aiosqlite's thread. That is
what caps the pipeline at a few hundred signal rows per second (see docs/measurement.md).
This module applies the *same* learning to a batch with a fixed number of statements, whatever
the batch size (each takes all its rows at once: an executemany on SQLite, one binary array
per column on PostgreSQL — :class:`profiles.upsert.ManyRows`):

* evidence rows: one insert into ``signal``;
* interests and habit traits: deltas are combined in Python per (person, topic) with the same
  decay rule the SQL upsert uses (:func:`profiles.decay.accumulate`: decay is linear, so the
  sum of signals decayed to the batch's latest time *is* what sequential upserts store), then
  one upsert each — still an atomic read-modify-write in the database, so
  concurrent workers never lose an update;
* style: its running average is not linear, so messages are applied in *rounds* (round r holds
  each person's r-th message of the batch), one upsert per round (the running
  mean, then alpha 0.1, of :func:`profiles.learning_sql.style_upsert`). A batch of messages
  from many people is one or two rounds.

On PostgreSQL, in the learner's transaction (``Database.in_one_call``), these writes are
queued and go out as one statement (profiles/write_queue.py): one round trip, not one each.

This is the only implementation of implicit learning: ``ProfileEngine.observe_message`` and
``observe_reaction_elsewhere`` apply a batch of one through it, the product's write-behind
learner (bot/learning.py) many. Batches applied in time order learn what one-by-one
application learns (tests/profiles/test_ingest.py checks it, and checks both against the
decay rule computed by hand, on both databases). The caller has already checked consent.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from profiles.db import CONFLICT_ATTEMPTS, Database, DatabaseUnavailable, conflicted, is_busy
from profiles.decay import accumulate, to_ts
from profiles.learning_sql import interest_row, interest_upsert, style_upsert, trait_upsert
from profiles.models import ProcessedEvent, Signal, table_of
from profiles.signals import MessageSignals
from profiles.upsert import ManyRows, dialect_of, many_rows
from profiles.write_queue import queue_of

if TYPE_CHECKING:  # the engine's per-event methods run this module's rule: no import cycle
    from profiles.engine import ProfileEngine

PRUNE_EVERY = 50  # messages: pruning a person's interests is amortised over this many
# A reaction on someone else's message is a weaker interest signal than writing about it.
REACTION_INTEREST_DELTA = 0.4
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Observation:
    """One implicit observation about a person who allows learning.

    ``topics`` are interest deltas, logged as evidence of ``kind`` (``topic`` for a message,
    ``reaction`` for a reaction elsewhere). ``message`` marks a message the person wrote: its
    style, language and local hour are learned as ``observe_message`` does. ``item`` is an
    item the person engaged with (a recommendation done, a digest item opened, a rated
    movie in the offline evaluation), logged as evidence of kind ``item`` so collaborative
    models can read engagement from the profile.
    """

    person_id: int
    at: dt.datetime
    topics: tuple[tuple[str, float], ...] = ()
    kind: str = "topic"
    excerpt: str | None = None
    event_id: str | None = None
    message: MessageSignals | None = None
    local_hour: int | None = None
    item: str | None = None
    # Whose words the topics were read from, when not the person's own (a reaction).
    source_person_id: int | None = None

    @classmethod
    def of_message(
        cls,
        person_id: int,
        signals: MessageSignals,
        *,
        at: dt.datetime,
        local_hour: int,
        event_id: str | None,
        excerpt: str,
    ) -> Observation:
        """The batched twin of :meth:`ProfileEngine.observe_message` (same arguments)."""
        return cls(
            person_id=person_id,
            at=at,
            topics=tuple(signals.topics),
            excerpt=excerpt[:120],
            event_id=event_id,
            message=signals,
            local_hour=local_hour,
        )

    @classmethod
    def of_reaction(
        cls,
        person_id: int,
        topics: Sequence[tuple[str, float]],
        *,
        at: dt.datetime,
        emoji: str,
        event_id: str | None,
        author_id: int,
    ) -> Observation:
        """The batched twin of :meth:`ProfileEngine.observe_reaction_elsewhere`: a reaction
        on someone else's message (``author_id``'s), a weaker interest in what that message
        was about."""
        return cls(
            person_id=person_id,
            at=at,
            topics=tuple((t, REACTION_INTEREST_DELTA * s) for t, s in topics),
            kind="reaction",
            excerpt=emoji[:120],
            event_id=event_id,
            source_person_id=author_id,
        )


@dataclass(frozen=True, slots=True)
class Claim:
    """The platform event an observation came from. Claimed in the same transaction as the
    learning (``processed_event``'s unique key), so a retried delivery teaches nothing twice
    — the guarantee the per-message path gives."""

    platform: str
    workspace: str
    event_id: str


@dataclass(frozen=True, slots=True)
class IngestStats:
    observations: int
    signal_rows: int
    interest_rows: int
    trait_rows: int
    style_rounds: int
    pruned: int


def _style_text(signals: MessageSignals) -> str:
    return (
        f"chars={signals.length} words={signals.word_count} "
        f"formality={signals.formality:+.2f} emoji={signals.emoji_count}"
    )


class BatchIngestor:
    """Stateless apart from its engine's settings (half-life, interest cap); share freely."""

    def __init__(self, engine: ProfileEngine) -> None:
        self.engine = engine

    def evidence_rows(self, observations: Sequence[Observation]) -> list[dict[str, Any]]:
        """The ``signal`` rows, exactly those the per-event methods write."""
        rows: list[dict[str, Any]] = []
        for ob in observations:
            found: list[tuple[str, str, float, str | None]] = [
                (ob.kind, topic, strength, ob.excerpt) for topic, strength in ob.topics
            ]
            if ob.item is not None:
                found.append(("item", ob.item, 1.0, ob.excerpt))
            if ob.message is not None:
                found.append(("style", _style_text(ob.message), 1.0, None))
                if ob.message.language:
                    found.append(("language", ob.message.language, 1.0, None))
                if ob.local_hour is not None:
                    found.append(("active_hour", f"{ob.local_hour:02d}", 1.0, None))
            rows.extend(
                {
                    "person_id": ob.person_id,
                    "kind": kind,
                    "value": value[:200],
                    "weight": weight,
                    "excerpt": excerpt,
                    "event_id": ob.event_id,
                    "created_at": ob.at,
                    "source_person_id": ob.source_person_id if kind == ob.kind else None,
                }
                for kind, value, weight, excerpt in found
            )
        return rows

    async def claim(
        self,
        session: AsyncSession,
        claims: Sequence[tuple[int, Claim | None]],
        *,
        at: dt.datetime,
    ) -> list[bool]:
        """Claim every event of ``(person id, claim)`` (one ``executemany`` insert that skips
        ids already processed): True where the event is new here, False for a retry or a
        duplicate earlier in the same list; an item without a claim is always new."""
        wanted = [(pid, c) for pid, c in claims if c is not None]
        fresh: set[tuple[str, str, str]] = set()
        if wanted:
            unique = {
                (c.platform, c.workspace, c.event_id): {
                    "person_id": pid,
                    "platform": c.platform,
                    "workspace": c.workspace,
                    "event_id": c.event_id,
                    "processed_at": at,
                }
                for pid, c in wanted
            }
            result = await _claims_statement(dialect_of(session)).execute(
                session, list(unique.values())
            )
            fresh = {(p, w, e) for p, w, e in result.all()}
        seen: set[tuple[str, str, str]] = set()
        first: list[bool] = []
        for _, claim in claims:
            if claim is None:
                first.append(True)
                continue
            key = (claim.platform, claim.workspace, claim.event_id)
            first.append(key in fresh and key not in seen)  # a duplicate in a batch counts once
            seen.add(key)
        return first

    async def claim_and_apply(
        self, session: AsyncSession, items: Sequence[tuple[Observation, Claim | None]]
    ) -> IngestStats:
        """Claim every event, then learn only from observations whose event was new (or that
        carry no claim)."""
        if not items:
            return IngestStats(0, 0, 0, 0, 0, 0)
        first = await self.claim(
            session,
            [(ob.person_id, claim) for ob, claim in items],
            at=max(ob.at for ob, _ in items),
        )
        return await self.apply(
            session, [ob for (ob, _), new in zip(items, first, strict=True) if new]
        )

    async def apply(
        self, session: AsyncSession, observations: Sequence[Observation]
    ) -> IngestStats:
        """Learn from every observation, in the caller's transaction."""
        if not observations:
            return IngestStats(0, 0, 0, 0, 0, 0)
        ordered = sorted(observations, key=lambda ob: to_ts(ob.at))
        signal_rows = self.evidence_rows(ordered)
        if signal_rows:
            await _signals_statement(dialect_of(session)).send_later(session, signal_rows)
        interest_rows = await self._interests(session, ordered)
        trait_rows = await self._traits(session, ordered)
        rounds, pruned = await self._styles(session, ordered)
        return IngestStats(
            len(ordered), len(signal_rows), interest_rows, trait_rows, rounds, pruned
        )

    # Interests -----------------------------------------------------------------------------
    async def _interests(self, session: AsyncSession, ordered: Sequence[Observation]) -> int:
        hl, lasting = self.engine.half_life, self.engine.lasting_half_life
        combined: dict[tuple[int, str], dict[str, Any]] = {}
        for ob in ordered:
            at_ts = to_ts(ob.at)
            # One observation counts a topic once, as add_interests' dict(topics) does.
            for topic, delta in dict(ob.topics).items():
                key = (ob.person_id, topic)
                found = combined.get(key)
                if found is None:
                    combined[key] = interest_row(ob.person_id, topic, delta, ob.at)
                    continue
                found["lasting_weight"], _ = accumulate(
                    found["lasting_weight"], found["updated_ts"], delta, at_ts, lasting
                )
                found["weight"], found["updated_ts"] = accumulate(
                    found["weight"], found["updated_ts"], delta, at_ts, hl
                )
                found["evidence_count"] += 1
        if not combined:
            return 0
        await interest_upsert(session, hl, lasting).send_later(session, list(combined.values()))
        return len(combined)

    # Traits (language, active hour) --------------------------------------------------------
    async def _traits(self, session: AsyncSession, ordered: Sequence[Observation]) -> int:
        hl = self.engine.half_life
        combined: dict[tuple[int, str, str], dict[str, Any]] = {}
        for ob in ordered:
            if ob.message is None:
                continue
            at_ts = to_ts(ob.at)
            traits: list[tuple[str, str]] = []
            if ob.local_hour is not None:
                traits.append(("hour", f"{ob.local_hour:02d}"))
            if ob.message.language:
                traits.append(("language", ob.message.language))
            for kind, key in traits:
                found = combined.get((ob.person_id, kind, key))
                if found is None:
                    combined[(ob.person_id, kind, key)] = {
                        "person_id": ob.person_id,
                        "kind": kind,
                        "key": key,
                        "weight": 1.0,
                        "updated_ts": at_ts,
                    }
                else:
                    found["weight"], found["updated_ts"] = accumulate(
                        found["weight"], found["updated_ts"], 1.0, at_ts, hl
                    )
        if not combined:
            return 0
        await trait_upsert(session, hl).send_later(session, list(combined.values()))
        return len(combined)

    # Style ---------------------------------------------------------------------------------
    async def _styles(
        self, session: AsyncSession, ordered: Sequence[Observation]
    ) -> tuple[int, int]:
        rounds: list[list[dict[str, Any]]] = []
        per_person: dict[int, int] = defaultdict(int)
        for ob in ordered:
            if ob.message is None:
                continue
            index = per_person[ob.person_id]
            per_person[ob.person_id] += 1
            if index == len(rounds):
                rounds.append([])
            rounds[index].append(
                {
                    "person_id": ob.person_id,
                    "messages_seen": 1,
                    "avg_length": float(ob.message.length),
                    "formality": ob.message.formality,
                    "emoji_rate": float(min(ob.message.emoji_count, 5)),
                    "updated_at": ob.at,
                }
            )
        if not rounds:
            return 0, 0
        stmt = style_upsert(session)
        # Each round holds a person at most once. Queued with the batch's other writes where
        # its transaction carries a queue (PostgreSQL: profiles/write_queue.py), and sent
        # with them here: pruning reads the interests they wrote.
        results = [await stmt.send_later(session, batch) for batch in rounds]
        queue = queue_of(session)
        if queue is not None:
            await queue.send(session)
        totals: dict[int, int] = {}
        for result in results:
            for person_id, seen in result.all():
                totals[int(person_id)] = max(totals.get(int(person_id), 0), int(seen))
        # Prune where a person's message count crossed a multiple of PRUNE_EVERY (for a
        # batch of one: where the count is a multiple of it), at the batch's latest time.
        pruned = 0
        last = max(ob.at for ob in ordered)
        for person_id, total in totals.items():
            before = total - per_person[person_id]
            if total // PRUNE_EVERY > before // PRUNE_EVERY:
                pruned += await self.engine.prune_interests(session, person_id, last)
        return len(rounds), pruned


SIGNAL_COLUMNS = (
    "person_id", "kind", "value", "weight", "excerpt", "event_id", "created_at",
    "source_person_id",
)
CLAIM_COLUMNS = ("person_id", "platform", "workspace", "event_id", "processed_at")
CLAIM_KEY = ("platform", "workspace", "event_id")


@functools.lru_cache(maxsize=2)
def _signals_statement(dialect: str) -> ManyRows:
    """The batch's evidence rows (:meth:`BatchIngestor.evidence_rows`), built once per
    dialect (see profiles/learning_sql.py: building a statement costs more than executing
    its cached form)."""
    return many_rows(dialect, table_of(Signal), SIGNAL_COLUMNS)


@functools.lru_cache(maxsize=2)
def _claims_statement(dialect: str) -> ManyRows:
    """The batch's claims, built once per dialect; one row per event, in the key's order
    (two processes claiming the same redelivered events wait for each other in one order:
    :class:`profiles.upsert.ManyRows`)."""
    table = table_of(ProcessedEvent)
    return many_rows(
        dialect,
        table,
        CLAIM_COLUMNS,
        lambda insert: insert.on_conflict_do_nothing(
            index_elements=list(CLAIM_KEY)
        ).returning(table.c.platform, table.c.workspace, table.c.event_id),
        key=CLAIM_KEY,
    )


Item = TypeVar("Item")
ApplyBatch = Callable[[AsyncSession, list[Item]], Awaitable[IngestStats]]


# Parts of a batch cut busy that may be cut busy again, each after the whole lock timeout,
# before the rest is tried as one part (WriteBehind, "Failures").
BUSY_PARTS = 2


class WriteBehind(Generic[Item]):
    """Write-behind ingestion: callers ``submit`` items and return at once; one background
    task applies them in batches (up to ``max_batch`` items, or whatever arrived within
    ``max_delay`` seconds) with ``apply``, in one transaction each.

    This is what takes the per-event database cost off the hot path for events the bot only
    learns from (channel chatter, reactions elsewhere). The price is a window of at most
    ``max_delay`` seconds (plus the batch's own commit) in which a crash loses accepted
    items; replies that need the fresh profile should keep using the synchronous path.
    ``max_pending`` bounds memory: when it is reached, ``submit`` waits (back-pressure)
    instead of growing without limit.

    Failures: a batch that fails because the database is away goes to ``on_unavailable``
    (with that failure) when given (the bot hands its events to the durable outage
    journal), else it is retried,
    in order, until the database answers (also when ``on_unavailable`` itself fails: the
    journal's disk is full; but not past :meth:`aclose`). A batch PostgreSQL aborted over a
    conflict with another transaction (:func:`profiles.db.conflicted`: a deadlock it broke, a
    serialization failure) kept nothing and is run again whole, up to
    :data:`profiles.db.CONFLICT_ATTEMPTS` runs in all, as ``Services.in_transaction`` runs
    a command; before, it was split like a defect and a lone item aborted again was
    dropped, its learning lost. Any other failure (or a conflict on every run) is a defect
    of one item, not of the batch: the items are retried one transaction each, and only a
    failing one is dropped (logged), so one poisoned event cannot take a batch of other
    people's learning with it. Likewise a batch the database cut as *busy* (it answered, but
    a lock that other work held on some rows outlasted the wait: ``DatabaseBusy``) is
    applied again one transaction per ``apart`` key (the learner's: per person) when given,
    so that only the parts that need the locked rows meet the lock again, and go to
    ``on_unavailable``, not everyone's: one person's row held by a long transaction cost
    every batch they were in, and each replay brought the others back into the next one.
    Each part cut busy waited the whole lock timeout, so once :data:`BUSY_PARTS` were, the
    parts not tried yet are tried once more together (and handed on if cut busy too): a lock
    on many people's rows (a workspace's erasure) holds a batch for ``BUSY_PARTS + 2`` lock
    waits at most, not one per person.

    A batch's transaction is :meth:`profiles.db.Database.in_one_call`: on SQLite ``apply``
    runs to its commit in the database's worker thread, so it may await only its session's
    statements (``read_only`` batches run on the loop, and ``after`` always does).

    The background task starts when an item is submitted, ends when the queue is empty, and
    :meth:`aclose` flushes and stops it.
    """

    def __init__(
        self,
        db: Database,
        apply: ApplyBatch[Item],
        *,
        max_batch: int = 1_000,
        max_delay: float = 0.05,
        max_pending: int = 50_000,
        on_unavailable: Callable[[list[Item], DatabaseUnavailable], Awaitable[None]]
        | None = None,
        apart: Callable[[Item], Hashable] | None = None,
        read_only: bool = False,
        after: Callable[[list[Item]], Awaitable[None]] | None = None,
        left: Callable[[list[Item]], None] | None = None,
    ) -> None:
        self.db = db
        # read_only: ``apply`` only reads (Database.read: on SQLite it never queues for the
        # writer) and ``after`` acts on what it found once the transaction is over.
        self.read_only = read_only
        self.after = after
        # Told of every batch's items once they left the queue, whatever became of them
        # (applied, handed on, discarded, dropped): what the caller counts as waiting.
        self.left = left
        self._apply_batch = apply
        self.max_batch = max_batch
        self.max_delay = max_delay
        self.on_unavailable = on_unavailable
        self.apart = apart
        self._queue: asyncio.Queue[tuple[int, Item]] = asyncio.Queue(max_pending)
        self._task: asyncio.Task[None] | None = None
        self._hurry = asyncio.Event()  # set while a flush waits: stop gathering, apply
        self._closing = asyncio.Event()  # set while aclose runs
        self._submitted = 0
        # Sequence numbers of the items submitted and not yet done with (applied, handed
        # on, discarded or dropped), and the flushes waiting: (last number each covers, its
        # waiter). See flush().
        self._unfinished: set[int] = set()
        self._flushes: list[tuple[int, asyncio.Future[None]]] = []
        # (last sequence number it covers, predicate): items discarded after they were
        # queued, checked when their batch is applied (see :meth:`discard`).
        self._discarded: list[tuple[int, Callable[[Item], bool]]] = []
        self.applied = 0
        self.signal_rows = 0
        self.batches = 0

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    async def submit(self, item: Item) -> None:
        self._submitted += 1
        seq = self._submitted
        self._unfinished.add(seq)
        try:
            if self._queue.full():
                self._ensure_task()
                await self._queue.put((seq, item))  # back-pressure: wait for room
            else:
                self._queue.put_nowait((seq, item))
        except BaseException:  # cancelled while it waited for room: never queued
            self._finished([seq])
            raise
        self._ensure_task()

    def _ensure_task(self) -> None:
        """The background task runs while items wait and ends when the queue is empty, so
        an idle process (or a test) has no task parked forever on an empty queue."""
        if (self._task is None or self._task.done()) and not self._queue.empty():
            self._task = asyncio.create_task(self._run(), name="write-behind")

    def discard(self, predicate: Callable[[Item], bool]) -> None:
        """Never apply the items submitted so far for which ``predicate`` is true (``/forget``
        of a person whose observations still wait), wherever they are: still queued or
        already gathered into the next batch. A batch already in its transaction is not
        affected; the caller's own transaction orders itself after it."""
        self._discarded.append((self._submitted, predicate))

    def _keep(self, batch: list[tuple[int, Item]]) -> list[Item]:
        if not self._discarded:
            return [item for _, item in batch]
        kept = [
            item
            for seq, item in batch
            if not any(seq <= upto and drop(item) for upto, drop in self._discarded)
        ]
        newest = max(seq for seq, _ in batch)
        # batches leave in submission order: tombstones that cover nothing newer are done
        self._discarded = [(upto, drop) for upto, drop in self._discarded if upto > newest]
        return kept

    async def _next_batch(self) -> list[tuple[int, Item]]:
        batch = [self._queue.get_nowait()]  # the task runs only while items wait
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_delay
        while len(batch) < self.max_batch:
            try:
                batch.append(self._queue.get_nowait())
                continue
            except asyncio.QueueEmpty:
                pass
            remaining = deadline - loop.time()
            if remaining <= 0 or self._hurry.is_set():
                break
            item = await self._get_within(remaining)
            if item is None:
                break
            batch.append(item)
        return batch

    async def _get_within(self, seconds: float) -> tuple[int, Item] | None:
        """The next item, or None after ``seconds`` or as soon as someone flushes."""
        getter = asyncio.ensure_future(self._queue.get())
        hurry = asyncio.ensure_future(self._hurry.wait())
        try:
            await asyncio.wait({getter, hurry}, timeout=seconds, return_when="FIRST_COMPLETED")
        finally:
            hurry.cancel()
            if not getter.done():
                getter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await getter
        if getter.done() and not getter.cancelled():
            return getter.result()
        return None

    async def _apply(self, items: list[Item], *, split: bool = True) -> bool:
        """Apply ``items`` (class docstring, "Failures"); returns whether they were handed
        on because the database was busy. ``split``: a batch cut busy may be tried again
        part by part."""
        delay = 0.5
        conflicts = 0
        while True:
            try:
                await self._commit(items)
                return False
            except DatabaseUnavailable as exc:
                if split and is_busy(exc) and (parts := self._parts(items)):
                    log.warning("database busy: a batch of %d applied again in %d parts",
                                len(items), len(parts))
                    await self._apply_parts(parts)
                    return False
                if self.on_unavailable is not None:
                    log.warning("database away: %d learned events handed on", len(items))
                    try:
                        await self.on_unavailable(items, exc)
                        return is_busy(exc)
                    except Exception:  # the journal failed too (a full disk): keep them...
                        if self._closing.is_set():  # ... unless the process is stopping
                            log.exception("stopping: %d learned events lost, the database "
                                          "away and handing them on failed", len(items))
                            return False
                        log.exception("could not hand on %d learned events", len(items))
                    # a stop cuts the wait short: the next failure ends the batch (above)
                    # (asyncio.timeout: Python 3.11's wait_for can drop a stop's cancellation)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(delay):
                            await self._closing.wait()
                else:
                    log.exception("write-behind batch of %d failed; retrying", len(items))
                    await asyncio.sleep(delay)
                delay = min(30.0, delay * 2)
            except Exception as exc:
                if conflicted(exc):
                    conflicts += 1
                    if conflicts < CONFLICT_ATTEMPTS:  # nothing of it kept
                        log.info("write-behind batch of %d conflicted with another "
                                 "transaction (%s); running it again", len(items),
                                 getattr(exc, "orig", exc))
                        continue
                if len(items) == 1:
                    log.exception("write-behind item dropped: it fails on its own")
                    return False
                log.exception("write-behind batch of %d failed; one by one", len(items))
                for item in items:
                    await self._apply([item])
                return False

    async def _apply_parts(self, parts: list[list[Item]]) -> None:
        """A batch cut busy, again one part at a time; once :data:`BUSY_PARTS` parts were
        cut busy too, the rest together, and no further apart (class docstring)."""
        cut = 0
        for n, part in enumerate(parts):
            if cut == BUSY_PARTS:
                await self._apply([item for rest in parts[n:] for item in rest], split=False)
                return
            cut += await self._apply(part, split=False)

    def _parts(self, items: list[Item]) -> list[list[Item]] | None:
        """``items`` by ``apart`` key, in order of first arrival; None when they are one."""
        if self.apart is None:
            return None
        parts: dict[Hashable, list[Item]] = {}
        for item in items:
            parts.setdefault(self.apart(item), []).append(item)
        return list(parts.values()) if len(parts) > 1 else None

    async def _commit(self, items: list[Item]) -> None:
        if self.read_only:
            async with self.db.read() as session:
                stats = await self._apply_batch(session, items)
        else:
            # One call to the database's side (Database.in_one_call): the batch's statements
            # do not wait on the event loop, one by one, while it holds SQLite's writer.
            stats = await self.db.in_one_call(lambda session: self._apply_batch(session, items))
        if self.after is not None:
            await self.after(items)
        self.applied += stats.observations
        self.signal_rows += stats.signal_rows
        self.batches += 1

    async def _run(self) -> None:
        while not self._queue.empty():
            batch = await self._next_batch()
            try:
                items = self._keep(batch)
                if items:
                    await self._apply(items)
            except Exception:  # a defect outside apply's own handling (a discard predicate)
                # The task must outlive it: the next batches and the flushes waiting for
                # them depend on it, and nothing else would restart it.
                log.exception("write-behind batch of %d dropped", len(batch))
            finally:
                self._left(batch)
                self._finished([seq for seq, _ in batch])

    def _left(self, batch: list[tuple[int, Item]]) -> None:
        if self.left is None:
            return
        try:
            self.left([item for _, item in batch])
        except Exception:  # a counter's defect must not stall the queue
            log.exception("write-behind: the left callback failed")

    def _finished(self, seqs: list[int]) -> None:
        """These items are done with: release the flushes that waited for nothing newer,
        and stop hurrying batches once no flush waits."""
        self._unfinished.difference_update(seqs)
        if not self._flushes:
            return
        oldest = min(self._unfinished, default=None)
        waiting = []
        for upto, waiter in self._flushes:
            if oldest is None or upto < oldest:
                if not waiter.done():
                    waiter.set_result(None)
            else:
                waiting.append((upto, waiter))
        self._flushes = waiting
        if not waiting:
            self._hurry.clear()

    async def flush(self) -> None:
        """Wait until everything submitted before this call is in the database (or handed
        on); the batch being gathered goes at once instead of waiting out ``max_delay``.

        What is submitted meanwhile is neither waited for nor hurried. Why: under steady
        load the queue is never empty, and waiting for it to empty made a command that
        settles one person's learning (bot/learning.py) wait 1.4-2.7 s on average at maximum
        ingest (up to 7.8 s), while every batch of that time went at once: ~20 items each
        instead of the ~40 that ``max_delay`` gathers (docs/measurement.md, fourteenth
        session)."""
        upto = self._submitted
        oldest = min(self._unfinished, default=None)
        if oldest is None or oldest > upto:
            return
        self._ensure_task()
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._flushes.append((upto, waiter))
        self._hurry.set()
        try:
            await waiter
        finally:
            if waiter.cancelled():  # its caller was: nothing to release any more
                self._flushes = [(u, w) for u, w in self._flushes if w is not waiter]
                if not self._flushes:
                    self._hurry.clear()

    async def aclose(self) -> None:
        """Flush, then stop the background task. A batch that neither the database nor
        ``on_unavailable`` takes is dropped (logged) rather than holding the stop forever."""
        self._closing.set()
        try:
            await self.flush()
            while self._unfinished:  # submitted while it flushed (handlers finishing)
                await self.flush()
            if self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
                self._task = None
        finally:
            self._closing.clear()
