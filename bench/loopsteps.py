"""`python -m bench --loop-steps`: which steps of the event loop are long at maximum ingest.

The scale bench prints the event loop's lag p99 (issue 16 asks for at most 20 ms); a lag is
a step of the loop — one callback, or one resumption of a task up to its next ``await`` —
that ran long while a sleeper's time came. This runs the scale bench's maximum ingest
(:func:`bench.ingest.max_ingest`, adapter-shaped events, 8 in flight) with every step timed,
and prints the steps longer than a threshold grouped by where the task stood when the step
ended (its innermost frames in this project's code, library frames left out): the profile
that says what the lag is made of, which a sampling profiler blurs across steps. A step
that ends inside an ``asynccontextmanager`` (a transaction's ``BEGIN`` or ``COMMIT``) is
named by the generator's own frames.

The same run says where the workload's DMs waited (:class:`TaskWaits`): the issue's DM goal
(p99 at most 50 ms at maximum ingest) is missed by waiting, not by a DM's own CPU, and this
names each queue — a turn of the replies' work, SQLite's writer, a round trip — with its
share of all the DMs' waiting.

Timing each step costs two clock reads per step (~40,000 steps a run), so the run's own
figures are printed only as the context of the profile, never as the scale bench's figures.
"""

from __future__ import annotations

import asyncio
import collections
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

PROJECT = ("bot", "profiles", "prompts", "adapters", "bench")
THRESHOLD_MS = 4.0
FRAMES = 4  # innermost project frames that name a step's place


@dataclass
class Place:
    steps: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0


@dataclass
class LongSteps:
    """Steps of the event loop longer than ``threshold_ms``, by where they ended."""

    threshold_ms: float = THRESHOLD_MS
    steps: int = 0
    total_ms: float = 0.0
    places: dict[str, Place] = field(default_factory=lambda: collections.defaultdict(Place))

    def record(self, ms: float, handle: asyncio.Handle) -> None:
        self.steps += 1
        self.total_ms += ms
        if ms < self.threshold_ms:
            return
        place = self.places[where(handle)]
        place.steps += 1
        place.total_ms += ms
        place.max_ms = max(place.max_ms, ms)

    def report(self, top: int = 12) -> str:
        long = sorted(self.places.items(), key=lambda item: -item[1].total_ms)
        long_ms = sum(p.total_ms for _, p in long)
        lines = [
            f"{self.steps:,} loop steps, {self.total_ms / 1000:.2f} s; "
            f"{sum(p.steps for _, p in long):,} of them >= {self.threshold_ms:g} ms, "
            f"{long_ms / 1000:.2f} s in all; where those ended (innermost project frames):"
        ]
        for name, place in long[:top]:
            lines.append(
                f"  {place.steps:5d} steps {place.total_ms:7.0f} ms (max {place.max_ms:5.1f}) "
                f"{name}"
            )
        return "\n".join(lines)


@dataclass(slots=True)
class _Watched:
    started: float  # when it was watched
    last_end: float  # when its last step ended
    place: str = ""  # where that step left it ("": the step it was first watched in)
    own_s: float = 0.0  # its steps since it was watched


@dataclass
class TaskWaits:
    """Where watched tasks (the DMs of the run) spent their time between their own steps:
    each gap from the end of one of a task's steps to the start of its next is charged to
    the place it was suspended in (:func:`where`) — a lock or turn it queued for, a round
    trip, the event loop's other work. Why: at maximum ingest a DM's latency is mostly
    waiting, and a sampling profiler shows only CPU."""

    watched: dict[asyncio.Task[Any], _Watched] = field(default_factory=dict)
    places: dict[str, Place] = field(default_factory=lambda: collections.defaultdict(Place))
    own_ms: list[float] = field(default_factory=list)  # each finished task's steps in all
    total_ms: list[float] = field(default_factory=list)  # each finished task, end to end

    def watch(self, task: asyncio.Task[Any]) -> None:
        """From now on (the caller is in one of ``task``'s steps)."""
        now = time.perf_counter()
        self.watched[task] = _Watched(started=now, last_end=now)

    def unwatch(self, task: asyncio.Task[Any]) -> None:
        record = self.watched.pop(task)
        self.own_ms.append(record.own_s * 1000)
        self.total_ms.append((time.perf_counter() - record.started) * 1000)

    def resumed(self, task: asyncio.Task[Any], started: float) -> None:
        """A step of watched ``task`` starts: the wait since its last one is charged to where
        that left it."""
        record = self.watched[task]
        if record.place:
            gap = (started - record.last_end) * 1000
            charged = self.places[record.place]
            charged.steps += 1
            charged.total_ms += gap
            charged.max_ms = max(charged.max_ms, gap)

    def suspended(self, task: asyncio.Task[Any], started: float, ended: float, place: str) -> None:
        """A step of watched ``task`` ran from ``started`` to ``ended`` and left it at
        ``place``."""
        record = self.watched[task]
        record.own_s += ended - max(started, record.last_end)
        record.place, record.last_end = place, ended

    def report(self, what: str = "DM", top: int = 12) -> str:
        if not self.total_ms:
            return f"no {what} was watched"
        from bench.pipeline import percentile

        waited = sum(p.total_ms for p in self.places.values())
        lines = [
            f"{len(self.total_ms):,} {what}s: end to end p50 "
            f"{percentile(self.total_ms, 0.5):.1f} / p99 {percentile(self.total_ms, 0.99):.1f} "
            f"ms, of which their own steps p50 {percentile(self.own_ms, 0.5):.2f} ms; "
            f"where they waited (share of all their waiting, mean per wait):"
        ]
        for name, place in sorted(self.places.items(), key=lambda item: -item[1].total_ms)[:top]:
            lines.append(
                f"  {place.total_ms / waited:6.1%} {place.steps:6d} waits "
                f"{place.total_ms / place.steps:6.2f} ms (max {place.max_ms:6.1f}) {name}"
            )
        return "\n".join(lines)


def where(handle: asyncio.Handle) -> str:
    """A task's step: the project frames it is suspended in (innermost last); a callback: its
    function's name."""
    callback = getattr(handle, "_callback", None)
    task = getattr(callback, "__self__", None)
    if not isinstance(task, asyncio.Task):
        return getattr(callback, "__qualname__", repr(callback))[:100]
    frames = [_name(f) for f in _frames(task.get_coro())]
    ours = [name for name in frames if name.split(".", 1)[0] in PROJECT]
    return " > ".join(ours[-FRAMES:]) or (frames[0] if frames else repr(task.get_coro()))


def _frames(coro: Any) -> Iterator[FrameType]:
    """The frames a suspended coroutine stands in, outermost first. Inside an
    ``asynccontextmanager`` (every database transaction here) the awaited object is the
    generator's ``asend``, which exposes no frame: the walk goes on in the generator itself,
    found on the context manager whose ``__aenter__`` / ``__aexit__`` awaits it."""
    while coro is not None:
        frame = (
            getattr(coro, "cr_frame", None)
            or getattr(coro, "gi_frame", None)
            or getattr(coro, "ag_frame", None)
        )
        if frame is None:
            return
        yield frame
        awaited = (
            getattr(coro, "cr_await", None)
            or getattr(coro, "gi_yieldfrom", None)
            or getattr(coro, "ag_await", None)
        )
        coro = _generator_behind(frame) or awaited


def _generator_behind(frame: FrameType) -> Any:
    """The async generator an ``asynccontextmanager``'s ``__aenter__`` / ``__aexit__`` frame
    is driving, if it is one."""
    if frame.f_code.co_name not in ("__aenter__", "__aexit__"):
        return None
    generator = getattr(frame.f_locals.get("self"), "gen", None)
    return generator if getattr(generator, "ag_frame", None) is not None else None


def _name(frame: FrameType) -> str:
    module = str(frame.f_globals.get("__name__", "?"))
    return f"{module}.{frame.f_code.co_name}:{frame.f_lineno}"


@contextmanager
def timed_steps(steps: LongSteps, waits: TaskWaits | None = None) -> Iterator[LongSteps]:
    """Time every step of every event loop in this process while the block runs; ``waits``:
    also charge the watched tasks' waits (:class:`TaskWaits`). The step that leaves the
    block is not counted: most of it runs after the block (and would be named after it)."""
    original = asyncio.Handle._run
    timing = True

    def run(handle: asyncio.Handle) -> None:
        task = getattr(getattr(handle, "_callback", None), "__self__", None)
        charged = waits if waits is not None and isinstance(task, asyncio.Task) else None
        started = time.perf_counter()
        if charged is not None and task in charged.watched:
            charged.resumed(task, started)
        try:
            original(handle)
        finally:
            ended = time.perf_counter()
            if timing:
                steps.record((ended - started) * 1000, handle)
                if charged is not None and task in charged.watched:  # (watched still)
                    charged.suspended(task, started, ended, where(handle))

    asyncio.Handle._run = run  # type: ignore[method-assign]
    try:
        yield steps
    finally:
        timing = False
        asyncio.Handle._run = original  # type: ignore[method-assign]


async def profile_ingest(backend: str, n_people: int, n_events: int) -> str:
    from bench.ingest import max_ingest
    from bench.scale import seeded_core

    load_before = os.getloadavg()[0]
    waits = TaskWaits()
    async with seeded_core(backend, n_people) as seeded:
        await seeded.core.services.warm_up(every_worker=True)
        steps = LongSteps()
        figures = await max_ingest(
            seeded.core, seeded.users, n_events, timed=_dms_timed(seeded.core, steps, waits)
        )
    return (
        f"{backend} {n_people:,} people, {figures.events:,} events: "
        f"{figures.events_per_s:.0f} events/s, loop lag p99 {figures.loop_lag_p99_ms:.1f} ms, "
        f"DM p99 {figures.dm_p99_ms:.0f} ms (every step timed; load "
        f"{load_before:.1f}→{os.getloadavg()[0]:.1f})\n" + steps.report() + "\n" + waits.report()
    )


@contextmanager
def _dms_timed(core: Any, steps: LongSteps, waits: TaskWaits) -> Iterator[None]:
    """Every step timed and the DMs' waits charged, for the ingest alone: DMs of the
    warm-up before it are not watched (their steps are not timed)."""
    handle = core.handle
    watch_dms(core, waits)
    try:
        with timed_steps(steps, waits):
            yield
    finally:
        core.handle = handle


def watch_dms(core: Any, waits: TaskWaits) -> None:
    """Charge the waits of every DM ``core.handle`` handles (its task, while it does)."""
    from bot.events import MessageEvent, Surface

    handle = core.handle

    async def watched(event: Any, **kwargs: Any) -> Any:
        task = asyncio.current_task()
        if task is None or not (isinstance(event, MessageEvent) and event.surface is Surface.DM):
            return await handle(event, **kwargs)
        waits.watch(task)
        try:
            return await handle(event, **kwargs)
        finally:
            waits.unwatch(task)

    core.handle = watched


def run_loop_steps(backends: list[str], n_people: int, n_events: int) -> None:
    # asyncio's own loop whatever the bot runs on: the steps are timed by wrapping its
    # ``Handle._run`` (:func:`timed_steps`), which uvloop, written in C, does not call.
    for backend in backends:
        print(asyncio.run(profile_ingest(backend, n_people, n_events)), end="\n\n",
              flush=True)


__all__ = ["LongSteps", "TaskWaits", "run_loop_steps", "timed_steps", "watch_dms", "where"]
