"""Memory as a registered feature (bot/memory/feature.py): it unlinks a forgotten identity
inside the /forget transaction, and when that fails the person is told, by the feature's
name, that nothing was deleted."""

from __future__ import annotations

from bot.memory.feature import MemoryFeature
from profiles.memory_models import IdentityLink, Memory
from tests.bot.memory.test_links import DISCORD, SLACK, link, make
from tests.support.helpers import command, count, message, person_id


async def test_the_memory_feature_unlinks_a_forgotten_identity(make_core):
    core, _, _ = await make(make_core)
    assert isinstance(core.services.features.get("memory"), MemoryFeature)
    await link(core)
    assert await count(core, IdentityLink) == 2

    await core.handle(command(DISCORD, "forget", "confirm"))

    assert await person_id(core, DISCORD) is None
    assert await count(core, IdentityLink) == 0  # the identity left alone is unlinked too


async def test_a_failing_memory_erasure_is_reported_by_name_and_deletes_nothing(
    make_core, monkeypatch, caplog
):
    core, _, _ = await make(make_core)
    await core.handle(message(DISCORD, "remember that I like tea"))
    await link(core)
    feature = core.services.features.get("memory")

    async def fails(session, person):
        raise RuntimeError("identity_link is locked")

    monkeypatch.setattr(feature, "erase", fails)
    [reply] = await core.handle(command(DISCORD, "forget", "confirm"))

    assert reply.purpose == "error"
    assert "Nothing was changed: the memory part failed" in reply.text
    assert "memory could not erase person" in caplog.text  # the operator sees why
    # Rolled back as a whole: the person, their memory and the link are all still there.
    pid = await person_id(core, DISCORD)
    assert pid is not None
    assert await count(core, Memory, person_id=pid) == 1
    assert await count(core, IdentityLink) == 2
    assert await person_id(core, SLACK) is not None
