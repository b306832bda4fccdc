"""Maximum ingest through ``Core.handle``, and what the rest of the bot feels meanwhile.

Adapter-shaped events of the mixed workload (:func:`bench.workload.events`) are handed to
``Core.handle`` by ``CONCURRENCY`` tasks at once, as a busy Slack or Discord connection
dispatches them. While that runs, in the same event loop:

* a ticker measures **event-loop lag** (how late a 5 ms sleep wakes up): the delay every
  other reply, heartbeat and timer suffers;
* the DMs of the workload are timed end to end: **DM reply overhead** (no model: the
  ``none`` backend answers at once, so this is everything but the model);
* a sampler times **context assembly** (``Core.preview_request`` minus the prompt render)
  for random people with profiles.

:func:`offered_load` then dispatches the same mix at a fixed rate (half the maximum), each
event its own task as an adapter dispatches them: DM latency and loop lag when the bot is not
saturated (at maximum ingest, a closed loop of 8, a DM also waits for the events ahead of it).

:func:`cpu_by_kind` then says where the bot's CPU goes: each kind of event of the workload
on its own, with the same 8 in flight, and the bot process's CPU per event of that kind.

The clock stops when every event has been handled and everything accepted is in the
database (``Core.flush`` when the core has one).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.pipeline import WORKSPACE, percentile
from bench.workload import events
from bot.core import Core
from bot.events import CommandEvent, MessageEvent, PersonRef, ReactionEvent, Surface
from bot.llm import ScriptedBackend
from profiles.db import Database
from profiles.models import Signal
from profiles.startup_heap import freeze_startup_objects

# Events in flight at once. A busy adapter dispatches more, but on SQLite more than a few
# concurrent per-event write transactions make SQLite's busy handler give up ("database is
# locked"); events kept for later are counted in ``deferred``, not hidden.
log = logging.getLogger(__name__)
CONCURRENCY = int(os.environ.get("TAILORBOT_BENCH_CONCURRENCY", "8"))
TICK = 0.005
# Context assemblies timed while the ingest runs: one every 50 ms (about what the ingest's
# own replies assemble per second).
SAMPLE_EVERY = 0.05
MIN_PAUSE = 0.01


@dataclass(frozen=True, slots=True)
class IngestFigures:
    events: int
    events_per_s: float
    signals_per_s: float
    loop_lag_p99_ms: float
    loop_lag_max_ms: float
    dm_p50_ms: float
    dm_p99_ms: float
    context_p99_ms: float
    contexts: int
    deferred: int
    # the workload's commands (/prefs), end to end: a command first settles the person's
    # waiting learning (bot/learning.py), so this shows a learner that makes it wait
    command_p50_ms: float = 0.0
    command_p99_ms: float = 0.0


def adapter_events(users: list[str], n_events: int, seed: int, prefix: str) -> Iterator[Any]:
    """The workload as the adapters hand it to the core."""
    for i, ev in enumerate(events(users, n_events, seed=seed)):
        ref = PersonRef("bench", WORKSPACE, ev.user)
        if ev.kind == "reaction":
            yield ReactionEvent(
                event_id=f"{prefix}-{i}",
                person=ref,
                channel_id=ev.channel,
                target_message_id=f"m-{i}",
                emoji=ev.emoji,
                target_author_id=ev.target_user,
                target_text=ev.target_text,
            )
        elif ev.kind == "prefs":
            yield CommandEvent(
                event_id=f"{prefix}-{i}", person=ref, name="prefs", args=f"set {ev.text}"
            )
        else:
            yield MessageEvent(
                event_id=f"{prefix}-{i}",
                person=ref,
                text=ev.text,
                surface=Surface.DM if ev.kind == "dm" else Surface.CHANNEL,
                channel_id=ev.channel,
                mentioned=ev.kind == "mention",
                message_id=f"{prefix}-m-{i}",
            )


async def signal_count(db: Database) -> int:
    async with db.session() as session:
        result = await session.exec(select(func.count()).select_from(Signal))  # type: ignore[call-overload]
        return int(result.one()[0])


class LoopLag:
    """How late the event loop wakes a sleeper: sampled every ``TICK`` seconds, timed by
    ``time.perf_counter`` — uvloop's ``loop.time()`` counts whole milliseconds, which made
    every sample a whole number and a p99 of "20.0" (20 plus a rounding error) miss the
    20 ms goal."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(TICK)
            self.samples.append(max(0.0, time.perf_counter() - t0 - TICK) * 1000)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def _context_sampler(
    core: Core, users: list[str], out: list[float], stop: asyncio.Event
) -> None:
    rng = random.Random(3)
    chat = core.services.renderer.chat
    render_ms: list[float] = []

    def timed_chat(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return chat(*args, **kwargs)
        finally:
            render_ms.append((time.perf_counter() - t0) * 1000)

    core.services.renderer.chat = timed_chat  # type: ignore[method-assign]
    loop = asyncio.get_running_loop()
    next_at = loop.time()
    try:
        while not stop.is_set():
            event = MessageEvent(
                event_id="preview",
                person=PersonRef("bench", WORKSPACE, rng.choice(users)),
                text="what should I read next?",
                surface=Surface.DM,
            )
            t0 = time.perf_counter()
            await core.preview_request(event)
            total = (time.perf_counter() - t0) * 1000
            out.append(total - (render_ms[-1] if render_ms else 0.0))
            # On a schedule, not after each: a sampler that waits a fixed pause after every
            # assembly adds more load the faster assembly gets, and takes it from the ingest
            # being measured. A late one skips the slots it missed (no catching up) and still
            # pauses as the sampler always did, so it never samples more often than before.
            next_at = max(next_at + SAMPLE_EVERY, loop.time() + MIN_PAUSE)
            await asyncio.sleep(next_at - loop.time())
    finally:
        core.services.renderer.chat = chat  # type: ignore[method-assign]


async def bind_sent(core: Core, event: Any, replies: list[Any]) -> None:
    """What an adapter does once it has sent the replies: bind each stored one to its platform
    id (Core.bind_reply), so reactions to it count as feedback. A write per reply the bench
    would otherwise leave out of the load it measures."""
    for index, reply in enumerate(replies):
        if reply.reply_id:
            await core.bind_reply(reply.reply_id, f"sent-{event.event_id}-{index}")


async def warm_up(core: Core, users: list[str]) -> None:
    """A few events and previews before the clock: the first ones pay one-off costs (lazy
    imports, lexicons, the extraction workers' start, prepared statements) that measured as
    ~30 % of the main process's CPU in a 1,000-event run, which no long-running bot pays."""
    for event in adapter_events(users, 40, seed=7, prefix="warm"):
        await core.handle(event)
    for user in users[:5]:
        await core.preview_request(MessageEvent(
            event_id="preview", person=PersonRef("bench", WORKSPACE, user),
            text="what should I read next?", surface=Surface.DM,
        ))
    await core.services.learner.flush()
    freeze_startup_objects()  # as `tailorbot run` does once started (bot/app.py)


@dataclass(frozen=True, slots=True)
class OfferedFigures:
    rate: float  # events dispatched per second
    events: int
    dms: int  # DMs timed: the p99 is their second-slowest when 100-199
    dm_p50_ms: float
    dm_p99_ms: float
    loop_lag_p99_ms: float
    late_ms: float  # how far behind the schedule the last dispatch was (0: the rate was met)


async def offered_load(
    core: Core, users: list[str], n_events: int, rate: float
) -> OfferedFigures:
    """The workload at ``rate`` events per second (open loop: an event is dispatched when
    its time comes, whether or not earlier ones are done), each in its own task; a DM is timed
    from its dispatch to its reply, everything accepted flushed before the figures."""
    workload = list(adapter_events(users, n_events, seed=31, prefix="open"))
    loop = asyncio.get_running_loop()
    dm_ms: list[float] = []

    async def one(event: Any) -> None:
        t0 = time.perf_counter()
        try:
            replies = await core.handle(event)
        except Exception:  # counted by its absence from the DM figures, logged
            log.exception("event %s failed", event.event_id)
            return
        if isinstance(event, MessageEvent) and event.surface is Surface.DM:
            dm_ms.append((time.perf_counter() - t0) * 1000)
        await bind_sent(core, event, replies)

    lag = LoopLag()
    lag.start()
    tasks: list[asyncio.Task[None]] = []
    start = loop.time()
    late = 0.0
    for i, event in enumerate(workload):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            late = -delay
        tasks.append(asyncio.create_task(one(event)))
    await asyncio.gather(*tasks)
    await core.services.learner.flush()
    await lag.stop()
    return OfferedFigures(
        rate=rate,
        events=len(workload),
        dms=len(dm_ms),
        dm_p50_ms=percentile(dm_ms, 0.5) if dm_ms else 0.0,
        dm_p99_ms=percentile(dm_ms, 0.99) if dm_ms else 0.0,
        loop_lag_p99_ms=percentile(lag.samples, 0.99) if lag.samples else 0.0,
        late_ms=late * 1000,
    )


KINDS = ("channel", "reaction", "dm", "mention", "prefs")


def kind_of(event: Any) -> str:
    """The workload's kind of an adapter event (see :func:`adapter_events`)."""
    if isinstance(event, ReactionEvent):
        return "reaction"
    if isinstance(event, CommandEvent):
        return "prefs"
    if event.surface is Surface.DM:
        return "dm"
    return "mention" if event.mentioned else "channel"


@dataclass(frozen=True, slots=True)
class KindCost:
    events: int  # of this kind in the workload sample
    cpu_ms: float  # the bot process's CPU per event (every thread; not extraction workers)
    # The extraction worker processes' CPU per event (0.0: extraction in a thread of the bot,
    # or no /proc to read it from)
    workers_ms: float = 0.0

    def share(self, costs: dict[str, KindCost]) -> float:
        """This kind's part of the CPU the whole workload costs."""
        total = sum(c.events * c.cpu_ms for c in costs.values())
        return self.events * self.cpu_ms / total if total else 0.0


async def _drain(core: Core, queue: asyncio.Queue[Any]) -> None:
    while not queue.empty():
        event = queue.get_nowait()
        await bind_sent(core, event, await core.handle(event))


async def cpu_by_kind(core: Core, users: list[str], n_events: int) -> dict[str, KindCost]:
    """Each kind of a workload sample handled on its own (``CONCURRENCY`` in flight, then the
    learner flushed): the bot process's CPU per event of that kind — which events the
    throughput and latency figures pay for — and, apart, its extraction workers'."""
    workload = list(adapter_events(users, n_events, seed=29, prefix="kind"))
    costs: dict[str, KindCost] = {}
    for kind in KINDS:
        of_kind = [event for event in workload if kind_of(event) == kind]
        if of_kind:
            costs[kind] = await _cpu_per_event(core, of_kind)
    return costs


async def _cpu_per_event(core: Core, workload: list[Any]) -> KindCost:
    """``workload`` handled ``CONCURRENCY`` in flight, then the learner flushed: the bot
    process's CPU per event, and its extraction workers'."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for event in workload:
        queue.put_nowait(event)
    started, workers = time.process_time(), workers_cpu_s()
    await asyncio.gather(*(_drain(core, queue) for _ in range(CONCURRENCY)))
    await core.services.learner.flush()
    await core.bindings.flush()  # the replies' bindings still waiting for their timer
    per_event = 1000 / len(workload)
    return KindCost(
        len(workload),
        (time.process_time() - started) * per_event,
        (workers_cpu_s() - workers) * per_event,
    )


def workers_cpu_s() -> float:
    """CPU seconds (user + system) this process's children have used so far — in the
    benchmark, the extraction workers: what a reply costs them is invisible in the bot
    process's own CPU (a configured model's answers were extracted there until the
    nineteenth session). Read from /proc; 0.0 without it."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0.0
    for child in multiprocessing.active_children():
        try:
            stat = Path(f"/proc/{child.pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


# What the instant model answers (bench.ingest.cpu_per_dm_with_model): a reply of ordinary
# length with a few things in it to extract.
INSTANT_ANSWER = (
    "Here are a few ideas to go further. Start with one well-reviewed introduction and work "
    "through it slowly, then pick a small project you can finish in a weekend. Keep notes of "
    "what surprised you and compare them with a friend who knows the subject; come back to the "
    "harder parts after a break, they read differently the second time."
)


async def cpu_per_dm_with_model(core: Core, users: list[str], n_events: int) -> KindCost:
    """The DMs of a fresh workload sample answered by a configured model that answers at
    once (``ScriptedBackend``): the bot process's CPU per DM and its workers', as
    :func:`cpu_by_kind`. Why:
    the scale rows run with no model (``NoModelBackend``, not configured), and a reply with
    one costs more than the model's own time: the model call's row, the answer's shaping,
    and the reply's turn with its text (its topics are read only when it is judged)."""
    dms = [
        event
        for event in adapter_events(users, n_events, seed=31, prefix="kindm")
        if kind_of(event) == "dm"
    ]
    if not dms:
        return KindCost(0, 0.0)
    llm = core.services.llm
    core.services.llm = ScriptedBackend(lambda request: INSTANT_ANSWER)
    try:
        return await _cpu_per_event(core, dms)
    finally:
        core.services.llm = llm


async def max_ingest(
    core: Core,
    users: list[str],
    n_events: int,
    *,
    timed: contextlib.AbstractContextManager[object] | None = None,
) -> IngestFigures:
    """``timed``: entered for the ingest alone, from its first event to the last write
    (``--loop-steps`` times every step of the loop in it): the warm-up before — whose
    ``gc.collect`` is one ~100 ms step — and the bench's own row counts stay outside."""
    await warm_up(core, users)
    workload = list(adapter_events(users, n_events, seed=13, prefix="ing"))
    before = await signal_count(core.services.db)
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for event in workload:
        queue.put_nowait(event)
    dm_ms: list[float] = []
    command_ms: list[float] = []
    failures: list[str] = []
    contexts: list[float] = []
    stop = asyncio.Event()

    async def worker() -> None:
        while True:
            try:
                event = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            t0 = time.perf_counter()
            try:
                replies = await core.handle(event)
            except Exception:  # counted, not hidden: the figures say how many failed
                log.exception("event %s failed", event.event_id)
                failures.append(event.event_id)
                continue
            if isinstance(event, MessageEvent) and event.surface is Surface.DM:
                dm_ms.append((time.perf_counter() - t0) * 1000)
            elif isinstance(event, CommandEvent):
                command_ms.append((time.perf_counter() - t0) * 1000)
            await bind_sent(core, event, replies)

    lag = LoopLag()
    with timed or contextlib.nullcontext():
        lag.start()
        sampler = asyncio.create_task(_context_sampler(core, users, contexts, stop))
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        # Observed messages and reactions are learned in batches after handle returns, and
        # the replies' bindings are written together (bot/reply_bindings.py): the clock
        # stops only when the last of them is in the database.
        await core.services.learner.flush()
        await core.bindings.flush()
        elapsed = time.perf_counter() - started
        stop.set()
        await sampler
        await lag.stop()
    written = await signal_count(core.services.db) - before
    return IngestFigures(
        events=len(workload),
        events_per_s=len(workload) / elapsed,
        signals_per_s=written / elapsed,
        loop_lag_p99_ms=percentile(lag.samples, 0.99) if lag.samples else 0.0,
        loop_lag_max_ms=max(lag.samples, default=0.0),
        dm_p50_ms=percentile(dm_ms, 0.5) if dm_ms else 0.0,
        dm_p99_ms=percentile(dm_ms, 0.99) if dm_ms else 0.0,
        context_p99_ms=percentile(contexts, 0.99) if contexts else 0.0,
        contexts=len(contexts),
        deferred=core.backlog_size + len(failures),
        command_p50_ms=percentile(command_ms, 0.5) if command_ms else 0.0,
        command_p99_ms=percentile(command_ms, 0.99) if command_ms else 0.0,
    )
