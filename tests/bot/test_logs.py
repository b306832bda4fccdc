"""Logging: the bot's own lines at any level, and no line that holds what people wrote."""

from __future__ import annotations

import logging

import pytest

from bot import logs
from tests.conftest import MakeCore
from tests.support.helpers import grant, message, person

WORDS = "my zanzibarquux garden needs flumptastic tomatoes"


async def debug_log_of_a_conversation(
    make_core: MakeCore, capsys: pytest.CaptureFixture[str], library_level: str
) -> str:
    """Everything logged at DEBUG while a person is answered and learned from."""
    core = await make_core()
    alice = person()
    capsys.readouterr()
    logs.configure("DEBUG", library_level=library_level)
    try:
        await core.handle(message(alice, WORDS))  # held until the consent answer
        await grant(core, alice)  # the held exchange is stored now
        await core.handle(message(alice, WORDS))
        await core.services.learner.flush()
        logging.getLogger("bot.test").debug("a first-party line")
    finally:
        logs.configure("WARNING")
    return capsys.readouterr().err


async def test_debug_logs_hold_no_words_people_wrote(
    make_core: MakeCore, capsys: pytest.CaptureFixture[str]
) -> None:
    """At DEBUG aiosqlite logs each statement with its values (the turn's text, a memory),
    a copy of the person's words /forget cannot reach: library lines below INFO are
    dropped, the bot's own are kept."""
    err = await debug_log_of_a_conversation(make_core, capsys, "INFO")
    assert "a first-party line" in err
    assert "zanzibarquux" not in err and "flumptastic" not in err


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # psycopg logs no values
async def test_libraries_log_below_info_only_when_asked(
    make_core: MakeCore, capsys: pytest.CaptureFixture[str]
) -> None:
    """The operator's opt-in (``log_library_level``) shows the libraries' debug lines, and
    on SQLite those hold the words: what the default keeps out."""
    err = await debug_log_of_a_conversation(make_core, capsys, "DEBUG")
    assert "aiosqlite" in err and "zanzibarquux" in err
