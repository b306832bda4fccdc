"""The feature contract: every registered feature hears of a deletion even when another one
fails, and /forget tells the person which part could not be deleted."""

from __future__ import annotations

from typing import Any

import pytest

from bot.features import FeatureBase, Features
from bot.llm import ScriptedBackend
from profiles.models import Person, Signal
from tests.support.helpers import action, count, grant, message, person, person_id


class Broken(FeatureBase):
    name = "broken_store"

    async def delete_person_data(self, person: Person) -> None:
        raise OSError("the job store is gone")


class Recording(FeatureBase):
    name = "recording"

    def __init__(self) -> None:
        self.deleted: list[str] = []
        self.closed = False

    async def delete_person_data(self, person: Person) -> None:
        self.deleted.append(person.user_id)

    async def close(self) -> None:
        self.closed = True


async def test_forget_reports_a_failed_feature_and_still_asks_the_others(make_core: Any) -> None:
    core = await make_core(ScriptedBackend(["noted"]))
    recording = Recording()
    core.services.features.register(Broken())
    core.services.features.register(recording)
    alice = person("alice")
    await grant(core, alice)
    await core.handle(message(alice, "I restore vintage motorcycles on weekends"))
    pid = await person_id(core, alice)
    assert await count(core, Signal, person_id=pid) > 0

    replies = await core.handle(action(alice, "forget.confirm"))

    assert "deleted everything" in replies[0].text
    assert [r.purpose for r in replies] == ["command", "error"]
    assert "broken_store" in replies[1].text and "recording" not in replies[1].text
    assert recording.deleted == ["alice"]  # asked although the feature before it failed
    assert await count(core, Signal, person_id=pid) == 0  # the rows went regardless


async def test_forget_says_nothing_more_when_every_feature_succeeded(make_core: Any) -> None:
    core = await make_core(ScriptedBackend(["noted"]))
    alice = person("alice")
    await grant(core, alice)
    replies = await core.handle(action(alice, "forget.confirm"))
    assert [r.purpose for r in replies] == ["command"]


async def test_closing_the_core_closes_every_feature(make_core: Any) -> None:
    core = await make_core(ScriptedBackend())
    recording = Recording()
    core.services.features.register(recording)
    await core.aclose()
    assert recording.closed


def test_a_feature_name_is_registered_once() -> None:
    features = Features()
    features.register(Recording())
    with pytest.raises(ValueError, match="recording"):
        features.register(Recording())
    features.unregister("recording")
    features.register(Recording())
    assert [f.name for f in features] == ["recording"]
