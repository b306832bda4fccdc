"""REST and gateway pointing: with TAILORBOT_DISCORD_API_URL set, the real discord.py client
logs in against that API, asks it for the gateway (GET /gateway/bot) and dials what it says —
proved against a small Discord-compatible server on localhost. Also: the fallback when the
portal refuses privileged intents."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import discord
import pytest
from aiohttp import WSMsgType, web
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.cli.discord import sync_to_discord
from adapters.discord.runner import serve
from bot.config import Settings
from bot.core import Core
from bot.llm import ScriptedBackend
from profiles.db import Database

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.fake.token"
BOT = {"id": "123456789012345678", "username": "tailorbot", "discriminator": "0",
       "global_name": None, "avatar": None, "bot": True}


@dataclass
class FakeDiscord:
    """Just enough of Discord: login, application info, GET /gateway/bot, and a gateway that
    says HELLO and records each IDENTIFY. With ``approved`` set, an IDENTIFY asking for
    privileged intents outside it is closed with 4014, as Discord does."""

    approved: int | None = None
    requests: list[str] = field(default_factory=list)
    identifies: list[dict[str, Any]] = field(default_factory=list)
    dialed: list[str] = field(default_factory=list)
    identified: asyncio.Event = field(default_factory=asyncio.Event)
    synced: list[dict[str, Any]] = field(default_factory=list)
    base: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v10/users/@me", self.me)
        app.router.add_get("/api/v10/oauth2/applications/@me", self.application)
        app.router.add_get("/api/v10/gateway/bot", self.gateway_bot)
        app.router.add_put("/api/v10/applications/{app}/commands", self.put_commands)
        app.router.add_put("/api/v10/applications/{app}/guilds/{guild}/commands",
                           self.put_commands)
        app.router.add_get("/gw", self.gateway)
        return app

    async def put_commands(self, request: web.Request) -> web.Response:
        self.requests.append(f"PUT {request.path}")
        commands = await request.json()
        self.synced = commands
        return _json([
            {**command, "id": str(1000 + i), "application_id": BOT["id"], "version": "1"}
            for i, command in enumerate(commands)
        ])

    async def me(self, request: web.Request) -> web.Response:
        self.requests.append(f"GET {request.path} {request.headers.get('Authorization')}")
        return _json(BOT)

    async def application(self, request: web.Request) -> web.Response:
        self.requests.append(f"GET {request.path}")
        return _json({
            "id": BOT["id"], "name": "tailorbot", "description": "", "icon": None,
            "bot_public": True, "bot_require_code_grant": False, "owner": BOT,
            "verify_key": "x", "flags": 0, "summary": "",
        })

    async def gateway_bot(self, request: web.Request) -> web.Response:
        self.requests.append(f"GET {request.path}")
        return _json({
            "url": f"{self.base.replace('http', 'ws')}/gw", "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0,
                                    "max_concurrency": 1},
        })

    async def gateway(self, request: web.Request) -> web.WebSocketResponse:
        self.dialed.append(str(request.rel_url))
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 45000}}))
        async for message in ws:
            if message.type is not WSMsgType.TEXT:
                continue
            payload = json.loads(message.data)
            if payload["op"] != 2:  # heartbeats
                continue
            self.identifies.append(payload["d"])
            privileged = payload["d"]["intents"] & PRIVILEGED_BITS
            if self.approved is not None and privileged & ~self.approved:
                await ws.close(code=4014, message=b"Disallowed intent(s)")
                break
            self.identified.set()
        return ws


def _json(data: Any) -> web.Response:
    # Exactly "application/json", no charset: discord.py only parses that content type.
    return web.Response(
        body=json.dumps(data).encode(), headers={"Content-Type": "application/json"}
    )


PRIVILEGED_BITS = discord.Intents(message_content=True, members=True, presences=True).value


@pytest.fixture
async def fake_discord() -> AsyncIterator[Callable[..., Any]]:
    runners: list[web.AppRunner] = []

    async def start(**options: Any) -> FakeDiscord:
        fake = FakeDiscord(**options)
        runner = web.AppRunner(fake.app())
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        fake.base = f"http://127.0.0.1:{port}"
        return fake

    yield start
    for runner in runners:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def serving(settings: Settings, **options: Any) -> AsyncIterator[None]:
    core = Core(settings, Database(settings.database_url), ScriptedBackend())
    task = asyncio.create_task(serve(core, settings, **options))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await core.db.dispose()


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
