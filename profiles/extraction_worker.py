"""An extraction worker's side, and the frames both sides of its socket speak.

A worker is a process of its own with one socket to the bot: it reads numbered chunks of
messages, answers each with their signals (a reply's first), and stops when told to or when
the bot's end closes (the bot is gone: nobody waits for an answer). Each frame is a pickle
after its length, so the bot's event loop reads answers as they arrive, a few bytes at a
time, with no thread of its own in between (see :mod:`profiles.extraction` for why).
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import socket
import struct
from collections import deque
from dataclasses import dataclass
from typing import Any

from profiles.signals import MessageSignals, SignalExtractor
from profiles.startup_heap import freeze_startup_objects

HEADER = struct.Struct("!Q")  # a frame's length, before its pickle
READ_SIZE = 1 << 16
# messages, the names to leave out of each, and its writer's usual language (a locale)
Chunk = list[tuple[str, tuple[str, ...], str | None]]
Outcome = MessageSignals | Exception  # one message's, from a worker


@dataclass(frozen=True, slots=True)
class Ready:
    """A worker's first frame: its lexicons are loaded, the next message pays nothing."""

    pid: int


STOP = None  # the frame that tells a worker to finish what it holds and exit


def frame(message: Any) -> bytes:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(payload)) + payload


class FrameReader:
    """Whole frames out of bytes as they arrive (a frame may come in pieces, or several in
    one read)."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Any]:
        self._buffer += data
        messages: list[Any] = []
        while len(self._buffer) >= HEADER.size:
            (size,) = HEADER.unpack_from(self._buffer)
            end = HEADER.size + size
            if len(self._buffer) < end:
                break
            # A frame from a worker this process started itself: trusted as its own data.
            messages.append(pickle.loads(memoryview(self._buffer)[HEADER.size : end]))
            del self._buffer[:end]
        return messages


@dataclass(frozen=True, slots=True)
class Request:
    """A chunk to extract, numbered by the bot (answers may come out of order: a reply's
    goes ahead of observed chunks the worker already holds)."""

    number: int
    reply: bool
    chunk: Chunk


@dataclass(frozen=True, slots=True)
class Answer:
    number: int
    outcomes: list[Outcome]


def serve(connection: socket.socket, extractor: SignalExtractor, nice: int = 0) -> None:
    """A worker's life: load the lexicons, say so, then answer requests until told to stop
    (after answering what it holds) or until the bot's end closes (nobody waits any more).

    A reply's request goes first, even ahead of the observed chunk in hand: between two
    messages the worker takes in whatever has arrived, so a reply waits for one message's
    extraction at most, not for the chunks sent before it (issue 16).

    Ctrl-C is the parent's to handle: a worker that died of it would break the pool while
    the bot shuts down in order. ``nice`` lowers the worker's CPU priority: with the workers
    on the bot's cores, the event loop — every reply's steps, the Discord heartbeat —
    competed with them on equal terms; extraction is throughput work that keeps up in
    batches, so under contention it takes what the loop leaves (docs/measurement.md,
    nineteenth session). The lexicons are frozen out of the collector's full passes: a pass
    walked their ~93k objects in ~40 ms, a stall of every message in the worker's hands."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if nice and hasattr(os, "nice"):
        os.nice(nice)
    warm(extractor)
    freeze_startup_objects()
    connection.setblocking(True)
    connection.sendall(frame(Ready(os.getpid())))
    inbox = _Inbox(connection)
    in_hand: tuple[Request, list[Outcome]] | None = None  # an observed chunk, part done
    while True:
        idle = in_hand is None and not (inbox.replies or inbox.requests or inbox.stopping)
        if not inbox.take_in(wait=idle):
            return  # the bot's end closed
        if inbox.replies:
            request = inbox.replies.popleft()
            connection.sendall(_answer(request.number, extract_many(extractor, request.chunk)))
            continue
        if in_hand is None:
            if not inbox.requests:
                if inbox.stopping:
                    return
                continue
            in_hand = (inbox.requests.popleft(), [])
        request, outcomes = in_hand
        outcomes.extend(extract_many(extractor, [request.chunk[len(outcomes)]]))
        if len(outcomes) == len(request.chunk):
            connection.sendall(_answer(request.number, outcomes))
            in_hand = None


class _Inbox:
    """What the bot has sent and the worker has not begun, replies apart."""

    def __init__(self, connection: socket.socket) -> None:
        self.connection = connection
        self.reader = FrameReader()
        self.replies: deque[Request] = deque()
        self.requests: deque[Request] = deque()  # observed chunks, in order
        self.stopping = False

    def take_in(self, *, wait: bool) -> bool:
        """Read what has arrived (``wait``: block until something has); False when the
        bot's end closed."""
        while True:
            ready, _, _ = select.select([self.connection], [], [], None if wait else 0)
            if not ready:
                return True
            data = self.connection.recv(READ_SIZE)
            if not data:
                return False
            for message in self.reader.feed(data):
                if message is STOP:
                    self.stopping = True
                elif message.reply:
                    self.replies.append(message)
                else:
                    self.requests.append(message)
            wait = False  # took something in: see whether more is there, without waiting


def warm(extractor: SignalExtractor) -> None:
    extractor.extract("Warming up the jazz piano lexicons before the first message")


def extract_many(extractor: SignalExtractor, chunk: Chunk) -> list[Outcome]:
    """Each message's signals, or the error it raised (it fails alone, not its chunk)."""
    outcomes: list[Outcome] = []
    for text, names, usual in chunk:
        try:
            outcomes.append(extractor.extract(text, names=names, usual=usual))
        except Exception as exc:
            outcomes.append(exc)
    return outcomes


def _answer(number: int, outcomes: list[Outcome]) -> bytes:
    """A request's answer; an error that cannot be pickled travels as its description."""
    try:
        return frame(Answer(number, outcomes))
    except Exception:
        described: list[Outcome] = [
            RuntimeError(f"{type(o).__name__}: {o}") if isinstance(o, Exception) else o
            for o in outcomes
        ]
        return frame(Answer(number, described))
