"""A running tailorbot Discord client inside SimCord's in-memory Discord, on a real core and
a real database (SQLite and PostgreSQL through ``make_core``).

SimCord drives discord.py's own gateway parsers, cache, command tree and views; only the
network is replaced. Tests act as people (send, react, slash, click) and assert on what
Discord would show and on the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import discord
import pytest
import simcord
from sqlalchemy import func, select

from adapters.discord.client import AnyClient, build_client
from adapters.discord.commands import sync_commands
from bot.core import Core
from bot.llm import LLMBackend
from profiles.models import Consent, ConsentStatus, Person

ALL_PRIVILEGED = ("message_content", "members", "presences")


@dataclass
class World:
    env: simcord.Env
    core: Core
    client: AnyClient
    guild: simcord.GuildHandle
    channel: simcord.ChannelHandle
    alice: simcord.MemberActor
    bob: simcord.MemberActor

    @property
    def bot_id(self) -> int:
        assert self.client.user is not None
        return self.client.user.id

    @property
    def bot_mention(self) -> str:
        return f"<@{self.bot_id}>"

    def bot_messages(self, channel: simcord.ChannelHandle) -> list[discord.Message]:
        return [m for m in channel.history() if m.author.id == self.bot_id]

    def dm(self, who: simcord.MemberActor | simcord.UserHandle) -> simcord.ChannelHandle:
        user = who.user if isinstance(who, simcord.MemberActor) else who
        return user.dm_channel

    async def count(self, model: Any, *where: Any) -> int:
        async with self.core.services.db.session() as session:
            result = await session.exec(select(func.count()).select_from(model).where(*where))
            return int(result.scalar_one())

    async def person(self, user_id: int, workspace: str) -> Person | None:
        async with self.core.services.db.session() as session:
            result = await session.exec(select(Person).where(
                Person.platform == "discord", Person.workspace == workspace,
                Person.user_id == str(user_id),
            ))
            return result.scalars().first()

    async def consent(self, user_id: int, workspace: str) -> str | None:
        person = await self.person(user_id, workspace)
        if person is None:
            return None
        async with self.core.services.db.session() as session:
            row = await session.get(Consent, person.id)
            return row.status if row is not None else ConsentStatus.UNKNOWN.value

    async def grant(
        self, who: simcord.MemberActor | simcord.UserHandle, *, in_dm: bool = False
    ) -> None:
        """Consent through the real slash command, so learning tests start from a yes."""
        if in_dm:
            user = who.user if isinstance(who, simcord.MemberActor) else who
            result = await user.slash("consent", action="grant")
        else:
            assert isinstance(who, simcord.MemberActor)
            result = await who.slash(self.channel, "consent", action="grant")
        assert result.response is not None and "learn" in result.response.content


MakeWorld = Callable[..., Awaitable[World]]


async def _start(
    core: Core,
    envs: list[simcord.Env],
    *,
    privileged: tuple[str, ...] = ALL_PRIVILEGED,
    approved: discord.Intents | None = None,
    stream_interval: float = 1.0,
    settle_timeout: float = 10.0,
    guild_shard: int | None = None,
    **client_options: Any,
) -> World:
    client = build_client(core, core.services.settings, privileged=privileged,
                          stream_interval=stream_interval, **client_options)
    env = simcord.Env(client, approved_intents=approved, settle_timeout=settle_timeout)
    await env.start()
    envs.append(env)
    await sync_commands(client.tree)  # what `tailorbot discord sync` does
    guild = env.create_guild("Makers", shard_id=guild_shard)
    channel = guild.create_text_channel("general")
    alice = guild.add_member(env.create_user("alice", global_name="Alice"))
    bob = guild.add_member(env.create_user("bob", global_name="Bob"))
    await env.settle()
    return World(env, core, client, guild, channel, alice, bob)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A failing test shows what the bot did: SimCord's transcript of gateway events and REST
    calls (SimCord's own plugin only sees environments passed directly as fixtures)."""
    report = yield
    if report.when == "call" and report.failed:
        for env in getattr(item, "simcord_envs", []):
            report.sections.append(("simcord transcript", env.transcript()))
    return report


@pytest.fixture
async def make_world(
    make_core: Callable[..., Awaitable[Core]], request: pytest.FixtureRequest
) -> AsyncIterator[MakeWorld]:
    """Worlds on this test's database (runs once per backend)."""
    envs: list[simcord.Env] = []
    request.node.simcord_envs = envs

    async def make(llm: LLMBackend | None = None, *, core_options: dict[str, Any] | None = None,
                   **options: Any) -> World:
        core = await make_core(llm, **(core_options or {}))
        return await _start(core, envs, **options)

    yield make
    for env in envs:
        await env.shutdown()
        env.raise_errors()


@pytest.fixture
async def world(make_world: MakeWorld) -> World:
    return await make_world()
