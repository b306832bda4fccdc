"""Running digests: one person (``run_person``) or everyone due (``run_due``), exactly once.

Both go through :meth:`DigestRunner.run_batch`, which handles a page of due people with a
handful of statements whatever the page's size:

1. the page's people, consent, subscriptions and readers are read with one ``IN`` query per
   table (:func:`bot.digest.readers.load_page`); a person who is gone, unsubscribed or has no
   consent is skipped, one whose platform no adapter here can deliver to is left unclaimed (a
   worker that can will send it);
2. every remaining (person, period) is **claimed** in ``digest_run`` in one statement,
   committed before anything else, so a second worker, a restart or a repeated fire finds it
   and stops;
3. each digest is built (sources → dedupe → rank) and written (model or plain) outside any
   transaction, at most ``digest_max_concurrency`` at once;
4. one transaction holds the page's people against a ``/forget`` before it writes (one
   forgotten during the build is skipped, the model call's numbers kept without them),
   re-checks consent (a revocation during the build wins), records every item and marks
   the runs ``delivering`` (or ``empty``/``skipped``/``failed``);
5. each digest goes out through its platform's :class:`Delivery`, again bounded;
6. one transaction marks them ``sent`` — or ``failed``, dropping their items so they can come
   back next time.

``run_due`` walks subscriptions in pages of ``digest_batch_size``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bot import metrics
from bot.digest import compose, store
from bot.digest.builder import DigestBuilder, DigestDraft, Reader
from bot.digest.cache import SharedCache
from bot.digest.identity import fingerprint
from bot.digest.readers import load_page
from bot.digest.schedule import Schedule, within_grace
from bot.digest.sources import DigestCandidate
from bot.events import Reply, ReplyKind
from profiles.models import Consent, DigestSubscription, LLMCall, Person
from profiles.privacy import hold_people_against_erasure
from profiles.ranking import Ranked

if TYPE_CHECKING:
    from bot.services import Services
    from profiles.engine import ProfileEngine

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


@dataclass(frozen=True, slots=True)
class Due:
    """A digest that should go out: whose, on which schedule, for which fire time."""

    person_id: int
    schedule: Schedule
    fire: dt.datetime

    @property
    def period(self) -> str:
        return self.schedule.period_key(self.fire)

    def outcome(self, status: str, *, items: int = 0, detail: str = "") -> RunOutcome:
        return RunOutcome(self.person_id, status, self.period, items, detail)


@dataclass(slots=True)
class _Job:
    """One claimed digest of a batch, as it moves through the steps."""

    due: Due
    person: Person
    subscription: DigestSubscription
    delivery: Delivery
    reader: Reader
    last_sent: dt.datetime | None
    run_id: int = 0
    draft: DigestDraft | None = None
    written: compose.Written | None = None
    call: LLMCall | None = None
    item_ids: dict[str, int] = field(default_factory=dict)
    replies: list[Reply] = field(default_factory=list)
    recorded: bool = False  # its run reached ``delivering``: a failure now drops its items
    outcome: RunOutcome | None = None
    error: str | None = None

    @property
    def items(self) -> list[Ranked]:
        return self.draft.items if self.draft is not None else []

    @property
    def delivering_failed(self) -> bool:
        return self.recorded and self.outcome is not None and self.outcome.status == "failed"

    def fail(self, exc: BaseException) -> None:
        self.outcome = self.due.outcome("failed", detail=repr(exc))
        self.error = repr(exc)

    def keep(self, recorded: dict[tuple[int, str], int]) -> None:
        """Only items actually recorded go out (another run may have sent one meanwhile)."""
        assert self.draft is not None and self.written is not None
        pid = self.due.person_id
        kept = [
            (item, blurb)
            for item, blurb in zip(self.draft.items, self.written.blurbs, strict=True)
            if (pid, item.candidate.key[:300]) in recorded
        ]
        self.item_ids = {
            item.candidate.key[:300]: recorded[(pid, item.candidate.key[:300])] for item, _ in kept
        }
        intro = self.written.intro
        if len(kept) < len(self.draft.items):
            # The intro was written for every item (a model's from their titles and
            # excerpts): one left out may quote someone forgotten since — the plain intro,
            # counting what goes out, says nothing of them.
            self.draft.items = [item for item, _ in kept]
            intro = compose.plain(self.draft).intro
        self.written = compose.Written(intro, [blurb for _, blurb in kept], self.written.result)

    def quotes(self) -> list[dict[str, int]]:
        """Who each recorded item quotes, besides this reader (whose items go with them)."""
        pid = self.due.person_id
        return [
            {"item_id": self.item_ids[item.candidate.key[:300]], "person_id": author}
            for item in self.items
            for author in quoted_in(item)
            if author != pid
        ]

    def end(self) -> store.RunEnd:
        """How the recording transaction leaves this run."""
        if self.outcome is None:
            self.recorded = True
            return store.RunEnd(self.run_id, "delivering", item_count=len(self.item_ids))
        status = self.outcome.status
        return store.RunEnd(
            self.run_id, status, error=self.error, item_count=0 if status != "skipped" else None
        )

    def compose(self) -> None:
        assert self.draft is not None and self.written is not None
        self.replies = compose.replies(
            self.draft,
            self.written,
            item_ids=self.item_ids,
            kind=ReplyKind.DM,
            channel_id=self.subscription.channel_id or None,
        )


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

    def delivery_for(self, platform: str) -> Delivery | None:
        """A delivery registered for ``platform``, else the adapter's outbox (bot/outbox.py)."""
        delivery = self.deliveries.get(platform)
        if delivery is None and (outbox := self.services.outboxes.get(platform)) is not None:
            delivery = outbox.send
        return delivery

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
    ) -> RunOutcome:
        """One digest: a batch of one (the same steps, the same statements)."""
        due = Due(person_id, schedule, scheduled_for)
        (outcome,) = await self.run_batch([due], cache=cache or SharedCache())
        return outcome

    # A page of people ------------------------------------------------------------------
    async def run_batch(self, dues: Sequence[Due], *, cache: SharedCache) -> list[RunOutcome]:
        """The digests of ``dues`` (distinct people), in the steps the module describes;
        outcomes in the order of ``dues``."""
        services = self.services
        ids = [d.person_id for d in dues]
        async with services.db.session() as session:
            found = await load_page(session, services.engine, ids, services.clock())
            subscriptions = await store.subscriptions_of(session, ids)
        outcomes: dict[int, RunOutcome] = {}
        jobs: list[_Job] = []
        for due in dues:
            row, subscription = found.get(due.person_id), subscriptions.get(due.person_id)
            if row is None or not row.allowed or subscription is None:
                outcomes[due.person_id] = due.outcome(
                    "skipped", detail="not subscribed, no consent or forgotten"
                )
                continue
            delivery = self.delivery_for(row.person.platform)
            if delivery is None or row.reader is None:
                outcomes[due.person_id] = due.outcome(
                    "no_delivery", detail=f"no delivery for {row.person.platform} here"
                )
                continue
            jobs.append(_Job(due, row.person, subscription, delivery, row.reader, row.last_sent))
        jobs = await self._claim(jobs, outcomes)
        await self._prefetch_sources([j.person for j in jobs], cache)
        await asyncio.gather(*(self._build(job, cache) for job in jobs))
        await self._record(jobs)
        await asyncio.gather(*(self._deliver(job) for job in jobs if job.outcome is None))
        await self._finish(jobs)
        for job in jobs:
            assert job.outcome is not None
            outcomes[job.due.person_id] = job.outcome
        results = [outcomes[d.person_id] for d in dues]
        for result in results:
            metrics.digest_sent(result.status)
        return results

    async def _claim(self, jobs: list[_Job], outcomes: dict[int, RunOutcome]) -> list[_Job]:
        if not jobs:
            return []
        settings = self.services.settings
        async with self._write() as session:
            # Held first, as the recording holds them: the claims' foreign keys would
            # otherwise lock the people one by one, waiting for one a forget holds while
            # holding the next (see profiles.privacy._people_rows); whoever is gone is skipped.
            present = await hold_people_against_erasure(session, [j.due.person_id for j in jobs])
            owned = await store.claim_runs(
                session,
                [
                    store.RunClaim(j.due.person_id, j.due.period, j.due.fire)
                    for j in jobs
                    if j.due.person_id in present
                ],
                now=self.services.clock(),
                stale_after=dt.timedelta(seconds=settings.digest_stale_claim_seconds),
            )
        claimed = []
        for job in jobs:
            run_id = owned.get(job.due.person_id)
            if job.due.person_id not in present:
                outcomes[job.due.person_id] = job.due.outcome(
                    "skipped", detail="forgotten before the build"
                )
            elif run_id is None:
                outcomes[job.due.person_id] = job.due.outcome(
                    "duplicate", detail="already claimed for this period"
                )
            else:
                job.run_id = run_id
                claimed.append(job)
        return claimed

    async def _build(self, job: _Job, cache: SharedCache) -> None:
        """Draft and write one digest, outside any transaction; a failure fails only it."""
        services = self.services
        since = job.due.schedule.window_start(job.due.fire, job.last_sent)
        async with self._slots:
            try:
                job.draft = await self.builder.draft(
                    services.db,
                    job.person,
                    now=services.clock(),
                    since=since,
                    cache=cache,
                    reader=job.reader,
                )
                if not job.draft.items and not services.settings.digest_send_empty:
                    job.outcome = job.due.outcome("empty")
                    return
                job.written, job.call = await self.write(job.draft)
            except Exception as exc:
                log.exception(
                    "digest for person %s (%s) could not be built",
                    job.due.person_id,
                    job.due.period,
                )
                job.fail(exc)

    async def _record(self, jobs: list[_Job]) -> None:
        """One transaction: consent re-checked, items recorded, runs marked."""
        if not jobs:
            return
        engine = self.services.engine
        building = [j for j in jobs if j.outcome is None]
        try:
            async with self._write() as session:
                # Before any write: the page's people held against a /forget (PostgreSQL),
                # and whoever was forgotten during the build skipped — a row of theirs would
                # fail the whole page's transaction on the foreign key.
                # The people the page's items quote are held too: an item quoting someone
                # forgotten since it was gathered is dropped (their /forget could not find
                # it: it was not written yet), and one whose author forgets now waits.
                quoted = {a for j in building for item in j.items for a in quoted_in(item)}
                present = await hold_people_against_erasure(
                    session, quoted.union(j.due.person_id for j in jobs)
                )
                ids = [j.due.person_id for j in building if j.due.person_id in present]
                consents = await store.consents_of(session, ids)
                subscribed = await store.subscriptions_of(session, ids)
                anonymous: set[int] = set()
                for job in building:
                    gone = await _gone_during_the_build(
                        engine, session, job, present, consents, subscribed
                    )
                    if gone:
                        job.outcome = job.due.outcome("skipped", detail=f"{gone} during the build")
                        job.error = gone
                        anonymous.add(job.due.person_id)
                for job in jobs:
                    if job.call is not None:
                        # A call's numbers are kept; whose it was only while they are there
                        # and allow it (LLMCall's rule).
                        if job.due.person_id in anonymous or job.due.person_id not in present:
                            job.call.person_id = None
                        session.add(job.call)
                going = [j for j in building if j.outcome is None]
                now = self.services.clock()
                # the people quoted who still allow learning (the gathering read only those)
                quotable = await self.services.engine.still_learning(
                    session, {a for j in going for i in j.items for a in quoted_in(i)} & present
                )
                rows = [
                    row
                    for j in going
                    for row in item_rows(j.items, j.run_id, j.due.person_id, now, quotable)
                ]
                recorded = await store.record_items(session, rows)
                for job in going:
                    job.keep(recorded)
                await store.record_quotes(session, [q for j in going for q in j.quotes()])
                await store.finish_runs(session, [job.end() for job in jobs])
        except Exception as exc:
            log.exception("digests of %d people could not be recorded", len(building))
            for job in building:
                job.recorded = False
                job.fail(exc)
            await self._close(sent=[], failed=building)
            return
        for job in jobs:
            if job.outcome is None:
                try:
                    job.compose()
                except Exception as exc:
                    log.exception("digest for person %s could not be composed", job.person.id)
                    job.fail(exc)

    async def _deliver(self, job: _Job) -> None:
        async with self._slots:
            try:
                await job.delivery(job.person, job.replies)
            except Exception as exc:
                log.exception(
                    "digest for person %s (%s) could not be delivered",
                    job.due.person_id,
                    job.due.period,
                )
                job.fail(exc)
                return
        job.outcome = job.due.outcome("sent", items=len(job.items))

    async def _finish(self, jobs: list[_Job]) -> None:
        """One transaction: sent runs marked sent, failed ones lose their items."""
        sent = [j for j in jobs if j.outcome is not None and j.outcome.status == "sent"]
        failed = [j for j in jobs if j.delivering_failed]
        await self._close(sent=sent, failed=failed)

    async def _close(self, *, sent: Sequence[_Job], failed: Sequence[_Job]) -> None:
        """Mark runs sent, or failed with their items dropped (they may come back next time)."""
        if not failed and not sent:
            return
        at = self.services.clock()
        async with self._write() as session:
            await store.drop_run_items(session, [j.run_id for j in failed])
            await store.finish_runs(
                session,
                [store.RunEnd(j.run_id, "sent", sent_at=at) for j in sent]
                + [
                    store.RunEnd(j.run_id, "failed", error=j.error or "", item_count=0)
                    for j in failed
                ],
            )

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
                at=services.clock(),
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
            at=services.clock(),
            person_id=draft.reader.person.id,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
        return written, call

    async def _prefetch_sources(self, people: list[Person], cache: SharedCache) -> None:
        """Sources that read per person (e.g. open recommendations) load a page at once."""
        ids = [p.id for p in people if p.id is not None]
        await self.builder.prefetch_defaults(self.services.db, people, cache)
        for source in self.builder.sources:
            prefetch = getattr(source, "prefetch", None)
            if prefetch is not None and ids:
                await prefetch(self.services.db, ids, self.services.clock(), cache)

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
            due: list[Due] = []
            for subscription in page:
                try:
                    schedule = store.schedule_of(subscription)
                except ValueError:
                    log.warning("bad digest subscription of person %s", subscription.person_id)
                    continue
                fire = schedule.last_fire(now)
                if fire is not None and within_grace(fire, now, self.grace):
                    due.append(Due(subscription.person_id, schedule, fire))
            async with self.services.db.session() as session:
                done = await store.existing_periods(session, [(d.person_id, d.period) for d in due])
            todo = [d for d in due if (d.person_id, d.period) not in done]
            summary.due += len(todo)
            try:
                outcomes = await self.run_batch(todo, cache=cache)
            except Exception as exc:
                log.error("digest runs of %d people failed: %r", len(todo), exc, exc_info=exc)
                summary.counts["error"] += len(todo)
            else:
                summary.counts.update(o.status for o in outcomes)
            if progress is not None:
                progress(len(page))
        summary.elapsed = time.perf_counter() - started
        return summary


def quoted_in(item: Ranked) -> frozenset[int]:
    """The people whose words ``item`` carries (see :class:`DigestCandidate`)."""
    candidate = item.candidate
    return candidate.quoted if isinstance(candidate, DigestCandidate) else frozenset()


def item_rows(
    items: list[Ranked],
    run_id: int,
    person_id: int,
    now: dt.datetime,
    quotable: Collection[int],
) -> list[dict[str, object]]:
    """The rows of a run's items, without those quoting anyone not ``quotable`` (forgotten
    or revoked since they were gathered: such an item is not recorded, so not sent)."""
    items = [i for i in items if all(a in quotable for a in quoted_in(i))]
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


async def _gone_during_the_build(
    engine: ProfileEngine,
    session: AsyncSession,
    job: _Job,
    present: Collection[int],
    consents: Mapping[int, Consent],
    subscribed: Mapping[int, DigestSubscription],
) -> str:
    """Why a built digest may no longer be recorded, or ``""``: each cause named, since the
    run's outcome and its stored error are what an operator reads."""
    pid = job.due.person_id
    if pid not in present:
        return "forgotten"
    consent = consents.get(pid)
    if consent is None or not await engine.may_learn_in(session, job.person, consent):
        return "consent revoked"
    if pid not in subscribed:
        return "unsubscribed"
    return ""
