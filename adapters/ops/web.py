"""The process's one HTTP server.

Everything that listens on ``TAILORBOT_HTTP_PORT`` goes through :class:`WebHost`: the
operator endpoints are routes of its application, and an adapter that needs HTTP (Slack's
HTTP mode) *mounts* its own aiohttp application while running. aiohttp freezes an
application's routes once it serves, and adapters start after the server, so mounted
applications are reached through one catch-all route that resolves the path in each of them
(their handlers run unchanged; their middlewares, if any, do not).
"""

from __future__ import annotations

import errno
import logging

from aiohttp import web

from adapters.ops.health import AdapterStates

log = logging.getLogger(__name__)


class PortInUse(OSError):
    """Another process (often a second ``tailorbot run``) listens on the port: said with the
    settings that change it, where asyncio's "[Errno 98] error while attempting to bind on
    address" named neither."""

    def __init__(self, host: str, port: int, *, can_disable: bool) -> None:
        advice = "choose another port with TAILORBOT_HTTP_PORT"
        if can_disable:
            advice += (", or serve no HTTP endpoints (health, metrics, the operator page) with "
                       "TAILORBOT_HTTP_ENABLED=false")
        super().__init__(f"port {port} on {host} is already in use (another tailorbot "
                         f"running?): {advice}")
        self.errno = errno.EADDRINUSE


async def start_site(runner: web.AppRunner, host: str, port: int, *, can_disable: bool) -> int:
    """Listen on ``host``:``port`` with ``runner`` (set up); the bound port (0 picks one)."""
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortInUse(host, port, can_disable=can_disable) from exc
        raise
    addresses = runner.addresses
    return int(addresses[0][1]) if addresses else port


class WebHost:
    def __init__(self) -> None:
        self.app = web.Application(client_max_size=2 * 1024 * 1024)
        self.adapters = AdapterStates()
        self._mounted: list[web.Application] = []
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def mount(self, sub: web.Application) -> None:
        """Serve ``sub``'s routes from now on (paths the host itself has win)."""
        self._mounted.append(sub)

    def unmount(self, sub: web.Application) -> None:
        if sub in self._mounted:
            self._mounted.remove(sub)

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        for sub in list(self._mounted):
            match = await sub.router.resolve(request)
            if match.http_exception is None:
                return await match.handler(request)
            if isinstance(match.http_exception, web.HTTPMethodNotAllowed):
                raise match.http_exception
        raise web.HTTPNotFound()

    async def start(self, host: str, port: int) -> int:
        """Serve until :meth:`stop`; returns the bound port (port 0 picks a free one)."""
        self.app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        self.port = await start_site(self._runner, host, port, can_disable=True)
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
