"""Stage 3 (observe) keeps the event loop free: signals are extracted in a worker thread, so
other people's events and the adapters' heartbeats go on while a long message is read."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Sequence

from bot.events import Surface
from profiles.models import Interest
from profiles.signals import MessageSignals, SignalExtractor
from tests.support.helpers import count, grant, message, person, person_id, reaction

TEXT = "I'm learning Rust async programming and reading about distributed systems"


class WaitsForTheLoop(SignalExtractor):
    """The real extractor, which first waits until the event loop shows it is still running
    (if extraction ran on the loop, the loop could not answer and the wait would fail)."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.loop_answered = threading.Event()
        self.calls = 0

    def extract(
        self, text: str, *, names: Sequence[str] = (), usual: str | None = None
    ) -> MessageSignals:
        self.calls += 1
        self.started.set()
        assert self.loop_answered.wait(timeout=20), "the event loop was blocked while extracting"
        self.loop_answered.clear()
        return super().extract(text, names=names, usual=usual)


async def keep_answering(extractor: WaitsForTheLoop) -> None:
    """Runs on the loop: each time an extraction starts, the loop answers it."""
    while True:
        if await asyncio.to_thread(extractor.started.wait, 0.05):
            extractor.started.clear()
            extractor.loop_answered.set()


async def test_extraction_runs_off_the_event_loop(make_core) -> None:
    extractor = WaitsForTheLoop()
    core = await make_core()
    core.services.extractor = extractor
    alice = person("alice")
    await grant(core, alice)
    events = [
        message(alice, TEXT),  # a DM: learns and answers
        message(alice, TEXT, surface=Surface.CHANNEL),  # observed only
        reaction(alice, "someone-else", "🔥", target_text="sourdough bread baking",
                 target_author="alice"),
    ]
    answering = asyncio.ensure_future(keep_answering(extractor))
    try:
        for event in events:
            await asyncio.wait_for(core.handle(event), timeout=60)
    finally:
        answering.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await answering
    assert extractor.calls >= 3
    assert await count(core, Interest, person_id=await person_id(core, alice)) > 0
