"""An extraction worker's side, and the frames both sides of its socket speak.

A worker is a process of its own with one socket to the bot: it reads chunks of messages,
answers each chunk with their signals in the order they came, and stops when told to or when
the bot's end closes (the bot is gone: nobody waits for an answer). Each frame is a pickle
after its length, so the bot's event loop reads answers as they arrive, a few bytes at a
time, with no thread of its own in between (see :mod:`profiles.extraction` for why).
"""

from __future__ import annotations

import os
import pickle
import signal
import socket
import struct
from dataclasses import dataclass
from typing import Any

from profiles.signals import MessageSignals, SignalExtractor
from profiles.startup_heap import freeze_startup_objects

HEADER = struct.Struct("!Q")  # a frame's length, before its pickle
Chunk = list[tuple[str, tuple[str, ...]]]  # messages and the names to leave out of each
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


def serve(connection: socket.socket, extractor: SignalExtractor, nice: int = 0) -> None:
    """A worker's life: load the lexicons, say so, then answer chunks until told to stop.

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
    incoming = connection.makefile("rb")
    connection.sendall(frame(Ready(os.getpid())))
    while True:
        header = incoming.read(HEADER.size)
        if len(header) < HEADER.size:
            return  # the bot's end closed
        (size,) = HEADER.unpack(header)
        chunk = pickle.loads(incoming.read(size))
        if chunk is STOP:
            return
        connection.sendall(_answer(extract_many(extractor, chunk)))


def warm(extractor: SignalExtractor) -> None:
    extractor.extract("Warming up the jazz piano lexicons before the first message")


def extract_many(extractor: SignalExtractor, chunk: Chunk) -> list[Outcome]:
    """Each message's signals, or the error it raised (it fails alone, not its chunk)."""
    outcomes: list[Outcome] = []
    for text, names in chunk:
        try:
            outcomes.append(extractor.extract(text, names=names))
        except Exception as exc:
            outcomes.append(exc)
    return outcomes


def _answer(outcomes: list[Outcome]) -> bytes:
    """The chunk's answer; an error that cannot be pickled travels as its description."""
    try:
        return frame(outcomes)
    except Exception:
        return frame(
            [
                RuntimeError(f"{type(o).__name__}: {o}") if isinstance(o, Exception) else o
                for o in outcomes
            ]
        )
