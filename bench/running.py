"""The bench's coroutines run on the event loop the bot runs on (bot/event_loop.py, chosen by
``TAILORBOT_EVENT_LOOP`` as the bot's settings read it): a figure measured on another loop
would not be the bot's."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

from bot.config import Settings
from bot.event_loop import LoopFactory, loop_factory

T = TypeVar("T")


def bots_loop_factory() -> LoopFactory:
    """What makes the event loop the bot's settings name."""
    return loop_factory(Settings().event_loop)


def event_loop_name() -> str:
    """The loop the bench runs on, for its header: what the settings ask for, and what it is."""
    loop = bots_loop_factory()()
    try:
        return f"{type(loop).__module__}.{type(loop).__name__}"
    finally:
        loop.close()


def run(main: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=bots_loop_factory()) as runner:
        return runner.run(main)
