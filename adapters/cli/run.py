"""``tailorbot run``: the core, the digest scheduler, the operator endpoints and every
configured adapter in one process (the terminal chat when no platform is configured)."""

from __future__ import annotations

import asyncio
import getpass
import logging
import time
from typing import TYPE_CHECKING, Any

from adapters.cli.options import err
from adapters.ops.health import FAILED, READY, STARTING, STOPPED

if TYPE_CHECKING:
    from adapters.ops.web import WebHost
    from bot.config import Settings
    from bot.core import Core

log = logging.getLogger(__name__)


def configured_runners(settings: Settings) -> list[tuple[str, Any]]:
    """(name, runner) of each platform with credentials; a platform's SDK is imported only
    when its token is set, so a terminal-only start never pays for discord.py or Bolt."""
    found: list[tuple[str, Any]] = []
    if settings.slack_bot_token or settings.slack_client_id:  # a token, or OAuth installs
        from adapters.slack import runner as slack_runner

        found.append(("slack", slack_runner))
    if settings.discord_bot_token:
        from adapters.discord import runner as discord_runner

        found.append(("discord", discord_runner))
    return [(name, runner) for name, runner in found if runner.configured(settings)]


def default_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "you"


async def serve(
    settings: Settings, runners: list[tuple[str, Any]] | None = None, *,
    grant_consent: bool = False,
) -> None:
    """``runners``: the adapters to start (default: every configured one). Whatever they
    are, the process also serves the operator endpoints, fires digests and purges expired
    records — `tailorbot discord run` once did none of that. ``grant_consent``: the terminal
    chat's person consents up front (its note tells them to start with ``--consent``)."""
    from adapters.cli.runtime import core_for
    from bot.digest import digests_for
    from bot.retention import RetentionScheduler

    runners = configured_runners(settings) if runners is None else runners
    async with core_for(settings) as core:
        host = await _start_host(core, settings)
        digests = digests_for(core.services)
        await digests.start()  # fires each person's digest at their local time
        retention = RetentionScheduler(core.services)
        await retention.start()  # deletes expired records (see README "Retention")
        # The first extraction worker starts, and loads its lexicons (~1.6 CPU-s), and this
        # process loads in a thread the ones it ranks profiles with (~0.7 CPU-s), while the
        # adapters connect, so the first message does not pay for them and readiness does not
        # wait for them either (a message that comes sooner may still pay part of it).
        lexicons = asyncio.ensure_future(_warm_up(core))
        try:
            await _serve_adapters(core, settings, runners, host, grant_consent)
        finally:
            await retention.aclose()
            await digests.aclose()
            if host is not None:
                await host.stop()
            await lexicons  # loading cannot be cancelled: a clean exit lets it finish


async def _warm_up(core: Core) -> None:
    services = core.services
    started = time.perf_counter()
    try:
        await services.warm_up()
    except Exception:  # the first message will load them again and report its own failure
        log.exception("lexicons failed to load at start")
        return
    pool = services.extraction
    where = f"a worker process (up to {pool.workers})" if pool.running else "this process"
    log.info("lexicons loaded in %.1f s; extraction's in %s", time.perf_counter() - started, where)
    from profiles.startup_heap import freeze_startup_objects  # loaded with the core already

    frozen = freeze_startup_objects()
    log.info("start-up objects kept out of garbage collection: %d", frozen)


async def _start_host(core: Core, settings: Settings) -> WebHost | None:
    if not settings.http_enabled:
        return None
    from adapters.ops.server import start_ops

    return await start_ops(core, settings)


async def _serve_adapters(
    core: Core, settings: Settings, runners: list[tuple[str, Any]], host: WebHost | None,
    grant_consent: bool = False,
) -> None:
    if not runners:
        from adapters import terminal

        err.print(
            "[dim]No Slack or Discord credentials set: starting the terminal "
            "chat (see README).[/dim]"
        )
        if host is not None:
            host.adapters.set("terminal", READY)
        await terminal.chat(core, user=default_user(), grant_consent=grant_consent)
        return

    async def one(name: str, runner: Any) -> None:
        if host is None:
            await runner.serve(core, settings)
            return
        host.adapters.set(name, STARTING)
        try:
            await runner.serve(core, settings, web=host)
        except Exception as exc:
            host.adapters.set(name, FAILED, f"{type(exc).__name__}: {exc}"[:200])
            raise
        else:
            host.adapters.set(name, STOPPED)

    await asyncio.gather(*(one(name, runner) for name, runner in runners))
