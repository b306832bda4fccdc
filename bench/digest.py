"""A full digest run: people per second for N subscribed people and M candidate items.

Setup (not measured): N consented people in one workspace, all subscribed daily at 08:00 UTC,
each with a few decayed interests drawn Zipf-like from :data:`bench.workload.TOPICS` (one in
ten is a cold start with a single interest, so the collaborative model is built and used);
M candidate items: 80 % channel conversations of the last day (``channel_activity`` rows by
consented authors) and 20 % entries of an RSS feed served by a local HTTP server and
configured for the workspace.

Measured: ``run_due()`` at 08:05 — for every person: claim the period, gather from every
source, deduplicate, rank, compose (no model), record the items, deliver (a delivery that only
counts) and mark the run sent — bounded by ``digest_max_concurrency``.

``python -m bench --digest`` or ``python -m bench.digest [--people N] [--items M]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import resource
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web
from sqlalchemy import insert
from sqlmodel import select

from bench.pgdatabase import throwaway_database
from bench.running import run as run_on_bots_loop
from bench.workload import TOPICS
from bot.config import Settings
from bot.core import Core
from bot.digest import install
from bot.events import Reply
from bot.llm import NoModelBackend
from profiles.db import Database
from profiles.migrate import upgrade
from profiles.models import (
    ChannelActivity,
    Consent,
    ConsentStatus,
    DigestSubscription,
    Interest,
    Person,
    WorkspaceFeed,
)

WORKSPACE = "bench"
NOW = dt.datetime(2026, 11, 26, 8, 5, tzinfo=dt.UTC)
CHUNK = 5000


@dataclass
class DigestFigures:
    backend: str
    people: int
    items: int
    sent: int
    elapsed_s: float
    cpu_s: float  # this process's CPU time during the run (all threads): load-independent
    people_per_s: float
    peak_rss_mb: float


def _zipf_topics(rng: random.Random, k: int) -> list[str]:
    weights = [1 / (rank + 1) for rank in range(len(TOPICS))]
    picked: list[str] = []
    while len(picked) < k:
        topic = rng.choices(TOPICS, weights=weights)[0]
        if topic not in picked:
            picked.append(topic)
    return picked


async def _bulk(db: Database, model: type, rows: Sequence[Mapping[str, Any]]) -> None:
    async with db.session() as session:
        for start in range(0, len(rows), CHUNK):
            await session.exec(insert(model).values(list(rows[start : start + CHUNK])))


async def seed(db: Database, n_people: int, n_threads: int, feed_url: str) -> None:
    rng = random.Random(11)
    await _bulk(
        db,
        Person,
        [
            {
                "platform": "bench",
                "workspace": WORKSPACE,
                "user_id": f"U{i:07d}",
                "display_name": f"U{i:07d}",
                "created_at": NOW,
                "last_seen_at": NOW,
            }
            for i in range(n_people)
        ],
    )
    async with db.session() as session:
        ids = list(await session.exec(select(Person.id)))
    await _bulk(
        db,
        Consent,
        [
            {"person_id": pid, "status": ConsentStatus.GRANTED.value, "changed_at": NOW}
            for pid in ids
        ],
    )
    ts = NOW.timestamp() - 3600
    interest_rows = []
    for index, pid in enumerate(ids):
        k = 1 if index % 10 == 0 else rng.randint(3, 6)
        for topic in _zipf_topics(rng, k):
            interest_rows.append(
                {
                    "person_id": pid,
                    "topic": topic,
                    "weight": round(rng.uniform(0.5, 5.0), 3),
                    "updated_ts": ts,
                    "evidence_count": 1,
                    "positive_feedback": 0,
                    "negative_feedback": 0,
                    "first_seen_at": NOW,
                }
            )
    await _bulk(db, Interest, interest_rows)
    await _bulk(
        db,
        DigestSubscription,
        [
            {
                "person_id": pid,
                "cadence": "daily",
                "time": "08:00",
                "timezone": "UTC",
                "platform": "bench",
                "channel_id": "",
                "created_at": NOW,
                "updated_at": NOW,
            }
            for pid in ids
        ],
    )
    activity = []
    for thread in range(n_threads):
        topics = _zipf_topics(rng, rng.randint(1, 2))
        root = f"{thread}.0"
        for reply in range(rng.randint(1, 4)):
            activity.append(
                {
                    "person_id": rng.choice(ids),
                    "platform": "bench",
                    "workspace": WORKSPACE,
                    "channel_id": f"C{thread % 40:03d}",
                    "private": False,
                    "message_id": f"{thread}.{reply}",
                    "thread_id": None if reply == 0 else root,
                    "excerpt": f"Thread {thread} about {' and '.join(topics)} (message {reply})",
                    "topics": topics,
                    "created_at": NOW - dt.timedelta(minutes=rng.randint(10, 20 * 60)),
                }
            )
    await _bulk(db, ChannelActivity, activity)
    async with db.session() as session:
        session.add(WorkspaceFeed(platform="bench", workspace=WORKSPACE, url=feed_url))


def rss(n_entries: int) -> str:
    rng = random.Random(5)
    items = []
    for i in range(n_entries):
        topic = _zipf_topics(rng, 1)[0]
        when = format_datetime(NOW - dt.timedelta(minutes=rng.randint(5, 60 * 48)))
        items.append(
            f"<item><title>{escape(f'News {i}: what is new in {topic}')}</title>"
            f"<link>https://news.example/{i}</link><guid>n{i}</guid><pubDate>{when}</pubDate>"
            f"<category>{escape(topic)}</category>"
            f"<description>{escape(f'A summary of item {i} on {topic}.')}</description></item>"
        )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Bench news</title>'
        + "".join(items)
        + "</channel></rss>"
    )


async def serve_feed(body: str) -> tuple[web.AppRunner, str]:
    async def feed(request: web.Request) -> web.Response:
        return web.Response(text=body, content_type="application/rss+xml")

    app = web.Application()
    app.add_routes([web.get("/feed.xml", feed)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/feed.xml"


async def run(backend: str, url: str, n_people: int, n_items: int) -> DigestFigures:
    upgrade(url)
    n_rss = n_items // 5
    server, feed_url = await serve_feed(rss(n_rss))
    settings = Settings(database_url=url, auto_migrate=False, _env_file=None)  # type: ignore[call-arg]
    db = Database(url)
    core = Core(settings, db, NoModelBackend(), clock=lambda: NOW)
    sent = 0

    async def deliver(person: Person, replies: list[Reply]) -> None:
        nonlocal sent
        sent += 1

    service = install(core.services, deliveries={"bench": deliver})
    try:
        await seed(db, n_people, n_items - n_rss, feed_url)
        started, cpu_started = time.perf_counter(), time.process_time()
        summary = await service.run_due(now=NOW)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        await service.aclose()
        await core.aclose()
        await db.dispose()
        await server.cleanup()
    if summary.counts.get("sent", 0) != n_people:
        raise RuntimeError(f"expected {n_people} digests, got {summary.line()}")
    return DigestFigures(
        backend=backend,
        people=n_people,
        items=n_items,
        sent=sent,
        elapsed_s=elapsed,
        cpu_s=cpu,
        people_per_s=n_people / elapsed,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    )


async def run_sqlite(n_people: int, n_items: int) -> DigestFigures:
    with tempfile.TemporaryDirectory() as folder:
        return await run("sqlite", f"sqlite:///{Path(folder) / 'bench.db'}", n_people, n_items)


async def run_postgres(n_people: int, n_items: int) -> DigestFigures:
    with throwaway_database() as url:
        return await run("postgres", url, n_people, n_items)


def report(backends: list[str], *, people: int = 10_000, items: int = 1_000) -> None:
    print(
        f"{'backend':9} {'people':>7} {'items':>6} {'sent':>7} {'seconds':>8} {'CPU s':>6} "
        f"{'people/s':>9} {'peak RSS MB':>12}   load {os.getloadavg()[0]:.1f}"
    )
    for backend in backends:
        runner = run_sqlite if backend == "sqlite" else run_postgres
        f = run_on_bots_loop(runner(people, items))
        print(
            f"{f.backend:9} {f.people:>7} {f.items:>6} {f.sent:>7} {f.elapsed_s:>8.1f} "
            f"{f.cpu_s:>6.1f} {f.people_per_s:>9.0f} {f.peak_rss_mb:>12.0f}   "
            f"load {os.getloadavg()[0]:.1f}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.digest")
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=1_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    report(args.backends.split(","), people=args.people, items=args.items)


if __name__ == "__main__":
    main()
