"""Signal extraction off the event loop: in worker processes, else in a thread.

Why processes: keyphrases (YAKE) and language detection (lingua) are pure-Python CPU work,
milliseconds a message. A thread keeps them off the event loop's stack but not off its
interpreter: the thread holds the GIL while it works, so under heavy ingest every reply,
timer and Discord heartbeat on the loop waits its turn (issue 16). Worker processes have
interpreters of their own, one per core by default.

Why lazily: most command-line calls never extract anything, and each worker is a fresh
interpreter that loads the lexicons (~1.6 CPU-s and ~220 MB each, measured). The pool starts
on the first extraction, or when ``tailorbot run`` asks for it in the background
(:meth:`warm_up`), with one worker; the executor adds one more each time a message finds
every worker busy, up to ``workers`` (spawning one blocks its caller for a few ms, at most
``workers - 1`` times per process). Building the bot starts nothing; a quiet bot keeps one
worker.

Why ``spawn``: the parent runs threads (database drivers, the outage journal, asyncio's
default executor); ``fork`` would copy their locks in whatever state they are, ``spawn``
starts clean interpreters that import only what a worker needs.

When the pool cannot start or breaks (a worker killed, out of memory, an extractor that
cannot be sent to a worker), extraction goes on in a thread, as before the pool existed,
and the log says so once: a message is never lost to the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from profiles.signals import MessageSignals, SignalExtractor
from profiles.startup_heap import freeze_startup_objects

log = logging.getLogger(__name__)
_Waiting = tuple[str, tuple[str, ...], "asyncio.Future[MessageSignals]"]
_Outcome = MessageSignals | Exception  # one message's, from a worker
WARM_HOLD_S = 0.05  # how long a warm-up task keeps a worker busy
WARM_ROUNDS = 1200  # … at most a minute of rounds for every worker to answer
# Observed messages per trip to a worker, and chunks in the executor beyond one per worker
# (so a worker that finishes one starts the next at once): a reply's message waits for at
# most about one such chunk (see ExtractionPool._batched).
OBSERVED_CHUNK = 8
AHEAD = 1


def default_workers() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class ExtractionPool:
    """Runs :meth:`SignalExtractor.extract` in ``workers`` processes (0: in a thread).

    The pool belongs to the first extractor it is used with: its workers hold a copy of
    that extractor, made once when they start. Any other extractor (a test's, or one
    swapped in later) runs in a thread, so what is extracted is always what the given
    extractor says."""

    def __init__(self, workers: int, *, nice: int = 0) -> None:
        """``nice``: how much lower the workers' CPU priority is than this process's (see
        :func:`_init_worker`)."""
        if workers < 0:
            raise ValueError("workers must be 0 (a thread) or more")
        self.workers = workers
        self.nice = nice
        self._executor: ProcessPoolExecutor | None = None
        self._extractor: SignalExtractor | None = None
        self._fallback: str | None = None  # why extraction runs in a thread, once it must
        self._retired: list[ProcessPoolExecutor] = []  # given up on, joined at close
        self._starting = threading.Lock()
        self._ready: list[Future[int]] = []  # done once the first worker has its lexicons
        # Observed messages waiting to be sent, a chunk at a time as workers free up
        # (_batched; a reply's goes at once).
        self._observed: deque[_Waiting] = deque()
        self._send_soon = False  # a _send is scheduled for this turn of the loop
        self._in_flight = 0  # chunks in the executor, not yet back

    @property
    def running(self) -> bool:
        """Whether extraction currently goes to worker processes."""
        return self._executor is not None

    @property
    def fallback(self) -> str | None:
        """Why the pool is not used (it could not start, broke, or was closed), if so."""
        return self._fallback

    async def extract(
        self,
        extractor: SignalExtractor,
        text: str,
        *,
        names: Sequence[str] = (),
        reply: bool = False,
    ) -> MessageSignals:
        """``reply``: someone waits for the bot's answer to this message; it goes to the
        workers ahead of observed messages still waiting (see :meth:`_batched`)."""
        executor = await self._executor_for(extractor)
        if executor is None:
            return await asyncio.to_thread(extractor.extract, text, names=names)
        return await self._batched(executor, text, tuple(names), reply)

    def start(
        self,
        extractor: SignalExtractor,
        text: str,
        *,
        names: Sequence[str] = (),
        reply: bool = False,
    ) -> asyncio.Future[MessageSignals]:
        """:meth:`extract`, its message on its way to a worker before this returns when the
        pool runs, and its answer set by the pool itself. A task running :meth:`extract`
        first ran on the next turn of the event loop, a reply's message left on the turn
        after that, and the answer reached its caller a turn after the task's: at maximum
        ingest those turns were about half of the 10 ms a DM waited for its signals (issue
        16)."""
        executor = self._executor
        if executor is None or self._fallback is not None or extractor is not self._extractor:
            return asyncio.ensure_future(self.extract(extractor, text, names=names, reply=reply))
        return self._batched(executor, text, tuple(names), reply)

    def _batched(
        self, executor: ProcessPoolExecutor, text: str, names: tuple[str, ...], reply: bool
    ) -> asyncio.Future[MessageSignals]:
        """Observed messages travel to the workers in chunks: a round trip to a process wakes
        three threads and a process (on a busy machine each wake-up waits for a core), so
        under ingest it is paid per chunk, not per message.

        Two lanes, because the executor serves in submission order. A reply's message goes
        at once, alone: someone waits for it, and replies asked for in the same turn of the
        loop were rare (1.0–1.1 a chunk at maximum ingest when they went together on the
        next turn). Observed messages go ``OBSERVED_CHUNK`` at a time, and only while the
        executor holds fewer than one chunk per worker plus ``AHEAD``: the rest wait here,
        where a reply overtakes them. Before, an intake batch of hundreds of observed messages
        went as one chunk per worker, and a DM behind it waited for all of them (at maximum
        ingest a DM's extraction took 4 ms at the median and 124 ms at p99; issue 16)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[MessageSignals] = loop.create_future()
        if reply:
            self._submit(executor, [(text, names, future)])
            return future
        self._observed.append((text, names, future))
        if not self._send_soon:
            self._send_soon = True
            loop.call_soon(self._send, executor)
        return future

    def _send(self, executor: ProcessPoolExecutor) -> None:
        self._send_soon = False
        while self._observed and self._in_flight < self.workers + AHEAD:
            take = min(OBSERVED_CHUNK, len(self._observed))
            self._submit(executor, [self._observed.popleft() for _ in range(take)])

    def _submit(self, executor: ProcessPoolExecutor, chunk: list[_Waiting]) -> None:
        try:
            sent = executor.submit(_extract_many, [(text, names) for text, names, _ in chunk])
        except RuntimeError as exc:  # broken or closed (BrokenProcessPool is one)
            self._settle(executor, chunk, None, exc)
            return
        self._in_flight += 1
        back = functools.partial(self._returned, executor)
        sent.add_done_callback(
            functools.partial(_settle_from_thread, asyncio.get_running_loop(), back, chunk)
        )

    def _returned(
        self,
        executor: ProcessPoolExecutor,
        chunk: list[_Waiting],
        results: list[_Outcome] | None,
        exc: BaseException | None,
    ) -> None:
        """A chunk is back: its messages are answered, and a worker is free for the next
        observed ones."""
        self._in_flight -= 1
        self._settle(executor, chunk, results, exc)
        if self._observed and not self._send_soon:
            self._send(executor)

    def _settle(
        self,
        executor: ProcessPoolExecutor,
        chunk: list[_Waiting],
        results: list[_Outcome] | None,
        exc: BaseException | None,
    ) -> None:
        """Each waiting message gets its answer; a chunk a broken executor, or one closed
        under it, could not answer is read in threads (and a broken pool is given up)."""
        if isinstance(exc, BrokenProcessPool):
            self._give_up(executor, f"the pool broke ({exc})")
        elif not isinstance(exc, RuntimeError) or self._executor is executor:
            _settle(chunk, results, exc)
            return
        else:
            log.debug("extraction pool closed under a submission: %s", exc)
        extractor = self._extractor
        assert extractor is not None, "a pool that sent a chunk has its extractor"
        for text, names, future in chunk:
            if not future.done():
                read = asyncio.ensure_future(
                    asyncio.to_thread(extractor.extract, text, names=names)
                )
                read.add_done_callback(functools.partial(_pass_on, future))

    async def warm_up(self, extractor: SignalExtractor, *, every_worker: bool = False) -> None:
        """Start the first worker (``every_worker``: all of them, as a busy bot would have,
        for benchmarks that measure a steady state) and wait until it has loaded its
        lexicons; without workers, load them in this process. The first message then pays
        nothing."""
        executor = await self._executor_for(extractor)
        if executor is not None:
            try:
                answered = set(await asyncio.gather(*map(asyncio.wrap_future, self._ready)))
                # A worker answers only once its initializer has run. The executor adds one
                # only when every worker is busy: keep them busy until each has answered.
                for _ in range(WARM_ROUNDS if every_worker else 0):
                    if len(answered) >= self.workers:
                        break
                    busy = [
                        executor.submit(_worker_ready, WARM_HOLD_S) for _ in range(self.workers)
                    ]
                    answered |= set(await asyncio.gather(*map(asyncio.wrap_future, busy)))
                return
            except BrokenProcessPool as exc:
                self._give_up(executor, f"a worker could not start ({exc})")
        await asyncio.to_thread(_warm, extractor)

    async def aclose(self) -> None:
        """Stop the workers (each finishes the message in hand); later extractions run in a
        thread, so nothing started after close outlives it."""
        self._fallback = self._fallback or "the pool was closed"
        executors, self._retired = [*self._retired, self._executor], []
        self._executor = None
        for executor in executors:
            if executor is not None:
                await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)

    async def _executor_for(self, extractor: SignalExtractor) -> ProcessPoolExecutor | None:
        if self.workers == 0 or self._fallback is not None:
            return None
        if self._extractor is not None and extractor is not self._extractor:
            return None  # not the extractor the workers hold: see the class docstring
        if self._executor is None:
            # Spawning interpreters blocks for a moment each: never on the event loop.
            await asyncio.to_thread(self._start, extractor)
        if extractor is not self._extractor:
            return None
        return self._executor

    def _start(self, extractor: SignalExtractor) -> None:
        with self._starting:  # the first caller starts the pool; the others wait for it
            if self._executor is not None or self._fallback is not None:
                return
            self._extractor = extractor
            executor: ProcessPoolExecutor | None = None
            try:
                executor = ProcessPoolExecutor(
                    self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker,
                    initargs=(extractor, self.nice),
                )
                # The first worker now; the others when messages find it busy.
                self._ready = [executor.submit(_worker_ready)]
            except Exception as exc:  # cannot spawn, or the extractor cannot be sent
                if executor is not None:
                    executor.shutdown(wait=False, cancel_futures=True)
                self._fallback = f"the pool could not start ({type(exc).__name__}: {exc})"
                log.error("signal extraction runs in a thread: %s", self._fallback)
                return
            # A worker that fails to start breaks the pool: the first message sent to it
            # sees BrokenProcessPool and is extracted in a thread (see extract).
            self._executor = executor
            if self._fallback is not None:  # closed while this was starting (in a thread)
                self._executor = None
                executor.shutdown(wait=True, cancel_futures=True)
                return
            log.info("signal extraction runs in %d worker processes", self.workers)

    def _give_up(self, executor: ProcessPoolExecutor, why: str) -> None:
        """Once per pool: stop using it and say why; extraction goes on in a thread."""
        if self._executor is not executor:
            return  # already given up (many messages see the same break)
        self._executor = None
        self._fallback = why
        log.error("signal extraction runs in a thread from now on: %s", why)
        # A broken executor stops its surviving workers itself; close waits for that.
        self._retired.append(executor)


_Settle = Callable[[list[_Waiting], list[_Outcome] | None, BaseException | None], None]


def _settle_from_thread(
    loop: asyncio.AbstractEventLoop,
    settle: _Settle,
    chunk: list[_Waiting],
    sent: Future[list[_Outcome]],
) -> None:
    """Runs in the executor's thread: hand the chunk's outcome to ``settle`` on the event
    loop."""
    if sent.cancelled():
        outcome: tuple[list[_Outcome] | None, BaseException | None] = (
            None,
            RuntimeError("extraction cancelled: the pool was closed"),
        )
    elif (exc := sent.exception()) is not None:
        outcome = (None, exc)
    else:
        outcome = (sent.result(), None)
    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits any more
        loop.call_soon_threadsafe(settle, chunk, *outcome)


def _settle(
    chunk: list[_Waiting], results: list[_Outcome] | None, exc: BaseException | None
) -> None:
    """Each waiting message gets its own result or error; ``exc``: the whole chunk failed."""
    for i, (_, _, future) in enumerate(chunk):
        if future.done():  # its caller was cancelled
            continue
        outcome = exc if exc is not None else (results or [])[i]
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)


def _pass_on(future: asyncio.Future[MessageSignals], read: asyncio.Future[MessageSignals]) -> None:
    """``read``'s outcome to ``future``, unless its caller gave up on it."""
    if future.done():
        if not read.cancelled():
            read.exception()  # seen: not reported as never retrieved
    elif read.cancelled():
        future.cancel()
    elif (exc := read.exception()) is not None:
        future.set_exception(exc)
    else:
        future.set_result(read.result())


# In the worker processes -------------------------------------------------------------------
_worker_extractor: SignalExtractor | None = None


def _init_worker(extractor: SignalExtractor, nice: int = 0) -> None:
    """Once per worker: keep the extractor, load its lexicons before the first message and
    freeze them out of the collector's full passes (a pass walked their ~93k objects in ~40
    ms, a stall of every message in the worker's hands). Ctrl-C is the parent's to handle:
    a worker that died of it would break the pool while the bot shuts down in order.

    ``nice`` lowers the worker's CPU priority: with the workers on the bot's cores, the
    event loop — every reply's steps, the Discord heartbeat — competed with them on equal
    terms; extraction is throughput work that keeps up in batches, so under contention it
    now takes what the loop leaves (docs/measurement.md, nineteenth session)."""
    global _worker_extractor
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if nice and hasattr(os, "nice"):
        os.nice(nice)
    _worker_extractor = extractor
    _warm(extractor)
    freeze_startup_objects()


def _warm(extractor: SignalExtractor) -> None:
    extractor.extract("Warming up the jazz piano lexicons before the first message")


def _worker_ready(hold_s: float = 0.0) -> int:
    """The worker's pid, after ``hold_s`` seconds busy (see ``warm_up``)."""
    if hold_s:
        threading.Event().wait(hold_s)
    return os.getpid()


def _extract_many(messages: list[tuple[str, tuple[str, ...]]]) -> list[_Outcome]:
    """Each message's signals, or the error it raised (it fails alone, not its chunk)."""
    extractor = _worker_extractor
    assert extractor is not None, "the pool's initializer sets the extractor"
    outcomes: list[_Outcome] = []
    for text, names in messages:
        try:
            outcomes.append(extractor.extract(text, names=names))
        except Exception as exc:
            outcomes.append(exc)
    return outcomes
