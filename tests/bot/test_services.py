"""Services: an adapter's outbox is where replays and digests leave, until it is closed;
signal extraction runs in worker processes that live as long as the core."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.exc import DBAPIError

from bot.core import Core
from bot.digest import digests_for
from bot.events import AnyEvent, Reply
from bot.llm import ScriptedBackend
from bot.services import Services
from profiles.db import Database
from profiles.extraction import default_workers
from profiles.models import Person
from profiles.signals import SignalExtractor
from tests.support.helpers import message, person
from tests.support.ports import free_port


class RecordingOutbox:
    platform = "test"

    def __init__(self) -> None:
        self.replied: list[str] = []
        self.sent: list[str] = []

    async def reply(self, event: AnyEvent, replies: list[Reply]) -> None:
        self.replied.extend(r.text for r in replies)

    async def send(self, person: Person, replies: list[Reply]) -> None:
        self.sent.extend(f"{person.user_id}:{r.text}" for r in replies)


async def test_an_open_outbox_carries_replays_and_digests_until_closed(core: Any) -> None:
    services = core.services
    outbox = RecordingOutbox()
    services.open_outbox(outbox)
    event = message(person("alice"), "hi")
    assert await services.deliver_to(event, [Reply(text="late answer")])
    delivery = digests_for(core.services).delivery_for("test")
    assert delivery is not None
    await delivery(Person(platform="test", workspace="W1", user_id="alice"), [Reply(text="d")])
    assert outbox.replied == ["late answer"] and outbox.sent == ["alice:d"]

    services.close_outbox(outbox)
    assert not await services.deliver_to(event, [Reply(text="nobody")])
    assert digests_for(core.services).delivery_for("test") is None
    assert outbox.replied == ["late answer"]


async def test_extraction_workers_follow_the_setting_and_stop_with_the_core(
    tmp_path: Any, settings_for: Any, monkeypatch: Any
) -> None:
    """Unset means one worker per core; the pool starts on the first extraction, in real
    processes, and closing the core stops them."""
    monkeypatch.delenv("TAILORBOT_EXTRACT_WORKERS")
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    unset = Services.build(settings_for(url), Database(url), ScriptedBackend())
    assert unset.extraction.workers == default_workers()
    core = Core(settings_for(url, extract_workers=1), Database(url), ScriptedBackend())
    try:
        assert not core.services.extraction.running  # nothing started by building the core
        text = "I'm learning Rust async programming and reading about distributed systems"
        signals = await core.services.extract(text)
        assert signals == SignalExtractor().extract(text)
        assert core.services.extraction.running
        assert [p for p in multiprocessing.active_children() if p.pid != os.getpid()]
    finally:
        await core.aclose()
        await core.services.db.dispose()
    assert not core.services.extraction.running
    assert multiprocessing.active_children() == []


# A fresh interpreter: what the test process loaded already cannot hide a load. It builds the
# bot's services with one extraction worker (so extraction's lexicons load elsewhere), warms
# them up or not, then ranks and names profile topics as a reply's context does and names a
# reaction as the intake does, counting the files this process opens meanwhile: each is a
# lexicon (or the emoji package's module and data) loaded on the event loop.
_RANK_AFTER_START = """
import asyncio, sys, tempfile
from bot.config import Settings
from bot.llm import NoModelBackend
from bot.services import Services
from profiles.background import families, family_label, is_junk
from profiles.db import Database
from profiles.feedback import reaction_value

async def start(url, warm):
    services = Services.build(
        Settings(database_url=url, extract_workers=1, _env_file=None), Database(url),
        NoModelBackend(),
    )
    try:
        if warm:
            await services.warm_up()
    finally:
        await services.extraction.aclose()

if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(start(f"sqlite:///{folder}/bot.db", sys.argv[1] == "warm"))
    opened = []
    sys.addaudithook(lambda event, args: opened.append(args[0]) if event == "open" else None)
    topics = ["jazz pianos", "jazz piano", "good", "kubernetes clusters", "climbing"]
    [is_junk(t) for t in topics]
    for members in families(topics):
        family_label([(t, 1.0) for t in members])
    reaction_value("\\N{PARTY POPPER}")  # as the intake names a reaction
    print(len(opened), opened[:5])
"""


def _files_opened_ranking_topics(tmp_path: Path, how: str) -> int:
    script = tmp_path / "rank_after_start.py"
    script.write_text(_RANK_AFTER_START)
    done = subprocess.run(
        [sys.executable, str(script), how], capture_output=True, text=True, timeout=180,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[0])


def test_start_up_loads_the_lexicons_replies_rank_profiles_with(tmp_path: Path) -> None:
    # Without the warm-up the first reply's ranking reads wordfreq's, lemminflect's and
    # VADER's files on the event loop (~0.7 s that no other reply or heartbeat gets).
    assert _files_opened_ranking_topics(tmp_path, "cold") > 0
    assert _files_opened_ranking_topics(tmp_path, "warm") == 0


async def test_warming_up_opens_the_database_connections_and_survives_a_database_away(
    tmp_path: Path, settings_for: Any, caplog: Any
) -> None:
    """What ``tailorbot run`` warms at start includes the pool's connections; a database
    that cannot be reached then is logged, not raised (events meet the outage journal)."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    services = Services.build(
        settings_for(url, extract_workers=0), Database(url), ScriptedBackend()
    )
    away = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    unreachable = Services.build(
        settings_for(away, extract_workers=0), Database(away), ScriptedBackend()
    )
    try:
        await services.warm_up()
        pool = services.db.engine.sync_engine.pool
        assert pool.checkedin() == pool.size() >= 5  # type: ignore[attr-defined]
        await unreachable.warm_up()
        assert "database not reachable at start" in caplog.text
    finally:
        for each in (services, unreachable):
            await each.extraction.aclose()
            await each.db.dispose()


def _aborted(error: Exception) -> DBAPIError:
    """How SQLAlchemy raises the driver's refusal (``orig``: psycopg's typed error)."""
    return DBAPIError("statement", {}, error)


async def test_a_transaction_aborted_over_a_conflict_runs_again_and_nothing_else_does(
    core: Any,
) -> None:
    """Deadlocks and serialization failures (PostgreSQL aborted the transaction; nothing of
    it was kept) run again, three runs at most; any other refusal is raised at once. A real
    deadlock is staged in tests/bot/handlers/test_commands.py; here, the rule."""
    services: Services = core.services
    runs: list[str] = []

    def work_failing(*errors: Exception) -> Any:
        queue = list(errors)

        async def work(session: Any) -> str:
            runs.append("run")
            if queue:
                raise _aborted(queue.pop(0))
            return "done"

        return work

    conflicts = (psycopg.errors.DeadlockDetected("d"), psycopg.errors.SerializationFailure("s"))
    assert await services.in_transaction(work_failing(*conflicts)) == "done"
    assert len(runs) == 3

    runs.clear()
    with pytest.raises(DBAPIError):
        await services.in_transaction(work_failing(*conflicts, conflicts[0]))
    assert len(runs) == 3

    runs.clear()
    with pytest.raises(DBAPIError):
        await services.in_transaction(work_failing(psycopg.errors.UniqueViolation("u")))
    assert len(runs) == 1

    async def fails_after_commit() -> None:
        raise _aborted(conflicts[0])

    async def committed(session: Any) -> str:
        runs.append("run")
        services.after_commit(session, fails_after_commit)
        return "done"

    runs.clear()  # committed: what fails after it never runs the work again
    with pytest.raises(DBAPIError):
        await services.in_transaction(committed)
    assert len(runs) == 1
