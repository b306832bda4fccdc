"""/consent and /forget (bot/commands/privacy.py) through the core: a destructive command
does exactly what was typed, or nothing."""

from __future__ import annotations

import pytest

from profiles.memory_models import Memory
from profiles.models import Consent, ConsentStatus
from tests.support.helpers import command, count, grant, person, person_id


@pytest.mark.parametrize("typed", ["confirm nothing", "confirm al", "confirm all now",
                                   "confirm confirm", "cancel please"])
async def test_forget_with_unknown_words_is_a_usage_error_that_deletes_nothing(core, typed):
    """Input audit: "/forget confirm nothing" erased everything, "/forget confirm al" (a
    typo of "all") erased this identity only."""
    alice = person()
    await grant(core, alice)
    await core.handle(command(alice, "memory", "add I'm vegetarian"))
    pid = await person_id(core, alice)

    [reply] = await core.handle(command(alice, "forget", typed))

    assert reply.purpose == "error" and reply.text.startswith("Usage: /forget"), reply.text
    assert await person_id(core, alice) == pid
    assert await count(core, Memory, person_id=pid) == 1
    assert await count(core, Consent, person_id=pid, status=ConsentStatus.GRANTED.value) == 1


@pytest.mark.parametrize("typed", ["confirm", "CONFIRM ALL"])
async def test_forget_confirm_and_confirm_all_still_delete(core, typed):
    alice = person()
    await grant(core, alice)
    [reply] = await core.handle(command(alice, "forget", typed))
    assert reply.text.startswith("Done. I deleted everything about you")
    assert await person_id(core, alice) is None


async def test_consent_with_unknown_words_changes_nothing(core):
    """Input audit: "/consent revoke nowhere" and "/consent grant everywhre" quietly acted
    on this workspace only."""
    alice, discord = person(), person("dana", platform="discord")
    await grant(core, alice)
    pid = await person_id(core, alice)
    for typed in ("revoke nowhere", "revoke everywhere now", "decline all", "status please"):
        [reply] = await core.handle(command(alice, "consent", typed))
        assert reply.purpose == "error" and reply.text.startswith("Usage: /consent"), typed
    assert await count(core, Consent, person_id=pid, status=ConsentStatus.GRANTED.value) == 1

    [reply] = await core.handle(command(discord, "consent", "grant everywhre"))
    assert reply.text.startswith("Usage: /consent")
    dana = await person_id(core, discord)
    assert await count(core, Consent, person_id=dana, status=ConsentStatus.GRANTED.value) == 0

    [reply] = await core.handle(command(discord, "consent", "grant everywhere"))
    assert "in every server" in reply.text
    [reply] = await core.handle(command(alice, "consent", "revoke"))
    assert reply.text.startswith("Done: I stopped learning")
