"""A real PostgreSQL that *hangs* (a proxy that stops forwarding bytes in both directions and
keeps every socket open: a server stopped with SIGSTOP, a network dropping packets) is met
as one that refuses: the person is told promptly, the event waits in the outage journal,
and once the database thaws it is replayed and recorded, once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlmodel import select

from bot.core import DB_BUSY, DB_UNAVAILABLE, Core
from bot.digest import DigestService, install
from bot.digest.scheduler import DigestScheduler
from bot.events import PlatformContext, Surface
from profiles.db import Database, DatabaseUnavailable
from profiles.memory_models import Memory
from profiles.models import (
    Consent,
    ConversationTurn,
    LLMCall,
    Preference,
    ProcessedEvent,
    Signal,
)
from tests.bot.memory.test_links import link
from tests.bot.test_db_outage import TEXT, core_behind_proxy, delivering
from tests.support.helpers import (
    command,
    count,
    grant,
    message,
    person,
    person_id,
    replays_by_hand,
)
from tests.support.tcp_proxy import TcpProxy

# database_timeout_seconds here. Not less: on the shared test server a statement of an idle
# test took over a second now and then (another worker creating or dropping its database).
BOUND = 2.0
# The reply's bound on a busy machine: one round trip's BOUND, the pool's ping of an idle
# connection and opening a new one (libpq's connect_timeout, at least 2 s), with room to spare.
WITHIN = 3 * BOUND + 2.0
# Without the bound the reply waits for the thaw, which these tests never give first.
NEVER = 30.0
PEOPLE = 10  # writing together; before, they waited 2 s (a bound) per turn or attempt ahead


class HangAt:
    """Freezes the database (``proxy.hang()``) just before the first statement of the core's
    engine that starts with ``prefix`` is sent: the event is in flight. ``commit``: before
    the COMMIT of that statement's transaction instead. ``cut``: cuts the database off
    instead of freezing it (``proxy.cut()``): what is sent then never reaches the server."""

    def __init__(
        self, core: Core, proxy: TcpProxy, prefix: str, *, commit: bool = False,
        cut: bool = False,
    ) -> None:
        self.engine = core.services.db.engine.sync_engine
        self.proxy, self.prefix, self.commit, self.cut = proxy, prefix, commit, cut
        self.armed = False
        self.seen = False

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.armed and statement.lstrip().startswith(self.prefix):
            self.seen = True
            if not self.commit:
                self.hang()

    def committing(self, _conn: Any) -> None:
        if self.armed and self.seen:
            self.hang()

    def hang(self) -> None:
        self.armed = False
        if self.cut:
            self.proxy.cut()
        else:
            self.proxy.hang()

    def __enter__(self) -> HangAt:
        event.listen(self.engine, "before_cursor_execute", self)
        event.listen(self.engine, "commit", self.committing)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self)
        event.remove(self.engine, "commit", self.committing)


@pytest.fixture
def hung_core(postgres_database: str, settings_for: Any, tmp_path: Any) -> Iterator[Any]:
    """``core_behind_proxy`` with ``database_timeout_seconds=BOUND``, replays by hand."""

    def make(**overrides: Any) -> Any:
        overrides.setdefault("outage_journal", str(tmp_path / "j"))
        return core_behind_proxy(
            postgres_database, settings_for, database_timeout_seconds=BOUND, **overrides
        )

    yield make


async def all_told_at_once(core: Core, people: list[Any]) -> None:
    """``people`` write together into the hung database: each is told it is unavailable,
    all within one bound's time (not one bound for every turn or attempt ahead)."""
    started = time.monotonic()
    async with asyncio.timeout(NEVER):
        answers = await asyncio.gather(*(
            core.handle(message(who, f"{TEXT}, part {n}")) for n, who in enumerate(people)
        ))
    waited = time.monotonic() - started
    assert [[r.text for r in replies] for replies in answers] == [[DB_UNAVAILABLE]] * PEOPLE
    assert waited < WITHIN


@pytest.mark.postgres
async def test_a_dm_sent_into_a_hung_database_is_answered_at_once_and_replayed_at_the_thaw(
    hung_core,
):
    """Before, the reply waited until the database thawed (here: for ever)."""
    async with hung_core() as (proxy, core):
        replays_by_hand(core)
        delivered = delivering(core)
        alice = person()
        await grant(core, alice)
        asked = message(alice, TEXT)
        with HangAt(core, proxy, "SELECT") as hang:  # the DM's first read
            hang.armed = True
            started = time.monotonic()
            async with asyncio.timeout(NEVER):
                replies = await core.handle(asked)
            waited = time.monotonic() - started
        assert not hang.armed  # it hung in flight
        assert [r.text for r in replies] == [DB_UNAVAILABLE]
        assert waited < WITHIN
        assert core.backlog_size == 1
        proxy.thaw()
        assert await core.drain_backlog() == 1
        assert [r.purpose for r in delivered[0]] == ["chat"]
        await core.services.learner.flush()
        pid = await person_id(core, alice)
        assert await count(core, ConversationTurn, person_id=pid, role="user") == 1
        assert await count(core, ConversationTurn, person_id=pid, role="assistant") == 1
        assert await count(core, ProcessedEvent, event_id=asked.event_id) == 1
        later = await core.handle(message(alice, "and what about vacuum tuning?"))
        assert [r.purpose for r in later] == ["chat"]


@pytest.mark.postgres
@pytest.mark.parametrize("statement", ["INSERT INTO llm_call", "INSERT INTO conversation_turn"])
async def test_a_record_sent_into_a_hung_database_is_stored_once_after_the_thaw(
    hung_core, statement
):
    """The answer is given; its record's statement goes into the hang, and takes effect when
    the server thaws (the bytes were sent: a stopped server reads them when it resumes). The
    replay of the owed record finds what committed and stores the rest, once: two turns,
    one model call."""
    async with hung_core() as (proxy, core):
        replays_by_hand(core)
        alice = person()
        await grant(core, alice)
        core.services.learner.queue.max_delay = 60.0  # its batch waits for the flush below
        asked = message(alice, TEXT)
        with HangAt(core, proxy, statement) as hang:
            hang.armed = True
            started = time.monotonic()
            async with asyncio.timeout(NEVER):
                [reply] = await core.handle(asked)
            waited = time.monotonic() - started
        assert not hang.armed
        assert reply.purpose == "chat" and waited < WITHIN
        assert core.backlog_size == 1  # the record, owed
        proxy.thaw()
        assert await core.drain_backlog() == 1
        await core.services.learner.flush()
        pid = await person_id(core, alice)
        async with core.services.db.session() as session:
            turns = (await session.exec(
                select(ConversationTurn.role).where(ConversationTurn.person_id == pid)
            )).all()
        assert sorted(turns) == ["assistant", "user"]
        assert await count(core, LLMCall, person_id=pid) == 1


@pytest.mark.postgres
async def test_messages_behind_a_backlog_are_answered_at_once_while_the_database_hangs(
    hung_core,
):
    """A new event first replays the older ones waiting in the journal, one drain at a
    time. Against a refused database each attempt fails at once; against a hung one each
    takes the bound, and the people writing together waited one attempt per person ahead
    of them. An attempt that failed now answers everyone who waited for it."""
    async with hung_core() as (proxy, core):
        replays_by_hand(core)
        people = [person(f"user{n}") for n in range(PEOPLE)]
        for who in people:
            await grant(core, who)
        proxy.hang()
        async with asyncio.timeout(NEVER):
            first = await core.handle(message(people[0], TEXT))
        assert [r.text for r in first] == [DB_UNAVAILABLE] and core.backlog_size == 1
        await all_told_at_once(core, people)
        assert core.backlog_size == PEOPLE + 1
        proxy.thaw()
        assert await core.drain_backlog() == PEOPLE + 1
        assert await count(core, ConversationTurn, role="user") == PEOPLE + 1


async def until_claimed(core: Core, event_id: str) -> None:
    """Return once the claim that went into the hang has taken effect (the server thawed
    and read it): how the test knows it committed after all. Fails after 10 s."""
    try:
        async with asyncio.timeout(10):
            while True:
                if await count(core, ProcessedEvent, event_id=event_id):
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError("the claim sent into the hang never took effect") from None


@pytest.mark.postgres
@pytest.mark.parametrize("path", ["claim-on-driver", "claim-in-session"])
async def test_a_claim_sent_into_a_hung_database_that_commits_at_the_thaw_is_still_answered(
    hung_core, path
):
    """The claim goes into the hang with the sender's read (one statement in autocommit);
    or, for a sender with a new timezone, the claim committed with the read and what the
    session writes after it goes into the hang at its COMMIT. The person is told the
    database is unavailable; at the thaw the frozen server commits what it was sent. Its
    replay found the message claimed and dropped it as a duplicate: never answered, nothing
    learned (checked: nothing is delivered without the claim's time in the journal). It is
    answered, recorded and learned once now, and a platform retry afterwards is a
    duplicate."""
    steady = path == "claim-on-driver"
    async with hung_core() as (proxy, core):
        replays_by_hand(core)
        delivered = delivering(core)
        alice = person()
        await grant(core, alice)
        asked = message(
            alice, TEXT, context=PlatformContext(timezone=None if steady else "Asia/Tokyo")
        )
        prefix = "WITH claimed AS" if steady else "INSERT INTO preference"
        with HangAt(core, proxy, prefix, commit=not steady) as hang:
            hang.armed = True
            started = time.monotonic()
            async with asyncio.timeout(NEVER):
                replies = await core.handle(asked)
            waited = time.monotonic() - started
        assert not hang.armed
        assert [r.text for r in replies] == [DB_UNAVAILABLE] and waited < WITHIN
        assert core.backlog_size == 1
        proxy.thaw()
        await until_claimed(core, asked.event_id)  # the claim took effect at the thaw
        assert await core.drain_backlog() == 1
        assert [[r.purpose for r in replies] for replies in delivered] == [["chat"]]
        await core.services.learner.flush()
        pid = await person_id(core, alice)
        assert await count(core, ConversationTurn, person_id=pid, role="user") == 1
        assert await count(core, ConversationTurn, person_id=pid, role="assistant") == 1
        learned = await count(core, Signal, event_id=asked.event_id)
        assert learned > 0
        assert len(core.services.llm.requests) == 1  # type: ignore[attr-defined]
        assert await core.handle(asked) == []  # a platform retry
        await core.services.learner.flush()
        assert await count(core, Signal, event_id=asked.event_id) == learned
        assert await count(core, ProcessedEvent, event_id=asked.event_id) == 1



@pytest.mark.postgres
async def test_a_message_whose_replay_goes_into_the_hang_again_is_answered_once_it_is_back(
    hung_core,
):
    """The database flaps: it hangs (the DM is kept), thaws, and hangs again while the DM
    is replayed — just as the replay's claim is sent, which the server commits when it
    thaws. The drain only stopped and left the entry as it was, so the next replay found the
    claim and dropped the DM as a duplicate: never answered (review). The entry now keeps
    that claim's time: answered, recorded and learned once when the database is back."""
    async with hung_core() as (proxy, core):
        replays_by_hand(core)
        delivered = delivering(core)
        alice = person()
        await grant(core, alice)
        asked = message(alice, TEXT)
        proxy.hang()
        async with asyncio.timeout(NEVER):
            replies = await core.handle(asked)
        assert [r.text for r in replies] == [DB_UNAVAILABLE] and core.backlog_size == 1
        proxy.thaw()
        # a steady sender's claim straight to the driver with the read, in autocommit
        with HangAt(core, proxy, "WITH claimed AS") as hang:
            hang.armed = True
            async with asyncio.timeout(NEVER):
                assert await core.drain_backlog() == 0
        assert not hang.armed and core.backlog_size == 1
        assert delivered == []
        proxy.thaw()
        await until_claimed(core, asked.event_id)  # the replay's claim took effect
        assert await core.drain_backlog() == 1
        assert [[r.purpose for r in replies] for replies in delivered] == [["chat"]]
        assert await core.drain_backlog() == 0 and core.backlog_size == 0
        await core.services.learner.flush()
        pid = await person_id(core, alice)
        assert await count(core, ConversationTurn, person_id=pid, role="user") == 1
        assert await count(core, ConversationTurn, person_id=pid, role="assistant") == 1
        assert await count(core, Signal, event_id=asked.event_id) > 0
        assert len(core.services.llm.requests) == 1  # type: ignore[attr-defined]


async def memories_of(core: Core, who: Any) -> list[str]:
    async with core.services.db.session() as session:
        return list((await session.exec(
            select(Memory.text).where(Memory.person_id == await person_id(core, who))
            .order_by(Memory.id)  # type: ignore[arg-type]
        )).all())


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("export", ""),
        ("prefs", "set tone casual"),
        ("memory", "add I'm vegetarian"),
        ("memory", "remove 1"),
    ],
)
async def test_a_command_whose_commit_goes_into_the_hang_is_answered_once_after_the_thaw(
    hung_core, name, args
):
    """The command's COMMIT goes into the hang, and takes effect when the server thaws. Its
    replay found its claim and dropped it as a duplicate: never answered — /export's file
    never made (review). The replay that finds its own claim now answers it, running it
    again only where that applies nothing twice: /export makes its file, /prefs set and
    /memory add say what they did, once; /memory remove 1, which would remove the memory
    now first, is not run again and says so."""
    async with hung_core() as (proxy, core):
        replays_by_hand(core)
        delivered = delivering(core)
        alice = person()
        await grant(core, alice)
        for fact in ("I live in Lyon", "I have a cat"):
            await core.handle(command(alice, "memory", f"add {fact}"))
        asked = command(alice, name, args)
        with HangAt(core, proxy, "INSERT INTO processed_event", commit=True) as hang:
            hang.armed = True
            async with asyncio.timeout(NEVER):
                replies = await core.handle(asked)
        assert not hang.armed
        assert [r.text for r in replies] == [DB_UNAVAILABLE] and core.backlog_size == 1
        proxy.thaw()
        await until_claimed(core, asked.event_id)  # it took effect at the thaw
        assert await core.drain_backlog() == 1
        [[reply]] = delivered
        if name == "export":
            assert reply.purpose == "export" and reply.attachment is not None
            exported = json.loads(reply.attachment[1])
            assert len(exported["tables"]["memory"]) == 2
        elif name == "prefs":
            assert reply.text.startswith("Saved: tone = casual")
            pid = await person_id(core, alice)
            assert await count(core, Preference, person_id=pid, key="tone") == 1
        elif args.startswith("add"):
            assert reply.text.startswith("Got it, I'll remember: “I'm vegetarian”")
            assert await memories_of(core, alice) == ["I live in Lyon", "I have a cat",
                                                      "I'm vegetarian"]
        else:
            assert "“/memory remove 1”" in reply.text and "/memory shows" in reply.text
            assert await memories_of(core, alice) == ["I have a cat"]  # one removed, once
        assert await core.drain_backlog() == 0 and core.backlog_size == 0
        assert await core.handle(asked) == []  # a platform retry afterwards: a duplicate


@pytest.mark.postgres
@pytest.mark.parametrize("lost", [False, True], ids=["commit-at-thaw", "commit-lost"])
async def test_a_forget_whose_replay_meets_the_outage_is_done_and_answered_once_it_is_back(
    hung_core, lost
):
    """A /forget kept during an outage removes its person's waiting events when it is
    replayed — its own entry with them — before its transaction commits. When the database
    failed again at that COMMIT, the drain only stopped, and the /forget was gone: never
    answered, and, its COMMIT lost (``lost``: the connection cut), nothing erased (review).
    It is kept again, and done and answered once the database is back; at the thaw (the
    COMMIT took effect) its replay erases what is left, the person made anew."""
    async with hung_core() as (proxy, core):
        replays_by_hand(core)
        delivered = delivering(core)
        alice = person()
        await grant(core, alice)  # their person and consent rows to erase
        forget = command(alice, "forget", "confirm")
        proxy.hang()
        async with asyncio.timeout(NEVER):
            replies = await core.handle(forget)
        assert [r.text for r in replies] == [DB_UNAVAILABLE] and core.backlog_size == 1
        proxy.thaw()
        with HangAt(core, proxy, "DELETE FROM person", commit=True, cut=lost) as hang:
            hang.armed = True
            async with asyncio.timeout(NEVER):
                assert await core.drain_backlog() == 0
        assert not hang.armed and core.backlog_size == 1  # kept again
        assert delivered == []
        if lost:
            await proxy.start()
            assert await person_id(core, alice) is not None  # nothing was erased
        else:
            proxy.thaw()
        assert await core.drain_backlog() == 1
        [[reply]] = delivered
        assert reply.text.startswith("Done. I deleted everything about you")
        assert await person_id(core, alice) is None
        assert await count(core, Consent) == 0 and await count(core, ProcessedEvent) == 0
        assert core.backlog_size == 0


async def until_erased(core: Core, who: Any) -> None:
    """Return once the erasure whose COMMIT went into the hang has taken effect (the server
    thawed and read it). Fails after 10 s."""
    try:
        async with asyncio.timeout(10):
            while True:
                if await person_id(core, who) is None:
                    return
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError("the erasure sent into the hang never took effect") from None


async def digests_reached_directly(core: Core, postgres_database: str) -> DigestService:
    """The digest service, its job store reached without the proxy: APScheduler creates its
    table at start on the event loop's thread, where the proxy that would carry it runs
    (the loop would wait for itself)."""
    digests = install(core.services, sources=[])
    jobs = DigestScheduler(postgres_database, misfire_grace_seconds=60, timeout=BOUND)
    await jobs.start(None, process_jobs=False)
    digests._scheduler = jobs
    return digests


@pytest.mark.postgres
@pytest.mark.parametrize("every", [False, True], ids=["forget", "forget-all-linked"])
async def test_a_forget_that_took_effect_at_the_thaw_leaves_nothing_outside_the_tables(
    hung_core, postgres_database, every
):
    """The /forget's COMMIT goes into the hang and takes effect when the server thaws; what
    its features do after the commit (the digest's scheduled job, a reply binding kept in
    memory) never ran. Its replay was a new /forget of the person made anew: it did that
    work for the new person's id, and answered with the new person's row count. The old
    person's job store row stayed, and so did their binding (review). Now the replay does
    that work for everyone the first run erased — a linked identity too — and says it is
    done without a count it cannot know."""
    async with hung_core() as (proxy, core):
        replays_by_hand(core)
        delivered = delivering(core)
        digests = await digests_reached_directly(core, postgres_database)
        try:
            alice, other = person(), person(workspace="W2")
            people = [alice, other] if every else [alice]
            for who in people:
                await grant(core, who)
                await core.handle(command(who, "digest", "subscribe daily 08:00"))
            if every:
                await link(core, alice, other)
            await digests.settle()
            pids = [await person_id(core, who) for who in people]
            assert None not in pids
            jobs = await digests.jobs()
            assert await jobs.scheduled_people() == set(pids)
            core.services.bindings.delay = 3600.0  # kept in memory until the /forget
            [answer] = await core.handle(message(alice, TEXT))
            await core.services.learner.flush()  # its learning is in before the hang
            assert answer.reply_id is not None
            await core.bind_reply(answer.reply_id, "M1")
            assert core.services.bindings.turn_for("M1") is not None
            forget = command(alice, "forget", "confirm all" if every else "confirm")
            with HangAt(core, proxy, "DELETE FROM person", commit=True) as hang:
                hang.armed = True
                async with asyncio.timeout(NEVER):
                    replies = await core.handle(forget)
            assert not hang.armed
            assert [r.text for r in replies] == [DB_UNAVAILABLE] and core.backlog_size == 1
            proxy.thaw()
            await until_erased(core, alice)  # it took effect at the thaw
            assert await core.drain_backlog() == 1
            [[reply]] = delivered
            assert reply.text == (
                "Done. I deleted everything about you. If you talk to me again, I'll start "
                "from scratch and ask before learning anything."
            )
            await digests.settle()
            assert await jobs.scheduled_people() == set()  # no job store row for anyone
            assert core.services.bindings.kept == ()
            assert core.services.bindings.turn_for("M1") is None
            assert [await person_id(core, who) for who in people] == [None] * len(people)
            assert core.backlog_size == 0
        finally:
            await digests.aclose()


@pytest.mark.postgres
async def test_people_writing_together_into_a_hung_database_are_all_answered_at_once(
    hung_core,
):
    """Replies take their database stages a few at a time (``reply_work_at_once``): against
    a hung database each turn took the bound, and the people waiting for one waited a bound
    per turn ahead of them."""
    async with hung_core() as (proxy, core):
        replays_by_hand(core)
        people = [person(f"user{n}") for n in range(PEOPLE)]
        for who in people:
            await grant(core, who)
        proxy.hang()
        await all_told_at_once(core, people)
        assert core.backlog_size == PEOPLE
        proxy.thaw()
        assert await core.drain_backlog() == PEOPLE
        assert await count(core, ConversationTurn, role="user") == PEOPLE


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_one_lost_connection_elsewhere_does_not_fail_replies_waiting_their_turn(
    make_core,
):
    """Replies waiting for their turn give up only when a round trip *timed out* meanwhile
    (the database hangs, so theirs would wait too): one connection lost elsewhere — killed
    by an operator or a pooler, a reset in a digest — made every waiting reply say the
    database was unavailable, though it answered (review)."""
    core = await make_core()
    alice = person("alice")
    await grant(core, alice)
    turns = core.services.reply_turns
    async with contextlib.AsyncExitStack() as held:
        for _ in range(2):  # two replies' stages are running (reply_work_at_once = 2)
            await held.enter_async_context(turns.turn())
        waiting = asyncio.ensure_future(core.handle(message(alice, "tell me about jazz")))
        await asyncio.sleep(0.2)
        with pytest.raises(DatabaseUnavailable):
            async with core.services.db.session() as session:
                await session.exec(text("SELECT pg_terminate_backend(pg_backend_pid())"))
    [reply] = await waiting
    assert reply.text != DB_UNAVAILABLE and reply.purpose == "chat"
    assert len(core.services.journal) == 0


@contextlib.asynccontextmanager
async def holding_person(
    db: Database, pid: int | None, release: asyncio.Event
) -> AsyncIterator[None]:
    """Legitimate work (a /forget's transaction, a digest page) holds the person's row, from
    when the block starts until ``release``: what a reply's claim must wait for. ``db``:
    the core's, or a connection of its own that a cut proxy does not end."""
    held = asyncio.Event()

    async def hold() -> None:
        with db.patient():
            async with db.session() as session:
                await session.exec(  # type: ignore[call-overload]
                    text("SELECT id FROM person WHERE id = :id FOR UPDATE").bindparams(id=pid)
                )
                held.set()
                await release.wait()

    holder = asyncio.ensure_future(hold())
    try:
        await held.wait()
        yield
    finally:
        release.set()
        await holder


@pytest.mark.postgres
async def test_a_reply_that_waits_longer_than_the_bound_for_a_row_lock_is_answered(hung_core):
    """The sender's row is held longer than the bound by other work, and the message's claim
    waits for it. Before, the client cut the wait at the bound as a hung server: connection
    closed, the database counted as timed out, the person told it was unavailable, the event
    journaled. Now the server cuts the lock wait under the bound (lock_timeout), the message
    is run again, and answered once the row is free: no outage, nothing journaled."""
    async with hung_core() as (_proxy, core):
        replays_by_hand(core)
        alice = person()
        await grant(core, alice)
        pid = await person_id(core, alice)
        db = core.services.db
        asked = message(alice, TEXT)
        release = asyncio.Event()
        async with holding_person(db, pid, release):
            asyncio.get_running_loop().call_later(BOUND + 0.5, release.set)  # past the bound
            async with asyncio.timeout(NEVER):
                replies = await core.handle(asked)
        assert [r.purpose for r in replies] == ["chat"]
        assert (db.timeouts, db.failures, core.backlog_size) == (0, 0, 0)
        assert await count(core, ProcessedEvent, event_id=asked.event_id) == 1
        assert await count(core, ConversationTurn, person_id=pid, role="user") == 1
        assert len(core.services.llm.requests) == 1  # type: ignore[attr-defined]


@pytest.mark.postgres
async def test_a_reply_that_the_row_lock_outlasts_is_kept_and_the_person_told_busy(hung_core):
    """The row is held through every run of the message: it is kept in the outage journal,
    and the person told the bot is busy (not that the database is away); nothing counts as
    an outage. Once the row is free, its replay answers it, once."""
    async with hung_core() as (_proxy, core):
        replays_by_hand(core)
        delivered = delivering(core)
        core.busy_attempts = 2
        alice = person()
        await grant(core, alice)
        pid = await person_id(core, alice)
        db = core.services.db
        asked = message(alice, TEXT)
        async with holding_person(db, pid, asyncio.Event()):
            async with asyncio.timeout(NEVER):
                replies = await core.handle(asked)
        assert [r.text for r in replies] == [DB_BUSY]
        assert (db.timeouts, db.failures, core.backlog_size) == (0, 0, 1)
        assert await core.drain_backlog() == 1
        assert [[r.purpose for r in replies] for replies in delivered] == [["chat"]]
        assert await count(core, ProcessedEvent, event_id=asked.event_id) == 1
        assert await count(core, ConversationTurn, person_id=pid, role="user") == 1


@pytest.mark.postgres
async def test_a_record_cut_by_a_held_row_is_kept_busy_and_stored_once_it_is_free(hung_core):
    """Alice is answered, but her row is held from the model's call on (a /forget's
    transaction through another worker, an operator), so the exchange's record waits past
    the lock timeout: it is kept in the outage journal as owing its record, *busy* — it
    holds back Alice alone, and Bob is answered meanwhile, nothing journaled for him. Once
    the row is free the replay stores the exchange, once, with the answer she was given."""
    async with hung_core() as (_proxy, core), contextlib.AsyncExitStack() as holds:
        replays_by_hand(core)
        core.services.learner.queue.max_delay = 3600.0  # her learning waits for the flush
        alice, bob = person("alice"), person("bob")
        for who in (alice, bob):
            await grant(core, who)
        pid = await person_id(core, alice)
        db, llm = core.services.db, core.services.llm
        generate = llm.generate

        async def then_held(*args: Any, **kwargs: Any) -> Any:
            answer = await generate(*args, **kwargs)
            if not holds._exit_callbacks:  # alice's: the first call
                await holds.enter_async_context(holding_person(db, pid, asyncio.Event()))
            return answer

        llm.generate = then_held  # type: ignore[method-assign]
        asked = message(alice, TEXT)
        async with asyncio.timeout(NEVER):
            [reply] = await core.handle(asked)
            assert reply.purpose == "chat"  # the answer is hers, whatever the record does
            kept = core.services.journal.first()
            assert kept is not None and kept.event == asked and kept.busy
            assert kept.owed is not None and kept.owed.record is not None
            assert kept.owed.record.answer == reply.text
            assert [r.purpose for r in await core.handle(message(bob, "and zig?"))] == ["chat"]
            assert core.backlog_size == 1 and (db.timeouts, db.failures) == (0, 0)
            await holds.aclose()  # her row is free
            assert await core.drain_backlog() == 1
            await core.services.learner.flush()
        assert await count(core, ConversationTurn, person_id=pid, role="user") == 1
        assert await count(core, ConversationTurn, person_id=pid, role="assistant") == 1
        assert await count(core, ProcessedEvent, event_id=asked.event_id) == 1
        assert core.backlog_size == 0


@pytest.mark.postgres
async def test_an_observed_message_cut_by_a_held_row_holds_back_only_its_author(hung_core):
    """Alice's channel message brings a new timezone from her platform, which the intake
    stores on its own (the per-event path), while her row is held: the write waits past the
    lock timeout and the message is kept, *busy*. Bob's messages are observed and learned
    meanwhile, not held back behind hers; once her row is free the replay learns hers,
    once."""
    async with hung_core() as (_proxy, core):
        replays_by_hand(core)
        alice, bob = person("alice"), person("bob")
        for who in (alice, bob):
            await grant(core, who)
        pid = await person_id(core, alice)
        db = core.services.db
        hers = message(alice, TEXT, surface=Surface.CHANNEL,
                       context=PlatformContext(timezone="Asia/Tokyo"))
        his = message(bob, "vacuum tuning on big tables", surface=Surface.CHANNEL)
        async with holding_person(db, pid, asyncio.Event()), asyncio.timeout(NEVER):
            assert await core.handle(hers) == []
            await core.services.learner.flush()  # the intake's batch first
            kept = core.services.journal.first()
            assert kept is not None and kept.event == hers and kept.busy
            assert await core.handle(his) == []
            await core.services.learner.flush()
            assert await count(core, ProcessedEvent, event_id=his.event_id) == 1
            assert core.backlog_size == 1 and (db.timeouts, db.failures) == (0, 0)
        assert await core.drain_backlog() == 1
        await core.services.learner.flush()
        assert await count(core, ProcessedEvent, event_id=hers.event_id) == 1
        assert await count(core, Signal, person_id=pid, event_id=hers.event_id, kind="style") \
            == 1
        assert core.backlog_size == 0


def texts(replies: list[Any]) -> list[str]:
    return [reply.text for reply in replies]


async def user_turns(core: Core, *people: Any) -> list[str]:
    """What these people said, as recorded, in the order it was recorded."""
    pids = [await person_id(core, who) for who in people]
    async with core.services.db.session() as session:
        rows = await session.exec(
            select(ConversationTurn.text)
            .where(
                ConversationTurn.person_id.in_(pids),  # type: ignore[union-attr]
                ConversationTurn.role == "user",
            )
            .order_by(ConversationTurn.id)  # type: ignore[arg-type]
        )
        return list(rows)


@pytest.mark.postgres
async def test_one_persons_row_held_past_the_retries_holds_back_only_their_events(hung_core):
    """Alice's row is held (an operator's transaction, a long erasure) through every run of
    her message: it is kept, busy. Before, every new event of everyone replayed the journal
    first and, her entry still waiting, was told the database was unavailable until the lock
    went. Now Bob is answered while it holds; Alice's next message waits behind her first
    (told busy: her order is kept); once the row is free the drain replays hers in order,
    each taking effect once."""
    async with hung_core() as (_proxy, core):
        replays_by_hand(core)
        delivered = delivering(core)
        core.busy_attempts = 2
        alice, bob = person("alice"), person("bob")
        for who in (alice, bob):
            await grant(core, who)
        pid = await person_id(core, alice)
        db = core.services.db
        first, second = message(alice, f"{TEXT}, part 1"), message(alice, f"{TEXT}, part 2")
        asked = message(bob, "and what about vacuum tuning?")
        async with holding_person(db, pid, asyncio.Event()), asyncio.timeout(NEVER):
            assert texts(await core.handle(first)) == [DB_BUSY]
            assert [r.purpose for r in await core.handle(asked)] == ["chat"]
            assert core.backlog_size == 1
            assert texts(await core.handle(second)) == [DB_BUSY]
            assert core.backlog_size == 2
        assert (db.timeouts, db.failures) == (0, 0)
        assert await core.drain_backlog() == 2
        assert [[r.purpose for r in replies] for replies in delivered] == [["chat"], ["chat"]]
        assert await user_turns(core, alice) == [first.text, second.text]
        for event in (first, second, asked):
            assert await count(core, ProcessedEvent, event_id=event.event_id) == 1
        assert await core.drain_backlog() == 0 and core.backlog_size == 0


@pytest.mark.postgres
async def test_a_message_that_waited_for_its_turn_goes_behind_the_one_kept_busy(
    hung_core, monkeypatch
):
    """Alice's second message comes while her first is run again against her held row, and
    waits for its turn. Her first is kept busy, and the row is freed at that moment: the
    second, which found nothing of hers waiting when it came, was answered before the first
    was replayed. Now it looks again when its turn comes, and goes behind the first."""
    async with hung_core() as (_proxy, core):
        replays_by_hand(core)
        core.busy_attempts = 2
        alice = person()
        await grant(core, alice)
        pid = await person_id(core, alice)
        journal = core.services.journal
        keep, freed = journal.keep, asyncio.Event()

        def kept_then_freed(event: Any, **how: Any) -> Any:
            outcome = keep(event, **how)
            freed.set()  # the lock goes as the first is kept
            return outcome

        monkeypatch.setattr(journal, "keep", kept_then_freed)
        first, second = message(alice, f"{TEXT}, part 1"), message(alice, f"{TEXT}, part 2")
        async with holding_person(core.services.db, pid, freed), asyncio.timeout(NEVER):
            answers = await asyncio.gather(core.handle(first), core.handle(second))
        assert [texts(replies) for replies in answers] == [[DB_BUSY], [DB_BUSY]]
        assert await core.drain_backlog() == 2
        assert await user_turns(core, alice) == [first.text, second.text]


@pytest.mark.postgres
async def test_an_entry_kept_while_the_database_was_away_still_holds_everyone(
    hung_core, postgres_database
):
    """Alice's message is kept busy behind her held row, then Carol's while the database is
    away. Back, Bob's message still waits behind the journal — Carol's is replayed first:
    across people an outage keeps the order — but not behind Alice's, her row still held:
    the drain goes past hers, and Bob is answered."""
    holder = Database(postgres_database, timeout=BOUND)  # not through the proxy it cuts
    try:
        async with hung_core() as (proxy, core):
            replays_by_hand(core)
            delivered = delivering(core)
            core.busy_attempts = 2
            alice, bob, carol = person("alice"), person("bob"), person("carol")
            for who in (alice, bob, carol):
                await grant(core, who)
            pid = await person_id(core, alice)
            said, asked = message(carol, TEXT), message(bob, "and what about vacuum tuning?")
            async with holding_person(holder, pid, asyncio.Event()), asyncio.timeout(NEVER):
                assert texts(await core.handle(message(alice, TEXT))) == [DB_BUSY]
                await proxy.stop()
                assert texts(await core.handle(said)) == [DB_UNAVAILABLE]
                await proxy.start()
                assert [r.purpose for r in await core.handle(asked)] == ["chat"]
                assert [[r.purpose for r in replies] for replies in delivered] == [["chat"]]
                assert core.backlog_size == 1  # Alice's
            assert await user_turns(core, bob, carol) == [said.text, asked.text]
            assert await core.drain_backlog() == 1
            assert len(await user_turns(core, alice)) == 1
    finally:
        await holder.dispose()
