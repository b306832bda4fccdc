"""The sender's rows read ahead in one statement (profiles/preload.py), on SQLite and
PostgreSQL: everything found at once, and a change inside the same transaction is never
answered from what was read before it."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from profiles.admin_models import ChannelPolicy
from profiles.memories import add_memory, join_links, link_of, own_memories, unlink
from profiles.models import Consent, ConsentStatus, Person
from profiles.preload import (
    channel_policies,
    preference_rows,
    read_sender,
    read_sender_now,
    read_senders,
    take_over,
)
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


async def test_a_batch_s_senders_are_read_whatever_their_workspaces(make_core: MakeCore) -> None:
    """:func:`read_senders` (observed messages, a batch at a time): each key's person, consent
    and preference rows, people of several workspaces in one call, and no one for a key
    nobody has — the same user id in another workspace is another person."""
    core = await make_core()
    engine = core.services.engine
    alice, bob = await people(core, "alice", "bob")
    [alice_w2] = await people(core, "alice", workspace="W2")
    async with core.services.db.session() as session:
        await engine.set_consent(session, alice, ConsentStatus.GRANTED, T0)
        await engine.set_preference(session, alice, "tone", "formal", at=T0)
        await engine.set_preference(session, alice_w2, "verbosity", "brief", at=T0)
    keys = {("test", "W1", "alice"), ("test", "W1", "bob"), ("test", "W2", "alice"),
            ("test", "W2", "bob"), ("test", "W3", "carol")}
    async with core.services.db.read() as session:
        found = await read_senders(session, keys)
    assert set(found) == {("test", "W1", "alice"), ("test", "W1", "bob"), ("test", "W2", "alice")}
    by_id = {key: sender.person.id for key, sender in found.items()}
    assert by_id == {("test", "W1", "alice"): alice, ("test", "W1", "bob"): bob,
                     ("test", "W2", "alice"): alice_w2}
    first = found[("test", "W1", "alice")]
    assert first.consent is not None and first.consent.status == ConsentStatus.GRANTED.value
    assert [(p.key, p.value) for p in first.preferences] == [("tone", "formal")]
    assert [(p.key, p.value) for p in found[("test", "W2", "alice")].preferences] == [
        ("verbosity", "brief")]
    assert found[("test", "W1", "bob")].preferences == []


async def test_on_sqlite_a_batch_s_senders_and_channels_are_found_by_their_key_s_index(
    sqlite_url: str, settings_for: Any
) -> None:
    """SQLite scanned the whole table for ``(platform, workspace, user_id) IN (…)``: a batch's
    read grew with the people stored (profiles/preload.py). The statements as sent, asked for
    their plans, search the keys' indexes (the people's; the channel policies')."""
    import sqlite3

    from sqlalchemy import event

    from bot.core import Core
    from bot.llm import ScriptedBackend
    from profiles.db import Database

    core = Core(settings_for(sqlite_url), Database(sqlite_url), ScriptedBackend())
    sent: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, parameters: Any, *_args: Any) -> None:
        sent.append((statement, parameters))

    try:
        await people(core, *[f"u{i}" for i in range(30)])
        async with core.services.db.read() as session:
            event.listen(core.services.db.engine.sync_engine, "before_cursor_execute", record)
            await read_senders(session, {("test", "W1", f"u{i}") for i in range(0, 30, 3)})
            await channel_policies(session, {("test", "W1", f"C{i}") for i in range(5)})
            event.remove(core.services.db.engine.sync_engine, "before_cursor_execute", record)
    finally:
        await core.aclose()
        await core.services.db.dispose()
    reads = {table: next(found for found in sent if f"FROM {table} " in found[0])
             for table in ("person", "channel_policy")}
    with contextlib.closing(sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))) as raw:
        for table, (statement, parameters) in reads.items():
            plan = [row[3] for row in raw.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            on_table = [step for step in plan if step.split()[1:2] == [table]]
            searched = [step.startswith(f"SEARCH {table} USING") for step in on_table]
            assert searched and all(searched), plan
