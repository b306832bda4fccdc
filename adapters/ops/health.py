"""Liveness and readiness.

``/healthz`` answers while the process can serve HTTP at all (for a restart policy).
``/readyz`` says whether this worker should get traffic: the database answers, the model
backend is built, and every adapter it was asked to run has connected. It answers 503 with
the same JSON when something is not ready, so a load balancer and a person read one thing.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web
from sqlalchemy import text

if TYPE_CHECKING:
    from bot.core import Core

STARTING, READY, FAILED, STOPPED = "starting", "ready", "failed", "stopped"
DB_TIMEOUT_S = 3.0
# Database checks that outlived their report (see database_check), until they end: held
# here because asyncio keeps no reference to a task of its own.
late_checks: set[asyncio.Future[None]] = set()


@dataclass
class AdapterStates:
    """Each adapter reports here: ``starting`` → ``ready`` (connected) → ``stopped``/``failed``."""

    states: dict[str, tuple[str, str]] = field(default_factory=dict)

    def set(self, name: str, state: str, detail: str = "") -> None:
        self.states[name] = (state, detail)

    def snapshot(self) -> dict[str, dict[str, str]]:
        return {
            name: {"state": state, **({"detail": detail} if detail else {})}
            for name, (state, detail) in sorted(self.states.items())
        }

    @property
    def all_ready(self) -> bool:
        return bool(self.states) and all(s == READY for s, _ in self.states.values())


async def database_check(core: Core) -> dict[str, Any]:
    """``SELECT 1``, reported as not ready when it fails or has no answer within
    ``DB_TIMEOUT_S``. A check still waiting then is left to end by itself, not cancelled:
    psycopg answers a cancelled query by asking the server to cancel it and waiting for
    that, and a server that hangs answers neither — /readyz took 13 s for its 3 then. The
    round trip ends within the database timeout (profiles/db_timeout.py)."""
    started = time.perf_counter()
    check = asyncio.ensure_future(_select_one(core))
    try:
        done, _ = await asyncio.wait({check}, timeout=DB_TIMEOUT_S)
        if not done:
            late_checks.add(check)
            check.add_done_callback(_ended)
            raise TimeoutError(f"no answer within {DB_TIMEOUT_S:g} s")
        check.result()
    except Exception as exc:  # unreachable, timed out, refused: all "not ready"
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


async def _select_one(core: Core) -> None:
    async with core.services.db.session() as session:
        await session.exec(text("SELECT 1"))  # type: ignore[call-overload]


def _ended(check: asyncio.Future[None]) -> None:
    """A late check ended: its failure was reported as a timeout already (marked as seen)."""
    late_checks.discard(check)
    if not check.cancelled():
        check.exception()


def model_check(core: Core) -> dict[str, Any]:
    """The backend is built at start-up (a bad key or URL stops the process before this);
    it is not called per probe, which would cost tokens."""
    llm = core.services.llm
    return {"ok": True, "backend": llm.name, "configured": llm.configured}


async def readiness(core: Core, adapters: AdapterStates) -> dict[str, Any]:
    database = await database_check(core)
    model = model_check(core)
    report = {
        "database": database,
        "model": model,
        "adapters": {"ok": adapters.all_ready, **adapters.snapshot()},
        "outage_backlog": core.backlog_size,
    }
    report["ready"] = database["ok"] and model["ok"] and adapters.all_ready
    return report


def add_routes(app: web.Application, core: Core, adapters: AdapterStates) -> None:
    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_request: web.Request) -> web.Response:
        report = await readiness(core, adapters)
        return web.json_response(report, status=200 if report["ready"] else 503)

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
