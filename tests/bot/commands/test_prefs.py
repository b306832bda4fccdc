"""/prefs (bot/commands/prefs.py) through the core."""

from __future__ import annotations

from tests.support.helpers import command, person


async def test_an_unknown_key_lists_the_valid_keys_once(core):
    """Input audit: "/prefs set nonsense value" listed the valid keys twice (in the
    preference error, then again under "Valid keys")."""
    [reply] = await core.handle(command(person(), "prefs", "set nonsense value"))
    assert reply.purpose == "error"
    assert reply.text.startswith("unknown preference 'nonsense'.\nValid keys:\n")
    assert reply.text.count("avoid_topics") == 1
