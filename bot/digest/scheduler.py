"""APScheduler 3 for digests: one cron job per subscribed person, persisted in the database.

* Jobs live in ``apscheduler_jobs`` (APScheduler's SQLAlchemyJobStore, created by the
  migrations) on the bot's own database, so they survive restarts and every worker sees them.
* Job id ``digest:<person id>``; a :class:`~apscheduler.triggers.cron.CronTrigger` in the
  person's timezone (zoneinfo handles daylight saving); ``coalesce=True`` folds a backlog of
  missed fires into one; ``misfire_grace_time`` (``digest_misfire_grace_seconds``) is how late
  a missed digest may still go out; ``replace_existing=True`` makes (re)scheduling idempotent.
* The job calls :func:`digest_job` by its textual reference with only the person id, so
  nothing but an integer is pickled. Sending once is not the scheduler's job: several workers
  may fire the same job, and the ``digest_run`` table lets exactly one of them send.

The job store is synchronous (SQLAlchemy + pysqlite/psycopg), so job changes run in a worker
thread: on SQLite they may wait for a write lock held by the event loop's own transaction,
and waiting there must not block the loop that will release it. So does APScheduler's own
processing of due jobs (:class:`OffLoopScheduler`), which it runs on the event loop.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.job import Job
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler, run_in_event_loop
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import URL

from bot.digest.schedule import Schedule
from profiles.db import is_sqlite, sync_url

log = logging.getLogger(__name__)

JOB_FUNC = "bot.digest.scheduler:digest_job"
JOB_PREFIX = "digest:"
JOBS_TABLE = "apscheduler_jobs"

Handler = Callable[[int], Awaitable[object]]
# The process's digest handler. APScheduler persists a job as a reference to a module-level
# function, so the job reaches the running service through this one slot (one scheduler per
# process, as APScheduler itself assumes).
_handler: Handler | None = None


async def digest_job(person_id: int) -> None:
    """What every persisted digest job calls."""
    handler = _handler
    if handler is None:
        log.warning("digest job for person %s fired with no digest service running", person_id)
        return
    await handler(person_id)


def job_id(person_id: int) -> str:
    return f"{JOB_PREFIX}{person_id}"


def person_of(job: Job) -> int | None:
    if not job.id.startswith(JOB_PREFIX):
        return None
    try:
        return int(job.id.removeprefix(JOB_PREFIX))
    except ValueError:
        return None


def _outside_any_event(work: Callable[[], Any]) -> Any:
    """Run a change to the jobs in a context of its own. Why: APScheduler wakes its loop with
    ``call_soon_threadsafe``, which keeps the caller's context — a ``/digest subscribe``'s,
    event id included (bot/logs.py) — and every later wake-up and job run inherited it: the
    log named that command as the event of every digest sent afterwards (operations
    audit)."""
    return contextvars.Context().run(work)


class LoopExecutor(AsyncIOExecutor):
    """APScheduler's executor of coroutine jobs, handed jobs from :class:`OffLoopScheduler`'s
    worker thread: each job's task is created on the event loop, where asyncio wants it."""

    def _do_submit_job(self, job: Job, run_times: list[dt.datetime]) -> None:
        submit = super()._do_submit_job
        self._eventloop.call_soon_threadsafe(submit, job, run_times)


class OffLoopScheduler(AsyncIOScheduler):
    """APScheduler's asyncio scheduler with its processing of due jobs — queries of the
    synchronous job store — in a worker thread, one at a time, rather than on the event loop.

    Why: with PostgreSQL hanging (a stopped server, a network dropping packets), the job
    store's query waited on the event loop's thread and froze the whole process — every
    reply, heartbeat and probe — until the database thawed (an 8 s hang stalled the loop
    8.15 s), whatever bound the bot's own connections have (profiles/db_timeout.py)."""

    _processing: asyncio.Future[float | None] | None = None
    _again = False

    @run_in_event_loop
    def wakeup(self) -> None:
        self._stop_timer()
        if self._processing is not None:  # the running one is followed by another
            self._again = True
            return
        self._processing = self._eventloop.run_in_executor(None, self._process_jobs)
        self._processing.add_done_callback(self._processed)

    def _processed(self, processing: asyncio.Future[float | None]) -> None:
        self._processing = None
        if processing.cancelled() or not self.running:
            return
        if (failure := processing.exception()) is not None:
            log.error("digest jobs not processed: %s", failure)
            wait_seconds: float | None = self.jobstore_retry_interval
        else:
            wait_seconds = processing.result()
        if self._again:
            self._again = False
            self.wakeup()
        else:
            self._start_timer(wait_seconds)

    def _create_default_executor(self) -> LoopExecutor:
        return LoopExecutor()


class DigestScheduler:
    def __init__(self, database_url: str | URL, *, misfire_grace_seconds: int) -> None:
        connect_args: dict[str, Any] = {}
        if is_sqlite(database_url):
            connect_args = {"check_same_thread": False, "timeout": 30}
        # NullPool: job changes are rare, and no connection outlives its use.
        self.engine = create_engine(
            sync_url(database_url), poolclass=pool.NullPool, connect_args=connect_args
        )
        self.jobstore = SQLAlchemyJobStore(engine=self.engine, tablename=JOBS_TABLE)
        self.scheduler = OffLoopScheduler(
            jobstores={"default": self.jobstore},
            job_defaults={
                "coalesce": True,
                "misfire_grace_time": misfire_grace_seconds,
                "max_instances": 1,
            },
            timezone=dt.UTC,
        )
        self.processing = False

    @property
    def running(self) -> bool:
        return bool(self.scheduler.running)

    async def start(self, handler: Handler | None, *, process_jobs: bool) -> None:
        """``process_jobs=False`` starts paused: jobs can be added and removed (a chat worker
        handling /digest subscribe) but none fire in this process."""
        global _handler
        if not self.running:
            self.scheduler.start(paused=not process_jobs)
        elif process_jobs:
            self.scheduler.resume()
        self.processing = process_jobs
        if process_jobs and handler is not None:
            _handler = handler

    async def shutdown(self) -> None:
        global _handler
        if self.running:
            self.scheduler.shutdown(wait=False)
            # AsyncIOScheduler shuts down on the next loop iteration.
            for _ in range(3):
                await asyncio.sleep(0)
        if self.processing:
            _handler = None
        self.processing = False
        self.engine.dispose()

    async def schedule(self, person_id: int, schedule: Schedule) -> dt.datetime | None:
        """Create or replace the person's job; returns its next fire time."""

        def add() -> dt.datetime | None:
            job = self.scheduler.add_job(
                JOB_FUNC,
                trigger=schedule.trigger(),
                args=[person_id],
                id=job_id(person_id),
                name=f"digest for person {person_id} ({schedule.preference} {schedule.timezone})",
                replace_existing=True,
            )
            return self._next_run(job)

        return await asyncio.to_thread(_outside_any_event, add)

    async def unschedule(self, person_id: int) -> bool:
        def remove() -> bool:
            try:
                self.scheduler.remove_job(job_id(person_id))
            except JobLookupError:
                return False
            return True

        return await asyncio.to_thread(_outside_any_event, remove)

    async def job(self, person_id: int) -> Job | None:
        return await asyncio.to_thread(self.scheduler.get_job, job_id(person_id))

    async def scheduled_people(self) -> set[int]:
        jobs = await asyncio.to_thread(self.scheduler.get_jobs)
        return {pid for pid in (person_of(job) for job in jobs) if pid is not None}

    def _next_run(self, job: Job) -> dt.datetime | None:
        next_run: dt.datetime | None = getattr(job, "next_run_time", None)
        if next_run is None:  # paused-start scheduler: compute what the store holds
            next_run = job.trigger.get_next_fire_time(None, dt.datetime.now(dt.UTC))
        return next_run
