"""A real local HTTP server that speaks just enough of Discord's REST API and gateway for the
real discord.py client: login, application info, GET /gateway/bot and a gateway that says
HELLO and records each IDENTIFY, command sync, and what ``tailorbot discord check`` reads
(the application's flags, the bot's servers, their roles, the bot's member record, channels
and registered commands).

With ``ready`` the gateway also starts sessions as Discord does: READY listing the bot's
servers (of the identifying shard) as unavailable, then GUILD_CREATE for each one that is
not ``unavailable`` (an outage); it answers REQUEST_GUILD_MEMBERS with GUILD_MEMBERS_CHUNK
events (``chunk_size`` members each, as each server's ``chunking`` says), heartbeats with
their ACK, and every RESUME with INVALID_SESSION (so each reconnect starts a new session, as
after an outage longer than Discord keeps one). Other events it sends only when a test asks
(:meth:`member_joins`, :meth:`member_leaves`, :meth:`outage`, :meth:`make_available`): a
member removed or a server dropped by hand here is what happened while the bot was not
listening. :meth:`drop` closes the open sessions (the bot reconnects).

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
    members: list[dict[str, Any]] = field(default_factory=list)  # users, the bot's own not
    unavailable: bool = False  # listed unavailable at READY, and no GUILD_CREATE (an outage)
    # How it answers REQUEST_GUILD_MEMBERS: "complete"; "silent" (never); "short" (every
    # chunk, one member left out, though the server still counts them); "held" (the members
    # at the request, sent once ``FakeDiscord.release_members`` is set).
    chunking: str = "complete"

    def add_member(self, name: str, *, bot: bool = False) -> str:
        user_id = str(next(_IDS))
        self.members.append({"id": user_id, "username": name, "discriminator": "0",
                             "global_name": None, "avatar": None, "bot": bot})
        return user_id

    def remove_member(self, user_id: str) -> None:
        self.members = [user for user in self.members if user["id"] != user_id]

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
    ready: bool = False  # start sessions (READY ...); off: silent after IDENTIFY
    chunk_size: int = 1000  # members per GUILD_MEMBERS_CHUNK
    member_requests: list[dict[str, Any]] = field(default_factory=list)
    member_requested: asyncio.Event = field(default_factory=asyncio.Event)
    release_members: asyncio.Event = field(default_factory=asyncio.Event)
    resumes: int = 0
    requests: list[str] = field(default_factory=list)
    identifies: list[dict[str, Any]] = field(default_factory=list)
    dialed: list[str] = field(default_factory=list)
    identified: asyncio.Event = field(default_factory=asyncio.Event)
    synced: list[dict[str, Any]] = field(default_factory=list)
    guilds: list[FakeGuild] = field(default_factory=list)
    base: str = ""
    _runner: web.AppRunner | None = None
    _sessions: list[_Session] = field(default_factory=list)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"{self.base.replace('http', 'ws')}/gw"

    def add_guild(self, name: str, *, everyone: discord.Permissions | None = None,
                  owner: bool = False, shard: tuple[int, int] | None = None) -> FakeGuild:
        """``shard``: (shard id, shard count) its id must belong to."""
        guild_id = next(_IDS)
        while shard is not None and (guild_id >> 22) % shard[1] != shard[0]:
            guild_id = next(_IDS)
        guild = FakeGuild(str(guild_id), name, owner)
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
        for task in self._tasks:
            task.cancel()
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
            "url": self.gateway_url, "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0,
                                    "max_concurrency": 1},
        })

    async def gateway(self, request: web.Request) -> web.WebSocketResponse:
        self.dialed.append(str(request.rel_url))
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session = _Session(ws)
        self._sessions.append(session)
        try:
            await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 45000}}))
            async for message in ws:
                if message.type is not WSMsgType.TEXT:
                    continue
                payload = json.loads(message.data)
                if not await self._command(session, payload["op"], payload["d"]):
                    break
        finally:
            self._sessions.remove(session)
        return ws

    async def _command(self, session: _Session, op: int, data: Any) -> bool:
        """One command from the bot; False once the connection is closed."""
        if op == 2:
            self.identifies.append(data)
            privileged = data["intents"] & PRIVILEGED_BITS
            if self.approved is not None and privileged & ~self.approved:
                await session.ws.close(code=4014, message=b"Disallowed intent(s)")
                return False
            self.identified.set()
            if self.ready:
                await self._start(session, data)
        elif not self.ready:
            pass  # heartbeats and the rest go unanswered, as before READY existed here
        elif op == 1:
            await session.ws.send_str(json.dumps({"op": 11}))
        elif op == 6:
            self.resumes += 1
            await session.ws.send_str(json.dumps({"op": 9, "d": False}))
        elif op == 8:
            self.member_requests.append(data)
            self.member_requested.set()
            task = asyncio.create_task(self._members(session, data))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return True

    async def _start(self, session: _Session, identify: dict[str, Any]) -> None:
        shard = identify.get("shard")
        session.shard = (shard[0], shard[1]) if shard else None
        session.intents = discord.Intents._from_value(identify["intents"])
        guilds = [g for g in self.guilds if session.serves(g)]
        ready: dict[str, Any] = {
            "v": 10, "user": BOT, "session_id": f"fake-{next(_IDS)}",
            "resume_gateway_url": self.gateway_url,
            "guilds": [{"id": g.id, "unavailable": True} for g in guilds],
            "application": {"id": BOT["id"], "flags": self.flags},
        }
        if shard:
            ready["shard"] = shard
        await session.dispatch("READY", ready)
        for guild in guilds:
            if not guild.unavailable:
                await session.dispatch("GUILD_CREATE", _guild_create(guild))

    async def _members(self, session: _Session, data: dict[str, Any]) -> None:
        guild = next((g for g in self.guilds if g.id == str(data["guild_id"])), None)
        if guild is None or guild.chunking == "silent":
            return
        members = [_member(user) for user in [BOT, *guild.members]]
        if guild.chunking == "short":
            members = members[:-1]
        if guild.chunking == "held":
            await self.release_members.wait()
        size = self.chunk_size
        chunks = [members[i:i + size] for i in range(0, len(members), size)] or [[]]
        for index, chunk in enumerate(chunks):
            await session.dispatch("GUILD_MEMBERS_CHUNK", {
                "guild_id": guild.id, "members": chunk, "chunk_index": index,
                "chunk_count": len(chunks), "nonce": data.get("nonce"),
            })

    async def drop(self) -> None:
        """Close every open session, as a network outage does: the bot reconnects."""
        for session in list(self._sessions):
            await session.ws.close(code=4000, message=b"gone")

    async def make_available(self, guild: FakeGuild) -> None:
        """The end of a server's outage: its GUILD_CREATE to the sessions that serve it."""
        guild.unavailable = False
        await self._tell(guild, "GUILD_CREATE", _guild_create(guild))

    async def outage(self, guild: FakeGuild) -> None:
        """The server becomes unavailable (GUILD_DELETE, ``unavailable``)."""
        guild.unavailable = True
        await self._tell(guild, "GUILD_DELETE", {"id": guild.id, "unavailable": True})

    async def member_joins(self, guild: FakeGuild, name: str) -> str:
        user_id = guild.add_member(name)
        await self._tell(guild, "GUILD_MEMBER_ADD",
                         {**_member(guild.members[-1]), "guild_id": guild.id}, members=True)
        return user_id

    async def member_leaves(self, guild: FakeGuild, user_id: str) -> None:
        user = next(u for u in guild.members if u["id"] == user_id)
        guild.remove_member(user_id)
        await self._tell(guild, "GUILD_MEMBER_REMOVE", {"guild_id": guild.id, "user": user},
                         members=True)

    async def _tell(self, guild: FakeGuild, event: str, data: dict[str, Any], *,
                    members: bool = False) -> None:
        """``event`` to the sessions serving ``guild`` (with ``members``: those that asked for
        the members intent, as Discord sends member events only to them)."""
        for session in self._sessions:
            if session.intents is None or not session.serves(guild):
                continue
            if not members or session.intents.members:
                await session.dispatch(event, data)


@dataclass
class _Session:
    """One gateway connection: its sequence numbers, and the shard it identified as."""

    ws: web.WebSocketResponse
    shard: tuple[int, int] | None = None
    intents: discord.Intents | None = None
    sequence: int = 0

    def serves(self, guild: FakeGuild) -> bool:
        return self.shard is None or (int(guild.id) >> 22) % self.shard[1] == self.shard[0]

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        self.sequence += 1
        await self.ws.send_str(json.dumps({"op": 0, "t": event, "s": self.sequence, "d": data}))


def _member(user: dict[str, Any]) -> dict[str, Any]:
    return {"user": user, "roles": [], "joined_at": "2026-01-01T00:00:00+00:00",
            "deaf": False, "mute": False, "flags": 0}


def _guild_create(guild: FakeGuild) -> dict[str, Any]:
    """A server as GUILD_CREATE carries it: members counted, only the bot's own listed (the
    rest come by REQUEST_GUILD_MEMBERS, as on Discord without the presences intent)."""
    return {
        "id": guild.id, "name": guild.name, "icon": None, "splash": None,
        "discovery_splash": None, "owner_id": BOT["id"] if guild.owner else "1",
        "afk_channel_id": None, "afk_timeout": 300, "verification_level": 0,
        "default_message_notifications": 0, "explicit_content_filter": 0,
        "roles": guild.roles, "emojis": [], "stickers": [], "features": [], "mfa_level": 0,
        "system_channel_id": None, "system_channel_flags": 0, "rules_channel_id": None,
        "vanity_url_code": None, "description": None, "banner": None, "premium_tier": 0,
        "preferred_locale": "en-US", "public_updates_channel_id": None, "nsfw_level": 0,
        "premium_progress_bar_enabled": False, "joined_at": "2026-01-01T00:00:00+00:00",
        "large": len(guild.members) + 1 > 250, "unavailable": False,
        "member_count": len(guild.members) + 1,
        "members": [_member(BOT)], "channels": guild.channels, "threads": [],
        "voice_states": [], "presences": [], "stage_instances": [],
        "guild_scheduled_events": [], "soundboard_sounds": [],
    }


def _json(data: Any, status: int = 200) -> web.Response:
    # Exactly "application/json", no charset: discord.py only parses that content type.
    return web.Response(
        status=status,
        body=json.dumps(data).encode(),
        headers={"Content-Type": "application/json"},
    )
