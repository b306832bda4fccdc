"""Start the operator endpoints for ``tailorbot run`` (and tests): one :class:`WebHost`
with health, readiness, metrics and the operator page, on ``settings.http_port``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from adapters.ops import admin, health, scrape
from adapters.ops.web import WebHost

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.core import Core

log = logging.getLogger(__name__)


def build_host(core: Core, settings: Settings) -> WebHost:
    host = WebHost()
    health.add_routes(host.app, core, host.adapters)
    scrape.add_routes(host.app, core)
    admin.add_routes(host.app, core, settings)
    return host


async def start_ops(core: Core, settings: Settings, *, port: int | None = None) -> WebHost:
    host = build_host(core, settings)
    bound = await host.start(settings.http_host, settings.http_port if port is None else port)
    log.info("operator endpoints on http://%s:%d (/healthz /readyz /metrics /admin)",
             settings.http_host, bound)
    return host
