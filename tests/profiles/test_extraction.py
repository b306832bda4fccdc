"""The extraction pool: real worker processes extract what the extractor extracts in this
process; when a worker dies or the pool cannot start, extraction goes on in a thread and no
message is lost; a reply's message overtakes observed ones still waiting for a worker; a
long chunk never blocks the event loop; a worker never outlives the bot."""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from profiles.extraction import (
    AHEAD,
    MAX_LOST,
    OBSERVED_CHUNK,
    ExtractionPool,
    default_workers,
)
from profiles.signals import MessageSignals, SignalExtractor

TEXTS = [
    "I'm learning Rust async programming and reading about distributed systems",
    "Bonjour, je cherche un bon livre de science-fiction pour ce soir, des idées ?",
    "@maria loves sourdough bread baking, I prefer espresso and climbing 😂",
]
DIE = "a message that kills the worker process reading it"
FAIL = "a message the extractor cannot read"


class DiesInAWorker(SignalExtractor):
    """The real extractor, except that a worker process reading ``DIE`` dies on the spot
    (as one killed by the out-of-memory killer would). In this process it reads it."""

    def extract(
        self, text: str, *, names: Sequence[str] = (), usual: str | None = None
    ) -> MessageSignals:
        if text == DIE and multiprocessing.parent_process() is not None:
            os._exit(1)
        if text == FAIL:
            raise ValueError("unreadable")
        return super().extract(text, names=names, usual=usual)


HELD = "held:"


class HeldAtAGate(SignalExtractor):
    """The real extractor, except that a worker reading a message that starts with ``HELD``
    waits until the file ``gate`` exists (a minute at most: then it fails)."""

    def __init__(self, gate: str) -> None:
        super().__init__(max_keyphrases=3, max_chars=500)
        self.gate = gate

    def extract(
        self, text: str, *, names: Sequence[str] = (), usual: str | None = None
    ) -> MessageSignals:
        waits = 0
        while text.startswith(HELD) and not os.path.exists(self.gate):
            threading.Event().wait(0.005)  # not time.sleep: see tests/adapters/cli/test_run.py
            waits += 1
            if waits == 12_000:
                raise TimeoutError("the gate never opened: was the event loop held?")
        return super().extract(text, names=names, usual=usual)


@dataclass(frozen=True)
class Held:
    """One worker with a :class:`HeldAtAGate` extractor, loaded; ``open()`` opens the gate."""

    gate: Path
    extractor: HeldAtAGate
    pool: ExtractionPool

    def open(self) -> None:
        self.gate.touch()


@pytest.fixture
async def held(tmp_path: Path) -> AsyncIterator[Held]:
    gate = tmp_path / "open"
    extractor = HeldAtAGate(str(gate))
    pool = ExtractionPool(1)
    try:
        await pool.warm_up(extractor)
        yield Held(gate, extractor, pool)
    finally:
        await pool.aclose()
    assert workers_alive() == []


class MarksWhatItReads(SignalExtractor):
    """The real extractor, except that a worker writes each message it reads into the file
    ``seen`` before reading it."""

    def __init__(self, seen: str) -> None:
        super().__init__(max_keyphrases=3, max_chars=500)
        self.seen = seen

    def extract(
        self, text: str, *, names: Sequence[str] = (), usual: str | None = None
    ) -> MessageSignals:
        if multiprocessing.parent_process() is not None:
            with open(self.seen, "a", encoding="utf-8") as marks:
                marks.write(text + "\n")
        return super().extract(text, names=names, usual=usual)


class CannotBeSent(SignalExtractor):
    """An extractor that cannot be pickled to a worker (it holds a lock)."""

    def __init__(self) -> None:
        super().__init__(max_keyphrases=3)
        self.lock = threading.Lock()


FROZEN = "how many objects does this process keep out of the collector's full passes?"


class ReportsFrozen(SignalExtractor):
    """The real extractor, except that it answers ``FROZEN`` with its process's count of
    frozen objects (as the length)."""

    def extract(
        self, text: str, *, names: Sequence[str] = (), usual: str | None = None
    ) -> MessageSignals:
        if text == FROZEN:
            return MessageSignals((), None, gc.get_freeze_count(), 0, 0.0, 0)
        return super().extract(text, names=names, usual=usual)


def workers_alive() -> list[multiprocessing.Process]:
    return [p for p in multiprocessing.active_children() if p.pid != os.getpid()]


async def test_workers_extract_what_this_process_does_and_a_dead_one_is_replaced(
    caplog: pytest.LogCaptureFixture,
) -> None:
    extractor = DiesInAWorker(max_keyphrases=3, max_chars=500)
    pool = ExtractionPool(2)
    try:
        await pool.warm_up(extractor, every_worker=True)
        assert len(workers_alive()) == 2
        for text in TEXTS:
            names = ("maria",) if text.startswith("@maria") else ()
            assert await pool.extract(extractor, text, names=names) == extractor.extract(
                text, names=names
            )
        assert pool.running and pool.fallback is None
        assert len(workers_alive()) == 2

        # Many at once travel in chunks; each gets its own answer, a failure stays its own.
        many = [*TEXTS * 4, FAIL, *TEXTS]
        answers = await asyncio.gather(
            *(pool.extract(extractor, text) for text in many), return_exceptions=True
        )
        for text, answer in zip(many, answers, strict=True):
            if text == FAIL:
                assert isinstance(answer, ValueError)
            else:
                assert answer == extractor.extract(text)
        assert pool.running and pool.fallback is None

        before = {w.pid for w in workers_alive()}
        with caplog.at_level(logging.WARNING, logger="profiles.extraction"):
            # A worker dies on this one; the message is still read, in a thread, and
            # another worker takes the dead one's place.
            assert await pool.extract(extractor, DIE) == extractor.extract(DIE)
        assert pool.running and pool.fallback is None
        assert any("another starts" in r.getMessage() for r in caplog.records)
        await pool.warm_up(extractor, every_worker=True)
        after = {w.pid for w in workers_alive()}
        assert len(after) == 2 and len(after - before) == 1
        assert await pool.extract(extractor, TEXTS[0]) == extractor.extract(TEXTS[0])

        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="profiles.extraction"):
            # Something that kills every worker: at the MAX_LOST-th the pool is given up.
            for _ in range(MAX_LOST - 1):
                assert await pool.extract(extractor, DIE) == extractor.extract(DIE)
        assert not pool.running
        assert pool.fallback is not None and "broke" in pool.fallback
        assert any("runs in a thread" in r.getMessage() for r in caplog.records)
        assert await pool.extract(extractor, TEXTS[0]) == extractor.extract(TEXTS[0])
    finally:
        await pool.aclose()
    assert workers_alive() == []


async def test_workers_run_at_the_lower_priority_they_are_given() -> None:
    """On a busy machine the event loop goes first: each worker lowers its own CPU priority
    by ``nice`` (bot/config.py: extract_worker_nice) before its first message."""
    extractor = SignalExtractor(max_keyphrases=3)
    pool = ExtractionPool(2, nice=3)
    mine = os.getpriority(os.PRIO_PROCESS, 0)
    try:
        await pool.warm_up(extractor, every_worker=True)
        workers = workers_alive()
        assert len(workers) == 2
        assert [os.getpriority(os.PRIO_PROCESS, w.pid) for w in workers] == [
            min(mine + 3, 19)
        ] * 2
        assert await pool.extract(extractor, TEXTS[0]) == extractor.extract(TEXTS[0])
    finally:
        await pool.aclose()


async def test_a_worker_keeps_its_lexicons_out_of_the_collectors_full_passes() -> None:
    """A full collection walks every tracked object: in a worker holding the lexicons (~93k
    of them) a pass took ~40 ms, a stall of the messages in its hands and of the replies
    waiting for them."""
    extractor = ReportsFrozen(max_keyphrases=3)
    pool = ExtractionPool(1)
    try:
        await pool.warm_up(extractor)
        frozen = (await pool.extract(extractor, FROZEN, reply=True)).length
        assert pool.running and pool.fallback is None  # answered by the worker
        assert frozen > 50_000  # the lexicons' objects, not a handful
    finally:
        await pool.aclose()


async def test_an_extractor_that_cannot_reach_a_worker_is_read_in_a_thread(
    caplog: pytest.LogCaptureFixture,
) -> None:
    extractor = CannotBeSent()
    pool = ExtractionPool(2)
    with caplog.at_level(logging.ERROR, logger="profiles.extraction"):
        assert await pool.extract(extractor, TEXTS[0]) == extractor.extract(TEXTS[0])
    assert not pool.running
    assert pool.fallback is not None and "could not start" in pool.fallback
    assert any("could not start" in r.getMessage() for r in caplog.records)
    assert workers_alive() == []
    await pool.aclose()


async def test_no_workers_means_a_thread_and_no_process() -> None:
    extractor = SignalExtractor()
    pool = ExtractionPool(0)
    await pool.warm_up(extractor)
    assert await pool.extract(extractor, TEXTS[0]) == extractor.extract(TEXTS[0])
    assert not pool.running and pool.fallback is None
    assert workers_alive() == []
    await pool.aclose()


async def test_a_started_reply_reaches_a_worker_while_the_loop_is_busy(tmp_path: Path) -> None:
    # A reply's message is sent before start() returns: a worker reads it while the event
    # loop is held by other work. Before, it waited for two turns of the loop (the task
    # that asked for it, then the send), which under ingest were half a DM's wait.
    seen = tmp_path / "seen"
    extractor = MarksWhatItReads(str(seen))
    pool = ExtractionPool(1)
    question = "Which rust borrow checker book should I read next?"
    try:
        await pool.warm_up(extractor)
        started = pool.start(extractor, question, reply=True)
        waited = 0
        while question not in (seen.read_text("utf-8") if seen.exists() else ""):
            threading.Event().wait(0.005)  # the loop held, as a busy one is
            waited += 1
            assert waited < 6_000, "the worker never got the message while the loop was held"
        assert await started == extractor.extract(question)
        # Observed messages, and any pool that does not run, answer the same through it.
        assert await pool.start(extractor, TEXTS[0]) == extractor.extract(TEXTS[0])
        other = SignalExtractor(max_keyphrases=3)
        assert await pool.start(other, TEXTS[1], reply=True) == other.extract(TEXTS[1])
    finally:
        await pool.aclose()


async def test_a_closed_pool_reads_in_a_thread_and_starts_nothing() -> None:
    extractor = SignalExtractor()
    pool = ExtractionPool(2)
    await pool.aclose()
    assert await pool.extract(extractor, TEXTS[0]) == extractor.extract(TEXTS[0])
    assert pool.fallback == "the pool was closed"
    assert workers_alive() == []


def test_default_workers_is_the_cores_this_process_may_use() -> None:
    assert default_workers() == len(os.sched_getaffinity(0))
    with pytest.raises(ValueError):
        ExtractionPool(-1)


async def test_a_reply_is_extracted_before_observed_messages_still_waiting(held: Held) -> None:
    # One worker, held on the first observed message until the reply has been asked for: it
    # then holds two chunks (one per worker plus AHEAD), the other 44 observed messages wait
    # in the pool, and the reply is answered as soon as the message in hand is done, before
    # either chunk. Before the reply lane all sixty went in one chunk and the reply came
    # sixty-first; before the worker took replies first, seventeenth (after both chunks).
    pool, extractor = held.pool, held.extractor
    finished: list[str] = []

    async def extract(label: str, text: str, *, reply: bool = False) -> MessageSignals:
        found = await pool.extract(extractor, text, reply=reply)
        finished.append(label)
        return found

    observed = [
        asyncio.create_task(extract(f"observed {i}", f"{HELD} {TEXTS[i % len(TEXTS)]}"))
        for i in range(60)
    ]
    await asyncio.sleep(0.05)  # asked for and sent; the worker waits at the gate
    (worker,) = pool._workers
    in_hand = len(worker.sent)  # chunks in the worker's hands
    assert in_hand == 1 + AHEAD
    assert len(pool._observed) == 60 - in_hand * OBSERVED_CHUNK
    question = "Which rust borrow checker book should I read next?"
    answer = asyncio.create_task(extract("reply", question, reply=True))
    await asyncio.sleep(0.05)
    held.open()
    await asyncio.gather(answer, *observed)
    assert answer.result() == extractor.extract(question)
    assert len(finished) == 61
    assert finished.index("reply") == 0


async def test_a_chunk_longer_than_the_socket_takes_waits_in_the_pool_not_on_the_loop(
    held: Held,
) -> None:
    # The worker is held on a message, so it reads nothing more: a reply of several
    # megabytes does not fit in its socket. The rest waits in the pool and goes as the
    # worker reads, while the loop goes on; written in one blocking call, it would have held
    # the loop (and this test) until the gate gave up, and the held message would fail.
    pool, extractor = held.pool, held.extractor
    first_text = f"{HELD} {TEXTS[0]}"
    long = "rust borrow checker " * 400_000
    first = pool.start(extractor, first_text, reply=True)
    await asyncio.sleep(0.05)
    second = pool.start(extractor, long, reply=True)
    await asyncio.sleep(0.05)  # the loop turns while the rest waits to be written
    held.open()
    assert await first == extractor.extract(first_text)
    assert await second == extractor.extract(long)
    assert pool.running and pool.fallback is None


LEAVES_ITS_WORKER = """
import asyncio, os, sys
from profiles.extraction import ExtractionPool
from profiles.signals import SignalExtractor

async def main() -> None:
    pool = ExtractionPool(1)
    await pool.warm_up(SignalExtractor(max_keyphrases=3))
    (worker,) = pool._workers
    print(worker.process.pid, flush=True)
    os._exit(0)  # gone without closing anything, as a killed bot is

if __name__ == "__main__":
    asyncio.run(main())
"""


def test_a_worker_exits_when_the_bot_is_gone(tmp_path: Path) -> None:
    """A bot killed outright closes nothing: its worker sees its socket's end and exits
    rather than holding its lexicons' memory for good."""
    script = tmp_path / "bot.py"
    script.write_text(LEAVES_ITS_WORKER, encoding="utf-8")
    ran = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert ran.returncode == 0, ran.stderr
    pid = int(ran.stdout.split()[0])
    for _ in range(6_000):  # a minute at most
        if not _running(pid):
            break
        threading.Event().wait(0.01)
    assert not _running(pid), "the worker outlived the bot"


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (not a zombie left for its reaper)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def test_messages_still_waiting_when_the_pool_breaks_are_read_in_threads() -> None:
    # One worker, at the last death the pool allows: two chunks go to it, the first of which
    # kills it; the other messages still wait in the pool for a worker. All are answered,
    # in threads, none is left waiting.
    extractor = DiesInAWorker(max_keyphrases=3, max_chars=500)
    pool = ExtractionPool(1)
    texts = [DIE, *(TEXTS * 14)]
    try:
        await pool.warm_up(extractor)
        for _ in range(MAX_LOST - 1):
            assert await pool.extract(extractor, DIE, reply=True) == extractor.extract(DIE)
            await pool.warm_up(extractor)  # its replacement ready
        assert pool.running
        answers = await asyncio.wait_for(
            asyncio.gather(*(pool.extract(extractor, text) for text in texts)), timeout=120
        )
        assert answers == [extractor.extract(text) for text in texts]
        assert pool.fallback is not None and "broke" in pool.fallback
    finally:
        await pool.aclose()
    assert workers_alive() == []


async def test_replies_that_arrive_together_are_all_answered(held: Held) -> None:
    # The worker is held on one reply while five more arrive: it takes them in at once,
    # and answers each (it once answered the first and waited for more, the rest unread).
    pool, extractor = held.pool, held.extractor
    first_text = f"{HELD} {TEXTS[0]}"
    more = [f"{text} {i}" for i, text in enumerate(TEXTS * 2)]
    first = pool.start(extractor, first_text, reply=True)
    await asyncio.sleep(0.05)
    others = [pool.start(extractor, text, reply=True) for text in more]
    await asyncio.sleep(0.05)
    held.open()
    answers = await asyncio.wait_for(asyncio.gather(first, *others), timeout=60)
    assert answers == [extractor.extract(text) for text in [first_text, *more]]


async def test_a_worker_stuck_on_a_message_is_replaced_and_its_reply_fails_in_time(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The gate never opens: the worker never answers. After stuck_after_s its request fails
    # (a reply is then answered without signals: bot/pipeline/chat.py _signals), the worker
    # is killed and another takes its place.
    extractor = HeldAtAGate(str(tmp_path / "never"))
    pool = ExtractionPool(1, stuck_after_s=0.5)
    try:
        await pool.warm_up(extractor)
        (stuck,) = workers_alive()
        with (
            caplog.at_level(logging.ERROR, logger="profiles.extraction"),
            pytest.raises(TimeoutError, match="signal extraction took over"),
        ):
            await asyncio.wait_for(
                pool.extract(extractor, f"{HELD} {TEXTS[0]}", reply=True), timeout=30
            )
        assert any("unanswered" in r.getMessage() for r in caplog.records)
        assert await pool.extract(extractor, TEXTS[0], reply=True) == extractor.extract(TEXTS[0])
        assert pool.running and pool.fallback is None
        assert stuck.pid not in {w.pid for w in workers_alive()}
    finally:
        await pool.aclose()
    assert workers_alive() == []
