"""Where one DM's CPU goes, stage by stage: ``python -m bench --stages``.

Why this exists beside ``--scale``: the shared machine's speed swings about twofold within
minutes, so throughput and latency under load compare two versions of the code only when
run back to back, and even then not for changes under ~10 %. The main thread's CPU spent in
each stage of one DM at a time (nothing else in flight) is the steadiest figure we found
(docs/measurement.md, "What a transaction costs around its statements"): it says which
stage a change made cheaper, and by how much, with a spread of a few per cent.

How: on a fresh database with profiles (as ``--scale`` seeds them) and some mixed traffic
behind them, DMs of the workload go through ``Core.handle`` one at a time. The pipeline's
stage objects of this one core are wrapped (instance attributes, nothing global): each
wrapper adds the main thread's CPU (``time.thread_time``) between its entry and exit, minus
that of the stages it called, to its stage. What the event loop runs while a stage awaits
(the learner's batch timer, a worker's answer) counts to that stage; with one DM at a time
that is little. "between stages" is the rest of ``Core.handle``: opening and committing
transactions, the dispatcher, the admission turn. The learner's batch with what the DM
taught is flushed after each DM and timed apart (a batch of one: under load a batch holds
many events and costs less per event). Statements and transactions are counted by
SQLAlchemy's engine events, the reply's apart from its learning batch's.
"""

from __future__ import annotations

import asyncio
import functools
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event as sa_event

from bench.ingest import CONCURRENCY, _drain, adapter_events, warm_up
from bench.running import run
from bench.scale import seeded_core
from bot.core import Core
from bot.events import MessageEvent, Surface
from profiles.db import Database

# (stage name, object path from the core, attribute): the reply path in the order it runs.
# Each is awaited by the reply's own task, one after the other. The message's extraction is
# not among them: it runs in a task of its own beside the claim and the context read (since
# the eighteenth session), so a span around it would hold the CPU of those stages too; its
# hand-off (~50 us of this thread a round trip, its socket written and read here: see
# profiles/extraction.py) counts to "between stages".
# A steady sender's rows are read and their message claimed in one call straight to the
# driver (Identify.claim_if_steady, SQLite); anyone else's in the claim's session (sender,
# then claim). The consent gate, named twice, is either way's.
STAGES: tuple[tuple[str, str, str], ...] = (
    ("sender read + touch", "chat.identify", "sender"),
    ("claim", "chat.identify", "claim"),
    ("steady: read + claim", "chat.identify", "claim_if_steady"),
    ("consent gate", "chat.consent_gate", "check"),
    ("consent gate", "chat.consent_gate", "answered"),
    ("learn", "chat.observe", "message"),
    ("profile + history read", "chat.assemble", "profile_rows"),
    ("profile snapshot", "services.engine", "snapshot"),
    ("assembly (rest)", "chat.assemble", "request"),
    ("prompt render", "services.renderer", "chat"),
    ("model (none)", "chat.answer", "generate"),
    ("record", "chat.record", "store"),
)
STAGE_NAMES = tuple(dict.fromkeys(name for name, _, _ in STAGES))
BETWEEN = "between stages"
TOTAL = "total (Core.handle)"
# What the DM teaches is applied by the learner after its reply (bot/learning.py): flushed
# after each DM here, so its batch (of one: nothing else is in flight) is timed on its own.
LEARNING = "learning batch (after)"
PRELOAD_EVENTS = 1_000  # mixed traffic before the DMs: profiles as a busy bot's


class StageClock:
    """Main-thread CPU per stage, exclusive of the stages it called."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self._stack: list[list[Any]] = []  # [started, spent in callees, task]

    def _enter(self) -> None:
        task = asyncio.current_task()
        # Nested spans of one task only: a stage run beside another (in a task of its own)
        # would take the other's CPU as its own.
        assert not self._stack or self._stack[-1][2] is task, "a stage beside another"
        self._stack.append([time.thread_time(), 0.0, task])

    def _leave(self, name: str) -> None:
        started, callees, task = self._stack.pop()
        assert task is asyncio.current_task(), f"stage {name} left from another task"
        elapsed = time.thread_time() - started
        self.spent[name] += elapsed - callees
        if self._stack:
            self._stack[-1][1] += elapsed

    def wrap(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        if asyncio.iscoroutinefunction(method):

            @functools.wraps(method)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                self._enter()
                try:
                    return await method(*args, **kwargs)
                finally:
                    self._leave(name)

            return timed_async

        @functools.wraps(method)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._enter()
            try:
                return method(*args, **kwargs)
            finally:
                self._leave(name)

        return timed

    def instrument(self, core: Core) -> None:
        for name, path, attribute in STAGES:
            owner: Any = core
            for part in path.split("."):
                owner = getattr(owner, part)
            setattr(owner, attribute, self.wrap(name, getattr(owner, attribute)))


@dataclass
class StageFigures:
    backend: str
    people: int
    dms: int
    # stage name → main-thread µs per DM, one value per DM
    per_dm_us: dict[str, list[float]] = field(default_factory=dict)
    process_us: list[float] = field(default_factory=list)  # every thread of the process
    statements_per_dm: float = 0.0  # in Core.handle
    transactions_per_dm: float = 0.0
    learning_statements_per_dm: float = 0.0  # in the learner's batch after it
    queued_per_dm: float = 0.0  # writes sent together (profiles/write_queue.py)
    combined_per_dm: float = 0.0  # in how many statements
    load_before: float = 0.0
    load_after: float = 0.0


class StatementCounter:
    """Statements and transactions the engine sends, by SQLAlchemy's events."""

    def __init__(self, db: Database) -> None:
        self.statements = 0
        self.transactions = 0
        engine = db.engine.sync_engine
        sa_event.listen(engine, "before_cursor_execute", self._statement)
        sa_event.listen(engine, "begin", self._begin)

    def _statement(self, *_: Any) -> None:
        self.statements += 1

    def _begin(self, *_: Any) -> None:
        self.transactions += 1


def direct_messages(users: list[str], n: int) -> list[MessageEvent]:
    """The workload's DMs (its texts, its people), ``n`` of them."""
    found: list[MessageEvent] = []
    for event in adapter_events(users, n * 20, seed=41, prefix="stage"):
        if isinstance(event, MessageEvent) and event.surface is Surface.DM:
            found.append(event)
            if len(found) == n:
                break
    return found


async def measure_stages(
    backend: str, n_people: int, n_dms: int, preload: int = PRELOAD_EVENTS
) -> StageFigures:
    figures = StageFigures(backend, n_people, n_dms, load_before=os.getloadavg()[0])
    async with seeded_core(backend, n_people) as seeded:
        core, users, db = seeded.core, seeded.users, seeded.core.services.db
        await core.services.warm_up(every_worker=True)
        await warm_up(core, users)
        queue: asyncio.Queue[Any] = asyncio.Queue()
        for event in adapter_events(users, preload, seed=13, prefix="pre"):
            queue.put_nowait(event)
        await asyncio.gather(*(_drain(core, queue) for _ in range(CONCURRENCY)))
        await core.services.learner.flush()
        clock = StageClock()
        clock.instrument(core)
        counter = StatementCounter(db)
        per_dm: dict[str, list[float]] = defaultdict(list)
        learning_statements = 0
        queued0, combined0 = db.queued_writes, db.write_statements
        for event in direct_messages(users, n_dms):
            clock.spent.clear()
            thread0, process0 = time.thread_time(), time.process_time()
            await core.handle(event)
            total = time.thread_time() - thread0
            in_reply = counter.statements
            learn0 = time.thread_time()
            await core.services.learner.flush()
            per_dm[LEARNING].append((time.thread_time() - learn0) * 1e6)
            learning_statements += counter.statements - in_reply
            counter.statements = in_reply
            figures.process_us.append((time.process_time() - process0) * 1e6)
            for name in STAGE_NAMES:
                per_dm[name].append(clock.spent.get(name, 0.0) * 1e6)
            per_dm[BETWEEN].append((total - sum(clock.spent.values())) * 1e6)
            per_dm[TOTAL].append(total * 1e6)
        figures.statements_per_dm = counter.statements / n_dms
        figures.learning_statements_per_dm = learning_statements / n_dms
        figures.transactions_per_dm = counter.transactions / n_dms
        figures.queued_per_dm = (db.queued_writes - queued0) / n_dms
        figures.combined_per_dm = (db.write_statements - combined0) / n_dms
        figures.per_dm_us = dict(per_dm)
    figures.load_after = os.getloadavg()[0]
    return figures


def format_stages(f: StageFigures) -> str:
    total = statistics.fmean(f.per_dm_us[TOTAL])
    lines = [
        f"{f.backend}, {f.people:,} people, {f.dms} DMs one at a time; "
        f"load {f.load_before:.1f}→{f.load_after:.1f}",
        f"{'stage':24} {'median µs':>10} {'mean µs':>9} {'share':>6}",
    ]
    for name in [*STAGE_NAMES, BETWEEN, TOTAL, LEARNING]:
        values = f.per_dm_us[name]
        mean = statistics.fmean(values)
        lines.append(
            f"{name:24} {statistics.median(values):10,.0f} {mean:9,.0f} {mean / total:6.1%}"
        )
    lines.append(
        f"{'process CPU, both':24} {statistics.median(f.process_us):10,.0f} "
        f"{statistics.fmean(f.process_us):9,.0f}   (every thread, reply and batch)"
    )
    lines.append(
        f"statements per DM: {f.statements_per_dm:.1f} in the reply, "
        f"{f.learning_statements_per_dm:.1f} in its learning batch; transactions per DM "
        f"{f.transactions_per_dm:.1f} (both); of the batch's, {f.queued_per_dm:.1f} writes "
        f"sent as {f.combined_per_dm:.1f} statements (PostgreSQL's write queue)"
    )
    return "\n".join(lines)


def run_stages(backends: list[str], n_people: int, n_dms: int) -> None:
    for backend in backends:
        figures = run(measure_stages(backend, n_people, n_dms))
        print(format_stages(figures), end="\n\n", flush=True)
