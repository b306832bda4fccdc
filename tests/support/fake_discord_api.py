"""A real local HTTP server that speaks just enough of Discord's REST API and gateway for the
real discord.py client: login, application info, GET /gateway/bot and a gateway that says
HELLO and records each IDENTIFY, command sync, and what ``tailorbot discord check`` reads
(the application's flags, the bot's servers, their roles, the bot's member record, channels
and registered commands).

Usage::

    async with FakeDiscord(flags=APP_FLAGS) as discord_api:
        guild = discord_api.add_guild("Makers", everyone=Permissions(view_channel=True))
        ...
        settings(discord_api_url=discord_api.api_url)

With ``approved`` set, an IDENTIFY asking for privileged intents outside it is closed with
4014, as Discord does. A token other than :data:`TOKEN` is refused with 401, as Discord does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import discord
from aiohttp import WSMsgType, web

TOKEN = "MTIzNDU2Nzg5MDEyMzQ1Njc4.fake.token"
BOT = {"id": "123456789012345678", "username": "tailorbot", "discriminator": "0",
       "global_name": None, "avatar": None, "bot": True}
PRIVILEGED_BITS = discord.Intents(message_content=True, members=True, presences=True).value
_IDS = itertools.count(900_000_000_000_000_000)


@dataclass
class FakeGuild:
    """One server: ``roles`` includes ``@everyone`` (id = the server's id); ``bot_roles`` are
    the ids of the roles the bot has; ``channels`` are raw channel objects."""

    id: str
    name: str
    owner: bool = False
    roles: list[dict[str, Any]] = field(default_factory=list)
    bot_roles: list[str] = field(default_factory=list)
    channels: list[dict[str, Any]] = field(default_factory=list)
    refuse: bool = False  # answer 403 Missing Access for this server's details

    def add_role(self, name: str, permissions: discord.Permissions, *, bot: bool = True) -> str:
        role_id = str(next(_IDS))
        self.roles.append({"id": role_id, "name": name, "permissions": str(permissions.value),
                           "position": len(self.roles), "color": 0, "hoist": False,
                           "managed": False, "mentionable": False})
        if bot:
            self.bot_roles.append(role_id)
        return role_id

    def add_channel(
        self, name: str, *, kind: int = 0, overwrites: list[dict[str, Any]] | None = None
    ) -> str:
        channel_id = str(next(_IDS))
        self.channels.append({"id": channel_id, "guild_id": self.id, "name": name, "type": kind,
                              "position": len(self.channels),
                              "permission_overwrites": overwrites or []})
        return channel_id


def overwrite(target: str, *, allow: discord.Permissions | None = None,
              deny: discord.Permissions | None = None, member: bool = False) -> dict[str, Any]:
    """A channel permission overwrite for a role (or, with ``member``, a member)."""
    return {"id": target, "type": 1 if member else 0,
            "allow": str((allow or discord.Permissions.none()).value),
            "deny": str((deny or discord.Permissions.none()).value)}


@dataclass
class FakeDiscord:
    approved: int | None = None
    flags: int = 0  # the application's flags (privileged intents enabled in the portal)
    requests: list[str] = field(default_factory=list)
    identifies: list[dict[str, Any]] = field(default_factory=list)
    dialed: list[str] = field(default_factory=list)
    identified: asyncio.Event = field(default_factory=asyncio.Event)
    synced: list[dict[str, Any]] = field(default_factory=list)
    guilds: list[FakeGuild] = field(default_factory=list)
    base: str = ""
    _runner: web.AppRunner | None = None

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/v10"

    def add_guild(self, name: str, *, everyone: discord.Permissions | None = None,
                  owner: bool = False) -> FakeGuild:
        guild = FakeGuild(str(next(_IDS)), name, owner)
        guild.roles.append({"id": guild.id, "name": "@everyone", "position": 0, "color": 0,
                            "permissions": str((everyone or discord.Permissions.none()).value),
                            "hoist": False, "managed": False, "mentionable": False})
        self.guilds.append(guild)
        return guild

    async def __aenter__(self) -> FakeDiscord:
        self._runner = web.AppRunner(self.app())
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._authorised])
        app.router.add_get("/api/v10/users/@me", self.me)
        app.router.add_get("/api/v10/users/@me/guilds", self.my_guilds)
        app.router.add_get("/api/v10/oauth2/applications/@me", self.application)
        app.router.add_get("/api/v10/applications/@me", self.application)
        app.router.add_get("/api/v10/applications/{app}/commands", self.get_commands)
        app.router.add_get("/api/v10/guilds/{guild}/roles", self.roles)
        app.router.add_get("/api/v10/guilds/{guild}/members/{user}", self.member)
        app.router.add_get("/api/v10/guilds/{guild}/channels", self.channels)
        app.router.add_get("/api/v10/gateway/bot", self.gateway_bot)
        app.router.add_put("/api/v10/applications/{app}/commands", self.put_commands)
        app.router.add_put("/api/v10/applications/{app}/guilds/{guild}/commands",
                           self.put_commands)
        app.router.add_get("/gw", self.gateway)
        return app

    @web.middleware
    async def _authorised(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/api/") and request.headers.get(
            "Authorization"
        ) != f"Bot {TOKEN}":
            self.requests.append(f"{request.method} {request.path} refused")
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        return await handler(request)

    def _guild(self, request: web.Request) -> FakeGuild:
        for guild in self.guilds:
            if guild.id == request.match_info["guild"]:
                if guild.refuse:
                    raise web.HTTPForbidden(
                        text=json.dumps({"message": "Missing Access", "code": 50001}),
                        content_type="application/json",
                    )
                return guild
        raise web.HTTPNotFound()

    async def put_commands(self, request: web.Request) -> web.Response:
        self.requests.append(f"PUT {request.path}")
        commands = await request.json()
        self.synced = commands
        return _json([
            {**command, "id": str(1000 + i), "application_id": BOT["id"], "version": "1"}
            for i, command in enumerate(commands)
        ])

    async def get_commands(self, request: web.Request) -> web.Response:
        self.requests.append(f"GET {request.path}")
        return _json([
            {**command, "id": str(1000 + i), "application_id": BOT["id"], "version": "1",
             "type": 1}
            for i, command in enumerate(self.synced)
        ])

    async def me(self, request: web.Request) -> web.Response:
        self.requests.append(f"GET {request.path} {request.headers.get('Authorization')}")
        return _json(BOT)

    async def my_guilds(self, request: web.Request) -> web.Response:
        self.requests.append(f"GET {request.path}")
        after = int(request.query.get("after", "0"))
        limit = int(request.query.get("limit", "200"))
        found = [g for g in self.guilds if int(g.id) > after][:limit]
        return _json([{"id": g.id, "name": g.name, "icon": None, "owner": g.owner,
                       "permissions": "0", "features": []} for g in found])

    async def roles(self, request: web.Request) -> web.Response:
        self.requests.append(f"GET {request.path}")
        return _json(self._guild(request).roles)

    async def member(self, request: web.Request) -> web.Response:
        self.requests.append(f"GET {request.path}")
        guild = self._guild(request)
        if request.match_info["user"] != BOT["id"]:
            return _json({"message": "Unknown Member", "code": 10007}, status=404)
        return _json({"user": BOT, "roles": guild.bot_roles, "joined_at": "2026-01-01T00:00:00Z",
                      "deaf": False, "mute": False, "flags": 0})

    async def channels(self, request: web.Request) -> web.Response:
        self.requests.append(f"GET {request.path}")
        return _json(self._guild(request).channels)

    async def application(self, request: web.Request) -> web.Response:
        self.requests.append(f"GET {request.path}")
        return _json({
            "id": BOT["id"], "name": "tailorbot", "description": "", "icon": None,
            "bot_public": True, "bot_require_code_grant": False, "owner": BOT,
            "verify_key": "x", "flags": self.flags, "summary": "",
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


def _json(data: Any, status: int = 200) -> web.Response:
    # Exactly "application/json", no charset: discord.py only parses that content type.
    return web.Response(
        status=status,
        body=json.dumps(data).encode(),
        headers={"Content-Type": "application/json"},
    )
