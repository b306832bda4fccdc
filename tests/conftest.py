"""Shared fixtures. Databases are real (tests/support/databases.py); the model is the
scripted backend unless a test starts the local fake model server."""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

import pytest
import threadpoolctl

from bot.config import Settings
from bot.core import Core
from bot.environment_writers import load_environment_writers
from bot.event_loop import EventLoopChoice, loop_factory
from bot.llm import LLMBackend, ScriptedBackend
from bot.memory.feature import MemoryFeature
from profiles.db import Database
from tests.support.faketime import environment_writes_on_the_main_thread_only, mend_sleep

mend_sleep()  # see tests/support/faketime.py: the time-shifted pass must not depend on luck
environment_writes_on_the_main_thread_only()  # and why, in the same file
load_environment_writers()  # as every command does before its event loop starts
# One BLAS thread, in the test processes and in what they start: two xdist workers share two
# cores, and OpenBLAS's threads spin waiting for each other on a busy core (the bench's
# tuning tests spent half their CPU time so; `python -m bench` sets the same). numpy is
# loaded already (just above, or by pytest-randomly), so its own limit is set directly; the
# variable covers what loads later (scipy's OpenBLAS) and subprocesses.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
threadpoolctl.threadpool_limits(limits=1, user_api="blas")
# Signal extraction in a thread, not in worker processes: spawning interpreters that load
# the lexicons costs seconds per core built. Set in the environment, so it holds for every
# Settings a test makes and for the bots that tests start as subprocesses; the tests of the
# pool itself (tests/profiles/test_extraction.py, tests/bot/test_extraction_workers.py) ask
# for workers explicitly.
os.environ["TAILORBOT_EXTRACT_WORKERS"] = "0"
# Replaced by a per-test directory in `data_dir` below; set here, before any test, so that
# the per-test value replaces an entry rather than adding one (tests/support/faketime.py).
os.environ["TAILORBOT_DATA_DIR"] = os.path.join(tempfile.gettempdir(), "tailorbot-tests-no-data")

pytest_plugins = ["tests.support.databases", "tests.support.fixtures_llm"]

MakeCore = Callable[..., Awaitable[Core]]


# The event loop the tests run on: the bot's (bot/event_loop.py), uvloop unless the
# environment asks for asyncio's, as the bot's settings read it (the Makefile's second pass
# does, so both loops are tested; the bots tests start as subprocesses inherit it). Tests
# marked ``asyncio_loop`` drive that loop's own internals and run on it in both passes.
EVENT_LOOP = cast(EventLoopChoice, os.environ.get("TAILORBOT_EVENT_LOOP", "uvloop"))


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Any]:
    choice: EventLoopChoice = (
        "asyncio" if item.get_closest_marker("asyncio_loop") is not None else EVENT_LOOP
    )
    return {choice: loop_factory(choice)}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The static checks first (pyproject.toml's ``static`` marker): mypy alone keeps one
    worker busy for ~45 s, and collected last (tests/test_types.py) it ran by itself at the
    end of the pass while the other worker had nothing left to do. Otherwise the order stays
    as collected (the time-shifted pass shuffles it, and leaves these out)."""
    items.sort(key=lambda item: item.get_closest_marker("static") is None)


@pytest.fixture(autouse=True)
def data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Files the bot writes for people (terminal exports) go to a per-test directory, never
    the developer's real data directory (subprocesses inherit the variable)."""
    path = tmp_path_factory.mktemp("data")
    monkeypatch.setenv("TAILORBOT_DATA_DIR", str(path))
    return path


@pytest.fixture(scope="session", autouse=True)
def _warm_signal_lexicons() -> None:
    """Extraction loads its lexicons on first use (seconds on a busy machine); load them once
    per session so that cost never lands inside a test's own timeouts."""
    from profiles.signals import warm_up

    warm_up()


@pytest.fixture
def settings_for(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Settings]:
    def make(database_url: str, **overrides: Any) -> Settings:
        # Each core's outage journal in its own temporary file: a journal left in the working
        # directory would be replayed into another test's database.
        overrides.setdefault(
            "outage_journal", str(tmp_path_factory.mktemp("journal") / "outage.journal")
        )
        # _env_file=None: a developer's .env must not leak into tests.
        return Settings(database_url=database_url, auto_migrate=False, _env_file=None, **overrides)  # type: ignore[call-arg]

    return make


def settle_learning(core: Core) -> Core:
    """Make ``core.handle`` return only once the learning it queued is applied.

    Observed channel messages and reactions elsewhere are learned by a background batch
    (bot/learning.py), ~50 ms after ``handle`` returns. Tests that read the profile right
    after an event would otherwise race that batch; with this they see what a reader a
    moment later sees. The workspace background's counts, refreshed off the reply path
    (profiles/background.py), are settled the same way. Tests of the batching itself build
    their core with ``settle=False``.
    """
    handle = core.handle

    async def settled(*args: Any, **kwargs: Any) -> Any:
        try:
            return await handle(*args, **kwargs)
        finally:
            await core.services.learner.flush()
            await core.services.engine.background.settle()

    core.handle = settled  # type: ignore[method-assign]
    return core


@pytest.fixture
async def make_core(
    database_url: str, settings_for: Callable[..., Settings]
) -> AsyncIterator[MakeCore]:
    """Build cores on this test's database (SQLite and PostgreSQL)."""
    made: list[Core] = []

    async def make(
        llm: LLMBackend | None = None, *, settle: bool = True, **overrides: Any
    ) -> Core:
        settings = settings_for(database_url, **overrides)
        core = Core(settings, Database(settings.database_url), llm or ScriptedBackend())
        # As the composition root (bot/app.py) does; the digest feature is installed by the
        # digest tests themselves (bot.digest.install), with their own parts.
        core.services.features.register(MemoryFeature(core.services))
        if settle:
            settle_learning(core)
        made.append(core)
        return core

    yield make
    for core in made:
        await core.aclose()
        await core.services.db.dispose()


@pytest.fixture
async def core(make_core: MakeCore) -> Core:
    return await make_core()
