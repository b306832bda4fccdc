"""Batched profile summaries by the model: validated, stored with provenance, shown,
correctable, deletable, and below explicit preferences in the prompt."""

import json

import pytest

from bot.llm import ScriptedBackend
from bot.llm.anthropic_backend import AnthropicBackend
from bot.summaries import due_people, summarize_due
from profiles.models import LLMCall, ProfileSummary
from tests.support.fake_llm_server import Reply
from tests.support.helpers import command, count, grant, message, person, person_id

GOOD = json.dumps(
    {
        "interests": [
            {"topic": "sourdough baking", "strength": "high"},
            {"topic": "cycling", "strength": "low"},
        ],
        "style": "very casual, lots of emoji",
        "notes": ["bakes on weekends"],
    }
)


async def chatty_person(core, server, who, n):
    await grant(core, who)
    for i in range(n):
        server.enqueue("anthropic", Reply(text="ok"))
        await core.handle(message(who, f"Baking sourdough again, loaf number {i} came out great"))


async def test_summaries_are_batched_validated_and_shown(make_core, fake_llm_server, caplog):
    core = await make_core(
        AnthropicBackend(
            api_key="k",
            base_url=fake_llm_server.anthropic_base_url,
            max_retries=0,
            timeout_seconds=5,
        )
    )
    alice, bob, quiet = person("alice"), person("bob"), person("quiet")
    await chatty_person(core, fake_llm_server, alice, 3)
    await chatty_person(core, fake_llm_server, bob, 3)
    await chatty_person(core, fake_llm_server, quiet, 1)
    assert set(await due_people(core.services, min_new_turns=3, limit=10)) == {
        await person_id(core, alice),
        await person_id(core, bob),
    }

    before = len(fake_llm_server.requests_for("anthropic"))
    fake_llm_server.enqueue(
        "anthropic",
        Reply(text=f"```json\n{GOOD}\n```"),
        Reply(text='{"interests": [{"topic": "x", "strength": "extreme"}]}'),
    )
    run = await summarize_due(core.services, min_new_turns=3)
    assert (run.considered, run.stored, run.rejected) == (2, 1, 1)
    assert len(fake_llm_server.requests_for("anthropic")) - before == 2  # one call per person
    assert "rejected profile summary" in caplog.text
    assert await count(core, ProfileSummary) == 1
    assert await count(core, LLMCall, purpose="profile_summary") == 2
    stored_for = [
        p
        for p in (alice, bob)
        if await count(core, ProfileSummary, person_id=await person_id(core, p))
    ]
    assert len(stored_for) == 1
    summarised = stored_for[0]
    # nothing new since: not due again
    assert await person_id(core, summarised) not in await due_people(
        core.services, min_new_turns=3, limit=10
    )

    shown = (await core.handle(command(summarised, "profile")))[0].text
    assert "sourdough baking (high)" in shown and "from 3 messages" in shown

    await core.handle(command(summarised, "prefs", "set tone formal"))
    fake_llm_server.enqueue("anthropic", Reply(text="Good evening."))
    await core.handle(message(summarised, "hello again"))
    body = fake_llm_server.requests_for("anthropic")[-1].body
    system = body["system"] if isinstance(body["system"], str) else body["system"][0]["text"]
    assert "Tone: formal (explicit)" in system
    assert '"bakes on weekends"' in system and "explicit settings win" in system

    corrected = await core.handle(command(summarised, "profile", "summary remove cycling"))
    assert "cycling" not in corrected[0].text.split("Corrected.")[1].split("Correct it")[0]
    assert "corrected by you" in corrected[0].text
    nothing = await core.handle(command(summarised, "profile", "summary remove quantum"))
    assert "Nothing in the summary mentions" in nothing[0].text
    await core.handle(command(summarised, "profile", "summary clear"))
    assert await count(core, ProfileSummary) == 0


async def test_no_model_means_no_summaries(make_core):
    from bot.llm import NoModelBackend

    core = await make_core(NoModelBackend())
    await grant(core, person())
    run = await summarize_due(core.services)
    assert run.considered == 0


class SaysDuringTheSummary(ScriptedBackend):
    """Answers chat as scripted; while it writes a profile summary, the person says a
    command (through the core, in its own transaction): the model takes seconds."""

    def __init__(self, who, *says: str) -> None:
        super().__init__(lambda request: GOOD if request.purpose == "profile_summary" else "ok")
        self.who, self.says, self.core = who, says, None

    async def generate(self, request, *, on_partial=None):
        if request.purpose == "profile_summary" and self.core is not None:
            core, self.core = self.core, None
            [reply] = await core.handle(command(self.who, *self.says))
            assert reply.purpose != "error", reply.text
        return await super().generate(request, on_partial=on_partial)


@pytest.mark.parametrize("says", [("consent", "revoke"), ("forget", "confirm")])
async def test_a_summary_is_not_kept_for_someone_who_left_while_it_was_written(
    make_core, says
):
    """Stored after a revocation; after a /forget the call's row failed on the foreign key
    and ended the whole run."""
    alice, bob = person("alice"), person("bob")
    llm = SaysDuringTheSummary(alice, *says)
    core = await make_core(llm)
    for who in (alice, bob):
        await grant(core, who)
        for i in range(3):
            await core.handle(message(who, f"Baking sourdough again, loaf {i} came out great"))
    alice_id = await person_id(core, alice)
    llm.core = core

    run = await summarize_due(core.services, min_new_turns=3)

    assert llm.core is None and (run.considered, run.stored, run.skipped) == (2, 1, 1)
    assert await count(core, ProfileSummary, person_id=alice_id) == 0
    assert await count(core, ProfileSummary) == 1  # bob's: the run went on
    assert await count(core, LLMCall, purpose="profile_summary", person_id=alice_id) == 0
    assert await count(core, LLMCall, purpose="profile_summary") == 2
