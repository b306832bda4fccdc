"""Scale benchmark: the real pipeline, no model, at 1k / 10k / 100k people.

Each (backend, scale) runs in its own process so peak RSS is that scale's own (RSS is a
process high-water mark), and prints one JSON line the parent collects. One run measures:

* **batched ingestion** — :class:`profiles.ingest.BatchIngestor` applying already-extracted
  signals of ``SEED_MESSAGES`` messages per person (this also builds the profiles the other
  figures read), 1,000 observations per transaction: signal rows/s written;
* **signal extraction** — YAKE + lingua on the workload's messages, messages/s on one core
  (the part of ingestion that is CPU, not database);
* **raw limits of the same database** (:mod:`bench.limits`) — hand-written batched upserts
  and one-transaction-per-event writes, same rows, same driver, same process: the ceiling
  the pipeline is judged against (its share of it is printed);
* **maximum ingest through the core** (:mod:`bench.ingest`) — ``Core.handle`` on a mixed
  workload (channel messages, DMs, mentions, reactions, preference changes; see
  :func:`bench.workload.events`) dispatched 8 at a time: events/s and signal rows/s, with
  event-loop lag, DM reply overhead and context assembly measured while it runs;
* **the same mix offered at half that rate** (open loop, each event its own task, as an
  adapter dispatches; at least :data:`HALF_RATE_EVENTS` events): DM latency and loop lag when
  the bot is not saturated;
* **CPU per event by kind**: each kind of the mix on its own, the bot process's CPU per
  event and that kind's share of the mix's CPU;
* **context assembly** and **prompt render** — p50/p99 of ``Core.preview_request`` with the
  render timed apart, for random people with profiles and history;
* **digest run** for the scale's people, by ``bench/digest.py`` when the digest engineer's
  module is present;
* **database size per 1M signals** — the database's size divided by its signal rows, times
  one million (an extrapolation from the measured size, which includes every other table);
* **peak RSS** of the process.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import datetime as dt
import importlib.util
import json
import multiprocessing
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text

from bench.ingest import KindCost, cpu_by_kind, cpu_per_dm_with_model, max_ingest, offered_load
from bench.limits import raw_limits
from bench.pgdatabase import throwaway_database
from bench.pipeline import WORKSPACE, percentile, seed_people
from bench.running import run
from bench.workload import TOPICS, events, message_length, people
from bot.config import Settings
from bot.core import Core
from bot.events import MessageEvent, PersonRef, Surface
from bot.llm import NoModelBackend
from profiles.db import Database
from profiles.ingest import BatchIngestor, Claim, Observation, WriteBehind
from profiles.migrate import upgrade
from profiles.models import ConversationTurn, Person, Signal, table_of
from profiles.signals import MessageSignals, SignalExtractor

SEED_MESSAGES = 5  # messages per person applied through batched ingestion
SEED_TURNS = 4  # conversation turns per person (history for context assembly)
BATCH = 1_000
EXTRACT_SAMPLE = 300
HALF_RATE_EVENTS = 6_000
"""Events offered at half the maximum rate, at least (``--events`` when larger): ~450 DMs in
this mix, whose p99 is their fifth-slowest (the line says how many). With the 1,000 events of
the maximum-ingest phase it was the slowest or second-slowest of ~75–130, and at 100k people
on PostgreSQL a slow DM or two moved it between 28 and 125 ms over runs of one commit
(docs/measurement.md, thirty-fifth session)."""


@dataclass
class ScaleFigures:
    backend: str
    people: int
    batched_signals: int
    batched_signals_per_s: float
    extract_msgs_per_s: float
    extract_signals_per_s: float
    write_behind_msgs_per_s: float
    write_behind_signals_per_s: float
    parallel_signals_per_s: float
    core_events: int
    core_events_per_s: float
    core_signals_per_s: float
    raw_batched_signals_per_s: float
    raw_event_signals_per_s: float
    raw_event_tx_per_s: float
    loop_lag_p99_ms: float
    loop_lag_max_ms: float
    dm_p50_ms: float
    dm_p99_ms: float
    ingest_context_p99_ms: float
    deferred_events: int
    context_p50_ms: float
    context_p99_ms: float
    prompt_p50_ms: float
    prompt_p99_ms: float
    digest_s: float | None
    db_mb: float
    signal_rows: int
    db_mb_per_m_signals: float
    peak_rss_mb: float
    load_before: float = 0.0
    load_after: float = 0.0
    extract_workers: int = 0  # processes extraction ran in during the ingest; 0: a thread
    workers_rss_mb: float = 0.0  # their summed peak RSS
    # kind of event -> (events in the sample, bot-process CPU ms per event): bench.ingest
    # kind -> (events, the bot process's CPU ms per event, its extraction workers' ms)
    cpu_by_kind: dict[str, tuple[int, float, float]] = field(default_factory=dict)
    dm_with_model_cpu_ms: float = 0.0  # a DM answered by an instant configured model
    dm_with_model_workers_ms: float = 0.0  # and what it cost the extraction workers
    # the same mix offered at half the maximum rate, open loop (bench.ingest.offered_load)
    offered_rate: float = 0.0
    offered_dms: int = 0
    offered_dm_p50_ms: float = 0.0
    offered_dm_p99_ms: float = 0.0
    offered_lag_p99_ms: float = 0.0
    offered_late_ms: float = 0.0
    # the workload's commands (/prefs) during the maximum ingest (bench.ingest.max_ingest)
    command_p50_ms: float = 0.0
    command_p99_ms: float = 0.0

    @property
    def share_of_raw(self) -> float:
        """The pipeline's signal rows/s as a fraction of raw batched upserts, same run."""
        return self.core_signals_per_s / self.raw_batched_signals_per_s


def peak_rss_mb(pid: int | str = "self") -> float:
    """A process's own high-water mark (this one's by default). ``VmHWM`` belongs to the
    address space, which ``exec`` replaces; ``ru_maxrss`` is kept across ``exec`` on Linux, so
    in a child started by a big parent it would report the parent's peak."""
    status = Path(f"/proc/{pid}/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 if pid == "self" else 0.0


def extraction_workers(core: Core) -> tuple[int, float]:
    """(worker processes extraction ran in — 0: a thread of this process —, their summed peak
    RSS in MB): the bot's memory is the process's plus its workers'."""
    pool = core.services.extraction
    if not pool.running:
        return 0, 0.0
    return pool.workers, sum(peak_rss_mb(p.pid) for p in multiprocessing.active_children() if p.pid)


@contextlib.asynccontextmanager
async def database(backend: str) -> AsyncIterator[str]:
    """A fresh, migrated database of the backend, removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            upgrade(url)
            yield url
        return
    with throwaway_database() as url:
        upgrade(url)
        yield url


def synthetic_signals(rng: random.Random, favourites: list[str]) -> MessageSignals:
    """What extraction yields for a typical message, without paying for extraction (that is
    measured on its own)."""
    length = message_length(rng)
    picked = rng.sample(favourites, 2) + [rng.choice(TOPICS)]
    return MessageSignals(
        topics=tuple((t, round(1.0 - 0.15 * i, 3)) for i, t in enumerate(dict.fromkeys(picked))),
        language="en",
        length=length,
        word_count=max(1, length // 6),
        formality=rng.uniform(-0.6, 0.6),
        emoji_count=1 if rng.random() < 0.15 else 0,
    )


async def seed_profiles(db: Database, core: Core, n_people: int) -> tuple[int, float]:
    """Profiles and history for everyone, through the batched ingestion API. Generated chunk
    by chunk so the benchmark's own memory stays flat in the number of people.
    Returns (signal rows written, seconds spent in ingestion)."""
    rng = random.Random(5)
    now = dt.datetime.now(dt.UTC)
    async with db.session() as session:
        result = await session.exec(select(Person.id).order_by(Person.id))  # type: ignore[call-overload]
        ids = [row[0] for row in result.all()]
    ingestor = BatchIngestor(core.services.engine)
    weights = [1 / (rank + 1) for rank in range(len(TOPICS))]
    written = 0
    spent = 0.0
    per_batch = BATCH // SEED_MESSAGES
    for start in range(0, len(ids), per_batch):
        chunk = ids[start : start + per_batch]
        observations: list[Observation] = []
        turns: list[dict[str, Any]] = []
        for pid in chunk:
            favourites = rng.choices(TOPICS, weights=weights, k=3)
            for m in range(SEED_MESSAGES):
                at = now - dt.timedelta(days=30 - 6 * m, minutes=rng.randrange(1440))
                observations.append(
                    Observation.of_message(
                        pid,
                        synthetic_signals(rng, favourites),
                        at=at,
                        local_hour=at.hour,
                        event_id=None,
                        excerpt=f"about {favourites[0]}",
                    )
                )
            for t in range(SEED_TURNS):
                turns.append(
                    {
                        "person_id": pid,
                        "role": "user" if t % 2 == 0 else "assistant",
                        "text": f"a message about {favourites[t % 3]} " * 3,
                        "channel_id": "D1",
                        "topics": [favourites[t % 3]],
                        "created_at": now - dt.timedelta(hours=SEED_TURNS - t),
                    }
                )
        started = time.perf_counter()
        async with db.session() as session:
            stats = await ingestor.apply(session, observations)
        spent += time.perf_counter() - started
        written += stats.signal_rows
        async with db.session() as session:
            await session.exec(insert(table_of(ConversationTurn)), params=turns)
    return written, spent


def extraction_rate(core: Core, texts: list[str]) -> tuple[float, float]:
    """(messages/s, signal rows/s) of extraction alone on one core."""
    core.services.extractor.extract("warm up the keyphrase and language models please")
    started = time.perf_counter()
    rows = 0
    for message in texts:
        signals = core.services.extractor.extract(message)
        rows += len(signals.topics) + 2 + (1 if signals.language else 0)
    elapsed = time.perf_counter() - started
    return len(texts) / elapsed, rows / elapsed


async def signal_count(db: Database) -> int:
    async with db.session() as session:
        result = await session.exec(select(func.count()).select_from(Signal))  # type: ignore[call-overload]
        return int(result.one()[0])


async def write_behind_path(core: Core, users: list[str], n_messages: int) -> tuple[float, float]:
    """(messages/s, signal rows/s) of the proposed path for messages the bot only learns from:
    extract signals, look the person up in an in-process cache, submit to
    :class:`WriteBehind` (claimed with the event id, so retries stay harmless); the clock
    stops when everything is in the database. Extraction runs on this one core."""
    async with core.services.db.session() as session:
        result = await session.exec(  # type: ignore[call-overload]
            select(Person.user_id, Person.id).where(Person.workspace == WORKSPACE)
        )
        person_ids = {user: pid for user, pid in result.all()}
    texts = [e for e in events(users, n_messages * 2, seed=19) if e.kind == "channel"]
    queue: WriteBehind[tuple[Observation, Claim | None]] = WriteBehind(
        core.services.db, BatchIngestor(core.services.engine).claim_and_apply
    )
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    for i, ev in enumerate(texts[:n_messages]):
        signals = core.services.extractor.extract(ev.text)
        await queue.submit((
            Observation.of_message(
                person_ids[ev.user],
                signals,
                at=now,
                local_hour=now.hour,
                event_id=f"wb-{i}",
                excerpt=ev.text,
            ),
            Claim("bench", WORKSPACE, f"wb-{i}"),
        ))
    await queue.aclose()
    elapsed = time.perf_counter() - started
    return queue.applied / elapsed, queue.signal_rows / elapsed


_worker_extractor: SignalExtractor | None = None


def _init_extractor() -> None:
    global _worker_extractor
    _worker_extractor = SignalExtractor()
    _worker_extractor.extract("warm up the keyphrase and language models please")


def _extract_many(texts: list[str]) -> list[MessageSignals]:
    assert _worker_extractor is not None
    return [_worker_extractor.extract(t) for t in texts]


async def write_behind_parallel(
    core: Core, users: list[str], n_messages: int, workers: int = 2
) -> float:
    """Signal rows/s of the same write-behind path with extraction in ``workers`` processes
    (one per core) while the event loop only batches and writes: what 2 cores can do."""
    async with core.services.db.session() as session:
        result = await session.exec(  # type: ignore[call-overload]
            select(Person.user_id, Person.id).where(Person.workspace == WORKSPACE)
        )
        person_ids = {user: pid for user, pid in result.all()}
    messages = [e for e in events(users, n_messages * 2, seed=23) if e.kind == "channel"]
    messages = messages[:n_messages]
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=context, initializer=_init_extractor
    ) as pool:
        # start the workers and load their models before the clock starts
        warm = [pool.submit(_extract_many, ["warm up please, models"]) for _ in range(workers)]
        for future in warm:
            future.result()
        queue: WriteBehind[tuple[Observation, Claim | None]] = WriteBehind(
            core.services.db, BatchIngestor(core.services.engine).claim_and_apply
        )
        now = dt.datetime.now(dt.UTC)
        started = time.perf_counter()
        chunks = [messages[i : i + 50] for i in range(0, len(messages), 50)]
        futures = [pool.submit(_extract_many, [m.text for m in chunk]) for chunk in chunks]
        index = 0
        for chunk, future in zip(chunks, futures, strict=True):
            for ev, signals in zip(chunk, await asyncio.wrap_future(future), strict=True):
                await queue.submit((
                    Observation.of_message(
                        person_ids[ev.user],
                        signals,
                        at=now,
                        local_hour=now.hour,
                        event_id=f"wp-{index}",
                        excerpt=ev.text,
                    ),
                    Claim("bench", WORKSPACE, f"wp-{index}"),
                ))
                index += 1
        await queue.aclose()
        elapsed = time.perf_counter() - started
    return queue.signal_rows / elapsed


async def context_latency(core: Core, users: list[str], n: int) -> tuple[list[float], list[float]]:
    rng = random.Random(3)
    totals: list[float] = []
    renders: list[float] = []
    chat = core.services.renderer.chat

    def timed_chat(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return chat(*args, **kwargs)
        finally:
            renders.append((time.perf_counter() - t0) * 1000)

    core.services.renderer.chat = timed_chat  # type: ignore[method-assign]
    try:
        for _ in range(n):
            event = MessageEvent(
                event_id="preview",
                person=PersonRef("bench", WORKSPACE, rng.choice(users)),
                text="what should I read next?",
                surface=Surface.DM,
            )
            t0 = time.perf_counter()
            await core.preview_request(event)
            totals.append((time.perf_counter() - t0) * 1000)
    finally:
        core.services.renderer.chat = chat  # type: ignore[method-assign]
    assembly = [total - render for total, render in zip(totals, renders, strict=True)]
    return assembly, renders


DIGEST_ITEMS = 1_000


async def digest_seconds(backend: str, n_people: int) -> float | None:
    """The digest engineer's benchmark (``bench/digest.py``) when present: a full ``run_due``
    for ``n_people`` subscribed people over ``DIGEST_ITEMS`` candidates, on its own fresh
    database of the same backend. None when digests are not built."""
    if importlib.util.find_spec("bench.digest") is None:
        return None
    import bench.digest as digest

    runner = getattr(digest, f"run_{backend}", None)
    if runner is None:
        return None
    figures = await runner(n_people, DIGEST_ITEMS)
    return float(figures.elapsed_s)


async def database_mb(db: Database, url: str) -> float:
    if db.sqlite:
        await db.scrub()  # the WAL checkpointed into the file, outside any transaction
        path = Path(url.removeprefix("sqlite:///"))
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
        return size / 1e6
    async with db.engine.connect() as conn:
        result = await conn.execute(text("SELECT pg_database_size(current_database())"))
        return int(result.scalar_one()) / 1e6


async def analyze(db: Database) -> None:
    """PostgreSQL's planner statistics for the seeded tables, as autovacuum gathers them on
    a server that has been running: this machine's server runs with autovacuum off (its CI
    configuration), and without statistics the workspace counts at 100k people planned
    nested loops and an on-disk sort, 3.3 s a count instead of 0.2 (docs/measurement.md,
    "PostgreSQL's statistics and the workspace counts (fortieth session)"). SQLite's planner
    gathers none unless asked, as in a bot: left alone."""
    if db.sqlite:
        return
    async with db.engine.connect() as conn:
        await conn.execute(text("ANALYZE"))
        await conn.commit()


@dataclass(frozen=True, slots=True)
class Seeded:
    """What :func:`seeded_core` hands over."""

    core: Core
    users: list[str]
    url: str
    batched: int  # signal rows the seeding wrote through batched ingestion
    spent: float  # seconds it spent in that ingestion


@contextlib.asynccontextmanager
async def seeded_core(backend: str, n_people: int) -> AsyncIterator[Seeded]:
    """A fresh, migrated database of ``backend`` with ``n_people`` consenting people, their
    profiles and history (:func:`seed_profiles`), and a core on it without a model; the core
    closed and the database removed afterwards."""
    async with database(backend) as url:
        settings = Settings(database_url=url, auto_migrate=False, _env_file=None)  # type: ignore[call-arg]
        db = Database(url)
        core = Core(settings, db, NoModelBackend())
        try:
            users = people(n_people)
            await seed_people(db, users)
            batched, spent = await seed_profiles(db, core, n_people)
            await analyze(db)
            yield Seeded(core, users, url, batched, spent)
        finally:
            await core.aclose()
            await db.dispose()


async def measure(
    backend: str, n_people: int, n_events: int, n_contexts: int, digest: bool
) -> ScaleFigures:
    load_before = os.getloadavg()[0]
    async with seeded_core(backend, n_people) as seeded:
        core, users, db, url = seeded.core, seeded.users, seeded.core.services.db, seeded.url
        batched, spent = seeded.batched, seeded.spent
        sample = [e.text for e in events(users, EXTRACT_SAMPLE * 2, seed=17) if e.text]
        extract_msgs, extract_signals = extraction_rate(core, sample[:EXTRACT_SAMPLE])
        wb_msgs, wb_signals = await write_behind_path(core, users, n_events)
        parallel = await write_behind_parallel(core, users, n_events * 2)
        async with db.session() as session:
            result = await session.exec(select(Person.id))  # type: ignore[call-overload]
            person_ids = [row[0] for row in result.all()]
        raw = await raw_limits(db, person_ids, events=n_events)
        # Every extraction worker up, as in a bot that has been busy for a while: the
        # figures are the steady state, not the seconds of the workers' start.
        await core.services.warm_up(every_worker=True)
        ingest = await max_ingest(core, users, n_events)
        offered = await offered_load(core, users, max(n_events, HALF_RATE_EVENTS),
                                     ingest.events_per_s / 2)
        by_kind = await cpu_by_kind(core, users, n_events * 2)
        with_model = await cpu_per_dm_with_model(core, users, n_events * 2)
        workers, workers_rss = extraction_workers(core)
        assembly, renders = await context_latency(core, users, n_contexts)
        rows = await signal_count(db)
        size = await database_mb(db, url)
    peak = peak_rss_mb()  # before the digest run, which is a separate benchmark
    digest_s = await digest_seconds(backend, n_people) if digest else None
    return ScaleFigures(
        backend=backend,
        people=n_people,
        batched_signals=batched,
        batched_signals_per_s=batched / spent,
        extract_msgs_per_s=extract_msgs,
        extract_signals_per_s=extract_signals,
        write_behind_msgs_per_s=wb_msgs,
        write_behind_signals_per_s=wb_signals,
        parallel_signals_per_s=parallel,
        core_events=ingest.events,
        core_events_per_s=ingest.events_per_s,
        core_signals_per_s=ingest.signals_per_s,
        raw_batched_signals_per_s=raw.batched_signals_per_s,
        raw_event_signals_per_s=raw.event_signals_per_s,
        raw_event_tx_per_s=raw.event_tx_per_s,
        loop_lag_p99_ms=ingest.loop_lag_p99_ms,
        loop_lag_max_ms=ingest.loop_lag_max_ms,
        dm_p50_ms=ingest.dm_p50_ms,
        dm_p99_ms=ingest.dm_p99_ms,
        ingest_context_p99_ms=ingest.context_p99_ms,
        deferred_events=ingest.deferred,
        context_p50_ms=statistics.median(assembly),
        context_p99_ms=percentile(assembly, 0.99),
        prompt_p50_ms=statistics.median(renders),
        prompt_p99_ms=percentile(renders, 0.99),
        digest_s=digest_s,
        db_mb=size,
        signal_rows=rows,
        db_mb_per_m_signals=size / rows * 1e6 if rows else 0.0,
        peak_rss_mb=peak,
        extract_workers=workers,
        workers_rss_mb=workers_rss,
        cpu_by_kind={k: (c.events, c.cpu_ms, c.workers_ms) for k, c in by_kind.items()},
        dm_with_model_cpu_ms=with_model.cpu_ms,
        dm_with_model_workers_ms=with_model.workers_ms,
        offered_rate=offered.rate,
        offered_dms=offered.dms,
        offered_dm_p50_ms=offered.dm_p50_ms,
        offered_dm_p99_ms=offered.dm_p99_ms,
        offered_lag_p99_ms=offered.loop_lag_p99_ms,
        offered_late_ms=offered.late_ms,
        command_p50_ms=ingest.command_p50_ms,
        command_p99_ms=ingest.command_p99_ms,
        load_before=load_before,
        load_after=os.getloadavg()[0],
    )


def run_in_subprocess(
    backend: str, n_people: int, n_events: int, n_contexts: int, digest: bool
) -> ScaleFigures | str:
    """One scale in a fresh process (its own peak RSS); an error message instead of figures
    when it fails (e.g. PostgreSQL unreachable), so the other rows still print."""
    command = [
        sys.executable,
        "-m",
        "bench.scale",
        backend,
        str(n_people),
        str(n_events),
        str(n_contexts),
        "1" if digest else "0",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            return ScaleFigures(**json.loads(line))
    tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return f"{backend} {n_people}: failed ({tail})"


def progress_line(f: ScaleFigures) -> str:
    """One line per finished (backend, scale), printed as it completes."""
    return (
        f"{f.backend} {f.people:,} people: core {f.core_signals_per_s:,.0f} sig/s = "
        f"{f.share_of_raw:.1%} of raw batched {f.raw_batched_signals_per_s:,.0f}/s; "
        f"loop lag p99 {f.loop_lag_p99_ms:.1f} ms; DM p99 {f.dm_p99_ms:.1f} ms; "
        f"ctx p99 under ingest {f.ingest_context_p99_ms:.1f} ms; extraction in "
        f"{_extraction(f)}; load {f.load_before:.1f}→{f.load_after:.1f}"
    )


def _extraction(f: ScaleFigures) -> str:
    if not f.extract_workers:
        return "a thread"
    return f"{f.extract_workers} processes ({f.workers_rss_mb:.0f} MB peak RSS together)"


def format_rows(rows: list[ScaleFigures]) -> str:
    head = (
        f"{'backend':8} {'people':>7} {'batched sig/s':>13} {'extract msg/s':>13} "
        f"{'w-behind sig/s':>14} {'2-proc sig/s':>12} {'ctx p50':>8} {'ctx p99':>8} "
        f"{'prompt p50':>10} {'prompt p99':>10} {'digest s':>9} {'MB/1M sig':>9} {'RSS MB':>7}"
    )
    lines = [head, "-" * len(head)]
    for f in rows:
        digest = f"{f.digest_s:.1f}" if f.digest_s is not None else "n/a"
        lines.append(
            f"{f.backend:8} {f.people:>7} {f.batched_signals_per_s:>13,.0f} "
            f"{f.extract_msgs_per_s:>13,.0f} {f.write_behind_signals_per_s:>14,.0f} "
            f"{f.parallel_signals_per_s:>12,.0f} {f.context_p50_ms:>8.2f} "
            f"{f.context_p99_ms:>8.2f} {f.prompt_p50_ms:>10.2f} {f.prompt_p99_ms:>10.2f} "
            f"{digest:>9} {f.db_mb_per_m_signals:>9,.0f} {f.peak_rss_mb:>7.0f}"
        )
    head2 = (
        f"{'backend':8} {'people':>7} {'raw batch sig/s':>15} {'raw 1tx/ev sig/s':>16} "
        f"{'raw tx/s':>8} {'core ev/s':>9} {'core sig/s':>10} {'% raw batch':>11} "
        f"{'% raw 1tx':>9} {'lag p99':>8} {'lag max':>8} {'DM p50':>7} {'DM p99':>7} "
        f"{'ctx p99*':>8} {'load':>9}"
    )
    lines += ["", head2, "-" * len(head2)]
    for f in rows:
        lines.append(
            f"{f.backend:8} {f.people:>7} {f.raw_batched_signals_per_s:>15,.0f} "
            f"{f.raw_event_signals_per_s:>16,.0f} {f.raw_event_tx_per_s:>8,.0f} "
            f"{f.core_events_per_s:>9,.0f} {f.core_signals_per_s:>10,.0f} "
            f"{f.share_of_raw:>11.1%} "
            f"{f.core_signals_per_s / f.raw_event_signals_per_s:>9.1%} "
            f"{f.loop_lag_p99_ms:>8.1f} {f.loop_lag_max_ms:>8.1f} {f.dm_p50_ms:>7.1f} "
            f"{f.dm_p99_ms:>7.1f} {f.ingest_context_p99_ms:>8.2f} "
            f"{f.load_before:>4.1f}→{f.load_after:<4.1f}"
        )
    lines.append(
        "  latencies in ms; core = Core.handle, 8 events in flight; ctx p99* = context "
        "assembly while that ingest runs; load = 1-min load average before→after the row"
    )
    lines += [offered_line(f) for f in rows if f.offered_rate]
    lines += [
        f"  {f.backend} {f.people:,}: commands (/prefs) during that ingest: p50 "
        f"{f.command_p50_ms:.1f} / p99 {f.command_p99_ms:.1f} ms"
        for f in rows
        if f.command_p99_ms
    ]
    lines += [cpu_line(f) for f in rows if f.cpu_by_kind]
    for f in rows:
        if f.deferred_events:
            lines.append(
                f"  {f.backend} {f.people:,}: {f.deferred_events} events were kept for later "
                "(database busy) and are not in the figures"
            )
    return "\n".join(lines)


def offered_line(f: ScaleFigures) -> str:
    """DM latency and loop lag when the same mix is offered at half the maximum rate."""
    behind = f", dispatch fell {f.offered_late_ms:.0f} ms behind" if f.offered_late_ms > 50 else ""
    return (
        f"  {f.backend} {f.people:,}: offered at half that rate ({f.offered_rate:,.0f} events/s, "
        f"each its own task): DM p50 {f.offered_dm_p50_ms:.1f} / p99 "
        f"{f.offered_dm_p99_ms:.1f} ms over {f.offered_dms:,} DMs, loop lag p99 "
        f"{f.offered_lag_p99_ms:.1f} ms{behind}"
    )


def cpu_line(f: ScaleFigures) -> str:
    """Where the bot's CPU goes in that row: CPU per event of each kind, and each kind's
    share of what the whole workload costs in the bot's process; beside it ("+ x in
    workers"), what the kind costs the extraction workers."""
    costs = {kind: KindCost(*cost) for kind, cost in f.cpu_by_kind.items()}
    parts = ", ".join(
        f"{kind} {cost.cpu_ms:.2f} ms{_in_workers(cost.workers_ms)} ({cost.share(costs):.0%})"
        for kind, cost in costs.items()
    )
    model = (
        f"; a dm answered by an instant configured model {f.dm_with_model_cpu_ms:.2f} ms"
        f"{_in_workers(f.dm_with_model_workers_ms)} (its call logged, its answer shaped and "
        "stored)"
        if f.dm_with_model_cpu_ms
        else ""
    )
    return (
        f"  {f.backend} {f.people:,}: bot CPU per event by kind (share of the workload): "
        f"{parts}{model}"
    )


def _in_workers(ms: float) -> str:
    return f" + {ms:.2f} in workers" if ms else ""


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


GOAL_SIGNALS_PER_S = 5_000
GOAL_SHARE_OF_RAW = 0.25
GOAL_LOOP_LAG_MS = 20.0
GOAL_DM_MS = 50.0
GOAL_CONTEXT_MS = 10.0
GOAL_CONTEXT_PEOPLE = 100_000
GOAL_DIGEST_S = 60.0
GOAL_DIGEST_PEOPLE = 10_000
FLAT_MEMORY = 1.25  # peak RSS may grow this much over the scales and still count as flat


def _at(rows: list[ScaleFigures], figure: str, fmt: str) -> str:
    return ", ".join(f"{format(getattr(f, figure), fmt)} at {f.people:,}" for f in rows)


def targets(rows: list[ScaleFigures], digest_people: int = 10_000) -> str:
    """Issue 16's goals ("Measure it"), each per backend with the figures it is judged on
    and met / NOT met. A goal over several rows is judged on its worst row; ratios are
    against the raw limits measured in the same run, same process (bench/limits.py)."""
    cores = os.cpu_count() or 1
    out = [
        "goals of issue 16, per backend (judged on the worst row; 'people' = scale of the row; "
        "ratios against limits measured in the same run):"
    ]
    for backend in sorted({f.backend for f in rows}):
        mine = sorted((f for f in rows if f.backend == backend), key=lambda f: f.people)
        core = min(f.core_signals_per_s for f in mine)
        share = min(f.share_of_raw for f in mine)
        lag = max(f.loop_lag_p99_ms for f in mine)
        dm = max(f.dm_p99_ms for f in mine)
        out.append(f"  {backend}:")
        out.append(
            f"    signal rows/s through Core.handle >= {GOAL_SIGNALS_PER_S:,}: "
            f"{_at(mine, 'core_signals_per_s', ',.0f')} people: {_met(core >= GOAL_SIGNALS_PER_S)}"
        )
        out.append(
            f"    >= {GOAL_SHARE_OF_RAW:.0%} of raw batched upserts, same run: "
            + ", ".join(
                f"{f.share_of_raw:.1%} of {f.raw_batched_signals_per_s:,.0f}/s at {f.people:,}"
                for f in mine
            )
            + f": {_met(share >= GOAL_SHARE_OF_RAW)}"
        )
        out.append(
            f"    event-loop lag p99 <= {GOAL_LOOP_LAG_MS:.0f} ms during that ingest: "
            f"{_at(mine, 'loop_lag_p99_ms', '.1f')} (ms): {_met(lag <= GOAL_LOOP_LAG_MS)}"
        )
        out.append(
            f"    DM reply overhead p99 <= {GOAL_DM_MS:.0f} ms during that ingest (no model): "
            f"{_at(mine, 'dm_p99_ms', '.1f')} (ms): {_met(dm <= GOAL_DM_MS)}"
        )
        out.append(_context_goal(mine))
        out.append(_digest_goal(mine, digest_people))
        out.append(_memory_goal(mine))
        out.append(
            f"    machine load (1-min average, {cores} cores) before→after each row: "
            + ", ".join(f"{f.load_before:.1f}→{f.load_after:.1f} at {f.people:,}" for f in mine)
        )
    out.append(
        "  memory is the bench process's peak RSS (VmHWM); extraction workers, whose lexicons "
        "do not grow with people, are listed beside it"
    )
    out.append(
        "  database size per 1M signals is extrapolated: measured size / signal rows x 1M "
        "(the size includes every other table)"
    )
    return "\n".join(out)


def _context_goal(mine: list[ScaleFigures]) -> str:
    goal = (
        f"    context assembly p99 <= {GOAL_CONTEXT_MS:.0f} ms at {GOAL_CONTEXT_PEOPLE:,} "
        "people while ingest runs: "
    )
    at_goal = [f for f in mine if f.people >= GOAL_CONTEXT_PEOPLE]
    if at_goal:
        f = at_goal[-1]
        return goal + (
            f"{f.ingest_context_p99_ms:.2f} ms (idle {f.context_p99_ms:.2f} ms): "
            f"{_met(f.ingest_context_p99_ms <= GOAL_CONTEXT_MS)}"
        )
    biggest = mine[-1]
    return goal + (
        f"not measured (largest row {biggest.people:,} people: "
        f"{biggest.ingest_context_p99_ms:.2f} ms, idle {biggest.context_p99_ms:.2f} ms, "
        f"{_met(biggest.ingest_context_p99_ms <= GOAL_CONTEXT_MS)} there); "
        "run --scales 1000,10000,100000"
    )


def _digest_goal(mine: list[ScaleFigures], digest_people: int) -> str:
    people = digest_people or GOAL_DIGEST_PEOPLE
    goal = (
        f"    digest run for {people:,} people x {DIGEST_ITEMS:,} items <= "
        f"{GOAL_DIGEST_S:.0f} s (bench/digest.py, own database, in the {people:,}-people "
        "row): "
    )
    if not digest_people:
        return goal + "not measured (--digest-people 0)"
    measured = [f for f in mine if f.people == digest_people and f.digest_s is not None]
    if not measured:
        return goal + (
            f"not measured (no {digest_people:,}-people row with a digest figure; "
            "--digest-people N)"
        )
    f = measured[-1]
    assert f.digest_s is not None
    return goal + f"{f.digest_s:.1f} s: {_met(f.digest_s <= GOAL_DIGEST_S)}"


def _memory_goal(mine: list[ScaleFigures]) -> str:
    rss = ", ".join(
        f"{f.peak_rss_mb:.0f} MB at {f.people:,}"
        + (f" (+{f.workers_rss_mb:.0f} MB in extraction workers)" if f.extract_workers else "")
        for f in mine
    )
    goal = "    peak memory flat in people: "
    if len(mine) < 2:
        return goal + f"{rss}: not judged (one scale)"
    growth = mine[-1].peak_rss_mb / mine[0].peak_rss_mb
    return goal + (
        f"{rss} (x{growth:.2f} for x{mine[-1].people // mine[0].people} people): "
        f"{_met(growth < FLAT_MEMORY)}"
    )


def worker(argv: list[str]) -> None:
    backend, n_people, n_events, n_contexts, digest = argv
    figures = run(
        measure(backend, int(n_people), int(n_events), int(n_contexts), digest == "1")
    )
    print(json.dumps(asdict(figures)), flush=True)


if __name__ == "__main__":
    worker(sys.argv[1:])
