"""The digest feature wired to the shared :class:`~bot.services.Services`: hooks, scheduling,
firing, preview.

A feature (bot/features.py), registered by the composition root (bot/app.py);
``digests_for(services)`` returns it (registering the default one if nothing did). It acts on:

* **observe**: records channel messages of consented authors (``channel_activity``);
* **delete_person_data** (``/forget``, consent revocation): the job goes, the subscription
  goes and the explicit ``digest`` preference is reset, so a revoked or forgotten person gets
  nothing and has no job left; a failure is reported to the person's /forget;
* **erase**: other readers' digest items quoting a forgotten person are redacted;
* **on_preference_changed**: a change of ``digest`` or ``timezone`` re-derives the
  subscription and reschedules the job.

bot/lifecycle.py calls these once the change that triggered them has committed
(``Services.after_commit``); rescheduling still runs as a tracked background task
(:meth:`DigestService.after_event`) so a slow job store never delays a reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.digest import compose, store
from bot.digest.batcher import FireBatcher
from bot.digest.builder import DigestBuilder
from bot.digest.cache import SharedCache
from bot.digest.collaborative import WorkspaceSimilarity
from bot.digest.identity import clear_caches
from bot.digest.runner import Delivery, DigestRunner, Due, Progress, RunOutcome, RunSummary
from bot.digest.schedule import Schedule, parse_preference, within_grace
from bot.digest.scheduler import DigestScheduler, person_of
from bot.digest.sources import DigestSource, default_sources
from bot.events import MessageEvent, Reply, ReplyKind, Surface
from bot.features import FeatureBase
from bot.services import Services
from profiles.models import Person
from profiles.ranking import Ranker
from profiles.signals import MessageSignals, clean_text

log = logging.getLogger(__name__)

FEATURE = "digest"
FIRE_CACHE_SECONDS = 300.0
# A reconcile applies what it read, reads again, and applies again if the two differ (another
# worker's, begun earlier, finished later), at most this many more times
RECONCILE_ROUNDS = 3


class NotAllowed(Exception):
    """The person has not allowed personalisation; the message says so plainly."""


class DigestService(FeatureBase):
    """The digest feature (bot/features.py): observes channel activity, follows preference
    changes, erases quotes of a forgotten person and drops their job."""

    name = FEATURE
    def __init__(
        self,
        services: Services,
        *,
        sources: Sequence[DigestSource] | None = None,
        deliveries: dict[str, Delivery] | None = None,
        similarity: WorkspaceSimilarity | None = None,
        ranker: Ranker | None = None,
    ) -> None:
        settings = services.settings
        self.services = services
        self.sources: list[DigestSource] = (
            list(sources)
            if sources is not None
            else default_sources(
                extractor=services.extractor,
                feed_timeout=settings.digest_feed_timeout_seconds,
                feed_max_bytes=settings.digest_feed_max_bytes,
                feed_cache_seconds=settings.digest_feed_cache_seconds,
                allow_private_feeds=settings.digest_feeds_allow_private_hosts,
            )
        )
        self.similarity = similarity or WorkspaceSimilarity(services.engine)
        self.builder = DigestBuilder(
            engine=services.engine,
            sources=self.sources,
            ranker=ranker,
            similarity=self.similarity,
            items=settings.digest_items,
            cold_start_interests=settings.digest_cold_start_interests,
            also_new=settings.digest_also_new_items,
        )
        self.deliveries: dict[str, Delivery] = dict(deliveries or {})
        self.runner = DigestRunner(services, self.builder, self.deliveries)
        self.batcher = FireBatcher(
            self._run_page,
            window=settings.digest_fire_window_ms / 1000,
            size=settings.digest_batch_size,
        )
        self._scheduler: DigestScheduler | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self._reconciling = _OneAtATime()
        self._fire_caches: dict[dt.datetime, tuple[float, SharedCache]] = {}
        self._next_prune = 0.0

    # Wiring ----------------------------------------------------------------------------
    def delivery_for(self, platform: str) -> Delivery | None:
        """How a digest reaches a person of ``platform``: a delivery given to :func:`install`
        (tests, benchmarks), else the adapter's outbox (bot/outbox.py), which every adapter
        opens with ``services.open_outbox``."""
        return self.runner.delivery_for(platform)

    async def start(self, *, process_jobs: bool | None = None, sync_jobs: bool = True) -> None:
        """Start firing jobs in this process (``digest_scheduler_enabled`` by default) and
        make the job store match the subscriptions table."""
        if process_jobs is None:
            process_jobs = self.services.settings.digest_scheduler_enabled
        scheduler = await self.jobs()
        await scheduler.start(self.fire, process_jobs=process_jobs)
        if sync_jobs:
            adopted = await self.adopt_preferences()
            added, removed = await self.sync_jobs()
            if added or removed or adopted:
                log.info(
                    "digest jobs: %d added, %d removed, %d subscriptions from preferences",
                    added,
                    removed,
                    adopted,
                )

    async def aclose(self) -> None:
        await self.batcher.aclose()
        await self.settle()
        if self._scheduler is not None:
            await self._scheduler.shutdown()
            self._scheduler = None

    async def jobs(self) -> DigestScheduler:
        """The job store, started paused on first use so any process can change jobs."""
        if self._scheduler is None:
            settings = self.services.settings
            self._scheduler = DigestScheduler(
                settings.database_url,
                misfire_grace_seconds=settings.digest_misfire_grace_seconds,
                timeout=settings.database_timeout_seconds,
            )
            await self._scheduler.start(None, process_jobs=False)
        return self._scheduler

    # Running after the current event -----------------------------------------------------
    def after_event(self, person: Person, work: Callable[[], Awaitable[object]]) -> None:
        """Run ``work`` in the background, tracked (``settle`` waits for it)."""

        async def run() -> None:
            try:
                await work()
            except Exception:
                log.exception("digest follow-up for person %s failed", person.id)

        task = asyncio.create_task(run())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def settle(self) -> None:
        """Wait for follow-up work (tests, shutdown)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    # Hooks -----------------------------------------------------------------------------
    async def close(self) -> None:
        """Closing the core settles follow-up work; the scheduler stops in :meth:`aclose`,
        which ``tailorbot run`` calls."""
        await self.settle()

    async def erase(self, session: AsyncSession, person: Person) -> None:
        """/forget reaches copies: other readers' digest items quoting this person are
        redacted in the same transaction (in-memory copies go after it commits:
        :meth:`delete_person_data`)."""
        if person.id is None:
            return
        redacted = await store.redact_quotes_of(session, person.id)
        if redacted:
            log.info("redacted %d digest item(s) quoting person %s", redacted, person.id)

    async def delete_person_data(self, person: Person) -> None:
        """/forget and consent revocation, once committed: in-memory caches that may hold
        their words (conversation threads, title keys and tokens, the workspace's model of
        who is interested in what) dropped — before the commit, a digest built meanwhile
        could fill them again from rows still there — and no job, no subscription, no
        digest preference. Keyed by the person alone and idempotent: the replay of a
        /forget whose COMMIT took effect unseen runs it for them (bot/lifecycle.py).
        Awaited, not in the background, so a failure reaches the person's /forget reply."""
        self._fire_caches.clear()
        self.similarity.forget(person)
        clear_caches()
        person_id = person.id
        if person_id is None:
            return
        scheduler = await self.jobs()
        await scheduler.unschedule(person_id)
        async with self.services.db.session() as session:
            await store.drop_subscription(session, person_id)
            await self.services.engine.reset_preferences(session, person_id, "digest")

    async def on_preference_changed(self, person: Person, key: str | None) -> None:
        if key is not None and key not in ("digest", "timezone"):
            return
        person_id = person.id
        if person_id is not None:
            self.after_event(person, lambda: self.reconcile(person_id))

    async def observe(
        self,
        session: AsyncSession,
        person: Person,
        event: MessageEvent,
        signals: MessageSignals,
    ) -> None:
        """A consented author's channel message: keep a short excerpt and its topics for
        other people's digests. Chit-chat with no topic outside a thread is not kept."""
        if person.id is None or event.surface == Surface.DM:
            return
        topics = [t for t, _ in signals.topics]
        if not topics and not event.thread_id:
            return
        await store.record_activity(
            session,
            person_id=person.id,
            platform=event.person.platform,
            workspace=event.person.workspace,
            channel_id=event.channel_id,
            private=event.channel_private,
            message_id=event.message_id or event.event_id,
            thread_id=event.thread_id,
            excerpt=clean_text(event.text, max_chars=300),
            topics=topics[:5],
            at=event.occurred_at,
        )

    # Scheduling ------------------------------------------------------------------------
    async def reconcile(self, person_id: int) -> Schedule | None:
        """Make the subscription and the job follow the person's committed preferences and
        consent; returns the schedule in force (None: no digest). One person's reconciles run
        one at a time, each reading what was committed when it starts: two quick changes
        ("/prefs set timezone", then "/digest subscribe") each start one, and the first, having
        read "no digest", removed the job the second had just made when its job store was
        slow (CI's shifted pass)."""
        async with self._reconciling.hold(person_id):
            applied = await self._reconcile(person_id)
            # The lock is this process's: another worker's reconcile that read an older
            # state may have applied it after this one did. Read again once applied; a
            # difference is applied again, and the last reconcile to finish, in whichever
            # process, leaves what is committed in force.
            for _ in range(RECONCILE_ROUNDS):
                async with self.services.db.session() as session:
                    person = await session.get(Person, person_id)
                    wanted = await self._wanted(session, person) if person else None
                if wanted == applied:
                    break
                applied = await self._reconcile(person_id)
            return applied

    async def _wanted(self, session: AsyncSession, person: Person) -> Schedule | None:
        """The digest the person's committed preferences and consent ask for (None: none)."""
        engine = self.services.engine
        if not await engine.answered_learning(session, person):
            return None
        assert person.id is not None
        prefs = await engine.preferences(session, person.id, self.services.clock())
        return parse_preference(prefs.get("digest"), prefs.get("timezone"))

    async def _reconcile(self, person_id: int) -> Schedule | None:
        async with self.services.db.session() as session:
            person = await session.get(Person, person_id)
            schedule: Schedule | None = None
            if person is not None:
                schedule = await self._wanted(session, person)
                current = await store.subscription(session, person_id)
                if schedule is None:
                    if current is not None:
                        await store.drop_subscription(session, person_id)
                else:
                    await store.save_subscription(
                        session,
                        person_id,
                        schedule,
                        platform=person.platform,
                        channel_id=current.channel_id if current else "",
                        now=self.services.clock(),
                    )
        scheduler = await self.jobs()
        if schedule is None:
            await scheduler.unschedule(person_id)
        else:
            await scheduler.schedule(person_id, schedule)
        return schedule

    async def adopt_preferences(self) -> int:
        """People whose ``digest`` preference asks for a digest but who have no subscription
        (set while no digest service was installed in that process) get one now."""
        async with self.services.db.session() as session:
            wanting = await store.digest_preferences_without_subscription(session)
        for person_id in wanting:
            await self.reconcile(person_id)
        return len(wanting)

    async def prune(self) -> int:
        """Drop channel activity older than ``digest_activity_days`` (at most once an hour)."""
        now = time.monotonic()
        if now < self._next_prune:
            return 0
        self._next_prune = now + 3600
        days = self.services.settings.digest_activity_days
        horizon = self.services.clock() - dt.timedelta(days=days)
        async with self.services.db.session() as session:
            removed = await store.prune_activity(session, horizon)
        if removed:
            log.info("digest: pruned %d channel activity rows older than %s", removed, horizon)
        return removed

    async def sync_jobs(self) -> tuple[int, int]:
        """Jobs for every subscription with the right trigger, none for anyone else."""
        scheduler = await self.jobs()
        async with self.services.db.session() as session:
            wanted: dict[int, Schedule] = {}
            after = 0
            while page := await store.subscriptions_after(session, after, 5000):
                after = page[-1].person_id
                for subscription in page:
                    try:
                        wanted[subscription.person_id] = store.schedule_of(subscription)
                    except ValueError:
                        log.warning("bad digest subscription of person %s", subscription.person_id)
        jobs = await asyncio.to_thread(scheduler.scheduler.get_jobs)
        have: dict[int, str] = {}
        for job in jobs:
            pid = person_of(job)
            if pid is not None:
                have[pid] = f"{job.trigger} {job.trigger.timezone}"
        added = removed = 0
        for pid, schedule in wanted.items():
            trigger = schedule.trigger()
            if have.get(pid) != f"{trigger} {trigger.timezone}":
                await scheduler.schedule(pid, schedule)
                added += 1
        for pid in set(have) - set(wanted):
            await scheduler.unschedule(pid)
            removed += 1
        return added, removed

    # Firing ----------------------------------------------------------------------------
    async def fire(self, person_id: int) -> RunOutcome | None:
        """What a person's job runs. Re-checks everything from the database: a job left
        behind for someone who unsubscribed, revoked or was forgotten removes itself.
        Scheduled digests are patient (profiles/db_timeout.py): their sources read over a
        workspace, and nobody waits for them (``/digest preview`` is a reply: bounded)."""
        try:
            with self.services.db.patient():
                await self.prune()
                return await self._fire(person_id)
        except Exception:
            log.exception("digest job for person %s failed", person_id)
            return None

    async def _fire(self, person_id: int) -> RunOutcome | None:
        now = self.services.clock()
        engine = self.services.engine
        async with self.services.db.session() as session:
            person = await session.get(Person, person_id)
            subscription = await store.subscription(session, person_id)
            allowed = person is not None and await engine.answered_learning(session, person)
            timezone = None
            if person is not None and subscription is not None and allowed:
                timezone = (await engine.preferences(session, person_id, now)).get("timezone")
        if person is None or subscription is None or not allowed:
            log.info("digest job for person %s is obsolete: removing it", person_id)
            if person is not None and subscription is not None:
                await self.reconcile(person_id)  # drops the subscription too
            else:
                await (await self.jobs()).unschedule(person_id)
            return None
        schedule = store.schedule_of(subscription)
        if timezone and timezone != schedule.timezone:
            # The timezone changed without a preference hook (e.g. the platform reported a
            # new one): move the job to the new local time before deciding anything.
            schedule = await self.reconcile(person_id) or schedule
        fire_time = schedule.last_fire(now)
        grace = self.services.settings.digest_misfire_grace_seconds
        if fire_time is None or not within_grace(fire_time, now, grace):
            return RunOutcome(person_id, "not_due")
        return await self.batcher.submit(Due(person_id, schedule, fire_time))

    async def _run_page(self, dues: Sequence[Due], fire_time: dt.datetime) -> list[RunOutcome]:
        with self.services.db.patient():  # as fire(), in the batcher's task
            return await self.runner.run_batch(dues, cache=self._fire_cache(fire_time))

    def _fire_cache(self, fire_time: dt.datetime) -> SharedCache:
        """Digests scheduled for the same instant share workspace data."""
        now = time.monotonic()
        self._fire_caches = {k: v for k, v in self._fire_caches.items() if v[0] > now}
        entry = self._fire_caches.get(fire_time)
        if entry is None:
            entry = (now + FIRE_CACHE_SECONDS, SharedCache())
            self._fire_caches[fire_time] = entry
        return entry[1]

    async def run_due(
        self, *, now: dt.datetime | None = None, progress: Progress | None = None
    ) -> RunSummary:
        with self.services.db.patient():  # as fire()
            await self.prune()
            return await self.runner.run_due(now=now, progress=progress)

    # Preview ---------------------------------------------------------------------------
    async def preview(
        self,
        person: Person,
        *,
        use_model: bool = True,
        kind: ReplyKind = ReplyKind.EPHEMERAL,
        locale: str = "",
    ) -> list[Reply]:
        """Build a digest now, privately, marking nothing as sent. Raises NotAllowed.
        ``locale``: that of the command asking for it (the bot's texts follow it)."""
        assert person.id is not None
        services = self.services
        now = services.clock()
        reader = await self.builder.reader(services.db, person, now)
        if locale:
            reader = dataclasses.replace(reader, locale=locale)
        if not reader.learning:
            raise NotAllowed(NOT_ALLOWED)
        async with services.db.session() as session:
            subscription = await store.subscription(session, person.id)
            last_sent = await store.last_sent_at(session, person.id)
        schedule = (
            store.schedule_of(subscription)
            if subscription is not None
            else Schedule("daily", "08:00", reader.timezone)
        )
        since = schedule.window_start(now, last_sent)
        draft = await self.builder.draft(
            services.db,
            person,
            now=now,
            since=since,
            reader=reader,
        )
        if use_model:
            written, call = await self.runner.write(draft)
            if call is not None:
                call.purpose = "digest_preview"
                async with services.db.session() as session:
                    session.add(call)
        else:
            written = compose.plain(draft)
        return compose.replies(draft, written, item_ids=None, kind=kind, preview=True)


NOT_ALLOWED = (
    "A digest is personalised: I pick items from what I learned about you. I need your "
    "consent to learn first (/consent grant), then /digest subscribe."
)


def digests_for(services: Services) -> DigestService:
    """The digest service of these services, created and installed on first use."""
    service = services.features.get(FEATURE)
    if isinstance(service, DigestService):
        return service
    service = DigestService(services)
    services.features.register(service)
    return service


def install(
    services: Services,
    *,
    sources: Sequence[DigestSource] | None = None,
    deliveries: dict[str, Delivery] | None = None,
    similarity: WorkspaceSimilarity | None = None,
) -> DigestService:
    """Create the digest service with custom parts (tests, embedders, benchmarks).
    Must be called before anything used ``digests_for(services)``."""
    if isinstance(services.features.get(FEATURE), DigestService):
        raise RuntimeError("these services already have a digest service")
    service = DigestService(
        services, sources=sources, deliveries=deliveries, similarity=similarity
    )
    services.features.register(service)
    return service


class _OneAtATime:
    """A lock per key, dropped once nobody holds or waits for it (keys are people: one lock
    for each would grow with everyone who ever changed a digest preference)."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: int) -> AsyncIterator[None]:
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._locks[key]
