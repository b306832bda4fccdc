"""Start the Discord adapter on a running core (called by ``tailorbot run`` and
``tailorbot discord run``).

Privileged intents that the developer portal has not approved make Discord close the
connection (code 4014). Rather than refuse to start, the runner logs which intents to enable
and reconnects without them: the bot keeps working in DMs, on mentions and with slash
commands (see :mod:`adapters.discord.client` for what each intent adds).

Slash commands are never synced here: that is ``tailorbot discord sync``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

import discord

from adapters.discord.check import portal_intents
from adapters.discord.client import AnyClient, build_client
from adapters.discord.endpoints import needs_gateway_lookup, point_gateway_from_api, pointed_at
from bot.config import Settings
from bot.core import Core

if TYPE_CHECKING:
    from adapters.ops.web import WebHost

log = logging.getLogger(__name__)


def configured(settings: Settings) -> bool:
    return bool(settings.discord_bot_token)


async def serve(
    core: Core,
    settings: Settings,
    *,
    privileged: Iterable[str] | None = None,
    sharded: bool = False,
    shard_count: int | None = None,
    shard_ids: list[int] | None = None,
    web: WebHost | None = None,
) -> None:
    """Connect and handle events until cancelled (or the gateway closes for good); with
    ``web``, report readiness there once the gateway session is ready."""
    token = settings.discord_bot_token
    if not token:
        raise RuntimeError("DISCORD_BOT_TOKEN is not set")
    if privileged is None:
        privileged = settings.discord_intents
    sharded = sharded or settings.discord_sharded
    shard_count = shard_count or settings.discord_shard_count
    wanted = None if privileged is None else frozenset(privileged)
    with pointed_at(settings.discord_api_url, settings.discord_gateway_url):
        while True:
            client = build_client(core, settings, privileged=wanted, sharded=sharded,
                                  shard_count=shard_count, shard_ids=shard_ids)
            try:
                await _run(client, token, settings, web)
                return
            except discord.PrivilegedIntentsRequired:
                asked = frozenset(_privileged_names(client.intents))
                if not asked:
                    raise
                # Keep those the portal does enable: refused "members" (forget_on_leave's
                # default) cost the bot message_content too, and with it every channel message
                # and reply-to-the-bot it could read.
                enabled = await portal_intents(token)
                kept = asked & enabled if enabled is not None else frozenset()
                if kept == asked:  # the flags say yes, Discord said no: ask for none
                    kept = frozenset()
                log.warning(
                    "Discord refused the privileged intents %s: enable them for this bot in the "
                    "developer portal (Bot → Privileged Gateway Intents). Continuing with %s "
                    "(DMs, mentions and slash commands still work).",
                    ", ".join(sorted(asked - kept)), ", ".join(sorted(kept)) or "none",
                )
                wanted = kept


async def _run(client: AnyClient, token: str, settings: Settings, web: WebHost | None) -> None:
    adapter = client.adapter
    adapter.install_delivery()
    reporter: asyncio.Task[None] | None = None
    try:
        await client.login(token)
        if web is not None:
            reporter = asyncio.create_task(_report_ready(client, web))
        if needs_gateway_lookup(settings.discord_api_url, settings.discord_gateway_url):
            await point_gateway_from_api(client)
        await _connect(client)
    finally:
        if reporter is not None:
            reporter.cancel()
        adapter.uninstall_delivery()
        await client.close()


async def _connect(client: AnyClient) -> None:
    """``client.connect`` until it ends, stopped for sure when this is cancelled.

    Why a task of its own, shielded: discord.py waits for each gateway handshake with
    ``asyncio.wait_for``, which on Python 3.11 returns the handshake's result and drops a
    cancellation that comes as the handshake completes; the client then went on polling
    the gateway, and a runner cancelled at that moment never stopped (a CI run hung in
    tests/adapters/discord/test_endpoints.py, whose test cancels right after the second
    IDENTIFY). Shielded, the cancellation always reaches this coroutine; closing the client
    ends its loop, which checks ``is_closed()`` after every connection."""
    connecting = asyncio.create_task(client.connect(reconnect=True))
    try:
        await asyncio.shield(connecting)
    except asyncio.CancelledError:
        connecting.add_done_callback(_retrieved)  # its end is not this caller's any more
        await client.close()
        connecting.cancel()
        await asyncio.wait({connecting}, timeout=STOP_SECONDS)
        raise


# How long a cancelled runner waits for the client's own task to end once it is closed.
STOP_SECONDS = 10.0


def _retrieved(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.debug("the Discord client ended after its runner stopped: %r", task.exception())


async def _report_ready(client: AnyClient, web: WebHost) -> None:
    await client.wait_until_ready()
    web.adapters.set("discord", "ready", f"{len(client.guilds)} servers")


def _privileged_names(intents: discord.Intents) -> list[str]:
    return [name for name in ("message_content", "members", "presences") if getattr(intents, name)]
