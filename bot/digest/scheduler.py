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
processing of due jobs (:class:`OffLoopScheduler`), which it runs on the event loop, and
the part of its shutdown that waits for the job store (:meth:`OffLoopScheduler.stop`). On
PostgreSQL every job store round trip is bounded by ``database_timeout_seconds``
(profiles/db_timeout.py), so a query sent into a hang frees its thread within it.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import URL, Engine

from bot.digest.schedule import Schedule
from profiles import db_timeout
from profiles.db import is_sqlite, server_options, sync_url

log = logging.getLogger(__name__)

JOB_FUNC = "bot.digest.scheduler:digest_job"
JOB_PREFIX = "digest:"
JOBS_TABLE = "apscheduler_jobs"
# How long stopping the scheduler waits for the job store's part of its shutdown, which
# needs the job store's lock: a query in a worker thread holds it, which with PostgreSQL
# hanging lets go only after the database timeout (and a connection's).
STOP_WAIT_SECONDS = 1.0

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

    def shutdown(self, wait: bool = True) -> None:
        """Cancels the jobs' tasks on the event loop, wherever the scheduler's shutdown runs
        (in a worker thread: :meth:`OffLoopScheduler.stop`); asyncio's tasks are not to be
        touched from another thread."""
        loop = self._eventloop
        if _running_loop() is loop:
            super().shutdown(wait)
            return
        with contextlib.suppress(RuntimeError):  # the loop closed: none of its tasks is left
            loop.call_soon_threadsafe(super().shutdown, wait)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class OffLoopScheduler(AsyncIOScheduler):
    """APScheduler's asyncio scheduler with its processing of due jobs — queries of the
    synchronous job store — in a worker thread, one at a time, rather than on the event loop.

    Why: with PostgreSQL hanging (a stopped server, a network dropping packets), the job
    store's query waited on the event loop's thread and froze the whole process — every
    reply, heartbeat and probe — until the database thawed (an 8 s hang stalled the loop
    8.15 s), whatever bound the bot's own connections have (profiles/db_timeout.py)."""

    _eventloop: Any  # AsyncIOScheduler's: its loop, None once shut down
    _processing: asyncio.Future[float | None] | None = None
    _again = False
    stopping = False
    _shutdown_done: asyncio.Future[None] | None = None

    @run_in_event_loop
    def wakeup(self) -> None:
        if self.stopping:
            return
        self._stop_timer()
        if self._processing is not None:  # the running one is followed by another
            self._again = True
            return
        self._processing = self._eventloop.run_in_executor(None, self._process_jobs)
        self._processing.add_done_callback(self._processed)

    def _process_jobs(self) -> float | None:
        if self.stopping:  # stopped while this waited for its thread
            return None
        wait_seconds: float | None = super()._process_jobs()
        return wait_seconds

    def _processed(self, processing: asyncio.Future[float | None]) -> None:
        self._processing = None
        if processing.cancelled() or not self.running or self.stopping:
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

    async def stop(self, within: float) -> bool:
        """Shut down without waiting on the event loop for the job store: False if its part
        of the shutdown had not finished ``within`` seconds (it finishes in its thread).

        Why: APScheduler's shutdown takes the job store's lock, which the thread looking
        for due jobs holds during its query; with PostgreSQL hanging, a stop (SIGTERM) froze
        the event loop until the database thawed. Now no wake-up or processing starts any
        more, the jobs' tasks are cancelled here, on the loop, at once (as APScheduler's
        shutdown cancels them), and the rest — the lock, disposing of the job store's engine
        — goes to a worker thread, freed within the database timeout (module docstring)."""
        self.stopping = True
        self._stop_timer()
        for executor in list(self._executors.values()):
            executor.shutdown(wait=False)
        # BaseScheduler's: AsyncIOScheduler's own runs it back on the event loop.
        shutdown = asyncio.ensure_future(asyncio.to_thread(BaseScheduler.shutdown, self, False))
        shutdown.add_done_callback(self._shut_down)
        self._shutdown_done = shutdown
        done, _ = await asyncio.wait({shutdown}, timeout=within)
        return bool(done)

    def _shut_down(self, shutdown: asyncio.Future[None]) -> None:
        """What AsyncIOScheduler's shutdown does after BaseScheduler's, on the loop."""
        self._eventloop = None
        if not shutdown.cancelled() and (failure := shutdown.exception()) is not None:
            log.error("digest scheduler shutdown failed: %s", failure)


def _engine(database_url: str | URL, timeout: float) -> Engine:
    """The job store's engine. NullPool: job changes are rare, and no connection outlives
    its use. On PostgreSQL every round trip is bounded by ``timeout``, as the bot's own
    (profiles/db_timeout.py): before, a job store query sent into a hang waited for the
    thaw, holding its thread and the scheduler's lock."""
    url = sync_url(database_url)
    if is_sqlite(url):
        connect_args: dict[str, Any] = {"check_same_thread": False, "timeout": 30}
        return create_engine(url, poolclass=pool.NullPool, connect_args=connect_args)
    connect_args = {
        **db_timeout.libpq_args(url.query, timeout),
        "options": server_options(url, timeout),
    }
    engine = create_engine(url, poolclass=pool.NullPool, connect_args=connect_args)
    db_timeout.bound_sync_connections(engine, timeout)
    return engine


class DigestScheduler:
    def __init__(
        self,
        database_url: str | URL,
        *,
        misfire_grace_seconds: int,
        timeout: float = db_timeout.DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        """``timeout``: ``database_timeout_seconds``, the bound of each job store round
        trip on PostgreSQL."""
        self.engine = _engine(database_url, timeout)
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
        return bool(self.scheduler.running) and not self.scheduler.stopping

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
        """Returns within :data:`STOP_WAIT_SECONDS` even with the database hanging
        (:meth:`OffLoopScheduler.stop`). A digest job still running is cancelled, as
        APScheduler's shutdown always cancelled it (the digest service first lets the pages
        under way finish: DigestService.aclose); a digest whose claim was written but not
        its sending is taken over by a later fire once the claim is stale
        (bot/digest/runner.py)."""
        global _handler
        if self.running and not await self.scheduler.stop(STOP_WAIT_SECONDS):
            log.warning(
                "digest scheduler stopped; its job store is still waiting for the database,"
                " and lets go within database_timeout_seconds"
            )
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
