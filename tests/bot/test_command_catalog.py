"""bot.command_catalog is the registry's description as plain data (the manifest reads it
without importing the handlers): any drift between the two is named here."""

from __future__ import annotations

from bot.command_catalog import CATALOG, CommandInfo
from bot.commands import REGISTRY


def test_catalog_describes_exactly_the_registered_commands() -> None:
    registered = {
        name: CommandInfo(name, spec.summary, tuple(spec.usage), spec.subcommands)
        for name, spec in REGISTRY.items()
    }
    assert sorted(CATALOG) == sorted(registered), "add or remove it in bot/command_catalog.py"
    drifted = [name for name in registered if CATALOG[name] != registered[name]]
    assert not drifted, f"update bot/command_catalog.py for: {drifted}"
