"""bot.reply_bindings on real databases: sent replies' platform ids reach their turns together,
in one statement, within the binding delay; until then a reaction to such a reply is still
feedback on it; ids the core never made bind nothing. (Outages — bindings kept, written once
the database is back or at stop, dropped by /forget — are in tests/bot/test_db_outage.py.)"""

import asyncio
from typing import Any

from sqlmodel import select

import bot.pipeline.intake as intake_module
from bot.core import Core
from bot.reply_bindings import turn_id_of
from profiles.models import ConversationTurn, Feedback
from tests.support.helpers import count, grant, message, person, person_id, reaction
from tests.support.statements import statements_sent

TOPIC_TEXT = "I'm learning Rust async programming and reading about distributed systems"
OTHER_TEXT = "Any tips on tuning PostgreSQL autovacuum for a busy queue table?"


async def bound(core: Core) -> list[tuple[str, str]]:
    """(reply id, platform message id) of every turn with a binding written."""
    async with core.services.db.session() as session:
        rows = (await session.exec(
            select(ConversationTurn.id, ConversationTurn.platform_message_id)
            .where(ConversationTurn.platform_message_id.is_not(None))  # type: ignore[union-attr]
            .order_by(ConversationTurn.id)  # type: ignore[arg-type]
        )).all()
    return [(f"turn:{turn_id}", mid) for turn_id, mid in rows]


async def test_bindings_of_the_delay_are_written_together_in_one_statement(core):
    """Adapters bind every reply they send: the bindings that arrive within the delay wait
    in memory and go in one UPDATE (an executemany; on SQLite one transaction holding the
    one writer, no read first) — not one transaction per reply. An id the core never made —
    not a turn, not a number, too large for any row — binds nothing and raises nothing."""
    core.bindings.delay = 3600.0  # only the test's flush writes
    alice, bob = person("alice"), person("bob")
    await grant(core, alice)
    await grant(core, bob)
    hers = (await core.handle(message(alice, TOPIC_TEXT)))[0]
    his = (await core.handle(message(bob, OTHER_TEXT)))[0]
    await core.services.learner.flush()  # what the two messages teach: not counted below
    with statements_sent(core.services.db) as sent:
        await core.bind_reply(hers.reply_id, "ts-77")
        await core.bind_reply(his.reply_id, "ts-78")
        for made_elsewhere in ("turn:", "turn:abc", "turn:\u0663", "turn:" + "9" * 40,
                               "msg:1", "turn:-1"):
            await core.bind_reply(made_elsewhere, "ts-other")
    assert sent == []  # waiting for the delay
    assert await bound(core) == []
    with statements_sent(core.services.db) as sent:
        await core.bindings.flush()  # what the timer does
    assert [s.split()[0] for s in sent if s not in ("BEGIN", "COMMIT")] == ["UPDATE"]
    assert core.bindings.kept == ()
    assert await bound(core) == [(hers.reply_id, "ts-77"), (his.reply_id, "ts-78")]


async def test_the_timer_writes_the_bindings_and_a_delay_of_zero_writes_at_once(core):
    alice = person()
    await grant(core, alice)
    first = (await core.handle(message(alice, TOPIC_TEXT)))[0]
    core.bindings.delay = 0.01
    await core.bind_reply(first.reply_id, "ts-1")
    for _ in range(500):  # the timer's task, on the event loop (at most ~5 s)
        if await bound(core):
            break
        await asyncio.sleep(0.01)
    assert await bound(core) == [(first.reply_id, "ts-1")]
    assert core.bindings.kept == ()

    second = (await core.handle(message(alice, OTHER_TEXT)))[0]
    core.bindings.delay = 0
    await core.bind_reply(second.reply_id, "ts-2")
    assert core.bindings.kept == ()
    assert await bound(core) == [(first.reply_id, "ts-1"), (second.reply_id, "ts-2")]


async def test_a_reaction_to_a_reply_whose_binding_waits_is_feedback_on_it(core):
    """The binding is not written yet when the reaction comes (a person quicker than the
    delay, or a database away): the reaction is still feedback on the reply — through the
    batched intake and the per-event path — and only from the person the reply answered;
    someone else's reaction to it is not feedback on their own profile."""
    core.bindings.delay = 3600.0
    alice, bob = person("alice"), person("bob")
    await grant(core, alice)
    await grant(core, bob)
    reply = (await core.handle(message(alice, TOPIC_TEXT)))[0]
    await core.bind_reply(reply.reply_id, "ts-quick")
    assert core.bindings.turn_for("ts-quick") == turn_id_of(reply.reply_id)

    await core.handle(reaction(bob, "ts-quick", "👍"))
    await core.handle(reaction(alice, "ts-quick", "👍"))
    await core.services.learner.flush()  # reactions pass the batched intake first
    assert await count(core, Feedback, person_id=await person_id(core, alice)) == 1
    assert await count(core, Feedback, person_id=await person_id(core, bob)) == 0
    assert await bound(core) == []  # still waiting: the feedback did not need it written

    await core.bindings.flush()
    assert core.bindings.turn_for("ts-quick") is None
    await core.handle(reaction(alice, "ts-quick", "👍", added=False))
    await core.services.learner.flush()
    assert await count(core, Feedback, person_id=await person_id(core, alice)) == 0


async def test_a_binding_written_while_a_reaction_is_resolved_is_still_found(core, monkeypatch):
    """The binding's write commits after the intake's batch began reading (on SQLite its
    reads then see the database as it was before) and before the batch looks in memory
    (which the write has left): the batch asks memory before it reads, so the reaction is
    feedback all the same. (On PostgreSQL each read sees what was committed when it ran.)"""
    core.bindings.delay = 3600.0
    alice = person()
    await grant(core, alice)
    reply = (await core.handle(message(alice, TOPIC_TEXT)))[0]
    await core.bind_reply(reply.reply_id, "ts-race")
    await core.services.learner.flush()
    read_senders = intake_module.read_senders

    async def senders_then_the_binding_written(session: Any, keys: Any) -> Any:
        found = await read_senders(session, keys)
        await core.bindings.flush()
        return found

    monkeypatch.setattr(intake_module, "read_senders", senders_then_the_binding_written)
    await core.handle(reaction(alice, "ts-race", "👍"))
    await core.services.learner.flush()
    assert await bound(core) == [(reply.reply_id, "ts-race")]
    assert await count(core, Feedback, person_id=await person_id(core, alice)) == 1


def test_only_ids_the_core_made_name_a_turn() -> None:
    assert turn_id_of("turn:42") == 42
    for other in ("turn:", "turn:abc", "turn:\u0663", "turn:" + "9" * 19, "msg:1", "turn:-1",
                  "42"):
        assert turn_id_of(other) is None, other
