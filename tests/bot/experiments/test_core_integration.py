"""The core applies a running prompt experiment: only to people who allow learning, never
against an explicit preference, and sticky per person."""

import re

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
    [shown] = await core.handle(command(alice, "prefs"))  # shown as the model is told it
    assert "• verbosity: brief — an experiment's default" in shown.text

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


def template_variant(tmp_path, **variant):
    """A registry whose prompt experiment has one variant ``warm`` made of ``variant``."""
    return parse_experiments(
        {"tone": {"kind": "prompt", "traffic": 1.0,
                  "variants": {"control": {}, "warm": variant}}},
        base=tmp_path, source="test",
    )


def test_a_variant_s_missing_template_fails_at_start(tmp_path):
    """Accepted before, then every message of a person in the variant failed."""
    from bot.experiments import ExperimentConfigError
    from bot.experiments.render import check_variants
    from prompts.render import PromptRenderer

    base = PromptRenderer()
    missing = re.escape("variant warm: no template 'nope.j2'")
    with pytest.raises(ExperimentConfigError, match=missing):
        check_variants(template_variant(tmp_path, template="nope.j2"), base)
    check_variants(template_variant(tmp_path, template="chat_system.j2"), base)  # exists


async def test_a_template_missing_in_flight_is_refused_not_an_outage(core, tmp_path):
    """jinja2's TemplateNotFound is an OSError: raised inside the reply's transaction it was
    taken for a database outage — "I can't reach my memory", the message journaled, and
    every later event queued behind it, whoever sent it. (``tailorbot run`` now refuses such
    a variant at start; a core built without that check meets it in flight.)"""
    from bot.core import TEMPLATE_REFUSED

    registry = template_variant(tmp_path, template="nope.j2")
    assign._override.append(registry)
    try:
        async with core.services.db.session() as session:
            await set_state(session, "tone", PROMOTED, promoted_variant="warm")
        alice, bob = person("alice"), person("bob")
        await grant(core, alice)
        [refused] = await core.handle(message(alice, "hello there"))
        assert refused.text == TEMPLATE_REFUSED and refused.purpose == "error"
        assert len(core.services.journal) == 0  # nothing kept "for later"
        answers = await core.handle(message(bob, "hi"))  # not queued behind it (nor in it)
        assert "chat" in [reply.purpose for reply in answers]
    finally:
        assign._override.remove(registry)


def test_override_files_nothing_uses_are_named(tmp_path):
    """A misspelt override ("chat_sytem.j2") was ignored in silence; overrides, the templates
    they include and those a variant names are used."""
    from bot.experiments.render import unused_overrides
    from prompts.render import PromptRenderer

    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "chat_system.j2").write_text('{% include "_greeting.j2" %} {{ bot_name }}')
    (folder / "_greeting.j2").write_text("Hello.")
    (folder / "warm_system.j2").write_text("Be warm.")
    (folder / "chat_sytem.j2").write_text("misspelt")
    renderer = PromptRenderer(folder)
    registry = template_variant(tmp_path, template="warm_system.j2")
    assert unused_overrides(registry, renderer, folder) == ["chat_sytem.j2"]
    assert unused_overrides(registry, renderer, None) == []
