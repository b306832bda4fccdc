"""``/metrics`` in Prometheus' text format.

Most series are counted as things happen (:mod:`bot.metrics`); the number of people by
consent status is read from the database, at most every ``PEOPLE_TTL_S`` seconds, so a
scrape every few seconds does not become a query every few seconds.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot import metrics
from profiles.stats import people_by_consent

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)
PEOPLE_TTL_S = 30.0


def add_routes(app: web.Application, core: Core) -> None:
    refreshed_at = -PEOPLE_TTL_S

    async def scrape(_request: web.Request) -> web.Response:
        nonlocal refreshed_at
        if time.monotonic() - refreshed_at >= PEOPLE_TTL_S:
            try:
                async with core.services.db.session() as session:
                    metrics.set_people(await people_by_consent(session))
                refreshed_at = time.monotonic()
            except Exception as exc:  # the database is away: serve the in-memory series
                log.warning("metrics: could not count people: %s", exc)
        body = generate_latest(metrics.REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/metrics", scrape)
