"""bot.command_catalog is the one description of the commands (the manifest reads it without
importing the handlers); every entry has a handler and every handler an entry."""

from __future__ import annotations

import pytest

from bot.command_base import command
from bot.command_catalog import CATALOG
from bot.commands import REGISTRY


def test_every_catalogued_command_has_a_handler_and_no_handler_is_uncatalogued() -> None:
    assert sorted(CATALOG) == sorted(REGISTRY), "add or remove it in bot/command_catalog.py"


def test_the_registry_reads_its_texts_from_the_catalog() -> None:
    for name, spec in REGISTRY.items():
        info = CATALOG[name]
        assert (spec.summary, tuple(spec.usage), spec.subcommands) == (
            info.summary,
            info.usage,
            info.subcommands,
        )


def test_a_handler_without_an_entry_cannot_register() -> None:
    with pytest.raises(KeyError):
        command("no-such-command")
