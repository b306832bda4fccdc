"""Running digests: one person (``run_person``) or everyone due (``run_due``), exactly once.

For each digest:

1. check the person still exists, is subscribed and allows learning, and that an adapter in
   this process can deliver to their platform (if not, nothing is claimed, so a worker that
   can will send it);
2. **claim** the (person, period) row in ``digest_run`` — committed before anything else, so
   a second worker, a restart or a repeated fire finds it and stops;
3. build (sources → dedupe → rank) and write it (model or plain), outside any transaction;
4. record the items and mark the run ``delivering`` (re-checking consent: a revocation during
   the build wins);
5. deliver through the platform's :class:`Delivery`, then mark it ``sent`` — or ``failed``,
   dropping its items so they can come back next time.

``run_due`` walks subscriptions in pages of ``digest_batch_size`` and runs at most
``digest_max_concurrency`` digests at once: no unbounded fan-out against platform rate limits.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bot import metrics
from bot.digest import compose, store
from bot.digest.builder import DigestBuilder, DigestDraft, fingerprint
from bot.digest.cache import SharedCache
from bot.digest.readers import Prefetched, load_page
from bot.digest.schedule import Schedule, within_grace
from bot.events import Reply, ReplyKind
from profiles.models import Consent, DigestSubscription, LLMCall, Person
from profiles.ranking import Ranked

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)


class Delivery(Protocol):
    """How an adapter sends a digest to a person (as a direct message, or to
    ``reply.channel_id`` when set). Registered per platform: ``{"slack": deliver, …}``."""

    async def __call__(self, person: Person, replies: list[Reply]) -> None: ...


@dataclass(frozen=True, slots=True)
class RunOutcome:
    person_id: int
    status: str  # sent | empty | duplicate | skipped | no_delivery | failed
    period_key: str | None = None
    items: int = 0
    detail: str = ""


@dataclass(slots=True)
class RunSummary:
    subscriptions: int = 0
    due: int = 0
    counts: collections.Counter[str] = field(default_factory=collections.Counter)
    elapsed: float = 0.0

    @property
    def sent(self) -> int:
        return self.counts["sent"]

    def line(self) -> str:
        parts = ", ".join(f"{n} {status}" for status, n in sorted(self.counts.items()))
        return (
            f"{self.subscriptions} subscribed, {self.due} due: {parts or 'nothing to do'} "
            f"in {self.elapsed:.1f} s"
        )


Progress = Callable[[int], None]


class DigestRunner:
    def __init__(
        self,
        services: Services,
        builder: DigestBuilder,
        deliveries: dict[str, Delivery],
    ) -> None:
        self.services = services
        self.builder = builder
        self.deliveries = deliveries
        self._slots = asyncio.Semaphore(services.settings.digest_max_concurrency)
        # SQLite has one writer at a time and makes waiting connections sleep in growing
        # steps; queueing this process's digest writes in asyncio instead keeps a run fast.
        self._write_lock = asyncio.Lock() if services.db.sqlite else None

    @contextlib.asynccontextmanager
    async def _write(self) -> AsyncIterator[AsyncSession]:
        """A write transaction (serialised in-process on SQLite)."""
        if self._write_lock is None:
            async with self.services.db.session() as session:
                yield session
            return
        async with self._write_lock, self.services.db.session() as session:
            yield session

    @property
    def grace(self) -> float:
        return float(self.services.settings.digest_misfire_grace_seconds)

    # One person ------------------------------------------------------------------------
    async def run_person(
        self,
        person_id: int,
        schedule: Schedule,
        scheduled_for: dt.datetime,
        *,
        cache: SharedCache | None = None,
        prefetched: tuple[Prefetched | None, DigestSubscription | None] | None = None,
    ) -> RunOutcome:
        """``prefetched`` (from :meth:`run_due`, which reads a page of people at once) is the
        person's row set and subscription as of the page; without it they are read here."""
        async with self._slots:
            try:
                result = await self._run(
                    person_id, schedule, scheduled_for, cache or SharedCache(), prefetched
                )
            except Exception:
                metrics.digest_sent("error")
                raise
        metrics.digest_sent(result.status)
        return result

    async def _run(
        self,
        person_id: int,
        schedule: Schedule,
        scheduled_for: dt.datetime,
        cache: SharedCache,
        prefetched: tuple[Prefetched | None, DigestSubscription | None] | None = None,
    ) -> RunOutcome:
        services, settings = self.services, self.services.settings
        period = schedule.period_key(scheduled_for)
        outcome = functools.partial(RunOutcome, person_id, period_key=period)
        now = services.clock()
        subscription = last_sent = reader = None
        if prefetched is not None:
            found, subscription = prefetched
            person = found.person if found is not None else None
            if found is None or not found.allowed:
                subscription = None
            elif subscription is not None and found.person.platform in self.deliveries:
                last_sent, reader = found.last_sent, found.reader
        else:
            async with services.db.session() as session:
                person = await session.get(Person, person_id)
                if person is not None and await self._allowed(session, person_id):
                    subscription = await store.subscription(session, person_id)
                    if subscription is not None and person.platform in self.deliveries:
                        last_sent = await store.last_sent_at(session, person_id)
                        reader = await self.builder.load_reader(session, person, now)
        if person is None or subscription is None:
            return outcome("skipped", detail="not subscribed, no consent or forgotten")
        delivery = self.deliveries.get(person.platform)
        if delivery is None or reader is None:
            return outcome("no_delivery", detail=f"no delivery for {person.platform} here")
        async with self._write() as session:
            run_id = await store.claim_run(
                session,
                person_id,
                period,
                scheduled_for,
                now=now,
                stale_after=dt.timedelta(seconds=settings.digest_stale_claim_seconds),
            )
        if run_id is None:
            return outcome("duplicate", detail="already claimed for this period")
        since = schedule.window_start(scheduled_for, last_sent)
        try:
            draft = await self.builder.draft(
                services.db,
                person,
                now=now,
                since=since,
                consent_opt_out=services.engine.consent_opt_out,
                cache=cache,
                reader=reader,
            )
            if not draft.items and not settings.digest_send_empty:
                async with self._write() as session:
                    await store.finish_run(session, run_id, "empty", item_count=0)
                return outcome("empty")
            written, call = await self.write(draft)
            async with self._write() as session:
                if call is not None:
                    session.add(call)
                if not await self._allowed(session, person_id, subscribed=True):
                    await store.finish_run(session, run_id, "skipped", error="consent revoked")
                    return outcome("skipped", detail="consent revoked during the build")
                ids = await store.record_items(session, item_rows(draft.items, run_id, person_id))
                await store.finish_run(session, run_id, "delivering", item_count=len(ids))
            kept = [
                (item, blurb)
                for item, blurb in zip(draft.items, written.blurbs, strict=True)
                if item.candidate.key[:300] in ids
            ]
            draft.items = [i for i, _ in kept]
            written = compose.Written(written.intro, [b for _, b in kept], written.result)
            replies = compose.replies(
                draft,
                written,
                item_ids=ids,
                kind=ReplyKind.DM,
                channel_id=subscription.channel_id or None,
            )
        except Exception as exc:
            log.exception("digest for person %s (%s) could not be built", person_id, period)
            async with self._write() as session:
                await store.finish_run(session, run_id, "failed", error=repr(exc))
            return outcome("failed", detail=repr(exc))
        try:
            await delivery(person, replies)
        except Exception as exc:
            log.exception("digest for person %s (%s) could not be delivered", person_id, period)
            async with self._write() as session:
                await store.drop_run_items(session, run_id)
                await store.finish_run(session, run_id, "failed", error=repr(exc), item_count=0)
            return outcome("failed", detail=repr(exc))
        async with self._write() as session:
            await store.finish_run(session, run_id, "sent", sent_at=services.clock())
        return outcome("sent", items=len(draft.items))

    async def _prefetch_sources(self, people: list[Prefetched], cache: SharedCache) -> None:
        """Sources that read per person (e.g. open recommendations) load a page at once."""
        ids = [p.person.id for p in people if p.person.id is not None]
        for source in self.builder.sources:
            prefetch = getattr(source, "prefetch", None)
            if prefetch is not None and ids:
                await prefetch(self.services.db, ids, self.services.clock(), cache)

    async def _allowed(
        self, session: AsyncSession, person_id: int, *, subscribed: bool = False
    ) -> bool:
        consent = await session.get(Consent, person_id)
        if consent is None or not self.services.engine.may_learn(consent):
            return False
        return not subscribed or await store.subscription(session, person_id) is not None

    async def write(self, draft: DigestDraft) -> tuple[compose.Written, LLMCall | None]:
        """Model-written when a model is configured, plain otherwise or when it fails."""
        services = self.services
        if not services.llm.configured or not draft.items:
            return compose.plain(draft), None
        started = time.perf_counter()
        try:
            written = await compose.with_model(
                services.llm,
                services.renderer,
                draft,
                bot_name=services.settings.bot_name,
                max_tokens=services.settings.llm_max_tokens,
            )
        except Exception as exc:
            log.warning(
                "digest model step failed for person %s, sending the plain digest: %r",
                draft.reader.person.id,
                exc,
            )
            call = LLMCall.of(
                None,
                purpose="digest",
                backend=services.llm.name,
                person_id=draft.reader.person.id,
                error=repr(exc),
                latency_ms=(time.perf_counter() - started) * 1000,
            )
            return compose.plain(draft), call
        result = written.result
        assert result is not None
        call = LLMCall.of(
            result,
            purpose="digest",
            backend=services.llm.name,
            person_id=draft.reader.person.id,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
        return written, call

    # Everyone due ----------------------------------------------------------------------
    async def run_due(
        self, *, now: dt.datetime | None = None, progress: Progress | None = None
    ) -> RunSummary:
        """Every subscription whose latest fire time is within the grace period and has no
        run yet. Safe to run from several workers or from cron next to the scheduler."""
        started = time.perf_counter()
        now = now or self.services.clock()
        cache = SharedCache()
        settings = self.services.settings
        summary = RunSummary()
        async with self.services.db.session() as session:
            summary.subscriptions = await store.count_subscriptions(session)
        after = 0
        while True:
            async with self.services.db.session() as session:
                page = await store.subscriptions_after(session, after, settings.digest_batch_size)
            if not page:
                break
            after = page[-1].person_id
            due: list[tuple[int, Schedule, dt.datetime]] = []
            for subscription in page:
                try:
                    schedule = store.schedule_of(subscription)
                except ValueError:
                    log.warning("bad digest subscription of person %s", subscription.person_id)
                    continue
                fire = schedule.last_fire(now)
                if fire is not None and within_grace(fire, now, self.grace):
                    due.append((subscription.person_id, schedule, fire))
            async with self.services.db.session() as session:
                done = await store.existing_periods(
                    session, [(pid, s.period_key(f)) for pid, s, f in due]
                )
            todo = [(pid, s, f) for pid, s, f in due if (pid, s.period_key(f)) not in done]
            summary.due += len(todo)
            # The page's readers in a handful of queries rather than ~10 per person.
            ids = [pid for pid, _, _ in todo]
            async with self.services.db.session() as session:
                found = await load_page(session, self.services.engine, ids, self.services.clock())
            await self._prefetch_sources([p for p in found.values() if p.allowed], cache)
            subscriptions = {s.person_id: s for s in page}
            results = await asyncio.gather(
                *(
                    self.run_person(
                        pid, s, f, cache=cache, prefetched=(found.get(pid), subscriptions[pid])
                    )
                    for pid, s, f in todo
                ),
                return_exceptions=True,
            )
            for (pid, _, _), result in zip(todo, results, strict=True):
                if isinstance(result, BaseException):
                    log.error("digest run for person %s failed: %r", pid, result)
                    summary.counts["error"] += 1
                else:
                    summary.counts[result.status] += 1
            if progress is not None:
                progress(len(page))
        summary.elapsed = time.perf_counter() - started
        return summary


def item_rows(items: list[Ranked], run_id: int, person_id: int) -> list[dict[str, object]]:
    now = dt.datetime.now(dt.UTC)
    return [
        {
            "person_id": person_id,
            "run_id": run_id,
            "item_key": item.candidate.key[:300],
            "fingerprint": fingerprint(item.candidate),
            "position": position,
            "title": item.candidate.title[:300],
            "url": (item.candidate.url or None) and item.candidate.url[:1000],
            "source": item.candidate.source[:32],
            "topics": list(item.candidate.topics)[:10],
            "reason": item.why[:300],
            "score": round(item.score, 6),
            "feedback": 0,
            "created_at": now,
        }
        for position, item in enumerate(items, start=1)
    ]
