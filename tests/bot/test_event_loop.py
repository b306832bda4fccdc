"""The event loop the bot runs on (bot/event_loop.py), as ``tailorbot run`` starts it."""

from __future__ import annotations

import asyncio
import sys

import pytest

from adapters.cli.runtime import run_async
from bot.config import Settings
from bot.event_loop import EventLoopChoice, loop_factory


async def running_loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


@pytest.mark.parametrize(("choice", "module"), [("uvloop", "uvloop"), ("asyncio", "asyncio")])
def test_the_bot_runs_on_the_loop_its_settings_name(
    choice: EventLoopChoice, module: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAILORBOT_EVENT_LOOP", choice)
    settings = Settings()
    assert run_async(running_loop_module(), settings).split(".")[0] == module


def test_the_default_is_uvloop_and_without_it_asyncio(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvloop has no Windows build: there (or in an install without it) the bot runs on
    asyncio's loop rather than failing to start."""
    monkeypatch.delenv("TAILORBOT_EVENT_LOOP", raising=False)
    assert Settings().event_loop == "uvloop"
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop raises ImportError
    loop = loop_factory("uvloop")()
    try:
        assert type(loop).__module__.startswith("asyncio")
    finally:
        loop.close()
