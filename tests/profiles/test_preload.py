"""The sender's rows read ahead in one statement (profiles/preload.py), on SQLite and
PostgreSQL: everything found at once, and a change inside the same transaction is never
answered from what was read before it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from profiles.admin_models import ChannelPolicy
from profiles.memories import add_memory, join_links, link_of, own_memories, unlink
from profiles.models import Consent, ConsentStatus, Person
from profiles.preload import preference_rows, read_sender, read_sender_now, take_over
from tests.conftest import MakeCore
from tests.support.helpers import people
from tests.support.statements import statements_sent

T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


async def test_one_statement_reads_person_consent_link_preferences_and_policy(
    make_core: MakeCore,
) -> None:
    core = await make_core()
    engine = core.services.engine
    alice, bob = await people(core, "alice", "bob")
    async with core.services.db.session() as session:
        await engine.set_consent(session, alice, ConsentStatus.GRANTED, T0)
        await engine.set_preference(session, alice, "tone", "formal", at=T0)
        await engine.set_preference(session, alice, "verbosity", "brief", at=T0)
        await join_links(session, alice, bob, group_key="g1", at=T0)
        session.add(ChannelPolicy(platform="test", workspace="W1", channel_id="C9", learn=False))

    async with core.services.db.session() as session:
        with statements_sent(core.services.db) as sent:
            found = await read_sender(session, "test", "W1", "alice", "C9")
            assert found is not None
            # Later readers of the same transaction find everything without SQL.
            assert await session.get(Consent, alice) is found.consent
            assert await session.get(Person, alice) is found.person
            assert (await link_of(session, alice)) is found.link
            assert list(await preference_rows(session, alice)) == found.preferences
        assert len([s for s in sent if not s.startswith("BEGIN")]) == 1
        assert found.consent is not None and found.consent.status == ConsentStatus.GRANTED.value
        assert found.link is not None and found.link.group_key == "g1"
        assert sorted((p.key, p.value) for p in found.preferences) == [
            ("tone", "formal"), ("verbosity", "brief")]
        assert found.channel_policy is not None and found.channel_policy.learn is False
        assert await read_sender(session, "test", "W1", "nobody") is None
        plain = await read_sender(session, "test", "W1", "bob", "")
        assert plain is not None and plain.channel_policy is None and plain.preferences == []


async def test_read_now_finds_what_a_session_finds_and_hands_it_on(
    make_core: MakeCore,
) -> None:
    """:func:`read_sender_now`: the same rows as :func:`read_sender`, in one statement and no
    transaction, and what a transaction would have kept, for the next one: its consent row
    joins that session as a clean row (no INSERT, no SQL for ``session.get``)."""
    core = await make_core()
    db, engine = core.services.db, core.services.engine
    alice, bob = await people(core, "alice", "bob")
    async with db.session() as session:
        await engine.set_consent(session, alice, ConsentStatus.GRANTED, T0)
        await engine.set_preference(session, alice, "tone", "formal", at=T0)
        await engine.set_preference(session, alice, "verbosity", "brief", at=T0)
        await join_links(session, alice, bob, group_key="g1", at=T0)
        session.add(ChannelPolicy(platform="test", workspace="W1", channel_id="C9", learn=False))

    def columns(row: Any) -> dict[str, Any] | None:
        return None if row is None else row.model_dump()

    async with db.read() as session:
        in_session = await read_sender(session, "test", "W1", "alice", "C9")
    with statements_sent(db) as sent:
        now = await read_sender_now(db, "test", "W1", "alice", "C9")
    assert len(sent) == 1 and sent[0].lstrip().startswith("SELECT")
    assert in_session is not None and now is not None
    found, ahead = now
    for part in ("person", "consent", "link", "channel_policy"):
        assert columns(getattr(found, part)) == columns(getattr(in_session, part)), part
    assert [columns(p) for p in found.preferences] == [
        columns(p) for p in in_session.preferences]
    assert len(found.preferences) == 2

    async with db.session() as session:
        take_over(session, ahead)
        with statements_sent(db) as sent:
            assert await session.get(Consent, alice) is found.consent
            assert (await link_of(session, alice)) is found.link
            assert list(await preference_rows(session, alice)) == found.preferences
            assert await own_memories(session, alice) == []  # read ahead: none kept
            await session.flush()
        assert sent == [] and not session.new and not session.dirty
    assert await read_sender_now(db, "test", "W1", "nobody") is None
    plain = await read_sender_now(db, "test", "W1", "bob")
    assert plain is not None
    assert plain[0].channel_policy is None and plain[0].preferences == []
    assert plain[0].consent is None and plain[0].link is not None  # bob never answered


async def test_changes_in_the_same_transaction_are_read_again(make_core: MakeCore) -> None:
    core = await make_core()
    engine = core.services.engine
    alice, bob = await people(core, "alice", "bob")
    async with core.services.db.session() as session:
        await engine.set_preference(session, alice, "tone", "formal", at=T0)
    async with core.services.db.session() as session:
        found = await read_sender(session, "test", "W1", "alice")
        assert found is not None and found.link is None
        await engine.set_preference(session, alice, "tone", "casual", at=T0)
        assert [(p.key, p.value) for p in await preference_rows(session, alice)] == [
            ("tone", "casual")]
        assert (await engine.preferences(session, alice, T0)).get("tone") == "casual"
        await engine.reset_preferences(session, alice)
        assert list(await preference_rows(session, alice)) == []
        await join_links(session, alice, bob, group_key="g1", at=T0)
        linked = await link_of(session, alice)
        assert linked is not None and linked.group_key == "g1"
        await unlink(session, alice)
        assert await link_of(session, alice) is None
        assert await own_memories(session, alice) == []  # read ahead: none
        await add_memory(session, alice, "tea, not coffee", source="explicit", at=T0, limit=10)
        assert [m.text for m in await own_memories(session, alice)] == ["tea, not coffee"]
