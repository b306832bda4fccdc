"""Signal extraction off the event loop: in worker processes, else in a thread.

Why processes: keyphrases (YAKE) and language detection (lingua) are pure-Python CPU work,
milliseconds a message. A thread keeps them off the event loop's stack but not off its
interpreter: the thread holds the GIL while it works, so under heavy ingest every reply,
timer and Discord heartbeat on the loop waits its turn (issue 16). Worker processes have
interpreters of their own, one per core by default.

Why a socket per worker, read by the event loop: ``ProcessPoolExecutor`` hands each call
through two threads of its own (its manager and its queue's feeder) and back to the loop
through a third wake-up; one DM at a time those threads spent 500–590 µs of CPU and the
loop's thread ~170 µs a round trip, against ~50 µs with a socket the loop reads itself
(docs/measurement.md, twenty-third and thirty-eighth sessions). Here a chunk is written to
its worker's socket from the loop's thread and its answer read there when it arrives
(``add_reader``): no thread in between, and nothing that waits for the GIL.

Why lazily: most command-line calls never extract anything, and each worker is a fresh
interpreter that loads the lexicons (~1.6 CPU-s and ~220 MB each, measured). The pool starts
on the first extraction, or when ``tailorbot run`` asks for it in the background
(:meth:`warm_up`), with one worker; one more starts each time a message finds every worker
busy, up to ``workers`` (spawning one blocks its caller for a few ms, at most ``workers - 1``
times per process). Building the bot starts nothing; a quiet bot keeps one worker.

Why ``spawn``: the parent runs threads (database drivers, the outage journal, asyncio's
default executor); ``fork`` would copy their locks in whatever state they are, ``spawn``
starts clean interpreters that import only what a worker needs.

A worker that ends untold (killed, out of memory) is replaced, and what it held is read in a
thread; one that leaves a request unanswered for ``stuck_after_s`` is killed and replaced,
and what it held fails (a reply is answered without its signals, never left waiting).
When the pool cannot start or breaks (``MAX_LOST`` workers ended, an extractor that cannot
be sent to a worker), extraction goes on in a thread, as before the pool existed, and the
log says so once: a message is never lost to the pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import multiprocessing
import os
import socket
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess

from profiles.extraction_worker import (
    READ_SIZE,
    STOP,
    Answer,
    FrameReader,
    Outcome,
    Ready,
    Request,
    frame,
    serve,
    warm,
)
from profiles.signals import MessageSignals, SignalExtractor

log = logging.getLogger(__name__)
# a message, the names to leave out, its writer's usual language, and who waits for it
_Waiting = tuple[str, tuple[str, ...], str | None, "asyncio.Future[MessageSignals]"]
# Observed messages per trip to a worker, and chunks sent beyond one per worker (so a worker
# that finishes one starts the next at once): a reply's message waits for at most about one
# such chunk (see ExtractionPool._batched).
OBSERVED_CHUNK = 8
AHEAD = 1
STOP_WAIT_S = 30.0  # how long close waits for a worker to answer what it holds and exit
LOAD_WAIT_S = 120.0  # a worker still loading its lexicons after this long is stuck
MAX_LOST = 3  # workers that may end untold before the pool is given up (see _replace)


def default_workers() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class WorkerLost(RuntimeError):
    """A worker process ended before answering (killed, out of memory, failed to start)."""


@dataclass(eq=False)
class _Worker:
    """One worker process and the bot's end of its socket."""

    process: BaseProcess
    connection: socket.socket
    # Chunks sent and not answered yet, by their request's number: when each was sent, and it.
    sent: dict[int, tuple[float, list[_Waiting]]] = field(default_factory=dict)
    incoming: FrameReader = field(default_factory=FrameReader)
    outgoing: bytearray = field(default_factory=bytearray)  # what the socket did not take yet
    ready: asyncio.Future[int] | None = None  # its pid once its lexicons are loaded
    started_at: float = 0.0  # the loop's time when it was spawned …
    loaded_at: float | None = None  # … and when it had loaded its lexicons (None: not yet)
    ended: asyncio.Future[None] | None = None  # done when its socket closed

    @property
    def loaded(self) -> bool:
        return self.loaded_at is not None

    def take_all(self) -> list[_Waiting]:
        """Every message it was sent and has not answered, no longer its to answer."""
        held = [waiting for _, chunk in self.sent.values() for waiting in chunk]
        self.sent.clear()
        return held


class ExtractionPool:
    """Runs :meth:`SignalExtractor.extract` in ``workers`` processes (0: in a thread).

    The pool belongs to the first extractor it is used with: its workers hold a copy of
    that extractor, made once when they start. Any other extractor (a test's, or one
    swapped in later) runs in a thread, so what is extracted is always what the given
    extractor says. It belongs to the event loop it started on as well: its workers'
    answers are read there (a call from another loop is read in a thread)."""

    def __init__(self, workers: int, *, nice: int = 0, stuck_after_s: float = 30.0) -> None:
        """``nice``: how much lower the workers' CPU priority is than this process's (see
        :func:`profiles.extraction_worker.serve`). ``stuck_after_s``: a request unanswered
        this long means its worker is stuck (see :meth:`_check_stuck`)."""
        if workers < 0:
            raise ValueError("workers must be 0 (a thread) or more")
        self.workers = workers
        self.nice = nice
        self.stuck_after = stuck_after_s
        self._watchdog: asyncio.TimerHandle | None = None
        self._workers: list[_Worker] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._extractor: SignalExtractor | None = None
        self._fallback: str | None = None  # why extraction runs in a thread, once it must
        self._cannot_grow = False  # a worker beyond the first could not be spawned
        self._lost_workers = 0  # workers that ended untold (see _replace)
        self._ended: list[_Worker] = []  # stopped or lost, their processes joined at close
        self._starting = threading.Lock()
        # Observed messages waiting to be sent, a chunk at a time as workers free up
        # (_batched; a reply's goes at once).
        self._observed: deque[_Waiting] = deque()
        self._send_soon = False  # a _send is scheduled for this turn of the loop
        self._numbers = itertools.count()  # the requests' numbers, which answers carry

    @property
    def running(self) -> bool:
        """Whether extraction currently goes to worker processes."""
        return bool(self._workers) and self._fallback is None

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
        usual: str | None = None,
    ) -> MessageSignals:
        """``reply``: someone waits for the bot's answer to this message; it goes to the
        workers ahead of observed messages still waiting (see :meth:`_batched`). ``usual``:
        as for :meth:`SignalExtractor.extract`."""
        if not await self._running_for(extractor):
            return await asyncio.to_thread(extractor.extract, text, names=names, usual=usual)
        return await self._batched(text, tuple(names), reply, usual)

    def start(
        self,
        extractor: SignalExtractor,
        text: str,
        *,
        names: Sequence[str] = (),
        reply: bool = False,
        usual: str | None = None,
    ) -> asyncio.Future[MessageSignals]:
        """:meth:`extract`, its message on its way to a worker before this returns when the
        pool runs, and its answer set by the pool itself. A task running :meth:`extract`
        first ran on the next turn of the event loop, a reply's message left on the turn
        after that, and the answer reached its caller a turn after the task's: at maximum
        ingest those turns were about half of the 10 ms a DM waited for its signals (issue
        16)."""
        if not self._serves(extractor):
            return asyncio.ensure_future(
                self.extract(extractor, text, names=names, reply=reply, usual=usual)
            )
        return self._batched(text, tuple(names), reply, usual)

    def _serves(self, extractor: SignalExtractor) -> bool:
        """Whether this call can go to the workers as they are, now."""
        return (
            self.running
            and extractor is self._extractor
            and asyncio.get_running_loop() is self._loop
        )

    def _batched(
        self, text: str, names: tuple[str, ...], reply: bool, usual: str | None = None
    ) -> asyncio.Future[MessageSignals]:
        """Observed messages travel to the workers in chunks: a round trip to a process wakes
        it (on a busy machine each wake-up waits for a core), so under ingest it is paid per
        chunk, not per message.

        Two lanes. A reply's message goes at once, alone, marked as a reply, to the worker
        with the least in hand, which takes it ahead of the observed chunks it holds, between
        two of their messages (:func:`profiles.extraction_worker.serve`): someone waits for
        it, and replies asked for in the same turn of the loop were rare (1.0–1.1 a chunk at
        maximum ingest when they went together on the next turn). Observed messages go
        ``OBSERVED_CHUNK`` at a time, and only while the workers hold fewer than one chunk
        each plus ``AHEAD``: the rest wait here, to go to whichever worker frees first.
        Before, an intake batch of hundreds of observed messages went as one chunk per
        worker, and a DM behind it waited for all of them (at maximum ingest a DM's
        extraction took 4 ms at the median and 124 ms at p99; issue 16)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[MessageSignals] = loop.create_future()
        if reply:
            self._send_to(self._for_reply(), [(text, names, usual, future)], reply=True)
            return future
        self._observed.append((text, names, usual, future))
        if not self._send_soon:
            self._send_soon = True
            loop.call_soon(self._send)
        return future

    def _for_reply(self) -> _Worker:
        """The loaded worker with the least in hand (any worker while none has loaded);
        when it has something in hand already, one more worker starts for the next."""
        loaded = [w for w in self._workers if w.loaded] or self._workers
        chosen = min(loaded, key=lambda w: len(w.sent))
        if chosen.sent:
            self._grow()
        return chosen

    def _send(self) -> None:
        self._send_soon = False
        if not self.running:
            self._read_in_threads(list(self._observed))
            self._observed.clear()
            return
        loaded = [w for w in self._workers if w.loaded]
        if self._observed and all(w.sent for w in loaded):
            self._grow()
        in_hand = sum(len(w.sent) for w in loaded)
        while self._observed and loaded and in_hand < len(loaded) + AHEAD:
            worker = min(loaded, key=lambda w: len(w.sent))
            if len(worker.sent) > AHEAD:
                break
            take = min(OBSERVED_CHUNK, len(self._observed))
            self._send_to(worker, [self._observed.popleft() for _ in range(take)])
            in_hand += 1

    def _send_to(self, worker: _Worker, chunk: list[_Waiting], *, reply: bool = False) -> None:
        number = next(self._numbers)
        assert self._loop is not None
        worker.sent[number] = (self._loop.time(), chunk)
        if self._watchdog is None:
            self._watchdog = self._loop.call_later(self.stuck_after / 2, self._check_stuck)
        self._write(worker, frame(Request(number, reply, [message[:3] for message in chunk])))

    def _write(self, worker: _Worker, data: bytes) -> None:
        """Into the worker's socket now; what it cannot take yet (a long chunk while the
        worker is busy) goes when it can, without blocking the loop."""
        if worker.outgoing:
            worker.outgoing += data
            return
        try:
            written = worker.connection.send(data)
        except (BlockingIOError, InterruptedError):
            written = 0
        except OSError:
            return  # the worker is gone: its end of the socket says so to the reader
        if written < len(data):
            worker.outgoing += data[written:]
            assert self._loop is not None
            self._loop.add_writer(worker.connection.fileno(), self._writable, worker)

    def _writable(self, worker: _Worker) -> None:
        try:
            written = worker.connection.send(worker.outgoing)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            written = len(worker.outgoing)  # gone: the reader sees the end
        del worker.outgoing[:written]
        if not worker.outgoing and self._loop is not None:
            self._loop.remove_writer(worker.connection.fileno())

    def _readable(self, worker: _Worker) -> None:
        """A worker's frames: that it is loaded, or a request's answer (a reply's may come
        before those of chunks sent earlier)."""
        try:
            data = worker.connection.recv(READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._lost(worker)
            return
        for message in worker.incoming.feed(data):
            if isinstance(message, Ready):
                assert worker.ready is not None and self._loop is not None
                if not worker.ready.done():
                    worker.ready.set_result(message.pid)
                    worker.loaded_at = self._loop.time()
            elif isinstance(message, Answer):
                sent = worker.sent.pop(message.number, None)
                if sent is not None:  # None: given up on as stuck, answered since
                    _settle(sent[1], message.outcomes, None)
        if self._observed and not self._send_soon:
            self._send()

    def _check_stuck(self) -> None:
        """Every ``stuck_after_s / 2`` while requests are out: a worker that has not answered
        one for ``stuck_after_s`` (extraction takes milliseconds; a worker stuck on some
        input, or one that stopped reading) is killed, and another takes its place. Its
        requests fail with TimeoutError: a reply is answered without signals, an observed
        message teaches nothing (which one stuck it is not known, so none is read again)."""
        self._watchdog = None
        assert self._loop is not None
        now = self._loop.time()
        for worker in list(self._workers):
            if not worker.sent:
                continue
            if worker.loaded_at is None:  # still loading its lexicons: seconds, normally
                stuck = now - worker.started_at >= max(self.stuck_after, LOAD_WAIT_S)
            else:  # what it was sent while loading waited for that, not for the worker
                oldest = min(sent_at for sent_at, _ in worker.sent.values())
                stuck = now - max(oldest, worker.loaded_at) >= self.stuck_after
            if stuck:
                self._stuck(worker)
        if any(w.sent for w in self._workers):
            self._watchdog = self._loop.call_later(self.stuck_after / 2, self._check_stuck)

    def _stuck(self, worker: _Worker) -> None:
        """Kill a stuck worker; its requests fail now, and another worker replaces it when
        its socket's end is read (:meth:`_lost`)."""
        held = worker.take_all()
        log.error(
            "an extraction worker left a request unanswered for %.0f s: stopped; its %d "
            "messages teach nothing", self.stuck_after, len(held),
        )
        stuck = TimeoutError(f"signal extraction took over {self.stuck_after:.0f} s")
        _settle(held, None, stuck)
        self._workers.remove(worker)  # sent nothing more; its socket's end calls _lost
        worker.process.kill()
        if not self._workers:
            self._grow()  # its replacement now, not once the end is read

    def _lost(self, worker: _Worker) -> None:
        """A worker's socket closed: it exited (told to stop, or not). What it held unanswered
        is read in threads; a worker lost while the pool runs is replaced."""
        self._detach(worker)
        if worker in self._workers:
            self._workers.remove(worker)
        self._ended.append(worker)
        if worker.ready is not None and not worker.ready.done():
            worker.ready.set_exception(WorkerLost("a worker ended before it was ready"))
            worker.ready.exception()  # seen: warm_up is its only reader
        if worker.ended is not None and not worker.ended.done():
            worker.ended.set_result(None)
        unanswered = worker.take_all()
        if self._fallback is None:
            self._replace(worker)
        self._read_in_threads(unanswered)

    def _replace(self, worker: _Worker) -> None:
        """A worker ended untold (killed, out of memory, failed to load): another takes its
        place, unless it is the ``MAX_LOST``-th in the pool's life to end so; then the pool
        is given up, since something kills every worker (a message that does is read in a
        thread, never sent to a worker again)."""
        worker.process.join(timeout=0)  # reaped if it has exited: its code, not None
        code = worker.process.exitcode
        ended = f"exit code {'unknown' if code is None else code}"
        self._lost_workers += 1
        if self._lost_workers >= MAX_LOST:
            self._give_up(f"the pool broke ({self._lost_workers} worker processes ended, "
                          f"the last with {ended})")
            return
        log.warning(
            "an extraction worker process ended (%s): another starts (%d of %d before "
            "extraction moves to a thread)", ended, self._lost_workers, MAX_LOST,
        )
        if not self._workers and not self._grow():
            self._give_up(f"the pool broke (its last worker ended, {ended}, none could start)")

    def _detach(self, worker: _Worker) -> None:
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_reader(worker.connection.fileno())
                self._loop.remove_writer(worker.connection.fileno())
        worker.connection.close()

    def _read_in_threads(self, waiting: list[_Waiting]) -> None:
        """Messages no worker will answer, read in threads (a message is never lost)."""
        extractor = self._extractor
        for text, names, usual, future in waiting:
            if future.done():
                continue
            assert extractor is not None, "a pool that sent a message has its extractor"
            read = asyncio.ensure_future(
                asyncio.to_thread(extractor.extract, text, names=names, usual=usual)
            )
            read.add_done_callback(functools.partial(_pass_on, future))

    async def warm_up(self, extractor: SignalExtractor, *, every_worker: bool = False) -> None:
        """Start the first worker (``every_worker``: all of them, as a busy bot would have,
        for benchmarks that measure a steady state) and wait until it has loaded its
        lexicons; without workers, load them in this process. The first message then pays
        nothing."""
        if await self._running_for(extractor):
            while every_worker and len(self._workers) < self.workers and self._grow():
                pass
            readiness = [w.ready for w in self._workers if w.ready is not None]
            loaded = await asyncio.gather(*readiness, return_exceptions=True)
            if any(isinstance(pid, int) for pid in loaded):
                return
        await asyncio.to_thread(warm, extractor)

    async def aclose(self) -> None:
        """Stop the workers: each answers what it holds, then exits; later extractions run
        in a thread, so nothing started after close outlives it."""
        self._fallback = self._fallback or "the pool was closed"
        await self._stop()

    async def _stop(self) -> None:
        """Tell every worker to stop, wait for their ends (``STOP_WAIT_S`` at most: then what
        a worker still holds is read in threads) and join their processes."""
        workers = list(self._workers)
        self._read_in_threads(list(self._observed))
        self._observed.clear()
        if asyncio.get_running_loop() is self._loop:
            for worker in workers:
                self._write(worker, frame(STOP))
            ends = [w.ended for w in workers if w.ended is not None]
            if ends:
                await asyncio.wait(ends, timeout=STOP_WAIT_S)
        # Still not ended (or started on another loop, which no longer reads their answers):
        # their sockets close under them, and a worker exits at its socket's end.
        for worker in list(self._workers):
            self._lost(worker)
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        ended, self._ended = self._ended, []
        if ended:
            await asyncio.to_thread(_join, [w.process for w in ended])

    async def _running_for(self, extractor: SignalExtractor) -> bool:
        """Whether ``extractor``'s messages go to the workers, starting the first one (in a
        thread: spawning an interpreter blocks for a moment) on first use."""
        if self.workers == 0 or self._fallback is not None:
            return False
        if self._extractor is not None and extractor is not self._extractor:
            return False  # not the extractor the workers hold: see the class docstring
        loop = asyncio.get_running_loop()
        if self._loop is not None and loop is not self._loop:
            return False  # its answers are read on the loop it started on
        if not self._workers:
            self._loop = loop
            first = await asyncio.to_thread(self._start, extractor)
            if first is not None:
                self._attach(first)
                if self._fallback is not None:  # closed while it was starting
                    await self._stop()
        return self._serves(extractor)

    def _start(self, extractor: SignalExtractor) -> _Worker | None:
        with self._starting:  # the first caller starts the pool; the others wait for it
            if self._workers or self._fallback is not None or self._extractor is not None:
                return None
            self._extractor = extractor
            try:
                worker = self._spawn()
            except Exception as exc:  # cannot spawn, or the extractor cannot be sent
                self._fallback = f"the pool could not start ({type(exc).__name__}: {exc})"
                log.error("signal extraction runs in a thread: %s", self._fallback)
                return None
            log.info("signal extraction runs in up to %d worker processes", self.workers)
            return worker

    def _spawn(self) -> _Worker:
        """A new worker process with its socket (its reader not attached yet)."""
        mine, theirs = socket.socketpair()
        process = multiprocessing.get_context("spawn").Process(
            target=serve,
            args=(theirs, self._extractor, self.nice),
            name="tailorbot extraction",
            daemon=True,  # never outlives the bot, however the bot ends
        )
        try:
            process.start()
        except BaseException:
            mine.close()
            raise
        finally:
            theirs.close()  # the worker's now: its end closing is how the bot sees it exit
        mine.setblocking(False)
        return _Worker(process, mine)

    def _attach(self, worker: _Worker) -> None:
        assert self._loop is not None
        worker.ready = self._loop.create_future()
        worker.started_at = self._loop.time()
        worker.ended = self._loop.create_future()
        self._workers.append(worker)
        self._loop.add_reader(worker.connection.fileno(), self._readable, worker)

    def _grow(self) -> bool:
        """One more worker, when there is room for it; whether one started."""
        if len(self._workers) >= self.workers or self._cannot_grow or self._fallback:
            return False
        try:
            self._attach(self._spawn())
        except Exception as exc:
            self._cannot_grow = True
            log.warning(
                "signal extraction stays in %d worker processes: %s", len(self._workers), exc
            )
            return False
        return True

    def _give_up(self, why: str) -> None:
        """Once per pool: stop using it and say why; extraction goes on in a thread. The
        workers still alive answer what they hold and exit."""
        self._fallback = why
        log.error("signal extraction runs in a thread from now on: %s", why)
        self._read_in_threads(list(self._observed))
        self._observed.clear()
        for worker in self._workers:
            self._write(worker, frame(STOP))


def _join(processes: list[BaseProcess]) -> None:
    """Wait for stopped workers to exit; one that does not in a few seconds is killed."""
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join()


def _settle(
    chunk: list[_Waiting], results: list[Outcome] | None, exc: BaseException | None
) -> None:
    """Each waiting message gets its own result or error; ``exc``: the whole chunk failed."""
    for i, (*_, future) in enumerate(chunk):
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
