"""The core applies a running prompt experiment: only to people who allow learning, never
against an explicit preference, and sticky per person."""

import pytest

from bot.experiments import PROMOTED, STOPPED, assign, parse_experiments, set_state
from tests.support.helpers import command, grant, message, person

CONFIG = {
    "short_replies": {
        "kind": "prompt",
        "traffic": 1.0,
        "variants": {"control": {}, "brief": {"preferences": {"verbosity": "brief"}}},
    },
}


@pytest.fixture
def running_experiment(tmp_path):
    registry = parse_experiments(CONFIG, base=tmp_path, source="test")
    assign._override.append(registry)
    yield registry
    assign._override.remove(registry)


async def test_prompt_variant_reaches_consented_people_only(core, running_experiment):
    # promoted: every enrolled person gets "brief"
    async with core.services.db.session() as session:
        await set_state(session, "short_replies", PROMOTED, promoted_variant="brief")
    alice, bob, carol = person("alice"), person("bob"), person("carol")
    await grant(core, alice)
    await core.handle(message(alice, "hello there"))
    assert "Length: brief (experiment:short_replies)" in core.services.llm.requests[-1].system

    await core.handle(message(bob, "hello there"))  # no consent: untouched, not enrolled
    assert "Length: normal (default)" in core.services.llm.requests[-1].system

    await grant(core, carol)
    await core.handle(command(carol, "prefs", "set verbosity detailed"))
    await core.handle(message(carol, "hello there"))  # explicit preference wins
    assert "Length: detailed (explicit)" in core.services.llm.requests[-1].system


async def test_stopped_experiment_changes_nothing(core, running_experiment):
    async with core.services.db.session() as session:
        await set_state(session, "short_replies", STOPPED)
    alice = person("alice")
    await grant(core, alice)
    await core.handle(message(alice, "hello there"))
    assert "Length: normal (default)" in core.services.llm.requests[-1].system
