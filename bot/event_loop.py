"""The event loop the bot runs on: uvloop (libuv's) where it is installed, asyncio's own
otherwise or when asked (``event_loop = "asyncio"``).

Why: the bot is one event loop doing many small things — a reply's database round trips,
the intake's and learner's hand-offs, the platform's sockets — and at maximum ingest each of
them waits for a turn of that loop. uvloop's turn costs less: on the scale bench it cut the
loop's lag p99 in 7 of 8 pairs and raised throughput by a few per cent
(docs/measurement.md, "uvloop"). Every library the bot uses (aiohttp under discord.py and
slack-bolt, psycopg, aiosqlite, the model SDKs' httpx) runs on it, and the test suite runs
on both loops (Makefile). uvloop has no Windows build: there asyncio's loop is used."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Literal

log = logging.getLogger(__name__)

EventLoopChoice = Literal["uvloop", "asyncio"]
LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def loop_factory(choice: EventLoopChoice) -> LoopFactory:
    """What makes the event loop ``choice`` names (for ``asyncio.Runner(loop_factory=...)``);
    uvloop missing (Windows, an install without it) falls back to asyncio's, and says so."""
    if choice == "uvloop":
        try:
            import uvloop
        except ImportError:
            log.info("uvloop is not installed: running on asyncio's event loop")
        else:
            return uvloop.new_event_loop
    return asyncio.new_event_loop
