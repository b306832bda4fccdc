"""Export and deletion completeness, proved by walking the live schema of the real database
(not our own list of tables), on SQLite and PostgreSQL."""

import datetime as dt
import json
import re

import psycopg
import pytest
from sqlalchemy import inspect, text

from bot.events import PersonRef
from bot.features import FeatureBase
from bot.llm import ScriptedBackend
from profiles.db import DatabaseBusy
from profiles.models import SQLModel, person_tables
from profiles.privacy import hold_against_erasure, hold_people_against_erasure
from tests.support.helpers import (
    action,
    command,
    grant,
    message,
    people,
    person,
    person_id,
    reaction,
)


async def person_referencing_tables(core) -> list[tuple[str, str]]:
    """(table, column) for every column in the live database that references person.id."""

    def walk(sync_conn):
        inspector = inspect(sync_conn)
        found = []
        for table in inspector.get_table_names():
            for fk in inspector.get_foreign_keys(table):
                if fk["referred_table"] == "person":
                    found.extend((table, column) for column in fk["constrained_columns"])
        return found

    async with core.services.db.engine.connect() as conn:
        return await conn.run_sync(walk)


async def rows_about(core, pid) -> dict[str, int]:
    counts = {}
    async with core.services.db.engine.connect() as conn:
        for table, column in await person_referencing_tables(core):
            result = await conn.execute(
                text(f'SELECT count(*) FROM "{table}" WHERE "{column}" = :pid'), {"pid": pid}
            )
            counts[table] = result.scalar_one()
        result = await conn.execute(
            text('SELECT count(*) FROM "person" WHERE id = :pid'), {"pid": pid}
        )
        counts["person"] = result.scalar_one()
    return counts


async def columns_containing(core, *needles: str) -> dict[str, list[str]]:
    """Content, not keys: every column of every table in the live database (text, JSON and
    binary alike, cast to text) searched case-insensitively for each needle. Returns
    needle → ["table.column", …] wherever it still appears."""

    def walk(sync_conn):
        inspector = inspect(sync_conn)
        return [
            (table, column["name"])
            for table in inspector.get_table_names()
            for column in inspector.get_columns(table)
        ]

    found: dict[str, list[str]] = {}
    async with core.services.db.engine.connect() as conn:
        columns = await conn.run_sync(walk)
        postgres = conn.dialect.name == "postgresql"
        for table, column in columns:
            cast = f'CAST("{column}" AS TEXT)'
            if postgres:  # bytea cast to text is hex: decode it as the bytes it holds
                cast = f"""(CASE WHEN pg_typeof("{column}") = 'bytea'::regtype
                    THEN encode("{column}"::text::bytea, 'escape') ELSE "{column}"::text END)"""
            for needle in needles:
                result = await conn.execute(
                    text(f'SELECT count(*) FROM "{table}" WHERE lower({cast}) LIKE :pattern'),
                    {"pattern": f"%{needle.lower()}%"},
                )
                if result.scalar_one():
                    found.setdefault(needle, []).append(f"{table}.{column}")
    return found


def sqlite_files_containing(database_url: str, *needles: str) -> dict[str, list[str]]:
    """The SQLite database file and its WAL, read as bytes (what a disk image would show)."""
    from pathlib import Path

    path = Path(database_url.removeprefix("sqlite:///"))
    found: dict[str, list[str]] = {}
    for candidate in (path, path.with_name(path.name + "-wal")):
        if not candidate.exists():
            continue
        data = candidate.read_bytes().lower()
        for needle in needles:
            if needle.lower().encode() in data:
                found.setdefault(needle, []).append(candidate.name)
    return found


async def busy_life(core, who):
    """Touch every kind of data the bot keeps about a person."""
    await grant(core, who)
    await core.handle(command(who, "prefs", "set tone formal"))
    await core.handle(message(who, "I'm into Rust async programming and distributed systems 🚀"))
    reply = (await core.handle(message(who, "Tell me about consensus algorithms like Raft")))[0]
    await core.bind_reply(reply.reply_id, f"msg-{who.user_id}")
    await core.handle(reaction(who, f"msg-{who.user_id}", "👍"))
    await core.handle(action(who, "feedback.up", reply.reply_id))
    await core.handle(message(who, "remember that I take my tea without sugar"))
    await core.handle(command(who, "link", "AAAA-AAAA"))  # a failed attempt is kept (rate limit)
    code = re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}", (await core.handle(command(who, "link")))[0].text)
    elsewhere = PersonRef("terminal", "local", f"{who.user_id}-cli", None)
    await core.handle(command(elsewhere, "link", code.group(0)))


def test_every_person_table_is_covered_by_the_contract():
    """A table that mentions a person but escapes person_tables() would escape /forget."""
    covered = {t.name for t in person_tables()}
    for table in SQLModel.metadata.sorted_tables:
        if "person_id" in table.columns:
            assert table.name in covered, f"{table.name} has person_id but no FK to person"


async def test_export_contains_every_table_and_only_this_person(make_core):
    core = await make_core(ScriptedBackend())
    alice, bob = person("alice"), person("bob")
    await busy_life(core, alice)
    await busy_life(core, bob)
    pid = await person_id(core, alice)
    replies = await core.handle(command(alice, "export"))
    data = json.loads(replies[0].attachment[1])
    assert replies[0].kind.value == "dm"
    live = {table for table, _ in await person_referencing_tables(core)}
    assert live <= set(data["tables"]), live - set(data["tables"])
    counts = await rows_about(core, pid)
    for table in live:
        assert len(data["tables"][table]) == counts[table], table
        assert all(row["person_id"] == pid for row in data["tables"][table])
    assert data["person"]["user_id"] == "alice"
    for table in (
        "signal",
        "interest",
        "trait",
        "style_profile",
        "conversation_turn",
        "feedback",
        "preference",
        "consent",
        "processed_event",
        "llm_call",
        "memory",
        "identity_link",
        "link_code",
        "link_attempt",
    ):
        assert data["tables"][table], f"busy_life left {table} empty: the test would prove less"
    assert "bob" not in json.dumps(data["tables"]).lower()


async def test_an_export_is_dated_by_the_bots_clock(make_core):
    """Like every row the bot writes (the process's own clock is not the bot's: tests,
    replays and a host with a wrong clock all differ)."""
    at = dt.datetime(2031, 3, 1, 12, 0, tzinfo=dt.UTC)
    core = await make_core(ScriptedBackend())
    core.services.clock = lambda: at
    alice = person("alice")
    await busy_life(core, alice)
    replies = await core.handle(command(alice, "export"))
    assert json.loads(replies[0].attachment[1])["exported_at"] == at.isoformat()


async def test_forget_asks_first_then_leaves_nothing_behind(make_core):
    core = await make_core(ScriptedBackend())
    alice, bob = person("alice"), person("bob")
    await busy_life(core, alice)
    await busy_life(core, bob)
    pid, bob_id = await person_id(core, alice), await person_id(core, bob)
    hooked = []

    class Hooked(FeatureBase):
        name = "hooked"

        async def delete_person_data(self, who):
            hooked.append(who.user_id)

    core.services.features.register(Hooked())
    bob_before = await rows_about(core, bob_id)

    ask = await core.handle(command(alice, "forget"))
    buttons = [b.action_id for b in ask[0].buttons]
    assert buttons == ["forget.confirm", "forget.all", "forget.cancel"]  # alice linked one
    assert (await rows_about(core, pid))["signal"] > 0  # nothing deleted before confirmation
    cancelled = await core.handle(action(alice, "forget.cancel"))
    assert "nothing was deleted" in cancelled[0].text

    done = await core.handle(action(alice, "forget.confirm"))
    assert "deleted everything" in done[0].text
    after = await rows_about(core, pid)
    assert set(after.values()) == {0}, {k: v for k, v in after.items() if v}
    assert hooked == ["alice"]
    assert await rows_about(core, bob_id) == bob_before

    # talking again starts from scratch, asking for consent again
    fresh = await core.handle(message(alice, "hello again"))
    assert fresh[-1].purpose == "consent_notice"


WORDS = "My quokka zebrafish xylophonist keeps a marmalade heliograph"


async def test_after_forget_their_words_are_in_no_column_and_not_on_disk(make_core, database_url):
    """Content, not only rows: a forgotten person's distinctive words and id are in no column
    of any table, and (SQLite) neither in the database file nor in its WAL."""
    core = await make_core(ScriptedBackend())
    alice = person("U-QX9ZEBRA")
    bob = person("bob")
    await busy_life(core, alice)
    await core.handle(message(alice, WORDS))
    # Explicit memories, on this identity and on the one it linked, are the person's words too.
    await core.handle(message(alice, "remember that my cat is called Ottolinequagga"))
    linked = PersonRef("terminal", "local", "U-QX9ZEBRA-cli", None)
    await core.handle(command(linked, "memory", "add my locker is Brindlewhistle"))
    await busy_life(core, bob)
    needles = ("xylophonist", "heliograph", "U-QX9ZEBRA", "Ottolinequagga", "Brindlewhistle")
    assert set(await columns_containing(core, *needles)) == set(needles)  # the scan sees them

    # busy_life linked a second identity ("U-QX9ZEBRA-cli"): forgetting all of them is what
    # "no copy anywhere" means for a person, and what /forget offers a linked person.
    await core.handle(command(alice, "forget", "confirm all"))

    assert await columns_containing(core, *needles) == {}
    if database_url.startswith("sqlite"):
        assert sqlite_files_containing(database_url, *needles) == {}


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_holds_against_erasure_wait_for_nobody_but_an_erasure(make_core, database_url):
    """A hold against erasure is a key share: Alice, whom a learning batch holds (FOR SHARE)
    and whose row a reply is writing, is held at once, and Bob, being erased (FOR UPDATE), is
    skipped by a page of people. They were FOR NO KEY UPDATE: a digest page skipped Alice
    as if she were being forgotten, and a judgement of hers waited for the batch."""
    core = await make_core()
    alice, bob = await people(core, "alice", "bob")
    others = await psycopg.AsyncConnection.connect(database_url)
    try:
        await others.execute("SELECT 1 FROM person WHERE id = %s FOR SHARE", (alice,))
        await others.execute("UPDATE person SET display_name = 'A' WHERE id = %s", (alice,))
        await others.execute("SELECT 1 FROM person WHERE id = %s FOR UPDATE", (bob,))
        async with core.services.db.session() as session:
            await session.exec(text("SET LOCAL lock_timeout = '300ms'"))
            assert await hold_people_against_erasure(session, [alice, bob]) == {alice}
            assert await hold_against_erasure(session, alice)
        with pytest.raises(DatabaseBusy):  # the erasure's lock is waited for
            async with core.services.db.session() as session:
                await session.exec(text("SET LOCAL lock_timeout = '300ms'"))
                await hold_against_erasure(session, bob)
    finally:
        await others.rollback()
        await others.close()
