"""``tailorbot discord check``: does the bot token work, are the privileged intents the adapter
asks for enabled, and can the bot do its job in every server it is in?

Everything is read over REST with discord.py's own HTTP client (no gateway connection):

* ``GET /users/@me`` — the token (discord.py's login);
* ``GET /applications/@me`` — the application's ``flags`` say which privileged intents the
  Developer Portal enabled (``GATEWAY_MESSAGE_CONTENT``, ``GATEWAY_GUILD_MEMBERS``,
  ``GATEWAY_PRESENCE``, or their ``_LIMITED`` variants for unverified bots under 100 servers);
* ``GET /applications/{id}/commands`` — whether ``tailorbot discord sync`` registered the slash
  commands;
* per server (``GET /users/@me/guilds``): its roles, the bot's member record and its channels,
  from which the bot's permissions are computed the way Discord does (base role permissions,
  then the channel's ``@everyone``, role and member overwrites), compared with what the
  adapter needs (:func:`adapters.discord.invite.required_permissions`).

A channel hidden from the bot (no View Channel) is reported but not counted as a problem:
servers often keep channels from bots on purpose. A channel the bot sees but cannot answer in
is a problem, since people there can mention it and get no answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord
from discord.http import Route

from adapters.discord.endpoints import pointed_at
from adapters.discord.invite import required_permissions

# Application flags for each privileged intent the adapter can request (either variant
# means the intent is enabled; the _LIMITED one is what unverified bots get).
INTENT_FLAGS: dict[str, tuple[str, str, str]] = {
    # intent: (flag, limited flag, the switch's name in the Developer Portal)
    "message_content": (
        "gateway_message_content", "gateway_message_content_limited", "MESSAGE CONTENT INTENT"
    ),
    "members": (
        "gateway_guild_members", "gateway_guild_members_limited", "SERVER MEMBERS INTENT"
    ),
    "presences": ("gateway_presence", "gateway_presence_limited", "PRESENCE INTENT"),
}
# What the bot loses without each intent, for the operator deciding whether to enable it.
INTENT_EFFECT: dict[str, str] = {
    "message_content": "without it the bot reads only DMs and messages that mention it, so it "
    "learns nothing from other channel messages",
    "members": "without it forget_on_leave cannot see people leave a server",
    "presences": "without it no presence updates arrive",
}
TEXT_CHANNELS = frozenset({0, 5})  # text and announcement channels
ADMINISTRATOR = discord.Permissions(administrator=True).value
PAGE = 200  # GET /users/@me/guilds returns at most 200 servers per call

log = logging.getLogger(__name__)


def permission_names(value: int) -> list[str]:
    """``Send Messages``-style names, as Discord's settings show them, in flag order."""
    granted = discord.Permissions(value)
    return [name.replace("_", " ").title() for name, on in granted if on]


@dataclass(frozen=True)
class ChannelGap:
    name: str
    missing: tuple[str, ...]


@dataclass(frozen=True)
class GuildCheck:
    id: str
    name: str
    missing: tuple[str, ...] = ()  # at server level (roles)
    channels: tuple[ChannelGap, ...] = ()  # visible channels where something is missing
    hidden: tuple[str, ...] = ()  # channels the bot cannot see
    error: str = ""  # Discord refused to show this server's roles, member or channels

    @property
    def ok(self) -> bool:
        return not self.missing and not self.channels and not self.error


@dataclass(frozen=True)
class DiscordCheck:
    error: str = ""
    # Discord did not answer (network, DNS, TLS): the token was not checked. Found in the
    # operations audit: this was answered with "Copy the token again".
    unreachable: bool = False
    bot_user: str = ""
    application_id: str = ""
    wanted_intents: tuple[str, ...] = ()
    missing_intents: tuple[str, ...] = ()
    missing_commands: tuple[str, ...] = ()
    guilds: tuple[GuildCheck, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return (
            not self.error
            and not self.missing_intents
            and not self.missing_commands
            and all(guild.ok for guild in self.guilds)
        )


def enabled_intents(flags: int) -> set[str]:
    """Privileged intents the application's flags enable."""
    app = discord.ApplicationFlags._from_value(flags)
    return {
        intent
        for intent, (flag, limited, _) in INTENT_FLAGS.items()
        if getattr(app, flag) or getattr(app, limited)
    }


async def portal_intents(token: str) -> set[str] | None:
    """The privileged intents the developer portal enables for this bot (its application's
    flags, over REST); None when they cannot be read."""
    http = discord.http.HTTPClient(asyncio.get_running_loop())
    try:
        await http.static_login(token)
        application = await http.request(Route("GET", "/applications/@me"))
        return enabled_intents(int(application.get("flags") or 0))
    except (discord.HTTPException, OSError) as exc:
        log.warning("the application's intents could not be read: %s", exc)
        return None
    finally:
        await http.close()


def base_permissions(roles: list[dict[str, Any]], member_roles: Iterable[str], guild_id: str,
                     owner: bool) -> int:
    """The bot's server-wide permissions: ``@everyone`` (the role whose id is the server's)
    plus each of its roles; the owner and administrators have every permission."""
    if owner:
        return discord.Permissions.all().value
    by_id = {str(role["id"]): int(role["permissions"]) for role in roles}
    value = by_id.get(guild_id, 0)
    for role_id in member_roles:
        value |= by_id.get(str(role_id), 0)
    return discord.Permissions.all().value if value & ADMINISTRATOR else value


def channel_permissions(base: int, channel: dict[str, Any], member_roles: Iterable[str],
                        guild_id: str, bot_id: str) -> int:
    """Discord's overwrite order: ``@everyone``, then the member's roles together, then the
    member itself. Administrators are not subject to overwrites."""
    if base & ADMINISTRATOR:
        return base
    overwrites = {str(o["id"]): o for o in channel.get("permission_overwrites") or []}
    value = base
    everyone = overwrites.get(guild_id)
    if everyone:
        value = (value & ~int(everyone["deny"])) | int(everyone["allow"])
    allow = deny = 0
    for role_id in member_roles:
        overwrite = overwrites.get(str(role_id))
        if overwrite:
            allow |= int(overwrite["allow"])
            deny |= int(overwrite["deny"])
    value = (value & ~deny) | allow
    member = overwrites.get(bot_id)
    if member:
        value = (value & ~int(member["deny"])) | int(member["allow"])
    return value


async def _guild_ids(http: discord.http.HTTPClient) -> list[dict[str, Any]]:
    guilds: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = await http.get_guilds(PAGE, after=after, with_counts=False)
        guilds.extend(page)  # type: ignore[arg-type]
        if len(page) < PAGE:
            return guilds
        after = str(page[-1]["id"])


async def check_guild(
    http: discord.http.HTTPClient, guild: dict[str, Any], bot_id: str
) -> GuildCheck:
    guild_id = str(guild["id"])
    needed = required_permissions().value
    roles = await http.get_roles(guild_id)
    member = await http.get_member(guild_id, bot_id)
    member_roles = [str(r) for r in member.get("roles", [])]
    base = base_permissions(
        list(roles), member_roles, guild_id, bool(guild.get("owner"))  # type: ignore[arg-type]
    )
    gaps: list[ChannelGap] = []
    hidden: list[str] = []
    view = discord.Permissions(view_channel=True).value
    for channel in await http.get_all_guild_channels(guild_id):
        if channel.get("type") not in TEXT_CHANNELS:
            continue
        value = channel_permissions(base, dict(channel), member_roles, guild_id, bot_id)
        name = f"#{channel.get('name', channel['id'])}"
        if not value & view:
            hidden.append(name)
        elif needed & base & ~value:  # taken away here (server-wide gaps are said once)
            gaps.append(ChannelGap(name, tuple(permission_names(needed & base & ~value))))
    return GuildCheck(
        id=guild_id,
        name=str(guild.get("name", guild_id)),
        missing=tuple(permission_names(needed & ~base)),
        channels=tuple(gaps),
        hidden=tuple(hidden),
    )


async def _checked(
    http: discord.http.HTTPClient, guild: dict[str, Any], bot_id: str
) -> GuildCheck:
    """One server's check; a server that refuses to be read is reported, not fatal."""
    try:
        return await check_guild(http, guild, bot_id)
    except discord.HTTPException as exc:
        return GuildCheck(str(guild["id"]), str(guild.get("name", guild["id"])), error=str(exc))


async def check_bot(
    token: str,
    wanted_intents: Iterable[str],
    command_names: Iterable[str],
    *,
    api_url: str | None = None,
) -> DiscordCheck:
    """Everything ``tailorbot discord check`` reports, read over REST."""
    wanted = tuple(sorted(wanted_intents))
    with pointed_at(api_url, None):
        http = discord.http.HTTPClient(asyncio.get_running_loop())
        try:
            try:
                me = await http.static_login(token)
            except discord.LoginFailure:
                return DiscordCheck(error="Discord refused the bot token (401 Unauthorized)")
            bot_id = str(me["id"])
            application = await http.request(Route("GET", "/applications/@me"))
            app_id = str(application["id"])
            enabled = enabled_intents(int(application.get("flags") or 0))
            synced = {c["name"] for c in await http.get_global_commands(app_id)}
            guilds = [await _checked(http, g, bot_id) for g in await _guild_ids(http)]
        except discord.HTTPException as exc:
            return DiscordCheck(error=f"could not read from Discord: {exc}")
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            where = Route.BASE + (" (TAILORBOT_DISCORD_API_URL)" if api_url else "")
            return DiscordCheck(
                error=f"Could not reach the Discord API at {where}: "
                f"{str(exc) or type(exc).__name__}",
                unreachable=True,
            )
        finally:
            await http.close()
    return DiscordCheck(
        bot_user=str(me.get("username", bot_id)),
        application_id=app_id,
        wanted_intents=wanted,
        missing_intents=tuple(i for i in wanted if i not in enabled),
        missing_commands=tuple(sorted(set(command_names) - synced)),
        guilds=tuple(guilds),
    )


def report(found: DiscordCheck) -> tuple[list[str], list[str]]:
    """(lines for stdout, lines for stderr): what is fine, what is missing and how to fix it."""
    out: list[str] = []
    problems: list[str] = []
    if found.unreachable:
        return out, [f"{found.error}. The token was not checked."]
    if found.error:
        return out, [f"{found.error}. Copy the token again: Developer Portal → your "
                     "application → Bot → Reset Token, then set DISCORD_BOT_TOKEN."]
    out.append(f"Token OK: bot @{found.bot_user} (application {found.application_id}).")
    for intent in found.missing_intents:
        _, _, switch = INTENT_FLAGS[intent]
        problems.append(
            f"Privileged intent '{intent}' is requested but not enabled ({INTENT_EFFECT[intent]})."
            f" Fix: Developer Portal → application {found.application_id} → Bot → Privileged "
            f"Gateway Intents → turn on {switch} (bots in 100+ servers need Discord's approval),"
            " or stop requesting it (setting discord_intents, or --intents of"
            " `tailorbot discord run`)."
        )
    if found.wanted_intents and not found.missing_intents:
        out.append("Privileged intents enabled: " + ", ".join(found.wanted_intents) + ".")
    if found.missing_commands:
        problems.append(
            "Slash commands not registered: "
            + ", ".join(f"/{name}" for name in found.missing_commands)
            + ". Fix: tailorbot discord sync (global commands can take up to an hour to show)."
        )
    if not found.guilds:
        out.append("The bot is in no server yet: add it with `tailorbot discord invite-url`.")
    for guild in found.guilds:
        where = f"Server {guild.name} ({guild.id})"
        if guild.ok:
            out.append(f"{where}: every permission the bot needs.")
        if guild.error:
            problems.append(
                f"{where}: Discord refused to show the bot's roles or channels ({guild.error})."
                " Fix: check the bot is still a member and its role is not restricted; "
                "re-invite it with `tailorbot discord invite-url` if needed."
            )
        if guild.missing:
            problems.append(
                f"{where}: missing {', '.join(guild.missing)}. Fix: Server Settings → Roles → "
                "the bot's role → enable them, or re-invite it with the URL from "
                "`tailorbot discord invite-url` (it asks for exactly these)."
            )
        for gap in guild.channels:
            problems.append(
                f"{where}, {gap.name}: the bot sees the channel but lacks {', '.join(gap.missing)}"
                ". Fix: Edit Channel → Permissions → allow them for the bot's role (a channel "
                "override denies them)."
            )
        if guild.hidden:
            out.append(
                f"{where}: the bot cannot see {', '.join(guild.hidden)} (it will not answer "
                "there; give its role View Channel if it should)."
            )
    if not problems:
        out.append("Everything the Discord adapter needs is in place.")
    return out, problems
