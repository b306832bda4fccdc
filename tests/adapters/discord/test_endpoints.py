"""REST and gateway pointing: with TAILORBOT_DISCORD_API_URL set, the real discord.py client
logs in against that API, asks it for the gateway (GET /gateway/bot) and dials what it says —
proved against a small Discord-compatible server on localhost. Also: the fallback when the
portal refuses privileged intents."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import discord
import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.cli.discord import sync_to_discord
from adapters.discord.runner import serve
from bot.config import Settings
from bot.core import Core
from bot.llm import ScriptedBackend
from profiles.db import Database
from tests.support.fake_discord_api import BOT, PRIVILEGED_BITS, TOKEN, FakeDiscord


@pytest.fixture
async def fake_discord() -> AsyncIterator[Callable[..., Any]]:
    async with contextlib.AsyncExitStack() as stack:

        async def start(**options: Any) -> FakeDiscord:
            return await stack.enter_async_context(FakeDiscord(**options))

        yield start


@contextlib.asynccontextmanager
async def serving(settings: Settings, **options: Any) -> AsyncIterator[None]:
    core = Core(settings, Database(settings.database_url), ScriptedBackend())
    task = asyncio.create_task(serve(core, settings, **options))
    try:
        yield
    finally:
        task.cancel()
        # Bounded: once in a CI run (forty-third session) the runner never finished after its
        # cancellation and the test hung, under uvloop, where the per-test timeout's signal
        # is never handled while the loop waits. A stuck stop now fails here, with where it
        # was stuck.
        done, _ = await asyncio.wait({task}, timeout=STOP_SECONDS)
        if not done:
            task.print_stack()
            pytest.fail(f"serve() still running {STOP_SECONDS} s after its cancellation")
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await core.services.db.dispose()


STOP_SECONDS = 30


async def test_client_asks_the_api_for_its_gateway_and_dials_it(
    fake_discord: Callable[..., Any], settings_for: Callable[..., Settings], sqlite_url: str
) -> None:
    fake = await fake_discord()
    settings = settings_for(sqlite_url, discord_bot_token=TOKEN,
                            discord_api_url=f"{fake.base}/api/v10")
    original = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY

    async with serving(settings, privileged=()):
        await asyncio.wait_for(fake.identified.wait(), timeout=10)

    assert f"GET /api/v10/users/@me Bot {TOKEN}" in fake.requests
    assert "GET /api/v10/gateway/bot" in fake.requests
    assert fake.dialed and fake.dialed[0].startswith("/gw?v=10")
    assert fake.identifies[0]["token"] == TOKEN
    assert original == (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)  # restored afterwards


async def test_an_explicit_gateway_url_wins(
    fake_discord: Callable[..., Any], settings_for: Callable[..., Settings], sqlite_url: str
) -> None:
    fake = await fake_discord()
    settings = settings_for(sqlite_url, discord_bot_token=TOKEN,
                            discord_api_url=f"{fake.base}/api/v10",
                            discord_gateway_url=f"{fake.base.replace('http', 'ws')}/gw")

    async with serving(settings, privileged=()):
        await asyncio.wait_for(fake.identified.wait(), timeout=10)

    assert "GET /api/v10/gateway/bot" not in fake.requests
    assert fake.dialed[0].startswith("/gw?v=10")


async def test_refused_privileged_intents_fall_back_to_none(
    fake_discord: Callable[..., Any], settings_for: Callable[..., Settings], sqlite_url: str
) -> None:
    fake = await fake_discord(approved=0)
    settings = settings_for(sqlite_url, discord_bot_token=TOKEN,
                            discord_api_url=f"{fake.base}/api/v10")

    async with serving(settings, privileged=("message_content", "members")):
        await asyncio.wait_for(fake.identified.wait(), timeout=10)

    first, second = fake.identifies
    assert first["intents"] & discord.Intents(message_content=True).value
    assert second["intents"] & PRIVILEGED_BITS == 0
    assert second["intents"] & discord.Intents(dm_messages=True).value  # still hears DMs


async def test_a_refused_intent_costs_only_itself(
    fake_discord: Callable[..., Any], settings_for: Callable[..., Settings], sqlite_url: str
) -> None:
    """forget_on_leave asks for "members" too; when only Message Content was enabled in the
    portal, the fallback dropped every privileged intent — message_content with it, so no
    channel message could be read. The portal's flags now say which to keep."""
    content = discord.Intents(message_content=True).value
    fake = await fake_discord(approved=content,
                              flags=discord.ApplicationFlags(gateway_message_content=True).value)
    settings = settings_for(sqlite_url, discord_bot_token=TOKEN,
                            discord_api_url=f"{fake.base}/api/v10")

    async with serving(settings, privileged=("message_content", "members")):
        for _ in range(100):
            if len(fake.identifies) >= 2:
                break
            await asyncio.sleep(0.05)

    first, second = fake.identifies[:2]
    assert first["intents"] & discord.Intents(members=True).value
    assert second["intents"] & PRIVILEGED_BITS == content  # message_content kept, members not


async def test_sync_registers_the_tree_over_rest_only(
    fake_discord: Callable[..., Any], settings_for: Callable[..., Settings], sqlite_url: str
) -> None:
    fake = await fake_discord()
    settings = settings_for(sqlite_url, discord_bot_token=TOKEN,
                            discord_api_url=f"{fake.base}/api/v10")

    names = await sync_to_discord(settings, TOKEN, guild=42)

    assert f"PUT /api/v10/applications/{BOT['id']}/guilds/42/commands" in fake.requests
    assert {"prefs", "profile", "consent", "export", "forget", "help"} <= set(names)
    prefs = next(c for c in fake.synced if c["name"] == "prefs")
    assert [o["name"] for o in prefs["options"]] == ["show", "set", "reset"]
    assert fake.synced[0]["contexts"] == [0, 1]  # servers and DMs with the bot
    assert fake.dialed == []  # no gateway connection
