"""Start the Slack adapter on a running core (called by `tailorbot run`).

The transport follows the credentials, like Bolt's own examples:

* ``SLACK_APP_TOKEN`` set → **Socket Mode**: an outbound WebSocket to Slack, no public URL;
  the default for self-hosting.
* otherwise ``SLACK_SIGNING_SECRET`` set → **HTTP mode**: an aiohttp server on
  ``TAILORBOT_HTTP_PORT`` (default 3000) at ``/slack/events``, for a reverse proxy and
  several replicas.

``SLACK_BOT_TOKEN`` is needed in both. Either way the same ``AsyncApp`` handles the traffic.
Once it is connected (or listening), with ``forget_on_leave`` or "Add to Slack", the accounts
deleted and the installations removed while the bot was not told are checked for, then every
``slack_account_check_hours`` (adapters/slack/reconcile.py).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from adapters.slack import oauth
from adapters.slack.app import SlackAdapter, SlackOptions
from adapters.slack.http import build_web_app, start_http
from bot.config import Settings
from bot.core import Core

if TYPE_CHECKING:
    from adapters.ops.web import WebHost

log = logging.getLogger(__name__)


def configured(settings: Settings) -> bool:
    """True when there is a bot token and a way to receive events (app token or secret), or
    OAuth credentials and a signing secret (distribution, HTTP mode)."""
    if oauth.configured(settings):
        return bool(settings.slack_signing_secret)
    return bool(settings.slack_bot_token) and bool(
        settings.slack_app_token or settings.slack_signing_secret
    )


def mode(settings: Settings) -> str:
    """OAuth installs need the HTTP endpoints, so distribution always runs in HTTP mode."""
    if oauth.configured(settings):
        return "http"
    return "socket" if settings.slack_app_token else "http"


async def serve(
    core: Core, settings: Settings, *, options: SlackOptions | None = None,
    web: WebHost | None = None,
) -> None:
    """Run until cancelled; in-flight events finish before the connection closes. With
    ``web`` (the process's HTTP server), HTTP mode serves /slack/events on it and the
    adapter reports its readiness there; without (``http_enabled = false``), on a server of
    its own at ``http_host``:``http_port`` (it listened on 0.0.0.0 whatever ``http_host``
    said)."""
    if not configured(settings):
        raise RuntimeError(
            "Slack is not configured: set SLACK_BOT_TOKEN and either SLACK_APP_TOKEN "
            "(Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode); or, to be installable in any "
            "workspace, SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_SIGNING_SECRET and "
            "TAILORBOT_SLACK_TOKEN_KEY"
        )
    adapter = SlackAdapter(core, settings, options=options)
    try:
        if mode(settings) == "socket":
            await _socket_mode(adapter, settings, web)
        elif web is not None:
            await _mounted_http_mode(adapter, web)
        else:
            await _http_mode(adapter, settings)
    finally:
        await adapter.aclose()


async def _socket_mode(adapter: SlackAdapter, settings: Settings, web: WebHost | None) -> None:
    handler = AsyncSocketModeHandler(adapter.app, settings.slack_app_token)
    try:
        # inside the try: a stop while it connects closes the client too (its HTTP session
        # was left open)
        await handler.connect_async()
        log.warning("Slack adapter connected (Socket Mode)")
        adapter.start_account_checks()
        if web is not None:
            web.adapters.set("slack", "ready", "socket mode")
        await asyncio.Event().wait()
    finally:
        await handler.close_async()


async def _mounted_http_mode(adapter: SlackAdapter, web: WebHost) -> None:
    """HTTP mode on the process's one port, beside /healthz, /readyz and /metrics."""
    slack_app = build_web_app(adapter.app)
    web.mount(slack_app)
    web.adapters.set("slack", "ready", "http mode")
    log.warning("Slack adapter listening on port %s at /slack/events", web.port)
    adapter.start_account_checks()
    try:
        await asyncio.Event().wait()
    finally:
        web.unmount(slack_app)


async def _http_mode(adapter: SlackAdapter, settings: Settings) -> None:
    host = settings.http_host
    runner, port = await start_http(adapter.app, host=host, port=settings.http_port)
    log.warning("Slack adapter listening on http://%s:%d/slack/events", host, port)
    adapter.start_account_checks()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
