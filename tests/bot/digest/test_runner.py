"""Running digests on SQLite and PostgreSQL: exactly once per person and period, late but once
within the grace, never for a revoked person; a failing source or model does not lose it."""

import asyncio
import datetime as dt
import logging

import pytest
from sqlmodel import select

from bot.config import Settings
from bot.core import Core
from bot.digest import install, store
from bot.digest.cache import SharedCache
from bot.digest.runner import Due
from bot.digest.sources import DigestCandidate
from bot.events import ReplyKind
from bot.llm import NoModelBackend, ScriptedBackend
from profiles.db import Database
from profiles.models import DigestItem, DigestRun, LLMCall
from tests.bot.digest.conftest import (
    NOW,
    Clock,
    Recorder,
    consenting,
    interests,
    pause_the_page_once_held,
)
from tests.support.databases import truncate_all
from tests.support.helpers import command, count, forget_once_held, person
from tests.support.statements import statements_sent

UTC = dt.UTC


class StaticSource:
    name = "static"
    label = "test items"

    def __init__(self, *items: DigestCandidate) -> None:
        self.items = list(items)
        self.calls = 0

    async def candidates(self, person, context):
        self.calls += 1
        return list(self.items)


class BrokenSource:
    name = "broken"
    label = "a source that fails"

    async def candidates(self, person, context):
        raise RuntimeError("feed server exploded")


def item(key, title, *topics, hours_old=1.0):
    return DigestCandidate(
        key=key,
        title=title,
        topics=topics,
        published_at=NOW - dt.timedelta(hours=hours_old),
        source="static",
        detail="from a test",
    )


ITEMS = (
    item("a", "Rust async runtimes compared", "rust async"),
    item("b", "Sourdough starter troubleshooting", "sourdough bread"),
    item("c", "Distributed consensus with Raft", "distributed systems"),
)


async def subscribed(core, who, *topics, at="daily 08:00"):
    pid = await consenting(core, who)
    if topics:
        await interests(core, pid, *topics)
    cadence, _, time = at.partition(" ")
    replies = await core.handle(command(who, "digest", f"subscribe {cadence} {time}"))
    assert "Subscribed" in replies[0].text, replies[0].text
    return pid


async def test_a_due_digest_is_sent_once_with_reasons_and_buttons(make_digests, clock, recorder):
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)])
    alice = person("alice")
    pid = await subscribed(core, alice, "rust async", "distributed systems")
    await digests.settle()
    clock.set(NOW + dt.timedelta(minutes=1))

    first = await digests.fire(pid)
    again = await digests.fire(pid)

    assert (first.status, again.status) == ("sent", "duplicate")
    (replies,) = recorder.to("alice")
    assert replies[0].text.startswith("**Your digest · Thursday 26 November**")
    texts = [r.text for r in replies[1:]]
    assert "Rust async runtimes compared" in texts[0]
    assert "why: matches your interest in rust async" in texts[0]
    assert all(r.kind is ReplyKind.DM for r in replies)
    ids = [r.buttons[0].value for r in replies[1:]]
    assert [b.action_id for b in replies[1].buttons] == ["digest.more", "digest.less"]
    async with core.services.db.session() as session:
        rows = list(await session.exec(select(DigestItem).order_by(DigestItem.position)))
        (run,) = list(await session.exec(select(DigestRun)))
    assert [str(r.id) for r in rows] == ids
    assert (run.period_key, run.status, run.item_count) == ("2026-11-26", "sent", len(rows))

    # the next day, items already sent never come back
    clock.set(NOW + dt.timedelta(days=1, minutes=1))
    assert (await digests.fire(pid)).status == "empty"
    assert len(recorder.to("alice")) == 1


async def test_missed_run_is_sent_late_once_within_the_grace_then_skipped(
    make_digests, clock, recorder
):
    core, digests = await make_digests(
        sources=[StaticSource(*ITEMS)], digest_misfire_grace_seconds=3600
    )
    pid = await subscribed(core, person("alice"), "rust async")
    clock.set(NOW + dt.timedelta(minutes=50))  # the worker was down at 08:00
    assert (await digests.fire(pid)).status == "sent"
    clock.set(NOW + dt.timedelta(days=1, minutes=61))  # too late for the next one
    assert (await digests.fire(pid)).status == "not_due"
    summary = await digests.run_due()
    assert summary.due == 0
    assert len(recorder.to("alice")) == 1


async def test_the_repeated_autumn_hour_sends_once(make_digests, clock, recorder):
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)])
    pid = await subscribed(core, person("alice"), "rust async", at="daily 02:30")
    await core.handle(command(person("alice"), "prefs", "set timezone Europe/Paris"))
    await digests.settle()
    outcomes = []
    for fire_at in (
        dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        dt.datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    ):
        clock.set(fire_at)
        outcomes.append((await digests.fire(pid)).status)
    assert outcomes == ["sent", "duplicate"]
    assert len(recorder.to("alice")) == 1


async def test_run_due_is_batched_bounded_and_reports_progress(make_digests, clock, recorder):
    running = 0
    peak = 0

    async def slow_delivery(who, replies):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1
        await recorder(who, replies)

    core, digests = await make_digests(
        sources=[StaticSource(*ITEMS)], deliveries={"test": slow_delivery},
        digest_batch_size=3, digest_max_concurrency=2,
    )
    people = [person(f"u{i}") for i in range(7)]
    for who in people:
        await subscribed(core, who, "rust async")
    bob = person("bob")
    await subscribed(core, bob, "rust async", at="daily 18:00")  # not due at 08:10
    clock.set(NOW + dt.timedelta(minutes=10))

    pages = []
    summary = await digests.run_due(progress=pages.append)
    assert summary.sent == 7 and summary.due == 7 and summary.subscriptions == 8
    assert pages == [3, 3, 2]
    assert peak <= 2
    again = await digests.run_due()
    assert again.due == 0 and len(recorder.sent) == 7


async def test_empty_sources_send_nothing_but_record_the_period(make_digests, clock, recorder):
    core, digests = await make_digests(sources=[StaticSource()])
    pid = await subscribed(core, person("alice"), "rust async")
    assert (await digests.fire(pid)).status == "empty"
    assert recorder.sent == []
    assert await count(core, DigestRun, status="empty") == 1


async def test_empty_digest_note_when_configured(make_digests, clock, recorder):
    core, digests = await make_digests(sources=[StaticSource()], digest_send_empty=True)
    pid = await subscribed(core, person("alice"), "rust async")
    assert (await digests.fire(pid)).status == "sent"
    (replies,) = recorder.to("alice")
    assert "Nothing new for you since" in replies[0].text


async def test_a_failing_source_is_logged_and_the_others_still_go_out(
    make_digests, clock, recorder, caplog
):
    core, digests = await make_digests(sources=[BrokenSource(), StaticSource(*ITEMS)])
    pid = await subscribed(core, person("alice"), "rust async")
    with caplog.at_level(logging.ERROR, logger="bot.digest.builder"):
        outcome = await digests.fire(pid)
    assert outcome.status == "sent" and outcome.items == 3
    failures = [r for r in caplog.records if "digest source broken failed" in r.getMessage()]
    assert failures and "feed server exploded" in failures[0].getMessage()


async def test_failed_delivery_is_recorded_and_its_items_come_back(make_digests, clock):
    down = Recorder(fail=True)
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)], deliveries={"test": down})
    pid = await subscribed(core, person("alice"), "rust async")
    assert (await digests.fire(pid)).status == "failed"
    assert await count(core, DigestRun, status="failed") == 1
    assert await count(core, DigestItem) == 0
    down.fail = False
    clock.set(NOW + dt.timedelta(days=1))
    assert (await digests.fire(pid)).status == "sent"
    assert len(down.sent[0][1]) == 4  # intro + the same three items


async def test_no_delivery_for_the_platform_claims_nothing(make_digests, clock):
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)], deliveries={})
    pid = await subscribed(core, person("alice"), "rust async")
    assert (await digests.fire(pid)).status == "no_delivery"
    assert await count(core, DigestRun) == 0  # a worker that can deliver will send it


async def test_revoked_consent_gets_nothing_and_loses_the_job(make_digests, clock, recorder):
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)])
    alice = person("alice")
    pid = await subscribed(core, alice, "rust async")
    await digests.settle()
    assert await (await digests.jobs()).job(pid) is not None

    await core.handle(command(alice, "consent", "revoke"))
    await digests.settle()

    assert await (await digests.jobs()).job(pid) is None
    assert await digests.fire(pid) is None
    assert (await digests.run_due()).due == 0
    assert recorder.sent == []
    status = await core.handle(command(alice, "digest"))
    assert "not subscribed" in status[0].text
    prefs = await core.handle(command(alice, "prefs"))
    assert "digest: off" in prefs[0].text


async def test_model_writes_intro_and_blurbs_in_the_persons_language(make_digests, clock, recorder):
    answer = (
        '{"intro": "Bonjour Alice, voici trois lectures.", "blurbs": '
        '["Pour ton intérêt Rust.", "Le pain 🍞 du matin.", "Raft expliqué."]}'
    )
    llm = ScriptedBackend([answer])
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)], llm=llm)
    alice = person("alice")
    pid = await subscribed(core, alice, "rust async")
    await core.handle(command(alice, "prefs", "set language fr"))
    assert (await digests.fire(pid)).status == "sent"
    (replies,) = recorder.to("alice")
    assert "Bonjour Alice, voici trois lectures." in replies[0].text
    assert "jeudi 26 novembre" in replies[0].text
    assert "Pour ton intérêt Rust." in replies[1].text
    assert "🍞" not in replies[2].text  # emoji off by default: shaped like any reply
    (request,) = llm.requests
    assert '"fr"' in request.system and '"Rust async runtimes compared"' in request.system
    assert request.purpose == "digest"
    assert await count(core, LLMCall, purpose="digest", ok=True) == 1


async def test_model_failure_falls_back_to_the_plain_digest(make_digests, clock, recorder):
    llm = ScriptedBackend(["this is not json at all"])
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)], llm=llm)
    pid = await subscribed(core, person("alice"), "rust async")
    assert (await digests.fire(pid)).status == "sent"
    (replies,) = recorder.to("alice")
    assert "3 things picked for you since" in replies[0].text
    assert await count(core, LLMCall, purpose="digest", ok=False) == 1


@pytest.mark.postgres
async def test_two_workers_on_one_postgres_database_send_exactly_once(
    postgres_database, settings_for
):
    """Two cores with their own engines and services race every digest of a period."""
    truncate_all(postgres_database)
    clock = Clock(NOW + dt.timedelta(minutes=2))
    recorders = [Recorder(), Recorder()]
    cores, services = [], []
    for rec in recorders:
        settings: Settings = settings_for(postgres_database)
        core = Core(settings, Database(postgres_database), NoModelBackend(), clock=clock)
        cores.append(core)
        services.append(
            install(core.services, sources=[StaticSource(*ITEMS)], deliveries={"test": rec})
        )
    try:
        pids = [await subscribed(cores[0], person(f"p{i}"), "rust async") for i in range(12)]
        await services[0].settle()
        # every job fires on both workers at once, and both also run the due sweep
        await asyncio.gather(
            *(svc.fire(pid) for pid in pids for svc in services),
            services[0].run_due(),
            services[1].run_due(),
        )
        delivered = [who.id for rec in recorders for who, _ in rec.sent]
        assert sorted(delivered) == sorted(pids)
        assert all(recorders)  # both workers took part
        async with cores[0].services.db.session() as session:
            runs = list(await session.exec(select(DigestRun)))
        assert len(runs) == 12 and {r.status for r in runs} == {"sent"}
    finally:
        for svc in services:
            await svc.aclose()
        for core in cores:
            await core.services.db.dispose()


async def subscription_of(core, pid):
    async with core.services.db.session() as session:
        return await store.subscription(session, pid)


async def test_a_page_costs_the_same_statements_for_two_people_or_twelve(
    make_digests, clock, recorder
):
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)])
    people = [await subscribed(core, person(f"u{i}"), "rust async") for i in range(15)]
    await digests.settle()
    runner = digests.runner
    schedule = store.schedule_of(await subscription_of(core, people[0]))
    fire = schedule.last_fire(clock())

    async def page(ids):
        # Workspace counts the first page started run beside it: none may spill into the
        # next page's figure (on a slow machine one did).
        await core.services.engine.background.settle()
        with statements_sent(core.services.db) as seen:
            outcomes = await runner.run_batch(
                [Due(pid, schedule, fire) for pid in ids], cache=SharedCache()
            )
        assert [o.status for o in outcomes] == ["sent"] * len(ids)
        return len(seen)

    await page(people[:1])  # loads what a process loads once (experiments, similarity)
    small, large = await page(people[1:3]), await page(people[3:])
    assert small == large, (small, large)
    assert len(recorder.sent) == 15


async def test_digests_firing_together_run_as_one_page(make_digests, clock, recorder):
    # A full page goes at once; the long window only makes a slow machine wait for all six.
    core, digests = await make_digests(
        sources=[StaticSource(*ITEMS)], digest_batch_size=6, digest_fire_window_ms=5000
    )
    people = [await subscribed(core, person(f"u{i}"), "rust async") for i in range(6)]
    pages: list[int] = []
    run_batch = digests.runner.run_batch

    async def counting(dues, *, cache):
        pages.append(len(dues))
        return await run_batch(dues, cache=cache)

    digests.runner.run_batch = counting
    outcomes = await asyncio.gather(*(digests.fire(pid) for pid in people))
    assert [o.status for o in outcomes] == ["sent"] * 6
    assert [o.person_id for o in outcomes] == people
    assert pages == [6]
    assert {who.user_id for who, _ in recorder.sent} == {f"u{i}" for i in range(6)}


class CommandDuringBuild(StaticSource):
    """Its call for ``user_id`` is when that person says a command (``/forget confirm`` by
    default): the build runs outside any transaction, so the command commits between the
    claim and the record."""

    def __init__(
        self, user_id: str, *items: DigestCandidate, says: tuple[str, str] = ("forget", "confirm")
    ) -> None:
        super().__init__(*items)
        self.user_id = user_id
        self.says = says
        self.core: Core | None = None

    async def candidates(self, person, context):
        if person.user_id == self.user_id and self.core is not None:
            core, self.core = self.core, None
            (reply,) = await core.handle(command(person_ref(person), *self.says))
            assert reply.text, reply
        return await super().candidates(person, context)


def person_ref(row):
    return person(row.user_id, workspace=row.workspace, platform=row.platform)


BLURBS = '{"intro": "Here you go.", "blurbs": ["One.", "Two.", "Three."]}'


async def test_a_person_forgotten_during_the_build_costs_the_others_nothing(
    make_digests, clock, recorder
):
    # Before: the model call of the forgotten person's digest was recorded under their id in
    # the page's one recording transaction; the person was gone, the foreign key refused it,
    # and every digest of the page failed. Now the page holds its people first; whoever is
    # gone is skipped, their call kept without them, the others go out.
    source = CommandDuringBuild("alice", *ITEMS)
    llm = ScriptedBackend(lambda request: BLURBS)
    core, digests = await make_digests(sources=[source], llm=llm, digest_batch_size=10)
    alice, bob = person("alice"), person("bob")
    alice_id = await subscribed(core, alice, "rust async")
    await subscribed(core, bob, "rust async")
    source.core = core
    clock.set(NOW + dt.timedelta(minutes=10))

    summary = await digests.run_due()

    assert summary.due == 2 and summary.sent == 1
    assert [who.user_id for who, _ in recorder.sent] == ["bob"]
    assert await count(core, DigestRun, person_id=alice_id) == 0
    assert await count(core, DigestItem, person_id=alice_id) == 0
    assert await count(core, LLMCall, person_id=alice_id) == 0
    assert await count(core, LLMCall, purpose="digest") == 2  # alice's kept, without her
    assert await count(core, DigestRun, status="sent") == 1


@pytest.mark.parametrize(
    ("says", "why"),
    [
        (("forget", "confirm"), "forgotten"),
        (("consent", "revoke"), "consent revoked"),
        (("digest", "off"), "unsubscribed"),
    ],
)
async def test_a_digest_skipped_during_its_build_says_why(make_digests, clock, recorder, says, why):
    # Before: all three were reported (and stored on the run) as "consent revoked".
    source = CommandDuringBuild("alice", *ITEMS, says=says)
    core, digests = await make_digests(sources=[source])
    alice_id = await subscribed(core, person("alice"), "rust async")
    source.core = core

    outcome = await digests.fire(alice_id)

    assert source.core is None  # the command ran during the build
    assert (outcome.status, outcome.detail) == ("skipped", f"{why} during the build")
    assert recorder.sent == []
    if why != "forgotten":
        async with core.services.db.session() as session:
            (run,) = list(await session.exec(select(DigestRun)))
        assert (run.status, run.error) == ("skipped", why)


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_a_forget_while_a_page_is_recorded_waits_for_it(
    make_digests, make_core, clock, recorder, monkeypatch
):
    """PostgreSQL only: the page's recording transaction has held its people when alice's
    /forget starts through another worker. The forget waits for the page instead of
    deleting her run under it (which then failed the page on the foreign key), and deletes
    what the page wrote for her once it commits."""
    core, digests = await make_digests(sources=[StaticSource(*ITEMS)], digest_batch_size=10)
    alice, bob = person("alice"), person("bob")
    alice_id = await subscribed(core, alice, "rust async")
    await subscribed(core, bob, "rust async")
    clock.set(NOW + dt.timedelta(minutes=10))
    held, go_on = pause_the_page_once_held(monkeypatch)
    elsewhere = await make_core()
    running = asyncio.ensure_future(digests.run_due())
    forget = await forget_once_held(core, elsewhere, alice, held, go_on)

    summary = await running
    assert "Done." in (await forget)[0].text
    assert summary.due == 2 and summary.sent == 2 and not summary.counts["failed"]
    assert sorted(who.user_id for who, _ in recorder.sent) == ["alice", "bob"]  # in flight
    for table in (DigestRun, DigestItem):
        assert await count(core, table, person_id=alice_id) == 0
    assert await count(core, DigestRun, status="sent") == 1


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_a_page_never_waits_for_someone_a_forget_holds(make_digests, clock, recorder):
    """PostgreSQL only: a forget of several people (linked identities, a platform-wide
    deletion) holds them one after another; a page that waited for the first while holding
    the next was a deadlock. Someone a forget holds is skipped, as gone, and the page goes
    on (before: it waited here until the test's timeout)."""
    from profiles.privacy import hold_for_erasure

    core, digests = await make_digests(sources=[StaticSource(*ITEMS)], digest_batch_size=10)
    alice, bob = person("alice"), person("bob")
    alice_id = await subscribed(core, alice, "rust async")
    await subscribed(core, bob, "rust async")
    clock.set(NOW + dt.timedelta(minutes=10))
    async with core.services.db.session() as forgetting:
        await hold_for_erasure(forgetting, alice_id)  # a forget under way, not committed

        summary = await asyncio.wait_for(digests.run_due(), timeout=10)

        await forgetting.rollback()
    assert summary.due == 2 and summary.sent == 1 and summary.counts["skipped"] == 1
    assert [who.user_id for who, _ in recorder.sent] == ["bob"]
    assert await count(core, DigestRun, person_id=alice_id) == 0  # her next digest is due

