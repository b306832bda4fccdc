"""The APScheduler side: one persisted cron job per subscriber, in their timezone, surviving
restarts, following timezone changes, gone when the person unsubscribes, revokes or is
forgotten — and a real scheduler firing a job end to end."""

import asyncio
import datetime as dt
import threading
import time

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from bot.core import Core
from bot.digest import install
from bot.digest.schedule import Schedule
from bot.digest.scheduler import DigestScheduler, job_id
from bot.digest.service import DigestService
from bot.llm import NoModelBackend
from profiles.db import Database
from profiles.models import DigestSubscription, Preference, Source
from tests.bot.digest.conftest import NOW, consenting, interests
from tests.bot.digest.test_runner import ITEMS, StaticSource
from tests.support.helpers import command, person
from tests.support.tcp_proxy import ProxyInAThread

UTC = dt.UTC
HANG_SECONDS = 1.5


async def next_fire(digests, pid, after=NOW + dt.timedelta(minutes=1)):
    job = await (await digests.jobs()).job(pid)
    assert job is not None, "no job"
    return job.trigger.get_next_fire_time(None, after).astimezone(UTC)


async def test_subscribe_creates_a_job_in_the_persons_timezone(make_digests):
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)])
    alice = person("alice")
    pid = await consenting(core, alice)
    await core.handle(command(alice, "prefs", "set timezone Europe/Paris"))
    replies = await core.handle(command(alice, "digest", "subscribe weekdays 07:30"))
    await digests.settle()
    assert "on weekdays at 07:30 (Europe/Paris)" in replies[0].text
    assert "next digest: Friday 27 November, 07:30" in replies[0].text
    job = await (await digests.jobs()).job(pid)
    assert job.id == job_id(pid) and job.args == (pid,)
    assert str(job.trigger.timezone) == "Europe/Paris"
    assert await next_fire(digests, pid) == dt.datetime(2026, 11, 27, 6, 30, tzinfo=UTC)
    prefs = await core.handle(command(alice, "prefs"))
    assert "digest: weekdays 07:30 — set by you" in prefs[0].text


def slow_to_unschedule(scheduler: DigestScheduler) -> asyncio.Event:
    """``scheduler``'s unschedule made slow, as a job store under load is; the event is set
    once one has begun."""
    unschedule = scheduler.unschedule
    entered = asyncio.Event()

    async def slow_unschedule(person_id):
        entered.set()
        await asyncio.sleep(0.3)
        return await unschedule(person_id)

    scheduler.unschedule = slow_unschedule
    return entered


async def test_a_change_made_while_another_is_applied_wins(make_digests):
    """Each preference change reconciles the job in the background. A reconcile that had
    read "no digest" and was slow to unschedule (a job store under load: CI's shifted pass)
    removed the job the "/digest subscribe" after it had just made: the person was
    subscribed, and told so, and never got a digest. One person's reconciles now run one at
    a time, each reading what was committed when it starts."""
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)])
    alice = person("alice")
    pid = await consenting(core, alice)
    entered = slow_to_unschedule(await digests.jobs())
    first = asyncio.ensure_future(digests.reconcile(pid))  # reads: no digest
    await asyncio.wait_for(entered.wait(), 10)
    replies = await core.handle(command(alice, "digest", "subscribe weekdays 07:30"))
    assert "on weekdays at 07:30" in replies[0].text
    await first
    await digests.settle()
    assert await (await digests.jobs()).job(pid) is not None
    assert not digests._reconciling._locks  # a lock per person lives only while it is used


async def test_another_workers_older_reconcile_finishing_last_does_not_win(make_digests):
    """The lock above is one process's. With several workers, one whose reconcile read "no
    digest" and was slow to unschedule removed the job another had made since (the person
    subscribed, told so, no digest until a restart's sync). A reconcile now reads again once
    it has applied what it read, and applies what is committed if that differs."""
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)])
    alice = person("alice")
    pid = await consenting(core, alice)
    other_worker = DigestService(core.services, sources=[StaticSource(*ITEMS)])
    try:
        # its own scheduler on the shared job store
        entered = slow_to_unschedule(await other_worker.jobs())
        first = asyncio.ensure_future(other_worker.reconcile(pid))  # reads: no digest
        await asyncio.wait_for(entered.wait(), 10)
        replies = await core.handle(command(alice, "digest", "subscribe weekdays 07:30"))
        assert "on weekdays at 07:30" in replies[0].text
        await digests.settle()
        applied = await first
    finally:
        await other_worker.aclose()
    assert await (await digests.jobs()).job(pid) is not None
    async with core.services.db.session() as session:
        assert await session.get(DigestSubscription, pid) is not None
    assert applied == Schedule("weekdays", "07:30", "UTC")


async def test_timezone_change_reschedules(make_digests):
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)])
    alice = person("alice")
    pid = await consenting(core, alice)
    await core.handle(command(alice, "digest", "subscribe daily 08:00"))
    await digests.settle()
    assert await next_fire(digests, pid) == dt.datetime(2026, 11, 27, 8, 0, tzinfo=UTC)

    await core.handle(command(alice, "prefs", "set timezone America/New_York"))
    await digests.settle()

    assert await next_fire(digests, pid) == dt.datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
    async with core.services.db.session() as session:
        row = await session.get(DigestSubscription, pid)
    assert row.timezone == "America/New_York"


async def test_a_platform_timezone_change_is_caught_when_the_job_fires(
    make_digests, clock, recorder
):
    """The platform can report a new timezone without any preference hook: the old job fires
    at the old time, notices, moves itself and sends nothing early."""
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)])
    alice = person("alice")
    pid = await consenting(core, alice)
    await interests(core, pid, "rust async")
    await core.handle(command(alice, "digest", "subscribe daily 08:00"))
    await digests.settle()
    async with core.services.db.session() as session:
        await core.services.engine.set_preference(
            session, pid, "timezone", "Asia/Tokyo", source=Source.PLATFORM
        )
    clock.set(NOW + dt.timedelta(minutes=1))  # 08:01 UTC, the old job's time
    outcome = await digests.fire(pid)
    assert outcome.status == "not_due" and recorder.sent == []
    assert await next_fire(digests, pid) == dt.datetime(2026, 11, 26, 23, 0, tzinfo=UTC)


async def test_restart_between_scheduling_and_firing_keeps_the_job(
    make_digests, settings_for, database_url, clock, recorder
):
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)])
    alice = person("alice")
    pid = await consenting(core, alice)
    await interests(core, pid, "rust async")
    await core.handle(command(alice, "digest", "subscribe daily 08:00"))
    await digests.settle()
    await digests.aclose()  # the worker stops before 08:00

    restarted = Core(
        settings_for(database_url), Database(database_url), NoModelBackend(), clock=clock
    )
    again = install(
        restarted.services, sources=[StaticSource(*ITEMS)], deliveries={"test": recorder}
    )
    try:
        await again.start(process_jobs=False)  # a new scheduler on the same job store
        before = NOW - dt.timedelta(minutes=5)
        assert await next_fire(again, pid, before) == dt.datetime(2026, 11, 26, 8, tzinfo=UTC)
        clock.set(NOW + dt.timedelta(minutes=20))  # back up at 08:20, within the grace
        assert (await again.fire(pid)).status == "sent"
        assert (await digests.fire(pid)).status == "duplicate"  # the old worker, if it woke
        assert len(recorder.sent) == 1
    finally:
        await again.aclose()
        await restarted.services.db.dispose()


async def test_a_real_scheduler_fires_the_job(make_digests, clock, recorder):
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)])
    alice = person("alice")
    pid = await consenting(core, alice)
    await interests(core, pid, "rust async")
    await core.handle(command(alice, "digest", "subscribe daily 08:00"))
    await digests.settle()
    await digests.start(process_jobs=True)
    clock.set(NOW + dt.timedelta(seconds=30))
    scheduler = (await digests.jobs()).scheduler
    # make the persisted job due now (real time), as if 08:00 had come
    await asyncio.to_thread(scheduler.modify_job, job_id(pid), next_run_time=dt.datetime.now(UTC))
    scheduler.wakeup()
    for _ in range(200):
        if recorder.sent:
            break
        await asyncio.sleep(0.025)
    assert [who.id for who, _ in recorder.sent] == [pid]
    job = await (await digests.jobs()).job(pid)
    assert job.next_run_time > dt.datetime.now(UTC)  # rescheduled for the next day


async def test_unsubscribe_removes_the_job_and_subscription(make_digests):
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)])
    alice = person("alice")
    pid = await consenting(core, alice)
    await core.handle(command(alice, "digest", "subscribe"))
    await digests.settle()
    replies = await core.handle(command(alice, "digest", "unsubscribe"))
    await digests.settle()
    assert "Unsubscribed" in replies[0].text
    assert await (await digests.jobs()).job(pid) is None
    async with core.services.db.session() as session:
        assert await session.get(DigestSubscription, pid) is None
        prefs = list(await session.exec(select(Preference).where(Preference.key == "digest")))
    assert [(p.value, p.source) for p in prefs] == [("off", "explicit")]


async def test_jobs_are_rebuilt_from_subscriptions_at_start(make_digests):
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)])
    alice, bob = person("alice"), person("bob")
    alice_id = await consenting(core, alice)
    bob_id = await consenting(core, bob)
    await core.handle(command(alice, "digest", "subscribe daily 09:00"))
    await core.handle(command(bob, "digest", "subscribe"))
    await digests.settle()
    jobs = await digests.jobs()
    await jobs.unschedule(alice_id)  # lost (e.g. a crash before the job was written)
    async with core.services.db.session() as session:  # and bob unsubscribed while no worker ran
        await session.delete(await session.get(DigestSubscription, bob_id))
    assert await digests.sync_jobs() == (1, 1)
    assert await jobs.job(alice_id) is not None and await jobs.job(bob_id) is None


async def test_subscribing_needs_consent(make_digests):
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)])
    carol = person("carol")
    replies = await core.handle(command(carol, "digest", "subscribe"))
    await digests.settle()
    assert "I need your consent" in replies[0].text
    assert [b.action_id for b in replies[0].buttons] == ["consent.grant", "consent.decline"]
    async with core.services.db.session() as session:
        assert list(await session.exec(select(DigestSubscription))) == []
    assert await (await digests.jobs()).scheduled_people() == set()


async def test_start_adopts_digest_preferences_set_without_a_service(make_digests):
    """/prefs set digest … in a process where no digest service was installed leaves a
    preference but no subscription: the next start picks it up."""
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)])
    alice = person("alice")
    pid = await consenting(core, alice)
    async with core.services.db.session() as session:  # what /prefs did, without the hook
        await core.services.engine.set_preference(session, pid, "digest", "weekly 09:30")
    await digests.start(process_jobs=False)
    async with core.services.db.session() as session:
        row = await session.get(DigestSubscription, pid)
    assert (row.cadence, row.time) == ("weekly", "09:30")
    assert await next_fire(digests, pid) == dt.datetime(2026, 11, 30, 9, 30, tzinfo=UTC)


async def test_old_channel_activity_is_pruned(make_digests, clock):
    from profiles.models import ChannelActivity
    from tests.bot.digest.conftest import activity
    from tests.support.helpers import count

    core, digests = await make_digests(sources=[], digest_activity_days=30)
    pid = await consenting(core, person("alice"))
    await activity(
        core, pid, "ancient", ["history"], message_id="old", at=NOW - dt.timedelta(days=31)
    )
    await activity(core, pid, "recent", ["news"], message_id="new", at=NOW - dt.timedelta(days=2))
    await digests.run_due()
    assert await count(core, ChannelActivity) == 1


async def test_the_schedulers_own_work_is_not_logged_as_the_command_that_added_a_job(tmp_path):
    """Every wake-up and digest run after a /digest subscribe was logged with that
    command's event id (operations audit)."""
    import logging

    from bot import logs
    from bot.digest.schedule import Schedule
    from bot.digest.scheduler import DigestScheduler

    jobs = DigestScheduler(f"sqlite:///{tmp_path / 'jobs.db'}", misfire_grace_seconds=60)
    seen: list[tuple[str, str | None]] = []

    class Seen(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append((record.getMessage(), logs.current_event.get()))

    scheduler_log = logging.getLogger("apscheduler")
    handler, level = Seen(logging.DEBUG), scheduler_log.level
    scheduler_log.addHandler(handler)
    scheduler_log.setLevel(logging.DEBUG)
    try:
        await jobs.start(None, process_jobs=True)
        with logs.event_context("command:subscribe-7"):
            await jobs.schedule(7, Schedule("daily", "09:00", "UTC"))
        for _ in range(100):  # the scheduler wakes up for the new job
            if any("wakeup" in message for message, _ in seen):
                break
            await asyncio.sleep(0.01)
    finally:
        scheduler_log.removeHandler(handler)
        scheduler_log.setLevel(level)
        await jobs.shutdown()
    woken = [event for message, event in seen if "wakeup" in message]
    assert woken and all(event is None for event in woken), seen


async def test_the_next_digest_named_at_subscribe_is_one_that_will_be_sent(make_digests):
    """Today's digest was built (empty) at 07:00; subscribing at 08:00 for 09:00 said "next
    digest: today 09:00", and nothing came: a period gets one digest (operations audit)."""
    from profiles.models import DigestRun

    core, _digests = await make_digests(sources=[StaticSource(*ITEMS)])
    alice = person("alice")
    pid = await consenting(core, alice)
    async with core.services.db.session() as session:
        session.add(DigestRun(person_id=pid, period_key="2026-11-26", status="empty",
                              scheduled_for=NOW - dt.timedelta(hours=1)))
    [reply] = await core.handle(command(alice, "digest", "subscribe daily 09:00"))
    assert "next digest: Friday 27 November, 09:00" in reply.text


async def ticker(lags: list[float]) -> None:
    """How late the event loop wakes a 50 ms sleeper, appended to ``lags`` until cancelled:
    a loop frozen by a call waiting for the hung database shows as one long lag."""
    while True:
        started = time.monotonic()
        await asyncio.sleep(0.05)
        lags.append(time.monotonic() - started - 0.05)

@pytest.mark.postgres
async def test_a_hung_database_does_not_stall_the_event_loop_through_the_job_store(
    postgres_database,
):
    """APScheduler looked for due jobs on the event loop, with the synchronous job store: a
    PostgreSQL that hung then froze the whole process — every reply — until it thawed (the
    loop stood still as long as the hang). Now the loop goes on meanwhile, and the due job
    fires once the database answers."""
    proxied = ProxyInAThread(postgres_database)
    jobs = DigestScheduler(proxied.url, misfire_grace_seconds=60)
    fired = asyncio.Event()

    async def fire(person_id: int) -> None:
        fired.set()

    lags: list[float] = []
    ticking = asyncio.create_task(ticker(lags))
    thaw = threading.Timer(HANG_SECONDS, proxied.thaw)  # from a thread: the loop may be stuck
    try:
        await jobs.start(None, process_jobs=False)  # paused: nothing is processed yet
        await jobs.schedule(7, Schedule("daily", "09:00", "UTC"))
        await asyncio.to_thread(
            jobs.scheduler.modify_job, job_id(7), next_run_time=dt.datetime.now(UTC)
        )
        proxied.hang()
        thaw.start()
        await jobs.start(fire, process_jobs=True)  # resumed: due jobs are looked for now
        await asyncio.sleep(HANG_SECONDS + 0.2)
        assert max(lags) < HANG_SECONDS / 3
        async with asyncio.timeout(30):
            await fired.wait()
    finally:
        thaw.cancel()
        proxied.thaw()
        ticking.cancel()
        await jobs.shutdown()
        proxied.close()


# The job store's database timeout in the tests below (database_timeout_seconds' least).
JOB_STORE_BOUND = 1.0


class HangOnQuery:
    """Freezes the proxied database just before the job store's next statement is sent
    (from the worker thread that sends it); ``sent`` is set then."""

    def __init__(self, jobs: DigestScheduler, proxied: ProxyInAThread) -> None:
        self.proxied = proxied
        self.armed = False
        self.sent = threading.Event()
        event.listen(jobs.engine, "before_cursor_execute", self)

    def __call__(self, *_args: object) -> None:
        if self.armed:
            self.armed = False
            self.proxied.hang()
            self.sent.set()


async def due_job(jobs: DigestScheduler) -> None:
    """Person 7's job, due now, in a job store that processes nothing yet."""
    await jobs.start(None, process_jobs=False)
    await jobs.schedule(7, Schedule("daily", "09:00", "UTC"))
    await asyncio.to_thread(
        jobs.scheduler.modify_job, job_id(7), next_run_time=dt.datetime.now(UTC)
    )


@pytest.mark.postgres
async def test_a_job_store_query_sent_into_a_hung_database_fails_within_the_bound(
    postgres_database,
):
    """The job store's queries had no timeout: one sent into a hang held its worker thread,
    and the scheduler's lock with it, until the database thawed. They are bounded by
    database_timeout_seconds now, as the bot's own round trips."""
    proxied = ProxyInAThread(postgres_database)
    jobs = DigestScheduler(proxied.url, misfire_grace_seconds=60, timeout=JOB_STORE_BOUND)
    hang = HangOnQuery(jobs, proxied)
    thaw = threading.Timer(4 * JOB_STORE_BOUND, proxied.thaw)  # without the bound: at the thaw
    try:
        await due_job(jobs)
        hang.armed = True
        thaw.start()
        with pytest.raises(OperationalError, match="no answer from the database"):
            await jobs.job(7)
        assert thaw.is_alive()  # failed before the thaw
    finally:
        thaw.cancel()
        proxied.thaw()
        await jobs.shutdown()
        proxied.close()


@pytest.mark.postgres
async def test_stopping_while_the_job_store_waits_for_a_hung_database_returns_at_once(
    postgres_database,
):
    """A stop (SIGTERM) while the thread looking for due jobs waits for a hung database:
    APScheduler's shutdown took, on the event loop, the job store's lock that thread held,
    and the whole process froze until the database thawed. Now the loop goes on, the stop
    returns at once, and the shutdown finishes in its thread once the job store lets go."""
    proxied = ProxyInAThread(postgres_database)
    jobs = DigestScheduler(proxied.url, misfire_grace_seconds=60, timeout=JOB_STORE_BOUND)
    hang = HangOnQuery(jobs, proxied)
    lags: list[float] = []
    ticking = asyncio.create_task(ticker(lags))
    thaw = threading.Timer(4.0, proxied.thaw)  # from a thread: the loop may be stuck
    try:
        await due_job(jobs)
        hang.armed = True
        thaw.start()

        async def fire(person_id: int) -> None:
            pass

        await jobs.start(fire, process_jobs=True)  # due jobs are looked for: into the hang
        assert await asyncio.to_thread(hang.sent.wait, 10)
        lags.clear()
        started = time.monotonic()
        await jobs.shutdown()
        stopped = time.monotonic() - started
        await asyncio.sleep(0.1)  # the ticker runs on after the stop, too
        assert stopped < 2.0  # STOP_WAIT_SECONDS and room; before: until the thaw
        assert max(lags) < 0.5
        assert not jobs.running
        proxied.thaw()
        shutdown = jobs.scheduler._shutdown_done
        assert shutdown is not None
        async with asyncio.timeout(10):
            await shutdown  # the job store let go, and APScheduler's shutdown finished
    finally:
        thaw.cancel()
        proxied.thaw()
        ticking.cancel()
        await jobs.shutdown()
        proxied.close()
