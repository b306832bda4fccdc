"""The sender's rows read ahead in one statement (profiles/preload.py), on SQLite and
PostgreSQL: everything found at once, and a change inside the same transaction is never
answered from what was read before it."""

from __future__ import annotations

import datetime as dt

from profiles.admin_models import ChannelPolicy
from profiles.memories import add_memory, join_links, link_of, own_memories, unlink
from profiles.models import Consent, ConsentStatus, Person
from profiles.preload import preference_rows, read_sender
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
