"""Feedback on the bot's replies: a reply's topics are read when it is first judged, not when
it is answered."""

import asyncio
import logging

import pytest
from sqlmodel import select

import bot.handlers.feedback as feedback_handler
from bot.llm import ScriptedBackend
from profiles.models import ConversationTurn, Feedback, Interest
from tests.support.helpers import (
    action,
    command,
    count,
    forget_once_held,
    grant,
    message,
    person,
    person_id,
    reaction,
)

ANSWER = "Raft elections and log replication keep a distributed database consistent."


async def _consenting_alice(make_core):
    """A core whose model answers ANSWER, and Alice, who allows learning, with her row id."""
    core = await make_core(ScriptedBackend([ANSWER]))
    alice = person()
    await grant(core, alice)
    return core, alice, await person_id(core, alice)


def _counting_extractions(core):
    """The texts the core's extraction reads, in order (the real extraction still runs)."""
    texts: list[str] = []
    extract = core.services.extract

    async def counted(text, **kwargs):
        texts.append(text)
        return await extract(text, **kwargs)

    core.services.extract = counted
    return texts


async def _reply_turn(core, reply_id):
    async with core.services.db.read() as session:
        return await session.get(ConversationTurn, int(reply_id.split(":")[1]))


async def _weights(core, pid):
    async with core.services.db.read() as session:
        rows = (await session.exec(select(Interest).where(Interest.person_id == pid))).all()
    return {row.topic: row.weight for row in rows}


async def test_a_reply_is_read_once_when_first_judged_and_taken_back_exactly(make_core):
    core, alice, pid = await _consenting_alice(make_core)
    texts = _counting_extractions(core)
    reply = (await core.handle(message(alice, "how do databases stay consistent?")))[0]
    assert ANSWER not in texts  # answering did not read the reply
    assert (await _reply_turn(core, reply.reply_id)).topics is None
    await core.services.learner.flush()
    before = await _weights(core, pid)

    await core.handle(reaction(alice, reply.reply_id, "👍"))
    topics = (await _reply_turn(core, reply.reply_id)).topics
    assert texts.count(ANSWER) == 1 and topics and "log replication" in " ".join(topics)
    liked = await _weights(core, pid)
    assert all(liked[topic] > before.get(topic, 0.0) for topic in topics)
    assert await count(core, Feedback, person_id=pid, value=1) == 1

    await core.handle(reaction(alice, reply.reply_id, "👍", added=False))
    assert texts.count(ANSWER) == 1  # the stored topics, not a second reading
    back = await _weights(core, pid)
    assert all(abs(back[topic] - before.get(topic, 0.0)) < 1e-3 for topic in topics)
    assert await count(core, Feedback, person_id=pid) == 0


async def test_a_button_on_an_unread_reply_reads_it_too(make_core):
    core, alice, pid = await _consenting_alice(make_core)
    reply = (await core.handle(message(alice, "how do databases stay consistent?")))[0]
    acks = await core.handle(action(alice, "feedback.down", reply.reply_id))
    assert acks[0].purpose == "ack"
    assert (await _reply_turn(core, reply.reply_id)).topics
    assert await count(core, Feedback, person_id=pid, value=-1) == 1


async def test_a_reply_whose_topics_were_stored_is_judged_without_reading_it(make_core):
    """Replies recorded before topics were read lazily carry them already."""
    core, alice, pid = await _consenting_alice(make_core)
    reply = (await core.handle(message(alice, "how do databases stay consistent?")))[0]
    async with core.services.db.session() as session:
        turn = await session.get(ConversationTurn, int(reply.reply_id.split(":")[1]))
        turn.topics = ["stored topic"]
        session.add(turn)
    texts = _counting_extractions(core)
    await core.handle(reaction(alice, reply.reply_id, "👍"))
    assert ANSWER not in texts
    assert (await _weights(core, pid)).get("stored topic", 0.0) > 0


async def test_a_reply_whose_topics_cannot_be_read_is_still_judged(make_core, caplog):
    """The judgement counts (the reply-length preference learns from it) and credits no
    topic; taking it back takes back exactly that."""
    core, alice, pid = await _consenting_alice(make_core)
    reply = (await core.handle(message(alice, "how do databases stay consistent?")))[0]
    await core.services.learner.flush()
    before = await _weights(core, pid)

    async def broken(text, **kwargs):
        raise RuntimeError("extraction worker died")

    core.services.extract = broken
    await core.handle(reaction(alice, reply.reply_id, "👍"))
    assert "could not be read" in caplog.text
    assert (await _reply_turn(core, reply.reply_id)).topics == []
    assert await count(core, Feedback, person_id=pid, value=1) == 1
    assert await _weights(core, pid) == before
    await core.handle(reaction(alice, reply.reply_id, "👍", added=False))
    assert await count(core, Feedback, person_id=pid) == 0
    assert await _weights(core, pid) == before


def _forgotten_before_the_hold(core, elsewhere, who, monkeypatch):
    """``who`` confirms /forget through another worker (``elsewhere``: another core on the
    same database) just as this core's write transaction is about to write their judgement:
    after it read them and the reply, before it holds them against erasure. (Within one
    core a person's events are handled in order.)"""
    hold = feedback_handler.hold_against_erasure

    async def forgotten_first(session, person_id):
        await elsewhere.handle(command(who, "forget", "confirm"))
        return await hold(session, person_id)

    monkeypatch.setattr(feedback_handler, "hold_against_erasure", forgotten_first)


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
@pytest.mark.parametrize("judged_before", [False, True], ids=["unread reply", "read reply"])
async def test_a_judgement_racing_a_forget_elsewhere_keeps_nothing_and_fails_nothing(
    make_core, database_url, judged_before, caplog, monkeypatch
):
    """PostgreSQL only: on SQLite the writer serialises the two (the forget waits, or the
    judgement's write transaction finds nobody). The judgement's transaction read the person
    and the reply, and finds the person gone when it holds them: it writes nothing, the
    button is still acknowledged, nothing is raised or logged as an error, and nothing of
    the person is left."""
    caplog.set_level(logging.INFO, logger="bot.handlers.feedback")
    core, alice, pid = await _consenting_alice(make_core)
    elsewhere = await make_core()
    reply = (await core.handle(message(alice, "how do databases stay consistent?")))[0]
    await core.services.learner.flush()
    if judged_before:  # its topics stored by a first judgement
        await core.handle(reaction(alice, reply.reply_id, "👍"))
        assert await count(core, Feedback, person_id=pid) == 1
    _forgotten_before_the_hold(core, elsewhere, alice, monkeypatch)

    acks = await core.handle(action(alice, "feedback.down", reply.reply_id))

    assert [ack.purpose for ack in acks] == ["ack"]
    assert "forgotten meanwhile" in caplog.text
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert await person_id(core, alice) is None
    for table in (Feedback, Interest, ConversationTurn):
        assert await count(core, table) == 0


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_a_forget_while_a_judgement_is_written_waits_for_it(
    make_core, database_url, caplog
):
    """PostgreSQL only. The judgement's transaction has stored the reply's topics (a lock
    on the turn) when the person's /forget starts through another worker (within one core
    a person's events are handled in order). The forget used to delete their
    interests and wait for that turn, while the judgement then waited to upsert one of
    those interests: a deadlock, and PostgreSQL aborted the forget. Now the judgement holds
    the person before its first write, so the forget waits for it and then deletes what it
    wrote too."""
    caplog.set_level(logging.WARNING)
    core, alice, pid = await _consenting_alice(make_core)
    reply = (await core.handle(message(alice, "how do databases stay consistent?")))[0]
    await core.services.learner.flush()
    assert await count(core, Interest, person_id=pid) > 0  # rows the forget must delete
    engine = core.services.engine
    record_feedback = engine.record_feedback
    locked, judged = asyncio.Event(), asyncio.Event()

    async def paused(session, *args, **kwargs):  # the reply's topics written, then a pause
        await session.flush()
        locked.set()
        await judged.wait()
        return await record_feedback(session, *args, **kwargs)

    engine.record_feedback = paused
    elsewhere = await make_core()
    judging = asyncio.ensure_future(core.handle(action(alice, "feedback.up", reply.reply_id)))
    forget = await forget_once_held(core, elsewhere, alice, locked, judged)

    assert [ack.purpose for ack in await judging] == ["ack"]
    replies = await forget
    assert "Done." in replies[0].text
    assert await person_id(core, alice) is None
    for table in (Feedback, Interest, ConversationTurn):
        assert await count(core, table) == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
