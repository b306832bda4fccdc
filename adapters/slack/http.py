"""HTTP mode: Slack POSTs events, slash commands and button presses to ``/slack/events``.

The aiohttp server only moves bytes: every request becomes an ``AsyncBoltRequest`` and goes
through the same ``AsyncApp.async_dispatch`` as Socket Mode envelopes, so Bolt verifies the
``X-Slack-Signature`` (HMAC of the raw body with the signing secret, timestamps older than
5 minutes refused) and answers ``url_verification`` challenges before any listener runs.
Nothing is kept per request, so several replicas can serve one app behind a load balancer
(retries are deduplicated by the core, in the shared database).
"""

from __future__ import annotations

import json
import urllib.parse

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from adapters.ops.web import start_site

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"


def build_web_app(app: AsyncApp, path: str = EVENTS_PATH) -> web.Application:
    """The aiohttp application: Slack's endpoint plus a health check for load balancers."""

    async def events(request: web.Request) -> web.Response:
        refused = await _refuse_malformed(request)
        if refused is not None:
            return refused
        bolt_response = await app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    async def health(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    web_app = web.Application(client_max_size=2 * 1024 * 1024)
    web_app.router.add_post(path, events)
    web_app.router.add_get(HEALTH_PATH, health)
    if app.oauth_flow is not None:  # distribution: /slack/install and /slack/oauth_redirect
        from adapters.slack.oauth import add_routes

        add_routes(web_app, app.oauth_flow)
    return web_app


async def start_http(app: AsyncApp, *, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start serving; returns the runner (call ``cleanup()`` to stop) and the bound port (so
    port 0 picks a free one, as the tests do)."""
    runner = web.AppRunner(build_web_app(app), access_log=None)
    await runner.setup()
    try:  # Slack's HTTP mode needs the port: only another one will do
        return runner, await start_site(runner, host, port, can_disable=False)
    except BaseException:
        # a port in use, and a start cancelled while the name resolves or the socket binds
        # (a shutdown then): the caller never gets the runner, so it is cleaned up here
        await runner.cleanup()
        raise


def _timestamp_ok(value: str) -> bool:
    """Slack sends seconds since the epoch; Bolt feeds it to int() and answered anything else
    with a 500. Such a request can never verify, so it is unauthorised."""
    return value.isascii() and value.isdigit() and len(value) <= 12


def _payload_ok(body: str, content_type: str) -> bool:
    """Slack's payloads are JSON objects (events) or forms whose ``payload`` field, when
    present, is a JSON object (interactivity). Bolt assumed so and crashed on the rest."""
    try:
        if content_type == "application/json":
            return isinstance(json.loads(body), dict)
        form = urllib.parse.parse_qs(body, keep_blank_values=True)
        payload = form.get("payload")
        return payload is None or isinstance(json.loads(payload[0]), dict)
    except ValueError:
        return False


async def _refuse_malformed(request: web.Request) -> web.Response | None:
    """401 for a timestamp no signature can match, 400 for a body that is not a Slack payload
    (signed or not: it cannot be dispatched either way); None lets Bolt verify and dispatch."""
    if not _timestamp_ok(request.headers.get("X-Slack-Request-Timestamp", "")):
        return web.Response(status=401, text="invalid request timestamp")
    try:
        body = await request.text()
    except UnicodeDecodeError:
        return web.Response(status=400, text="the body is not UTF-8")
    if not _payload_ok(body, request.content_type):
        return web.Response(status=400, text="the body is not a Slack payload")
    return None
