"""Linked identities through the real core: one-time codes, what crosses a link (memories,
chosen preferences, consented interests) and what never does (conversations, unlinked people),
export and erasure across identities."""

from __future__ import annotations

import datetime as dt
import json
import re

from bot.home import home_view
from bot.llm import ScriptedBackend
from profiles.memory_models import IdentityLink, LinkAttempt, LinkCode
from tests.bot.memory.test_memories import _rows_mentioning
from tests.support.helpers import action, command, count, grant, message, person, person_id
from tests.support.statements import statements_sent

SLACK = person("U1", workspace="T1", platform="slack")
DISCORD = person("42", workspace="G1", platform="discord")
STRANGER = person("99", workspace="G1", platform="discord")


class Clock:
    """Starts at the real time (events carry real timestamps, and interests decay between an
    event and "now"); tests move it forward to expire codes and rate-limit windows."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


async def make(make_core, **overrides):
    llm = ScriptedBackend()
    core = await make_core(llm, **overrides)
    clock = Clock()
    core.services.clock = clock
    return core, llm, clock


def code_in(text: str) -> str:
    found = re.search(r"\b([A-Z2-9]{4}-[A-Z2-9]{4})\b", text)
    assert found, text
    return found.group(1)


async def link(core, first=SLACK, second=DISCORD) -> str:
    issued = (await core.handle(command(first, "link")))[0].text
    code = code_in(issued)
    done = (await core.handle(command(second, "link", code)))[0].text
    assert "Linked with" in done, done
    return code


async def test_memory_reaches_the_other_platform_only_when_linked(make_core):
    core, llm, _ = await make(make_core)
    await core.handle(message(SLACK, "remember that I'm vegetarian"))

    await core.handle(message(DISCORD, "Suggest a dinner"))
    assert "vegetarian" not in llm.requests[-1].system  # not linked yet

    await link(core)
    await core.handle(message(DISCORD, "Suggest a dinner"))
    assert '"I\'m vegetarian"' in llm.requests[-1].system
    await core.handle(message(STRANGER, "Suggest a dinner"))
    assert "vegetarian" not in llm.requests[-1].system

    profile = (await core.handle(command(DISCORD, "profile")))[0].text
    assert "Identities you linked" in profile and "U1 on slack (T1)" in profile
    assert "I'm vegetarian (from a linked identity" in profile

    await core.handle(command(DISCORD, "link", "remove"))
    await core.handle(message(DISCORD, "Suggest a dinner"))
    assert "vegetarian" not in llm.requests[-1].system
    assert await count(core, IdentityLink) == 0  # a group of one dissolves


async def test_here_only_memories_and_conversations_stay_in_their_workspace(make_core):
    core, llm, _ = await make(make_core)
    for who in (SLACK, DISCORD):
        await grant(core, who)
    await link(core)
    await core.handle(command(SLACK, "memory", "add --here our deploy window is Friday"))
    await core.handle(message(SLACK, "My secret project zanzibar uses Rust and Kubernetes"))

    await core.handle(message(DISCORD, "What should I learn next?"))

    request = llm.requests[-1]
    everything = request.system + " ".join(t.content for t in request.turns)
    # The conversation stays in its workspace (only learned topics cross, both consented).
    assert "secret project zanzibar uses" not in everything
    assert "deploy window" not in everything
    assert "kubernetes" in request.system.lower()


async def test_interests_need_consent_on_both_sides_and_prefs_need_sharing(make_core):
    core, llm, _ = await make(make_core)
    await grant(core, SLACK)
    await core.handle(message(SLACK, "I keep reading about Kubernetes operators"))
    await core.handle(command(SLACK, "prefs", "set tone formal"))
    await link(core)

    await core.handle(message(DISCORD, "hello"))  # no consent here: nothing inferred
    assert "kubernetes" not in llm.requests[-1].system.lower()
    assert "Tone: neutral (default)" in llm.requests[-1].system

    await core.handle(command(SLACK, "link", "share on"))
    await core.handle(message(DISCORD, "hello"))
    assert "Tone: formal (linked)" in llm.requests[-1].system
    # what the person is shown is what the model is told (they said "neutral — default")
    [shown] = await core.handle(command(DISCORD, "prefs"))
    assert "• tone: formal — shared by your linked identity" in shown.text
    [profile] = await core.handle(command(DISCORD, "profile"))
    assert "• tone: formal (shared by your linked identity)" in profile.text
    home = await home_view(core.services, DISCORD)
    assert ("tone", "formal", "linked") in home.preferences
    await core.handle(command(DISCORD, "prefs", "set tone casual"))
    await core.handle(message(DISCORD, "hello"))
    assert "Tone: casual (explicit)" in llm.requests[-1].system  # own choice wins


async def test_codes_are_single_use_expire_and_are_stored_hashed(make_core):
    core, _, clock = await make(make_core)
    code = await link(core)
    again = (await core.handle(command(STRANGER, "link", code)))[0]
    assert "doesn't work" in again.text
    assert await _rows_mentioning(core, code) == []
    assert await _rows_mentioning(core, code.replace("-", "")) == []
    assert await count(core, LinkCode) == 1

    late = code_in((await core.handle(command(STRANGER, "link")))[0].text)
    clock.now += dt.timedelta(minutes=11)
    expired = (await core.handle(command(DISCORD, "link", late)))[0]
    assert "doesn't work" in expired.text

    own = code_in((await core.handle(command(STRANGER, "link")))[0].text)
    same = (await core.handle(command(STRANGER, "link", own)))[0]
    assert "same identity" in same.text


async def test_something_that_is_not_a_code_is_told_so(make_core):
    """"/link 123456" answered only the usage lines: a newcomer could not tell what a code
    looks like. Not counted as an attempt (nothing was tried)."""
    core, _, _ = await make(make_core)
    [reply] = await core.handle(command(SLACK, "link", "123456"))
    assert reply.text.startswith("“123456” is not a link code: a code is 8 letters and digits")
    assert "/link <code>" in reply.text and reply.purpose == "error"
    assert await count(core, LinkAttempt) == 0
    for words in ("share maybe", "share", "help"):  # a subcommand's words get the usage
        [usage] = await core.handle(command(SLACK, "link", words))
        assert usage.text.startswith("Usage: /link"), words


async def test_issuing_and_guessing_are_rate_limited(make_core):
    core, _, clock = await make(make_core, link_codes_per_hour=2, link_attempts_per_hour=3)
    for _ in range(2):
        await core.handle(command(SLACK, "link"))
    refused = (await core.handle(command(SLACK, "link")))[0]
    assert refused.purpose == "error" and "try again later" in refused.text

    clock.now += dt.timedelta(hours=2)
    real = code_in((await core.handle(command(SLACK, "link")))[0].text)
    for guess in ("AAAA-AAAA", "BBBB-BBBB", "CCCC-CCCC"):
        assert "doesn't work" in (await core.handle(command(DISCORD, "link", guess)))[0].text
    blocked = (await core.handle(command(DISCORD, "link", real)))[0]
    assert "Too many link attempts" in blocked.text
    assert await count(core, IdentityLink) == 0
    assert await count(core, LinkCode) == 1  # the two from before the window were purged

    clock.now += dt.timedelta(hours=2)  # old codes and attempts are purged as new ones come
    await core.handle(command(SLACK, "link"))
    assert await count(core, LinkCode) == 1
    await core.handle(command(DISCORD, "link", "DDDD-DDDD"))
    assert await count(core, LinkAttempt) == 1


async def test_export_includes_and_forget_all_erases_every_linked_identity(make_core):
    core, _, _ = await make(make_core)
    await core.handle(message(SLACK, "remember that my locker code hint is quokkazebra"))
    await link(core)

    export = (await core.handle(command(DISCORD, "export")))[0]
    data = json.loads(export.attachment[1])
    [other] = data["linked_identities"]
    assert other["person"]["platform"] == "slack"
    assert other["tables"]["memory"][0]["text"] == "my locker code hint is quokkazebra"

    [ask] = await core.handle(command(DISCORD, "forget"))
    assert "/forget confirm all" in ask.text
    assert [b.action_id for b in ask.buttons] == ["forget.confirm", "forget.all", "forget.cancel"]
    await core.handle(action(DISCORD, "forget.all"))
    assert await person_id(core, SLACK) is None and await person_id(core, DISCORD) is None
    assert await _rows_mentioning(core, "quokkazebra") == []


async def test_forgetting_one_identity_leaves_the_other_unlinked(make_core):
    core, _, _ = await make(make_core)
    await core.handle(message(SLACK, "remember that I like tea"))
    await link(core)
    await core.handle(command(DISCORD, "forget", "confirm"))
    assert await person_id(core, DISCORD) is None
    assert await person_id(core, SLACK) is not None
    assert await count(core, IdentityLink) == 0


async def _link_statements(core, event) -> list[str]:
    """Statements that read ``identity_link`` while the core handles ``event``."""
    with statements_sent(core.services.db) as sent:
        await core.handle(event)
    return [statement for statement in sent if "identity_link" in statement]


async def test_a_turn_reads_the_link_group_once(make_core):
    """Shared preferences, memories and interests all need the link group; one turn reads
    it once (one statement when not linked, two when linked), however many uses follow."""
    core, llm, _ = await make(make_core)
    for who in (SLACK, DISCORD):
        await grant(core, who)
    await core.handle(message(SLACK, "remember that I'm vegetarian"))
    await core.handle(message(SLACK, "I keep reading about Kubernetes operators"))

    alone = await _link_statements(core, message(DISCORD, "Suggest a dinner"))
    assert len(alone) == 1, alone

    await link(core)
    await core.handle(command(SLACK, "link", "share on"))
    linked = await _link_statements(core, message(DISCORD, "Suggest a dinner"))
    assert len(linked) == 2, linked
    # ... and the single read still carries all three: memories, interests, shared prefs.
    assert '"I\'m vegetarian"' in llm.requests[-1].system
    assert "kubernetes" in llm.requests[-1].system.lower()
