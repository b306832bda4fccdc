"""A real PostgreSQL connection that goes away and comes back (through a TCP proxy)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session
from sqlmodel import select

from bot.core import DB_UNAVAILABLE, JOURNAL_FULL, Core
from bot.events import PlatformContext
from bot.journal import RecordOwed
from bot.lifecycle import AccountReport
from bot.llm import LLMUnavailable, ScriptedBackend
from bot.pipeline.identify import SteadyClaim
from profiles.db import Database, DatabaseUnavailable
from profiles.models import (
    ConversationTurn,
    Feedback,
    Interest,
    Preference,
    ProcessedEvent,
    Signal,
)
from tests.support.helpers import (
    command,
    count,
    grant,
    message,
    person,
    person_id,
    reaction,
    replays_by_hand,
)
from tests.support.tcp_proxy import TcpProxy, proxied_database

TEXT = "Reading about PostgreSQL replication and logical decoding internals"


@contextlib.asynccontextmanager
async def core_behind_proxy(
    postgres_database: str,
    settings_for: Any,
    llm: Callable[[TcpProxy], ScriptedBackend] | None = None,
    **overrides: Any,
) -> AsyncIterator[tuple[TcpProxy, Core]]:
    """A core whose PostgreSQL connection goes through a proxy the test cuts
    (``proxy.stop()``: the database goes away; ``proxy.hang()``: it hangs) and restores
    (``proxy.start()``, ``proxy.thaw()``); closed, and the proxy stopped, afterwards.
    ``llm``: its model, given the proxy; ``overrides``: settings (its database is built
    with their ``database_timeout_seconds``)."""
    proxy, proxied = await proxied_database(postgres_database)
    model = llm(proxy) if llm is not None else ScriptedBackend()
    settings = settings_for(proxied, **overrides)
    db = Database(settings.database_url, timeout=settings.database_timeout_seconds)
    core = Core(settings, db, model)
    try:
        yield proxy, core
    finally:
        await core.aclose()
        await core.services.db.dispose()
        await proxy.stop()


def delivering(core: Core) -> list[list[Any]]:
    """The replies the core delivers on its own (replays of journaled events), as they go."""
    delivered: list[list[Any]] = []

    async def deliver(event: Any, replies: list[Any]) -> None:
        delivered.append(replies)

    core.services.deliverers["test"] = deliver
    return delivered


@pytest.mark.postgres
async def test_message_kept_while_database_is_away_and_replayed_when_back(
    postgres_database, settings_for
):
    async with core_behind_proxy(postgres_database, settings_for) as (proxy, core):
        delivered = delivering(core)
        replays_by_hand(core)
        alice = person()
        await grant(core, alice)
        await proxy.stop()  # the database goes away
        replies = await core.handle(message(alice, TEXT))
        assert [r.text for r in replies] == [DB_UNAVAILABLE]
        assert core.backlog_size == 1
        await proxy.start()  # ... and comes back on the same address
        assert await core.drain_backlog() == 1
        assert core.backlog_size == 0
        assert delivered and delivered[0][0].purpose == "chat"
        await core.services.learner.flush()  # what it teaches: the batch after its reply
        pid = await person_id(core, alice)
        assert await count(core, Interest, person_id=pid) > 0
        assert await count(core, ConversationTurn, person_id=pid, role="user") == 1
        # and normal service resumes
        later = await core.handle(message(alice, "and what about vacuum tuning?"))
        assert later[0].purpose == "chat"


class OneWriterPath(Database):
    """PostgreSQL taking the path SQLite takes (``single_writer``: a reply's reads in a
    transaction of their own). A SQLite file cannot be made to go away between two
    transactions; a proxied PostgreSQL connection can."""

    single_writer = True  # type: ignore[assignment]


@pytest.mark.postgres
async def test_a_reply_bound_while_the_database_is_away_is_bound_once_it_is_back(
    postgres_database, settings_for
):
    """An adapter binds a reply it sent just as the database goes away: the core keeps the
    binding (the adapter sees no error; the write its timer tries fails) and writes it with
    the next one once the database answers, so a reaction to that reply still counts as
    feedback on it. (Writes here are the timer's, called by hand: bot/reply_bindings.py.)"""
    async with core_behind_proxy(postgres_database, settings_for) as (proxy, core):
        core.bindings.delay = 3600.0  # only the test's own flushes write
        alice = person()
        await grant(core, alice)
        first = (await core.handle(message(alice, TEXT)))[0]
        await proxy.stop()
        await core.bind_reply(first.reply_id, "ts-away")  # raises nothing
        await core.bindings.flush()  # raises nothing either: kept
        assert core.bindings.kept == (int(first.reply_id.removeprefix("turn:")),)
        await proxy.start()
        second = (await core.handle(message(alice, "and what about vacuum tuning?")))[0]
        await core.bind_reply(second.reply_id, "ts-back")
        await core.bindings.flush()
        assert core.bindings.kept == ()
        async with core.services.db.session() as session:
            bound = (await session.exec(
                select(ConversationTurn.id, ConversationTurn.platform_message_id)
                .where(ConversationTurn.role == "assistant")
                .order_by(ConversationTurn.id)  # type: ignore[arg-type]
            )).all()
        assert [(f"turn:{i}", mid) for i, mid in bound] == [
            (first.reply_id, "ts-away"), (second.reply_id, "ts-back")]
        await core.handle(reaction(alice, "ts-away", "👍"))
        await core.services.learner.flush()  # reactions pass the batched intake first
        assert await count(core, Feedback, person_id=await person_id(core, alice)) == 1
        core.bindings.limit = 2  # memory is bounded: past the limit the oldest go
        await proxy.stop()
        for turn in (990_001, 990_002, 990_003):
            await core.bind_reply(f"turn:{turn}", f"ts-{turn}")
        assert core.bindings.kept == (990_002, 990_003)
        await proxy.start()


@pytest.mark.postgres
async def test_forget_drops_the_forgotten_persons_kept_bindings_only(
    postgres_database, settings_for
):
    """Bindings kept through an outage name turn ids; /forget deletes the person's turns,
    and SQLite may hand a deleted id to the next turn stored — someone else's, which the
    kept binding would then mark as the forgotten reply's message. So /forget drops its
    person's kept bindings (once it commits); other people's are still written."""
    async with core_behind_proxy(postgres_database, settings_for) as (proxy, core):
        core.bindings.delay = 3600.0  # only the test's own flushes write
        alice, bob = person("alice"), person("bob")
        await grant(core, alice)
        await grant(core, bob)
        hers = (await core.handle(message(alice, TEXT)))[0]
        his = (await core.handle(message(bob, TEXT)))[0]
        await proxy.stop()
        await core.bind_reply(hers.reply_id, "ts-hers")
        await core.bind_reply(his.reply_id, "ts-his")
        await core.bindings.flush()  # the timer's write, refused: both kept
        await proxy.start()
        await core.handle(command(alice, "forget", "confirm"))
        assert core.bindings.kept == (int(his.reply_id.removeprefix("turn:")),)
        await core.bindings.flush()
        async with core.services.db.session() as session:
            turn = await session.get(ConversationTurn, int(his.reply_id.removeprefix("turn:")))
        assert turn is not None and turn.platform_message_id == "ts-his"


@pytest.mark.postgres
async def test_a_binding_kept_is_written_when_the_core_stops(postgres_database, settings_for):
    """No reply follows the outage before the bot stops: the kept binding is written by the
    graceful stop (Core.aclose), not lost with the process."""
    proxy, proxied = await proxied_database(postgres_database)
    core = Core(settings_for(proxied), Database(proxied), ScriptedBackend())
    alice = person()
    try:
        await grant(core, alice)
        reply = (await core.handle(message(alice, TEXT)))[0]
        core.bindings.delay = 3600.0  # only the test's own flush and the stop write
        await proxy.stop()
        await core.bind_reply(reply.reply_id, "ts-last")
        await core.bindings.flush()  # the timer's write, refused: kept
        assert core.bindings.kept
        await proxy.start()
        await core.aclose()
        assert core.bindings.kept == ()
        async with core.services.db.session() as session:
            turn = await session.get(ConversationTurn, int(reply.reply_id.removeprefix("turn:")))
        assert turn is not None and turn.platform_message_id == "ts-last"
    finally:
        await core.services.db.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("steady", [True, False], ids=["claim-on-driver", "claim-in-session"])
async def test_the_database_lost_between_the_claim_and_the_answer_still_answers_once(
    postgres_database, settings_for, tmp_path, steady
):
    """On SQLite a reply's context is read after its claim commits, so the database can go
    away in between (staged here on PostgreSQL, whose connection a proxy can cut, taking
    SQLite's path: :class:`OneWriterPath`). The event is then kept as owing its answer and its
    learning: the replay learns, answers and records it without claiming it again (a second
    claim would call it a duplicate: no answer, ever — checked: without the mark nothing is
    delivered here), and learns it once. ``steady``: the sender's read and claim straight to the
    driver; else with a timezone the platform reports anew, which the claim's session writes
    with it."""
    proxy, proxied = await proxied_database(postgres_database)
    settings = settings_for(proxied, outage_journal=str(tmp_path / "j"))
    core = Core(settings, OneWriterPath(settings.database_url), ScriptedBackend())
    replays_by_hand(core)
    delivered = delivering(core)
    alice = person()
    armed: list[bool] = []

    def cut_after_first_commit(session: Session) -> None:
        if armed and not armed.pop():
            proxy.cut()  # the claim is in; the reply's reads are not

    identify = core.chat.identify
    claim_if_steady = identify.claim_if_steady
    on_driver: list[SteadyClaim] = []

    async def claim_then_cut(*args: Any) -> SteadyClaim:
        claimed = await claim_if_steady(*args)
        on_driver.append(claimed)
        if claimed is SteadyClaim.CLAIMED:  # on the driver (NOT_STEADY: left to the session)
            cut_after_first_commit(cast(Session, None))
        return claimed

    identify.claim_if_steady = claim_then_cut  # type: ignore[method-assign]
    event.listen(Session, "after_commit", cut_after_first_commit)
    try:
        await grant(core, alice)
        asked = message(
            alice, TEXT, context=PlatformContext(timezone=None if steady else "Asia/Tokyo")
        )
        armed.append(False)
        replies = await core.handle(asked)
        assert [r.text for r in replies] == [DB_UNAVAILABLE]
        assert core.backlog_size == 1 and not armed
        # the path the case is about
        assert on_driver == [SteadyClaim.CLAIMED if steady else SteadyClaim.NOT_STEADY]
        await proxy.start()
        assert await count(core, Signal, event_id=asked.event_id) == 0  # queued after reads
        assert await count(core, ProcessedEvent, event_id=asked.event_id) == 1
        assert await core.drain_backlog() == 1
        assert [r.purpose for r in delivered[0]] == ["chat"]
        await core.services.learner.flush()
        learned = await count(core, Signal, event_id=asked.event_id)
        assert learned > 0
        assert TEXT in core.services.llm.requests[-1].turns[-1].content  # type: ignore[attr-defined]
        pid = await person_id(core, alice)
        assert await count(core, ConversationTurn, person_id=pid, role="user") == 1
        assert await count(core, ConversationTurn, person_id=pid, role="assistant") == 1
        # a platform retry of the same event afterwards is still a duplicate
        assert await core.handle(asked) == []
        await core.services.learner.flush()
        assert await count(core, Signal, event_id=asked.event_id) == learned  # not twice
    finally:
        event.remove(Session, "after_commit", cut_after_first_commit)
        await core.aclose()
        await core.services.db.dispose()
        await proxy.stop()


@pytest.mark.postgres
async def test_a_replay_that_loses_the_database_after_its_claim_is_answered_once_it_is_back(
    postgres_database, settings_for, tmp_path
):
    """The database goes away and comes back, and goes away again while the kept message is
    replayed: after the replay's claim committed, before its reply's reads. The drain only
    stopped, and the entry stayed a plain event: the next replay found the claim and dropped
    the message as a duplicate, never answered (review). It is kept as owing its answer and
    its learning now, and answered once."""
    async with core_behind_proxy(
        postgres_database, settings_for, outage_journal=str(tmp_path / "j")
    ) as (proxy, core):
        replays_by_hand(core)
        delivered = delivering(core)
        alice = person()
        await grant(core, alice)
        identify = core.chat.identify
        claim_if_steady = identify.claim_if_steady
        armed: list[bool] = []

        async def claim_then_cut(*args: Any) -> bool | None:
            claimed = await claim_if_steady(*args)
            if armed and claimed:
                armed.clear()
                proxy.cut()  # the claim is in; the reply's reads are not
            return claimed

        identify.claim_if_steady = claim_then_cut  # type: ignore[method-assign]
        asked = message(alice, TEXT)
        await proxy.stop()
        assert [r.text for r in await core.handle(asked)] == [DB_UNAVAILABLE]
        await proxy.start()
        armed.append(True)
        assert await core.drain_backlog() == 0
        assert not armed and core.backlog_size == 1
        await proxy.start()
        assert await count(core, ProcessedEvent, event_id=asked.event_id) == 1
        assert await core.drain_backlog() == 1
        assert [[r.purpose for r in replies] for replies in delivered] == [["chat"]]
        await core.services.learner.flush()
        assert await count(core, Signal, event_id=asked.event_id) > 0
        pid = await person_id(core, alice)
        assert await count(core, ConversationTurn, person_id=pid, role="user") == 1
        assert len(core.services.llm.requests) == 1  # type: ignore[attr-defined]


@pytest.mark.postgres
async def test_an_answered_message_whose_learning_met_an_outage_is_learned_once_later(
    postgres_database, settings_for, tmp_path
):
    """A message addressed to the bot is claimed and answered before its learning batch runs
    (bot/learning.py). If the database goes away in between, the batch's event is kept as
    owing its learning only: the replay learns from it without claiming it (the claim would
    find it processed and learn nothing — checked: kept as a plain event, nothing is
    learned) and without answering it a second time."""
    async with core_behind_proxy(
        postgres_database, settings_for, outage_journal=str(tmp_path / "j")
    ) as (proxy, core):
        replays_by_hand(core)
        delivered = delivering(core)
        alice = person()
        await grant(core, alice)
        core.services.learner.queue.max_delay = 60.0  # the batch waits for the flush below
        asked = message(alice, TEXT)
        replies = await core.handle(asked)
        assert [r.purpose for r in replies] == ["chat"]
        answers = len(core.services.llm.requests)  # type: ignore[attr-defined]
        await proxy.stop()  # the database goes away before the batch
        await core.services.learner.flush()
        assert core.backlog_size == 1
        await proxy.start()
        assert await count(core, Signal, event_id=asked.event_id) == 0
        assert await core.drain_backlog() == 1
        await core.services.learner.flush()
        assert await count(core, Signal, event_id=asked.event_id) > 0
        pid = await person_id(core, alice)
        assert await count(core, Interest, person_id=pid) > 0
        assert delivered == []  # answered once, before the outage
        assert len(core.services.llm.requests) == answers  # type: ignore[attr-defined]
        assert await count(core, ConversationTurn, person_id=pid, role="user") == 1
        assert await count(core, ProcessedEvent, event_id=asked.event_id) == 1


@pytest.mark.postgres
async def test_new_events_and_the_retry_loop_drain_together_without_loss(
    postgres_database, settings_for, tmp_path
):
    """Regression: a new event's drain and the retry loop's drain both popped the same deque
    (IndexError) and the next message was lost. Now one drainer replays, in order, once."""
    async with core_behind_proxy(
        postgres_database, settings_for, outage_journal=str(tmp_path / "j")
    ) as (proxy, core):
        delivered: list[str] = []

        async def deliver(event, replies):
            delivered.extend(r.purpose for r in replies)

        core.services.deliverers["test"] = deliver
        alice = person()
        await grant(core, alice)
        await proxy.stop()
        for n in range(5):
            replies = await core.handle(message(alice, f"{TEXT} part {n}"))
            assert [r.text for r in replies] == [DB_UNAVAILABLE]
        assert core.backlog_size == 5
        await proxy.start()
        results = await asyncio.gather(
            core.drain_backlog(),
            core.drain_backlog(),
            *(core.handle(message(alice, f"{TEXT} live {n}")) for n in range(3)),
        )
        assert sum(results[:2]) == 5
        assert all(r[0].purpose == "chat" for r in results[2:])
        assert core.backlog_size == 0 and delivered == ["chat"] * 5
        pid = await person_id(core, alice)
        assert await count(core, ConversationTurn, person_id=pid, role="user") == 8
        async with core.services.db.session() as session:
            rows = await session.exec(
                select(ConversationTurn.text)
                .where(ConversationTurn.person_id == pid, ConversationTurn.role == "user")
                .order_by(ConversationTurn.id)
            )
            texts = list(rows)
        assert [t.rsplit(" ", 1)[-1] for t in texts[:5]] == ["0", "1", "2", "3", "4"]


@pytest.mark.postgres
async def test_events_kept_during_an_outage_survive_a_restart(
    postgres_database, settings_for, tmp_path
):
    proxy, proxied = await proxied_database(postgres_database)
    settings = settings_for(proxied, outage_journal=str(tmp_path / "j"))
    alice = person()
    first = Core(settings, Database(settings.database_url), ScriptedBackend())
    try:
        await grant(first, alice)
        await proxy.stop()
        await first.handle(message(alice, TEXT))
        await first.handle(command(alice, "prefs", "set tone casual"))
    finally:
        await first.aclose()  # the process stops during the outage
        await first.services.db.dispose()
    await proxy.start()
    second = Core(settings, Database(settings.database_url), ScriptedBackend())
    try:
        assert second.backlog_size == 2
        later = await second.handle(message(alice, "and vacuum tuning?"))  # replays first
        assert later[0].purpose == "chat" and second.backlog_size == 0
        pid = await person_id(second, alice)
        assert await count(second, ConversationTurn, person_id=pid, role="user") == 2
        assert await count(second, Preference, person_id=pid, key="tone") == 1
    finally:
        await second.aclose()
        await second.services.db.dispose()
        await proxy.stop()


@pytest.mark.postgres
async def test_a_full_journal_says_so_and_forget_empties_it(
    postgres_database, settings_for, tmp_path
):
    async with core_behind_proxy(
        postgres_database, settings_for, outage_journal=str(tmp_path / "j"), outage_journal_limit=2
    ) as (proxy, core):
        alice, bob = person("alice"), person("bob")
        await proxy.stop()
        await core.handle(message(alice, "quixotic zephyr one"))
        await core.handle(message(bob, "bob's words"))
        full = await core.handle(message(alice, "quixotic zephyr two"))
        assert [r.text for r in full] == [JOURNAL_FULL]
        # A platform deletion request meanwhile: her words go at once, and the erasure is
        # kept to be done later, full journal or not (identifiers only).
        assert await core.forget_ref(alice) is False
        assert core.backlog_size == 2
        assert b"quixotic zephyr" not in (tmp_path / "j").read_bytes()


@pytest.mark.postgres
async def test_a_platform_erasure_that_meets_an_outage_is_done_once_the_database_answers(
    postgres_database, settings_for, tmp_path
):
    """A member who left, a workspace that removed the bot, an account deleted: the
    platform says so once (Discord never again), and the erasure failed back to the adapter
    with the database away — nothing was erased, nor would be. It is now kept in the outage
    journal, once however often it is asked for, ahead of what came after it, and done when
    the database answers."""
    async with core_behind_proxy(
        postgres_database, settings_for, outage_journal=str(tmp_path / "j")
    ) as (proxy, core):
        replays_by_hand(core)
        alice, bob, carol = person("alice"), person("bob"), person("carol", workspace="W2")
        dave_here, dave_there = person("dave"), person("dave", workspace="W3")
        for who in (alice, bob, carol, dave_here, dave_there):
            await grant(core, who)
            await core.handle(message(who, TEXT))
        await core.services.learner.flush()
        await proxy.stop()
        assert await core.forget_ref(alice) is False  # nothing known to be removed yet
        assert await core.forget_ref(alice) is False  # the platform's retry: kept once
        assert await core.forget_workspace("test", "W2") == 0
        assert await core.forget_user("test", "dave") == 0
        await core.handle(message(bob, "and what about vacuum tuning?"))  # after them
        assert core.backlog_size == 4
        with pytest.raises(DatabaseUnavailable):  # an operator's command is told instead
            await core.forget_user("test", "erin", keep_if_away=False)
        assert core.backlog_size == 4
        await proxy.start()
        assert await core.drain_backlog() == 4
        assert core.backlog_size == 0
        for gone in (alice, carol, dave_here, dave_there):
            assert await person_id(core, gone) is None, gone
        bob_id = await person_id(core, bob)
        assert await count(core, ConversationTurn, person_id=bob_id, role="user") == 2
        assert await count(core, ConversationTurn) == 4  # bob's two exchanges, nobody else's


@pytest.mark.postgres
async def test_accounts_a_platform_reported_deleted_during_an_outage_are_erased_later(
    postgres_database, settings_for, tmp_path
):
    """A reconnect's account check (Slack's, after minutes of paced ``users.info``) whose
    answer met the database away failed back, and the whole check had to ask again. The
    erasures of the accounts the platform says are deleted are kept, as a departure's
    notice each, and done when the database answers; the others stay."""
    async with core_behind_proxy(
        postgres_database, settings_for, outage_journal=str(tmp_path / "j")
    ) as (proxy, core):
        replays_by_hand(core)
        alice, bob, carol = person("alice"), person("bob"), person("carol")
        for who in (alice, bob, carol):
            await grant(core, who)
        await proxy.stop()
        report = AccountReport(deleted=frozenset({"alice", "bob"}),
                               unknown=frozenset({"carol"}))
        assert await core.accounts_reported("test", "W1", report) == 0  # none yet
        assert core.backlog_size == 2
        await proxy.start()
        assert await core.drain_backlog() == 2
        assert [await person_id(core, who) is None for who in (alice, bob, carol)] == [
            True, True, False]


@pytest.mark.postgres
async def test_what_comes_after_a_kept_erasure_outlives_its_replay(
    postgres_database, settings_for, tmp_path
):
    """A member left and came back, a workspace removed the bot and added it again, all while
    the database was away: the erasure's replay removed everything of theirs still waiting,
    the words they wrote after coming back too. With the database there those came after
    the erasure and stayed; now they do at the replay as well."""
    async with core_behind_proxy(
        postgres_database, settings_for, outage_journal=str(tmp_path / "j")
    ) as (proxy, core):
        replays_by_hand(core)
        alice, carol = person("alice"), person("carol", workspace="W2")
        for who in (alice, carol):
            await grant(core, who)
            await core.handle(message(who, TEXT))
        await core.services.learner.flush()
        await proxy.stop()
        await core.forget_ref(alice)
        await core.forget_workspace("test", "W2")
        for who in (alice, carol):  # back, and writing
            await core.handle(command(who, "consent", "grant"))
            await core.handle(message(who, "and what about vacuum tuning?"))
        assert core.backlog_size == 6
        await proxy.start()
        assert await core.drain_backlog() == 6
        for who in (alice, carol):
            pid = await person_id(core, who)
            assert pid is not None, who
            async with core.services.db.session() as session:
                texts = (await session.exec(
                    select(ConversationTurn.text)
                    .where(ConversationTurn.person_id == pid, ConversationTurn.role == "user")
                )).all()
            assert texts == ["and what about vacuum tuning?"], who  # the later words only


class CutsTheDatabaseWhileAnswering(ScriptedBackend):
    """The database goes away while the model writes (its ``script``: an answer or a
    failure): after the claim and the reads, before the record."""

    def __init__(self, proxy: TcpProxy, script: list[Any]) -> None:
        super().__init__(script)
        self.proxy = proxy

    async def generate(self, request: Any, **kwargs: Any) -> Any:
        await self.proxy.stop()
        return await super().generate(request, **kwargs)


@pytest.mark.postgres
async def test_an_answered_exchange_whose_record_met_an_outage_is_recorded_once_later(
    postgres_database, settings_for, tmp_path
):
    """The person got the answer, and the exchange was only logged: both turns were missing
    from their history (the model never saw them again, /export missed them; input audit).
    It now waits in the outage journal with the answer as sent — and with the message's
    learning, which met the same outage — and both are written once the database is back,
    without asking the model again or answering twice."""
    answer = "Logical decoding streams the WAL as changes."
    async with core_behind_proxy(
        postgres_database, settings_for,
        lambda proxy: CutsTheDatabaseWhileAnswering(proxy, [answer]),
        outage_journal=str(tmp_path / "j"),
    ) as (proxy, core):
        replays_by_hand(core)
        delivered = delivering(core)
        alice = person()
        await grant(core, alice)
        core.services.learner.queue.max_delay = 60.0  # the batch waits for the flush below
        asked = message(alice, TEXT)
        [reply] = await core.handle(asked)
        assert reply.text == answer
        await core.services.learner.flush()  # the learning meets the outage too
        assert core.backlog_size == 1  # one entry owes both
        await proxy.start()
        assert await core.drain_backlog() == 1
        await core.services.learner.flush()
        pid = await person_id(core, alice)
        async with core.services.db.session() as session:
            turns = (await session.exec(
                select(ConversationTurn.role, ConversationTurn.text)
                .where(ConversationTurn.person_id == pid)
                .order_by(ConversationTurn.created_at)
            )).all()
        assert turns == [("user", TEXT), ("assistant", reply.text)]
        assert await count(core, Interest, person_id=pid) > 0  # learned, once claimed
        assert delivered == []  # answered once
        assert len(core.services.llm.requests) == 1  # type: ignore[attr-defined]
        assert await core.drain_backlog() == 0
        # replayed again (its removal from the journal lost to a crash): recorded once
        await core.chat.record_owed(asked, TEXT, RecordOwed(reply.text, asked.occurred_at))
        assert await count(core, ConversationTurn, person_id=pid) == 2



@pytest.mark.postgres
async def test_a_failed_answer_whose_record_met_an_outage_keeps_the_message(
    postgres_database, settings_for, tmp_path
):
    """The person is told "I kept your message": with the model and the database failing
    together, the message alone waits in the journal and is stored once the database is
    back (review)."""
    async with core_behind_proxy(
        postgres_database, settings_for,
        lambda proxy: CutsTheDatabaseWhileAnswering(proxy, [LLMUnavailable("timed out")]),
        outage_journal=str(tmp_path / "j"),
    ) as (proxy, core):
        replays_by_hand(core)
        alice = person()
        await grant(core, alice)
        [reply] = await core.handle(message(alice, TEXT))
        assert "kept your message" in reply.text
        await proxy.start()
        await core.drain_backlog()
        pid = await person_id(core, alice)
        assert await count(core, ConversationTurn, person_id=pid, role="user") == 1
        assert await count(core, ConversationTurn, person_id=pid, role="assistant") == 0


@pytest.mark.postgres
async def test_a_channel_excluded_while_its_messages_waited_in_the_journal_teaches_nothing(
    postgres_database, settings_for
):
    """Channel messages observed while this worker's database was away wait in its outage
    journal; another worker, which reached the database all along, excludes one of the
    channels meanwhile. The replay reads the channel's policy as a live message would:
    nothing of the excluded channel is learned, the other channel's message is. (In one
    worker an exclusion made after the messages waits for their replay: they came first.)"""
    from tests.bot.test_admin import BOSS, KUBERNETES, admin_command, chatter

    settings = settings_for(postgres_database)
    there = Core(settings, Database(settings.database_url), ScriptedBackend())
    try:
        async with core_behind_proxy(postgres_database, settings_for) as (proxy, here):
            replays_by_hand(here)
            alice, bob = person("alice"), person("bob")
            for who in (alice, bob):
                await grant(here, who)
            await proxy.stop()
            await here.handle(chatter(alice, KUBERNETES, "CSECRET"))
            await here.handle(chatter(bob, KUBERNETES, "COPEN"))
            await here.chat.intake.flush()
            await here.services.learner.flush()
            assert here.backlog_size == 2
            [done] = await there.handle(admin_command(BOSS, "exclude learning here",
                                                      channel="CSECRET"))
            assert "#CSECRET" in done.text
            await proxy.start()
            assert await here.drain_backlog() == 2
            await here.chat.intake.flush()
            await here.services.learner.flush()
            alice_id, bob_id = await person_id(here, alice), await person_id(here, bob)
            assert await count(here, Interest, person_id=alice_id) == 0
            assert await count(here, Signal, person_id=alice_id) == 0
            assert await count(here, Interest, person_id=bob_id) > 0
    finally:
        await there.aclose()
        await there.services.db.dispose()
