"""The scheduled purge of expired records (see :mod:`profiles.retention` for what and why).

``tailorbot run`` starts it next to the digest scheduler: an APScheduler interval job in this
process (a purge is idempotent, so several workers may each run one; nothing needs a shared
job store). ``tailorbot db purge`` runs the same purge once, for cron or an operator.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from bot.config import MAX_RETENTION_DAYS as MAX_RETENTION_DAYS  # where /admin set reads it
from bot.config import Settings
from bot.services import Services
from profiles.retention import RetentionPolicy, purge
from profiles.workspace_defaults import defaults_by_workspace

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)
JOB_ID = "retention:purge"
# Stored keys of a workspace's own limits: RETENTION_PREFIX + a RetentionPolicy field.
RETENTION_PREFIX = "retention."


def policy_of(settings: Settings) -> RetentionPolicy:
    return RetentionPolicy(
        conversation_days=settings.retention_conversation_days,
        signal_evidence_days=settings.retention_signal_evidence_days,
        channel_excerpt_days=settings.retention_channel_excerpt_days,
        digest_item_days=settings.retention_digest_item_days,
        model_call_days=settings.retention_model_call_days,
        memory_days=settings.retention_memory_days,
    )


def days_in(raw: str) -> int:
    """A number of days as typed or stored, or 0 when it is not a whole number.
    ``isdecimal`` and not ``isdigit``: "²" is a digit that ``int()`` refuses. Past nine
    digits, more than any limit (and ``int()`` refuses more than 4,300)."""
    if not raw.isdecimal():
        return 0
    return int(raw) if len(raw) <= 9 else 10**9


def retention_policy_for(settings: Settings, stored: Mapping[str, str]) -> RetentionPolicy:
    """The deployment's retention with the workspace's shorter limits applied. A stored limit
    longer than the deployment's (the operator lowered theirs later) is ignored."""
    policy = policy_of(settings)
    changes: dict[str, int] = {}
    for field in (f.name for f in dataclasses.fields(RetentionPolicy)):
        raw = stored.get(RETENTION_PREFIX + field)
        if raw is None:
            continue
        # bounded as /admin set bounds it now: one stored before (a million days under a
        # deployment keeping for ever) is a date before year 1 and failed every purge
        days = min(days_in(raw), MAX_RETENTION_DAYS)
        limit = getattr(policy, field)
        if days > 0 and (limit == 0 or days < limit):
            changes[field] = days
    return dataclasses.replace(policy, **changes)


def stricter_only(settings: Settings, stored: Mapping[str, str]) -> RetentionPolicy:
    """Only the limits where the workspace is shorter than the deployment (0 elsewhere: the
    deployment's own purge already covers those), for the purge's per-workspace pass."""
    base, mine = policy_of(settings), retention_policy_for(settings, stored)
    return RetentionPolicy(**{
        field: (getattr(mine, field) if getattr(mine, field) != getattr(base, field) else 0)
        for field in (f.name for f in dataclasses.fields(RetentionPolicy))
    })


async def purge_now(services: Services) -> dict[str, int]:
    """One purge at the services' clock, batch by batch, each behind the replies waiting
    for SQLite's writer (background work); SQLite's WAL is scrubbed afterwards like an
    erasure. Workspaces whose admins chose shorter limits (``/admin set retention``) get an
    extra pass over their own people's records. Patient (profiles/db_timeout.py): its
    batches delete across the whole database, and nobody waits for them."""
    now = services.clock()
    batches = functools.partial(services.db.session, background=True)
    engine = services.engine
    half_lives = (engine.half_life, engine.lasting_half_life)
    with services.db.patient():
        removed = await purge(
            batches, now, policy_of(services.settings), half_lives=half_lives
        )
        async with services.db.read() as session:
            chosen = await defaults_by_workspace(session, RETENTION_PREFIX)
        for where, stored in chosen.items():
            extra = await purge(
                batches, now, stricter_only(services.settings, stored), workspace=where,
                half_lives=half_lives,
            )
            for table, count in extra.items():
                removed[table] = removed.get(table, 0) + count
        if any(removed.values()):
            await services.db.scrub()
            log.info("retention purge removed %s", removed)
    return removed


class RetentionScheduler:
    def __init__(self, services: Services) -> None:
        from apscheduler.schedulers.asyncio import AsyncIOScheduler  # only where it runs

        self.services = services
        self.scheduler: AsyncIOScheduler = AsyncIOScheduler(timezone=dt.UTC)

    async def start(self) -> None:
        """First purge a minute after start (not in the way of start-up), then periodically."""
        hours = self.services.settings.retention_purge_hours
        self.scheduler.add_job(
            self._run,
            "interval",
            hours=hours,
            id=JOB_ID,
            next_run_time=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1),
            coalesce=True,
            max_instances=1,
        )
        self.scheduler.start()

    async def _run(self) -> None:
        try:
            await purge_now(self.services)
        except Exception:  # a purge that failed is retried at the next interval
            log.exception("retention purge failed")

    async def aclose(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
