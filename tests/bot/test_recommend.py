"""/recommend end to end: the real anthropic SDK against the local API server, ranking and
filtering against the profile, stored recommendations, button feedback."""

import json

from bot.events import ReplyKind
from bot.llm import NoModelBackend
from bot.llm.anthropic_backend import AnthropicBackend
from profiles.models import Interest, LLMCall, Recommendation
from tests.support.fake_llm_server import Error, Reply
from tests.support.helpers import action, command, count, grant, message, person, person_id


def proposal(*items):
    return json.dumps(
        {
            "items": [
                {"title": title, "topics": topics, "reason": f"because {title}"}
                for title, topics in items
            ]
        }
    )


async def core_with_model(make_core, server):
    return await make_core(
        AnthropicBackend(
            api_key="k", base_url=server.anthropic_base_url, max_retries=0, timeout_seconds=5
        )
    )


async def test_recommendations_are_ranked_filtered_and_stored(make_core, fake_llm_server):
    core = await core_with_model(make_core, fake_llm_server)
    alice = person()
    await grant(core, alice)
    await core.handle(command(alice, "prefs", "set avoid_topics horror"))
    fake_llm_server.enqueue("anthropic", Reply(text="Sure! I love space opera."))
    await core.handle(message(alice, "I adore space opera and hard science fiction novels"))
    fake_llm_server.enqueue(
        "anthropic",
        Reply(
            text="Here you go:\n```json\n"
            + proposal(
                ("Cooking for Beginners", ["cooking"]),
                ("Leviathan Wakes", ["space opera", "science fiction"]),
                ("It", ["horror"]),
                ("Blindsight", ["hard science fiction"]),
                ("A Cookbook of Soups", ["cooking"]),
            )
            + "\n```"
        ),
    )
    replies = await core.handle(command(alice, "recommend", "a sci-fi book"))
    assert len(replies) == 1 and replies[0].kind is ReplyKind.EPHEMERAL
    text = replies[0].text
    assert "Leviathan Wakes" in text and "Blindsight" in text and "It —" not in text
    lines = text.splitlines()
    top_two = lines[1] + lines[2]
    assert "Leviathan Wakes" in top_two and "Blindsight" in top_two
    assert "Cook" in lines[3]  # relevance first, the unrelated item last
    assert "matches your interest in" in text
    body = fake_llm_server.requests_for("anthropic")[-1].body
    system = body["system"] if isinstance(body["system"], str) else body["system"][0]["text"]
    assert '"horror"' in system and '"space opera' in system
    assert body["messages"][0]["content"] == 'Request: "a sci-fi book"'
    pid = await person_id(core, alice)
    assert await count(core, Recommendation, person_id=pid) == 3
    assert await count(core, LLMCall, person_id=pid, purpose="recommend") == 1

    like = next(b for b in replies[0].buttons if b.action_id == "recommend.like")
    ack = await core.handle(action(alice, like.action_id, like.value))
    assert "more like that" in ack[0].text
    assert await count(core, Recommendation, person_id=pid, status="liked") == 1

    # the same titles are never recommended twice
    fake_llm_server.enqueue(
        "anthropic",
        Reply(
            text=proposal(("Leviathan Wakes", ["space opera"]), ("Hyperion", ["science fiction"]))
        ),
    )
    again = await core.handle(command(alice, "recommend", "another sci-fi book"))
    assert "Hyperion" in again[0].text and "Leviathan" not in again[0].text
    sent = json.dumps(fake_llm_server.requests_for("anthropic")[-1].body)
    assert "leviathan wakes" in sent  # told to the model as already recommended


async def test_invalid_model_output_is_rejected_not_stored(make_core, fake_llm_server, caplog):
    core = await core_with_model(make_core, fake_llm_server)
    alice = person()
    fake_llm_server.enqueue("anthropic", Reply(text='{"items": [{"title": ""}]}'))
    replies = await core.handle(command(alice, "recommend", "a film"))
    assert "malformed" in replies[0].text
    assert await count(core, Recommendation) == 0
    assert "rejected recommendation output" in caplog.text


async def test_a_model_that_refuses_the_key_is_said_without_the_operators_details(
    make_core, fake_llm_server, caplog
):
    """The backend's reason — the model server's address and the key's setting, in English —
    was put in the person's reply, with "try again in a moment" for a key that will not work
    again (input audit): it goes to the log; the person reads that the operator must act."""
    core = await core_with_model(make_core, fake_llm_server)
    fake_llm_server.enqueue("anthropic", Error(401))
    [reply] = await core.handle(command(person(), "recommend", "a film"))
    assert "trying again will not help" in reply.text
    assert "127.0.0.1" not in reply.text and "401" not in reply.text
    assert "401" in caplog.text


async def test_without_a_model_it_says_how_to_get_one(make_core):
    core = await make_core(NoModelBackend())
    replies = await core.handle(command(person(), "recommend", "a podcast"))
    assert "need a language model" in replies[0].text
    missing = await core.handle(command(person(), "recommend"))
    assert "Usage: /recommend" in missing[0].text


async def test_button_on_someone_elses_recommendation_is_refused(make_core, fake_llm_server):
    core = await core_with_model(make_core, fake_llm_server)
    alice, bob = person("alice"), person("bob")
    fake_llm_server.enqueue("anthropic", Reply(text=proposal(("Dune", ["science fiction"]))))
    replies = await core.handle(command(alice, "recommend", "a book"))
    value = replies[0].buttons[0].value
    refused = await core.handle(action(bob, "recommend.like", value))
    assert "no longer available" in refused[0].text
    assert await count(core, Interest) == 0


async def test_ids_beyond_the_database_range_get_a_clear_answer(core):
    """Found by fuzzing: a 20-digit id overflowed the driver (OverflowError → "something went
    wrong")."""
    alice = person()
    await grant(core, alice)
    for raw in ("99999999999999999999", "9223372036854775808", "-1", "0"):
        replies = await core.handle(command(alice, "recommend", f"like {raw}"))
        assert [r.purpose for r in replies] == ["error"], raw
        assert "Which recommendation?" in replies[0].text
    replies = await core.handle(action(alice, "recommend.like", "99999999999999999999"))
    assert "Which recommendation?" in replies[0].text


async def test_a_typed_number_is_the_position_shown_and_a_repeat_learns_nothing(
    make_core, fake_llm_server
):
    """Input audit: "/recommend like 1" rated the row with id 1 (an item of an older list),
    not the one shown as "1."; liking it five times added its topics' interest five times."""
    core = await core_with_model(make_core, fake_llm_server)
    alice = person()
    await grant(core, alice)
    fake_llm_server.enqueue("anthropic", Reply(text=proposal(("Dune", ["desert planets"]))))
    await core.handle(command(alice, "recommend", "a book"))
    fake_llm_server.enqueue("anthropic", Reply(text=proposal(("Neuromancer", ["cyberpunk"]))))
    [shown] = await core.handle(command(alice, "recommend", "another book"))
    assert shown.text.splitlines()[1].startswith("1. Neuromancer")

    [liked] = await core.handle(command(alice, "recommend", "like 1"))
    assert liked.text == "Noted, more like that. (Neuromancer)"
    pid = await person_id(core, alice)
    assert await count(core, Recommendation, person_id=pid, status="liked") == 1
    weight = await interest_weight(core, pid, "cyberpunk")
    assert weight is not None
    assert await interest_weight(core, pid, "desert planets") is None
    for _ in range(4):
        [again] = await core.handle(command(alice, "recommend", "like 1"))
        assert again.text == "Already noted: more like “Neuromancer”."
    like = next(b for b in shown.buttons if b.action_id == "recommend.like")
    [pressed] = await core.handle(action(alice, like.action_id, like.value))  # buttons: ids
    assert pressed.text == "Already noted: more like “Neuromancer”."
    assert await interest_weight(core, pid, "cyberpunk") == weight

    [missing] = await core.handle(command(alice, "recommend", "dislike 2"))
    assert "no longer available" in missing.text  # the latest list has one item


async def interest_weight(core, pid, topic):
    from sqlmodel import select

    async with core.services.db.session() as session:
        row = (await session.exec(select(Interest).where(
            Interest.person_id == pid, Interest.topic == topic))).first()
        return None if row is None else row.weight
