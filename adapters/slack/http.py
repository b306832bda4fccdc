"""HTTP mode: Slack POSTs events, slash commands and button presses to ``/slack/events``.

The aiohttp server only moves bytes: every request becomes an ``AsyncBoltRequest`` and goes
through the same ``AsyncApp.async_dispatch`` as Socket Mode envelopes, so Bolt verifies the
``X-Slack-Signature`` (HMAC of the raw body with the signing secret, timestamps older than
5 minutes refused) and answers ``url_verification`` challenges before any listener runs.
Nothing is kept per request, so several replicas can serve one app behind a load balancer
(retries are deduplicated by the core, in the shared database).
"""

from __future__ import annotations

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"


def build_web_app(app: AsyncApp, path: str = EVENTS_PATH) -> web.Application:
    """The aiohttp application: Slack's endpoint plus a health check for load balancers."""

    async def events(request: web.Request) -> web.Response:
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
    site = web.TCPSite(runner, host, port)
    await site.start()
    addresses = runner.addresses
    bound = addresses[0][1] if addresses else port
    return runner, int(bound)
