"""Storage limitation on the real databases: expired records go, aggregates stay."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlmodel import select

from bot.retention import purge_now
from profiles import retention
from profiles.db import DatabaseUnavailable
from profiles.models import (
    ChannelActivity,
    ConversationTurn,
    DigestItem,
    DigestRun,
    Interest,
    LLMCall,
    ProfileSummary,
    Recommendation,
    Signal,
)
from profiles.retention import RetentionPolicy
from tests.support.helpers import command, count, grant, message, person, person_id

NOW = dt.datetime(2031, 3, 1, 12, 0, tzinfo=dt.UTC)


async def aged(core, pid: int, days: int, tag: str) -> None:
    at = NOW - dt.timedelta(days=days)
    async with core.services.db.session() as session:
        session.add(ConversationTurn(person_id=pid, role="user", text=tag, created_at=at))
        session.add(Signal(person_id=pid, kind="topic", value=tag, excerpt=tag, created_at=at))
        session.add(
            ChannelActivity(
                person_id=pid,
                platform="test",
                workspace="W1",
                channel_id="C1",
                message_id=tag,
                excerpt=tag,
                created_at=at,
            )
        )
        session.add(LLMCall(person_id=pid, purpose="chat", backend="x", model="m", created_at=at))
        run = DigestRun(person_id=pid, period_key=tag, scheduled_for=at, claimed_at=at)
        session.add(run)
        await session.flush()
        assert run.id is not None
        session.add(
            DigestItem(
                person_id=pid,
                run_id=run.id,
                item_key=tag,
                fingerprint=tag,
                title=tag,
                source="rss",
                created_at=at,
            )
        )


async def test_each_kind_of_record_goes_after_its_own_age(make_core):
    core = await make_core(
        retention_conversation_days=30,
        retention_signal_evidence_days=60,
        retention_channel_excerpt_days=7,
        retention_digest_item_days=90,
        retention_model_call_days=0,  # 0: kept for ever
    )
    core.services.clock = lambda: NOW
    alice = person()
    await grant(core, alice)
    await core.handle(message(alice, "I love sourdough baking and rye flour"))
    pid = await person_id(core, alice)
    assert pid is not None
    for days in (3, 20, 45, 75, 400):
        await aged(core, pid, days, f"d{days}")
    interests_before = await count(core, Interest, person_id=pid)
    calls_before = await count(core, LLMCall, person_id=pid)

    removed = await purge_now(core.services)

    async def tags(model, column):
        async with core.services.db.session() as session:
            rows = await session.exec(select(column).where(model.person_id == pid))
            return sorted(t for t in rows if t and t.startswith("d"))

    assert await tags(ConversationTurn, ConversationTurn.text) == ["d20", "d3"]
    assert await tags(Signal, Signal.excerpt) == ["d20", "d3", "d45"]
    assert await tags(ChannelActivity, ChannelActivity.excerpt) == ["d3"]
    assert await tags(DigestItem, DigestItem.title) == ["d20", "d3", "d45", "d75"]
    assert await count(core, LLMCall, person_id=pid) == calls_before >= 5
    assert await count(core, Interest, person_id=pid) == interests_before > 0
    assert removed["conversation_turn"] >= 3 and removed["channel_activity"] == 4
    assert "llm_call" not in removed
    assert await purge_now(core.services) == {k: 0 for k in removed}  # idempotent


async def test_recommendation_requests_and_summaries_go_with_the_conversation(make_core):
    """A /recommend request is the person's words and the model's summary is read from their
    turns: both were kept for ever (privacy audit); now at the conversation's age."""
    core = await make_core(retention_conversation_days=30)
    core.services.clock = lambda: NOW
    ids = {}
    for who in ("alice", "bob"):
        await grant(core, person(who))
        ids[who] = await person_id(core, person(who))
    async with core.services.db.session() as session:
        for days in (3, 45):
            session.add(Recommendation(
                person_id=ids["alice"], request=f"a book about my d{days} divorce",
                title=f"d{days}", normalised_title=f"d{days}",
                created_at=NOW - dt.timedelta(days=days),
            ))
        for who, days in (("alice", 45), ("bob", 3)):
            session.add(ProfileSummary(
                person_id=ids[who], summary={"notes": [f"mentions d{days} lawyer"]}, model="m",
                created_at=NOW - dt.timedelta(days=days),
            ))

    removed = await purge_now(core.services)

    async with core.services.db.session() as session:
        kept = sorted((await session.exec(
            select(Recommendation.title, Recommendation.request))).all())
        summarised = (await session.exec(select(ProfileSummary.person_id))).all()
    # the old request is blanked, its title kept: never suggested twice (review)
    assert kept == [("d3", "a book about my d3 divorce"), ("d45", "")]
    assert summarised == [ids["bob"]]
    assert removed["recommendation"] == 1 and removed["profile_summary"] == 1
    assert (await purge_now(core.services))["recommendation"] == 0  # blanked once


def test_the_promise_people_read_matches_the_policy():
    text = RetentionPolicy(conversation_days=30, model_call_days=0).describe()
    assert "conversation turns 30 days" in text
    assert "what you asked me to recommend 30 days" in text
    assert "model-call records for ever" in text
    assert "interests" in text


async def test_profile_says_what_is_kept_and_how_long(make_core):
    core = await make_core(retention_conversation_days=45)
    alice = person()
    await grant(core, alice)
    replies = await core.handle(command(alice, "profile"))
    assert "What I keep and for how long: conversation turns 45 days" in replies[0].text


async def _memory_and_link_rows(core, pid: int, days: int, tag: str) -> None:
    from profiles.memory_models import LinkAttempt, LinkCode, Memory

    at = NOW - dt.timedelta(days=days)
    async with core.services.db.session() as session:
        session.add(
            Memory(person_id=pid, text=tag, key=tag, source="command", created_at=at)
        )
        session.add(
            LinkCode(
                person_id=pid,
                code_hash=tag,
                created_at=at,
                expires_at=at + dt.timedelta(minutes=10),
            )
        )
        session.add(LinkAttempt(person_id=pid, at=at))


async def _memory_texts(core, pid: int) -> list[str]:
    from profiles.memory_models import Memory

    async with core.services.db.session() as session:
        rows = await session.exec(select(Memory.text).where(Memory.person_id == pid))
        return sorted(rows)


async def test_memories_stay_until_removed_unless_an_age_is_set(make_core):
    """Explicit memories are the person's own list: no age by default; with
    retention_memory_days they go like any other record. Link codes and attempts go a day
    after they stop mattering, whatever the settings."""
    from profiles.memory_models import LinkAttempt, LinkCode

    core = await make_core()
    core.services.clock = lambda: NOW
    alice = person()
    await core.handle(command(alice, "memory", "add I am vegetarian"))
    pid = await person_id(core, alice)
    assert pid is not None
    for days in (0, 2, 400):
        await _memory_and_link_rows(core, pid, days, f"m{days}")

    removed = await purge_now(core.services)
    assert await _memory_texts(core, pid) == ["I am vegetarian", "m0", "m2", "m400"]
    assert "memory" not in removed
    assert removed["link_code"] == 2 and removed["link_attempt"] == 2
    assert await count(core, LinkCode, person_id=pid) == await count(
        core, LinkAttempt, person_id=pid
    ) == 1

    bounded = await make_core(retention_memory_days=30)  # same database, an age set
    bounded.services.clock = lambda: NOW
    assert (await purge_now(bounded.services))["memory"] == 1
    assert await _memory_texts(core, pid) == ["I am vegetarian", "m0", "m2"]


async def test_profile_says_how_long_memories_are_kept(make_core):
    alice = person()
    for days, promise in ((0, "what you asked me to remember until you remove it"),
                          (365, "what you asked me to remember 365 days")):
        core = await make_core(retention_memory_days=days)
        replies = await core.handle(command(alice, "profile"))
        assert promise in replies[0].text


async def _aged_turns(core, days: int, n: int) -> int:
    alice = person()
    await grant(core, alice)
    pid = await person_id(core, alice)
    assert pid is not None
    at = NOW - dt.timedelta(days=days)
    async with core.services.db.session() as session:
        for i in range(n):
            session.add(ConversationTurn(person_id=pid, role="user", text=f"t{i}", created_at=at))
    return pid


async def test_each_batch_is_a_transaction_of_its_own(make_core, monkeypatch):
    """A purge is many small transactions, not one (on SQLite every reply waited for the
    whole purge): a purge cut off by the database going away keeps the batches it
    committed, and the next one finishes the job."""
    core = await make_core(retention_conversation_days=30)
    core.services.clock = lambda: NOW
    pid = await _aged_turns(core, 40, 5)
    monkeypatch.setattr(retention, "BATCH", 2)
    session = core.services.db.session
    batches = 0

    def third_batch_fails(**kwargs):
        nonlocal batches
        if kwargs.get("background"):
            batches += 1
            if batches == 3:
                raise DatabaseUnavailable("the database went away")
        return session(**kwargs)

    monkeypatch.setattr(core.services.db, "session", third_batch_fails)
    with pytest.raises(DatabaseUnavailable):
        await purge_now(core.services)
    assert await count(core, ConversationTurn, person_id=pid) == 1  # two batches of two

    monkeypatch.setattr(core.services.db, "session", session)
    assert (await purge_now(core.services))["conversation_turn"] == 1
    assert await count(core, ConversationTurn, person_id=pid) == 0


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_a_purge_skips_rows_another_transaction_holds(make_core):
    """PostgreSQL: a row another transaction has locked (a /forget deleting it, a digest
    recording it) is left for the next purge instead of waited for — a purge that waits for
    nobody cannot be half of a deadlock."""
    core = await make_core(retention_conversation_days=30)
    core.services.clock = lambda: NOW
    pid = await _aged_turns(core, 40, 3)
    async with core.services.db.session() as holder:
        held = (
            await holder.exec(
                select(ConversationTurn.id)
                .where(ConversationTurn.person_id == pid)
                .limit(1)
                .with_for_update()
            )
        ).one()
        async with asyncio.timeout(10):  # waiting for the lock would hang here
            removed = await purge_now(core.services)
        assert removed["conversation_turn"] == 2
    assert (await purge_now(core.services))["conversation_turn"] == 1
    assert held is not None and await count(core, ConversationTurn, person_id=pid) == 0
