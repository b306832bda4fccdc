"""Ingestion through the real pipeline (no model) and context assembly latency.

Figures: messages/s and implicit signals/s through ``Core.handle``; p50/p99 of assembling a
person's full context and prompt (``Core.preview_request``); peak RSS of the process.
"""

from __future__ import annotations

import datetime as dt
import random
import resource
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from bench.workload import messages, people
from bot.config import Settings
from bot.core import Core
from bot.events import MessageEvent, PersonRef, Surface
from bot.llm import NoModelBackend
from profiles.db import Database
from profiles.migrate import upgrade
from profiles.models import Consent, ConsentStatus, Person, Signal

WORKSPACE = "bench"


@dataclass
class Figures:
    backend: str
    people: int
    messages: int
    messages_per_s: float
    signals_per_s: float
    context_p50_ms: float
    context_p99_ms: float
    prompt_p50_ms: float
    prompt_p99_ms: float
    peak_rss_mb: float


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def seed_people(db: Database, users: list[str]) -> None:
    """Setup only (not measured): people who granted consent, inserted in bulk."""
    now = dt.datetime.now(dt.UTC)
    async with db.session() as session:
        for start in range(0, len(users), 5000):
            chunk = users[start : start + 5000]
            await session.exec(
                insert(Person).values(
                    [  # type: ignore[call-overload]
                        {
                            "platform": "bench",
                            "workspace": WORKSPACE,
                            "user_id": u,
                            "display_name": u,
                            "created_at": now,
                            "last_seen_at": now,
                        }
                        for u in chunk
                    ]
                )
            )
        ids = [row[0] for row in (await session.execute(select(Person.id))).all()]
        for start in range(0, len(ids), 5000):
            await session.exec(
                insert(Consent).values(
                    [  # type: ignore[call-overload]
                        {"person_id": pid, "status": ConsentStatus.GRANTED.value, "changed_at": now}
                        for pid in ids[start : start + 5000]
                    ]
                )
            )


async def signal_rows(db: Database) -> int:
    async with db.session() as session:
        return int((await session.execute(select(func.count()).select_from(Signal))).scalar_one())


async def run(backend: str, url: str, n_people: int, n_messages: int, n_context: int) -> Figures:
    upgrade(url)
    settings = Settings(database_url=url, auto_migrate=False, _env_file=None)  # type: ignore[call-arg]
    db = Database(url)
    core = Core(settings, db, NoModelBackend())
    users = people(n_people)
    await seed_people(db, users)
    workload = list(messages(users, n_messages))
    # warm-up: model loading (YAKE, lingua) is a one-off cost, not throughput
    core.extractor.extract("warm up the keyphrase and language models please")
    before = await signal_rows(db)
    started = time.perf_counter()
    for i, item in enumerate(workload):
        await core.handle(
            MessageEvent(
                event_id=f"bench-{i}",
                person=PersonRef("bench", WORKSPACE, item.user),
                text=item.text,
                surface=Surface.DM,
                channel_id="D1",
            )
        )
    elapsed = time.perf_counter() - started
    signals = await signal_rows(db) - before

    rng = random.Random(3)
    active = list({m.user for m in workload})
    timings: list[float] = []
    render_timings: list[float] = []
    chat = core.renderer.chat

    def timed_chat(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return chat(*args, **kwargs)
        finally:
            render_timings.append((time.perf_counter() - t0) * 1000)

    core.renderer.chat = timed_chat  # type: ignore[method-assign]
    for _ in range(n_context):
        user = rng.choice(active)
        event = MessageEvent(
            event_id="preview",
            person=PersonRef("bench", WORKSPACE, user),
            text="what should I read next?",
            surface=Surface.DM,
        )
        t0 = time.perf_counter()
        await core.preview_request(event)
        timings.append((time.perf_counter() - t0) * 1000)
    assembly = [total - render for total, render in zip(timings, render_timings, strict=True)]
    await core.aclose()
    await db.dispose()
    return Figures(
        backend=backend,
        people=n_people,
        messages=n_messages,
        messages_per_s=n_messages / elapsed,
        signals_per_s=signals / elapsed,
        # context assembly = loading and shaping the profile; the prompt render is timed apart
        context_p50_ms=statistics.median(assembly),
        context_p99_ms=percentile(assembly, 0.99),
        prompt_p50_ms=statistics.median(render_timings),
        prompt_p99_ms=percentile(render_timings, 0.99),
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'bench.db'}"


async def run_sqlite(n_people: int, n_messages: int, n_context: int) -> Figures:
    with tempfile.TemporaryDirectory() as folder:
        return await run("sqlite", sqlite_url(Path(folder)), n_people, n_messages, n_context)
