"""Pointing discord.py at a Discord-compatible server instead of discord.com.

discord.py 2.7 has no constructor option for this, so two class attributes are set for the
duration of :func:`pointed_at` and restored afterwards:

* ``discord.http.Route.BASE`` — the REST base (``https://discord.com/api/v10``). Every REST
  call *and* every interaction response / webhook call builds its URL from it.
* ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` — where a plain ``Client`` dials: it
  never asks the API for the gateway, it connects to this built-in default (also used again
  after the gateway invalidates a session). An ``AutoShardedClient`` without a fixed shard
  count does ask ``GET /gateway/bot`` — through the patched REST base.

``TAILORBOT_DISCORD_GATEWAY_URL`` wins when given; otherwise, with a custom REST base, the
gateway is whatever that API answers to ``GET /gateway/bot`` (:func:`point_gateway_from_api`,
called after login so the request is authenticated). With neither setting nothing changes.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

log = logging.getLogger(__name__)


@contextlib.contextmanager
def pointed_at(api_url: str | None, gateway_url: str | None) -> Iterator[None]:
    saved_base, saved_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    if api_url:
        Route.BASE = api_url.rstrip("/")
        log.info("Discord REST base: %s", Route.BASE)
    if gateway_url:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
        log.info("Discord gateway: %s", gateway_url)
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = saved_base, saved_gateway


def needs_gateway_lookup(api_url: str | None, gateway_url: str | None) -> bool:
    return bool(api_url) and not gateway_url


async def point_gateway_from_api(client: discord.Client) -> str:
    """Ask the (custom) API where its gateway is and dial that. Needs a logged-in client."""
    _, url, _ = await client.http.get_bot_gateway()
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
    log.info("Discord gateway from GET /gateway/bot: %s", url)
    return url
