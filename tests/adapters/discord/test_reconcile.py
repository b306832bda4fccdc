"""Who left, and which servers removed the bot, while it was disconnected: found at the next
READY (adapters/discord/reconcile.py), with forget_on_leave only, and never on an incomplete
member list.

The real discord.py client connects to the local Discord-compatible gateway
(tests/support/fake_discord_api.py), which starts sessions as Discord does and sends other
events only when a test asks: a member removed there by hand, or a server dropped, left while
the bot was not listening.
Each ``connected`` block is one run of the bot (a restart between two blocks); the database
is the test's, SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from adapters.discord import reconcile
from adapters.discord.client import AnyClient, build_client
from adapters.discord.endpoints import pointed_at
from adapters.discord.reconcile import Reconciliation
from bot.core import Core
from bot.events import PersonRef
from profiles.db import DatabaseUnavailable
from tests.support.fake_discord_api import TOKEN, FakeDiscord, FakeGuild
from tests.support.helpers import grant, person_id
from tests.support.stepped_sleep import SteppedSleep

MakeCore = Callable[..., Awaitable[Core]]
WAIT = 30.0  # seconds; a run takes well under one


async def _identify_at_once(shard_id: int | None, *, initial: bool = False) -> None:
    """discord.py's ``before_identify_hook`` without its 5 s pause."""


@contextlib.asynccontextmanager
async def connected(
    core: Core, fake: FakeDiscord, *, privileged: tuple[str, ...] = ("members",),
    **options: Any,
) -> AsyncIterator[AnyClient]:
    """One run of the bot against ``fake``, as the runner starts and stops it."""
    client = build_client(core, core.services.settings, privileged=privileged, **options)
    # discord.py waits this long after the last GUILD_CREATE before READY counts as done
    # (2 s); the fake sends them all at once.
    client._connection.guild_ready_timeout = 0.5
    # discord.py's documented hook paces IDENTIFYs for Discord's rate limit: 5 s before each
    # one after the first (a new session after a refused RESUME). The fake has no such limit,
    # and what is tested is the session that follows, not the pause before it.
    client.before_identify_hook = _identify_at_once  # type: ignore[method-assign]
    client.adapter.install_delivery()
    with pointed_at(fake.api_url, fake.gateway_url):
        await client.login(TOKEN)
        running = asyncio.create_task(client.connect(reconnect=True))
        try:
            yield client
        finally:
            client.adapter.uninstall_delivery()
            await client.close()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(running, WAIT)


async def reconciled(client: AnyClient, runs: int = 1) -> Reconciliation | None:
    return await asyncio.wait_for(client.adapter.reconciler.wait(runs), WAIT)


def ref(workspace: str, user_id: str) -> PersonRef:
    return PersonRef("discord", workspace, user_id)


async def known(core: Core, *refs: PersonRef) -> list[bool]:
    return [await person_id(core, who) is not None for who in refs]


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(ready=True) as api:
        yield api


@pytest.fixture
async def forgetting(make_core: MakeCore) -> Core:
    return await make_core(forget_on_leave=True)


async def makers(core: Core, fake: FakeDiscord) -> tuple[FakeGuild, str, str]:
    """A server with Alice and Bob, both known to tailorbot there; Alice also in DMs."""
    guild = fake.add_guild("Makers")
    alice, bob = guild.add_member("alice"), guild.add_member("bob")
    for who in (ref(guild.id, alice), ref(guild.id, bob), ref("dm", alice)):
        await grant(core, who)
    return guild, alice, bob


async def test_a_member_who_left_while_disconnected_is_forgotten_at_reconnect(
    forgetting: Core, fake: FakeDiscord
) -> None:
    """The connection drops, Discord will not resume the session, Alice leaves meanwhile:
    the new session's READY finds her gone (read in chunks of one member, so the whole list
    takes several events). Bob, still there, and Alice's DM scope stay."""
    fake.chunk_size = 1
    guild, alice, bob = await makers(forgetting, fake)
    async with connected(forgetting, fake) as client:
        first = await reconciled(client)
        assert first is not None and first.forgotten == {int(guild.id): 0}
        assert await known(forgetting, ref(guild.id, alice), ref(guild.id, bob)) == [True, True]

        guild.remove_member(alice)
        await fake.drop()
        second = await reconciled(client, 2)

    assert fake.resumes >= 1 and len(fake.identifies) == 2  # a new session, not a resume
    assert second is not None and second.forgotten == {int(guild.id): 1}
    assert await known(forgetting, ref(guild.id, alice), ref(guild.id, bob),
                       ref("dm", alice)) == [False, True, True]


async def test_a_restart_forgets_who_left_and_keeps_who_stayed_and_dm_only_people(
    forgetting: Core, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    """Alice left the server while the bot was down; Carol never was in it, she only wrote
    to the bot in DMs; a bot account in the server is no person either way. The log says
    how many each server lost."""
    caplog.set_level(logging.INFO, logger=reconcile.__name__)
    guild, alice, bob = await makers(forgetting, fake)
    guild.add_member("helper-bot", bot=True)
    carol = "4242"
    await grant(forgetting, ref("dm", carol))
    guild.remove_member(alice)

    async with connected(forgetting, fake) as client:
        outcome = await reconciled(client)

    assert outcome is not None and outcome.forgotten == {int(guild.id): 1}
    assert outcome.workspaces == {}
    assert await known(forgetting, ref(guild.id, alice), ref(guild.id, bob), ref("dm", alice),
                       ref("dm", carol)) == [False, True, True, True]
    assert (f"Discord server {guild.id}: forgot 1 people who left while the bot was "
            "disconnected") in caplog.text


async def test_a_server_that_removed_the_bot_while_disconnected_is_forgotten(
    forgetting: Core, fake: FakeDiscord
) -> None:
    guild, alice, bob = await makers(forgetting, fake)
    gone = fake.add_guild("Old club")
    dave = gone.add_member("dave")
    await grant(forgetting, ref(gone.id, dave))
    await grant(forgetting, ref(gone.id, alice))
    fake.guilds.remove(gone)

    async with connected(forgetting, fake) as client:
        outcome = await reconciled(client)

    assert outcome is not None and outcome.workspaces == {gone.id: 2}
    assert await known(forgetting, ref(gone.id, dave), ref(gone.id, alice)) == [False, False]
    assert await known(forgetting, ref(guild.id, alice), ref(guild.id, bob),
                       ref("dm", alice)) == [True, True, True]


async def test_an_unavailable_server_forgets_nobody_until_it_is_back(
    forgetting: Core, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    """Listed unavailable at READY: a Discord outage, not a removal. Its people all stay —
    nobody's leaving can be seen — until the server is back; then who left is found."""
    guild, alice, bob = await makers(forgetting, fake)
    guild.remove_member(alice)
    guild.unavailable = True
    caplog.set_level(logging.INFO, logger=reconcile.__name__)

    async with connected(forgetting, fake) as client:
        outcome = await reconciled(client)
        assert outcome is not None and outcome.workspaces == {}
        assert "unavailable" in outcome.skipped[int(guild.id)]
        assert f"Discord server {guild.id}: members who left" in caplog.text
        assert await known(forgetting, ref(guild.id, alice), ref(guild.id, bob)) == [True, True]
        assert fake.member_requests == []

        await fake.make_available(guild)
        back = await reconciled(client, 2)

    assert back is not None and back.forgotten == {int(guild.id): 1}
    assert await known(forgetting, ref(guild.id, alice), ref(guild.id, bob)) == [False, True]


async def test_without_the_members_intent_nobody_is_forgotten(
    forgetting: Core, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    guild, alice, bob = await makers(forgetting, fake)
    guild.remove_member(alice)

    async with connected(forgetting, fake, privileged=()) as client:
        outcome = await reconciled(client)

    assert outcome is not None
    assert outcome.skipped == {int(guild.id): "the members intent is not granted"}
    assert "without the members intent nobody who left a server" in caplog.text
    assert fake.member_requests == []
    assert await known(forgetting, ref(guild.id, alice), ref(guild.id, bob)) == [True, True]


@pytest.mark.parametrize("chunking", ["short", "silent"])
async def test_an_incomplete_member_list_forgets_nobody(
    forgetting: Core, fake: FakeDiscord, chunking: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One member missing from the answer, or no answer at all: nobody is erased on it."""
    monkeypatch.setattr(reconcile, "CHUNK_TIMEOUT", 1.0)
    guild, alice, bob = await makers(forgetting, fake)
    guild.chunking = chunking

    async with connected(forgetting, fake) as client:
        outcome = await reconciled(client)

    assert outcome is not None and outcome.forgotten == {}
    why = outcome.skipped[int(guild.id)]
    assert ("incomplete" if chunking == "short" else "in time") in why
    assert len(fake.member_requests) == 1
    assert await known(forgetting, ref(guild.id, alice), ref(guild.id, bob)) == [True, True]


async def test_forget_on_leave_off_reads_no_member_list_and_forgets_nobody(
    make_core: MakeCore, fake: FakeDiscord
) -> None:
    core = await make_core()  # forget_on_leave defaults to false
    guild, alice, bob = await makers(core, fake)
    guild.remove_member(alice)
    gone = fake.add_guild("Old club")
    await grant(core, ref(gone.id, bob))
    fake.guilds.remove(gone)

    async with connected(core, fake) as client:
        assert await reconciled(client) is None

    assert fake.member_requests == []
    assert await known(core, ref(guild.id, alice), ref(gone.id, bob)) == [True, True]


async def test_a_shard_reconciles_only_the_servers_of_its_shards(
    forgetting: Core, fake: FakeDiscord
) -> None:
    """Two processes share two shards; this one runs shard 0. A server tailorbot knows
    people of on shard 1 is not in its READY, and is none of its business: it stays."""
    guild = fake.add_guild("Makers", shard=(0, 2))
    alice, bob = guild.add_member("alice"), guild.add_member("bob")
    other = fake.add_guild("Elsewhere", shard=(1, 2))
    erin = other.add_member("erin")
    gone = fake.add_guild("Old club", shard=(0, 2))
    for who in (ref(guild.id, alice), ref(guild.id, bob), ref(other.id, erin),
                ref(gone.id, bob)):
        await grant(forgetting, who)
    guild.remove_member(alice)
    fake.guilds.remove(gone)

    async with connected(forgetting, fake, sharded=True, shard_count=2,
                         shard_ids=[0]) as client:
        outcome = await reconciled(client)

    assert outcome is not None and outcome.shard_id == 0
    assert outcome.workspaces == {gone.id: 1}
    assert outcome.forgotten == {int(guild.id): 1}
    assert await known(forgetting, ref(guild.id, alice), ref(guild.id, bob),
                       ref(other.id, erin), ref(gone.id, bob)) == [False, True, True, False]


async def test_someone_who_joins_while_the_list_is_read_is_present(
    forgetting: Core, fake: FakeDiscord
) -> None:
    """While the member list is on its way, Frank joins and writes (he has a row now) and
    George leaves: the list, taken before either, still counts as many members as the
    server, yet lacks Frank. He is present all the same; George goes by his leave event."""
    guild, alice, bob = await makers(forgetting, fake)
    george = guild.add_member("george")
    await grant(forgetting, ref(guild.id, george))
    guild.chunking = "held"

    async with connected(forgetting, fake) as client:
        await asyncio.wait_for(fake.member_requested.wait(), WAIT)
        frank = await fake.member_joins(guild, "frank")
        await grant(forgetting, ref(guild.id, frank))
        await fake.member_leaves(guild, george)
        fake.release_members.set()
        outcome = await reconciled(client)

    assert outcome is not None and outcome.forgotten == {int(guild.id): 0}
    assert await known(forgetting, ref(guild.id, frank), ref(guild.id, alice),
                       ref(guild.id, bob)) == [True, True, True]


async def test_a_server_back_from_an_outage_finds_who_left_during_it(
    forgetting: Core, fake: FakeDiscord
) -> None:
    """An outage in the middle of a session hides the leave events too. discord.py keeps the
    server's members from before it (Alice included) in its cache; the list read once the
    server is back does not have her."""
    guild, alice, bob = await makers(forgetting, fake)
    async with connected(forgetting, fake) as client:
        first = await reconciled(client)
        assert first is not None and first.forgotten == {int(guild.id): 0}

        await fake.outage(guild)
        guild.remove_member(alice)
        await fake.make_available(guild)
        back = await reconciled(client, 2)

    assert back is not None and back.forgotten == {int(guild.id): 1}
    assert await known(forgetting, ref(guild.id, alice), ref(guild.id, bob),
                       ref("dm", alice)) == [False, True, True]


async def test_a_reconcile_the_database_did_not_let_finish_is_tried_again_soon(
    forgetting: Core, fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bot started while its database was away (both started together): nobody who
    left while it was down was forgotten, and "the next connect tries again" could be weeks
    away. It is tried again after a minute, then less often, until it is done."""
    guild, alice, bob = await makers(forgetting, fake)
    gone = fake.add_guild("Old club")
    dave = gone.add_member("dave")
    await grant(forgetting, ref(gone.id, dave))
    fake.guilds.remove(gone)
    guild.remove_member(alice)
    absent, absent_servers = forgetting.forget_absent, forgetting.forget_absent_workspaces

    async def away(*args: Any, **kwargs: Any) -> Any:
        raise DatabaseUnavailable("the database is away")

    monkeypatch.setattr(forgetting, "forget_absent", away)
    monkeypatch.setattr(forgetting, "forget_absent_workspaces", away)
    clock = SteppedSleep()
    async with connected(forgetting, fake) as client:
        client.adapter.reconciler.sleep = clock.sleep
        first = await reconciled(client)
        assert first is not None and first.skipped == {int(guild.id): "failed"}
        assert first.servers_unchecked
        await asyncio.wait_for(clock.asleep.wait(), WAIT)
        clock.tick()  # still away
        second = await reconciled(client, 2)
        assert second is not None and second.unfinished
        await asyncio.wait_for(clock.asleep.wait(), WAIT)

        monkeypatch.setattr(forgetting, "forget_absent", absent)  # it is back
        monkeypatch.setattr(forgetting, "forget_absent_workspaces", absent_servers)
        clock.tick()
        third = await reconciled(client, 3)

    assert clock.slept == [60.0, 120.0]
    assert third is not None and not third.unfinished
    assert third.forgotten == {int(guild.id): 1} and third.workspaces == {gone.id: 1}
    assert await known(forgetting, ref(guild.id, alice), ref(guild.id, bob),
                       ref(gone.id, dave)) == [False, True, False]
