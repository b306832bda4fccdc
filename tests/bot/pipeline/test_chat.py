"""The core pipeline end to end on real SQLite and PostgreSQL with the scripted model."""

import asyncio
import datetime as dt
import functools

import pytest
from sqlmodel import select

from bot.events import ButtonStyle, MessageEvent, PlatformContext, ReplyKind, Surface
from bot.features import FeatureBase
from bot.llm import LLMUnavailable, ScriptedBackend
from bot.llm.base import Failure
from bot.pipeline.answer import EMPTY_ANSWER
from bot.pipeline.chat import EMPTY_MESSAGE
from profiles.models import (
    Consent,
    ConversationTurn,
    Feedback,
    Interest,
    LLMCall,
    ProcessedEvent,
    Signal,
    StyleProfile,
    Trait,
)
from tests.support.helpers import (
    action,
    command,
    count,
    grant,
    message,
    next_id,
    person,
    person_id,
    reaction,
    started,
)
from tests.support.sqlite_trace import LOOP, WORKER, Traced, calls_of, count_hand_offs

TOPIC_TEXT = "I'm learning Rust async programming and reading about distributed systems"
IMPLICIT = (Signal, Interest, Trait, StyleProfile, ConversationTurn, Feedback)


async def implicit_rows(core, pid):
    return {m.__tablename__: await count(core, m, person_id=pid) for m in IMPLICIT}


async def test_first_contact_answers_generically_and_asks_once(core):
    alice = person()
    replies = await core.handle(message(alice, TOPIC_TEXT))
    assert replies[0].purpose == "chat"
    notice = replies[1]
    assert notice.purpose == "consent_notice" and notice.kind is ReplyKind.EPHEMERAL
    assert [b.action_id for b in notice.buttons] == ["consent.grant", "consent.decline"]
    assert notice.buttons[0].style is ButtonStyle.PRIMARY
    again = await core.handle(message(alice, TOPIC_TEXT))
    assert [r.purpose for r in again] == ["chat"]
    pid = await person_id(core, alice)
    assert set((await implicit_rows(core, pid)).values()) == {0}
    # The generic prompt carries no profile.
    assert "has not allowed personalisation" in core.services.llm.requests[-1].system


async def test_consent_button_then_learning(core):
    alice = person()
    await core.handle(message(alice, "hello"))
    replies = await core.handle(action(alice, "consent.grant"))
    assert "learn" in replies[0].text
    await core.handle(message(alice, TOPIC_TEXT))
    pid = await person_id(core, alice)
    rows = await implicit_rows(core, pid)
    # 4 turns: "hello" and its answer (held until Allow, then kept) and this exchange.
    assert rows["signal"] > 0 and rows["interest"] > 0 and rows["conversation_turn"] == 4
    # What a message teaches is learned in the batch after its reply: the next reply's
    # profile shows it.
    assert '"distributed system"' not in core.services.llm.requests[-1].system
    await core.handle(message(alice, "what should I read next?"))
    assert '"distributed system"' in core.services.llm.requests[-1].system


async def test_not_now_records_no_learning_and_no_more_nagging(core):
    alice = person()
    await core.handle(message(alice, "hello"))
    await core.handle(action(alice, "consent.decline"))
    replies = await core.handle(message(alice, TOPIC_TEXT))
    assert [r.purpose for r in replies] == ["chat"]
    assert set((await implicit_rows(core, await person_id(core, alice))).values()) == {0}


async def test_revoke_stops_collection_at_once_and_offers_deletion(core):
    alice = person()
    await grant(core, alice)
    await core.handle(message(alice, TOPIC_TEXT))
    pid = await person_id(core, alice)
    before = await implicit_rows(core, pid)
    replies = await core.handle(command(alice, "consent", "revoke"))
    assert [b.action_id for b in replies[0].buttons] == ["forget.confirm", "forget.cancel"]
    await core.handle(
        message(alice, "Now about Kubernetes operators and Helm charts in production")
    )
    assert await implicit_rows(core, pid) == before
    assert "has not allowed personalisation" in core.services.llm.requests[-1].system


async def test_duplicate_platform_event_is_processed_once(core):
    alice = person()
    await grant(core, alice)
    first = await core.handle(message(alice, TOPIC_TEXT, event_id="slack-Ev1"))
    pid = await person_id(core, alice)
    signals = await count(core, Signal, person_id=pid)
    retry = await core.handle(message(alice, TOPIC_TEXT, event_id="slack-Ev1"))
    assert first and retry == []
    assert await count(core, Signal, person_id=pid) == signals
    assert await count(core, ConversationTurn, person_id=pid) == 2
    assert len(core.services.llm.requests) == 1
    # the same id in another workspace is another event
    bob = person("bob", workspace="W2")
    assert await core.handle(message(bob, "hi", event_id="slack-Ev1"))


async def test_reaction_on_bot_reply_is_feedback_and_removal_takes_it_back(core):
    alice = person()
    await grant(core, alice)
    reply = (await core.handle(message(alice, TOPIC_TEXT)))[0]
    await core.bind_reply(reply.reply_id, "ts-123")
    pid = await person_id(core, alice)

    async def weight():
        async with core.services.db.session() as session:
            found = await core.services.engine.interests(
                session, pid, dt.datetime.now(dt.UTC), limit=None
            )
        return {i.topic: i for i in found}["distributed system"]

    base = await weight()
    await core.handle(reaction(alice, "ts-123", "👍"))
    liked = await weight()
    assert liked.weight > base.weight and liked.positive_feedback == 1
    assert await count(core, Feedback, person_id=pid, value=1) == 1
    await core.handle(reaction(alice, "ts-123", "👍", added=False))
    back = await weight()
    assert abs(back.weight - base.weight) < 1e-3 and back.positive_feedback == 0
    assert await count(core, Feedback, person_id=pid) == 0
    await core.handle(reaction(alice, "ts-123", "👎"))
    # 👎 is "not that answer": the subject the person asked about keeps its weight
    assert abs((await weight()).weight - base.weight) < 1e-3
    assert await count(core, Feedback, person_id=pid, value=-1) == 1


async def test_feedback_buttons_and_disliked_long_replies_make_it_brief(make_core):
    long_reply = "This is a sentence about systems. " * 30
    core = await make_core(ScriptedBackend(lambda request: long_reply))
    alice = person()
    await grant(core, alice)
    for _ in range(3):
        reply = (await core.handle(message(alice, TOPIC_TEXT)))[0]
        acks = await core.handle(action(alice, "feedback.down", reply.reply_id))
        assert acks[0].purpose == "ack"
    replies = await core.handle(command(alice, "prefs"))
    assert "verbosity: brief — inferred" in replies[0].text


async def test_reaction_elsewhere_is_an_interest_signal(core):
    alice, bob = person(), person("bob")
    await grant(core, alice)
    await grant(core, bob)
    await core.handle(
        reaction(
            alice,
            "someone-elses-msg",
            "🎉",
            target_text="Our team shipped the new GraphQL federation gateway",
            target_author="bob",
        )
    )
    pid = await person_id(core, alice)
    assert await count(core, Signal, person_id=pid, kind="reaction") > 0
    assert await count(core, Feedback, person_id=pid) == 0


async def test_a_reaction_learns_nothing_from_an_author_who_does_not_allow_it(core):
    """The reacted-to text is its author's words: a reaction to someone who never
    consented (no row at all), declined, or whom the adapter could not name taught the
    reactor its topics (privacy audit: "hyperdrive maintenance" became Bob's interest from
    Carol's message, and stayed after her /forget)."""
    alice, dora = person(), person("dora")
    await grant(core, alice)
    await core.handle(message(dora, "hello"))
    await core.handle(action(dora, "consent.decline"))
    for n, author in enumerate(("carol", "dora", None)):
        await core.handle(reaction(
            alice, f"m-{n}", "🔥", target_text="Glorbnitzel hyperdrive maintenance matters",
            target_author=author,
        ))
    await core.services.learner.flush()
    pid = await person_id(core, alice)
    assert await count(core, Signal, person_id=pid, kind="reaction") == 0
    assert await person_id(core, person("carol")) is None


async def test_an_authors_forget_takes_back_what_reactions_to_them_taught(core):
    """Alice reacted to Carol's message and learned its topics; Carol's /forget must leave
    no copy of her words, in Alice's profile either (privacy audit: "hyperdrive
    maintenance" stayed Alice's interest). What Alice learned from her own words stays."""
    alice, carol = person(), person("carol")
    for who in (alice, carol):
        await grant(core, who)
    await core.handle(message(alice, "Kubernetes operators keep our clusters healthy"))
    await core.handle(reaction(
        alice, "m-carol", "🔥", target_author="carol",
        target_text="Glorbnitzel hyperdrive maintenance and kubernetes operators",
    ))
    await core.services.learner.flush()
    pid = await person_id(core, alice)

    async def topics() -> set[str]:
        async with core.services.db.session() as session:
            found = await core.services.engine.interests(
                session, pid, dt.datetime.now(dt.UTC), limit=None
            )
        return {i.topic for i in found}

    learned = await topics()
    assert any("hyperdrive" in topic for topic in learned)
    assert await count(core, Signal, person_id=pid, kind="reaction") > 0
    assert await core.handle(command(carol, "forget", "confirm"))
    left = await topics()
    assert not any("hyperdrive" in topic or "glorbnitzel" in topic for topic in left)
    assert any("kubernetes" in topic for topic in left)  # Alice's own words
    assert await count(core, Signal, person_id=pid, kind="reaction") == 0
    export = await core.handle(command(alice, "export"))
    payload = export[0].attachment[1].decode("utf-8").lower()
    assert "kubernetes" in payload and "hyperdrive" not in payload


async def test_context_local_time_in_persons_timezone(make_core):
    now = dt.datetime(2026, 7, 1, 23, 30, tzinfo=dt.UTC)
    core = await make_core()
    core.services.clock = lambda: now
    alice = person()
    await grant(core, alice)
    await core.handle(command(alice, "prefs", "set timezone Asia/Tokyo"))
    await core.handle(message(alice, "what should I do this morning?"))
    system = core.services.llm.requests[-1].system
    assert "Thursday 2026-07-02, 08:30 (morning)" in system
    assert '"Asia/Tokyo" (explicit)' in system


async def test_platform_timezone_used_when_no_explicit_one(core):
    alice = person()
    await grant(core, alice)
    await core.handle(
        message(
            alice,
            "hello there friend",
            context=PlatformContext(timezone="America/New_York", locale="en-US"),
        )
    )
    assert '"America/New_York" (platform)' in core.services.llm.requests[-1].system


async def test_history_reaches_the_model_in_order(core):
    alice = person()
    await grant(core, alice)
    await core.handle(message(alice, "first question about compilers"))
    await core.handle(message(alice, "second question about linkers"))
    turns = core.services.llm.requests[-1].turns
    assert [t.role for t in turns] == ["user", "assistant", "user"]
    assert turns[0].content == "first question about compilers"
    assert turns[-1].content == "second question about linkers"


async def test_other_persons_data_never_in_prompt(core):
    alice, bob = person("alice"), person("bob")
    await grant(core, alice)
    await grant(core, bob)
    await core.handle(message(alice, "My secret project is about quantum cryptography protocols"))
    await core.handle(message(bob, "Tell me about gardening tomatoes in small balconies"))
    request = core.services.llm.requests[-1]
    everything = request.system + " ".join(t.content for t in request.turns)
    assert "quantum" not in everything and "tomatoes" in everything


async def test_empty_and_whitespace_messages(core):
    alice = person()
    for text in ("", "   \n\t ", "\x00\x01\u200b"):
        replies = await core.handle(message(alice, text))
        assert [r.text for r in replies] == [EMPTY_MESSAGE]


async def test_huge_message_is_read_truncated_and_said_so(make_core):
    core = await make_core(max_message_chars=10_000)
    alice = person()
    await grant(core, alice)
    replies = await core.handle(message(alice, "distributed systems " * 2000))  # 40k chars
    assert "first 10,000 characters" in replies[0].text
    pid = await person_id(core, alice)
    async with core.services.db.session() as session:
        turns = (
            await session.exec(
                ConversationTurn.__table__.select().where(ConversationTurn.person_id == pid)
            )
        ).all()
    assert max(len(t.text) for t in turns if t.role == "user") <= 10_000


async def test_odd_unicode_round_trips(core):
    alice = person()
    await grant(core, alice)
    text = "Ünïcödé 🧑🏽‍💻 テスト 中文 العربية \u202eevil\u202c zero\u200bwidth e\u0301 𝔘𝔫𝔦"
    replies = await core.handle(message(alice, text))
    assert replies[0].purpose == "chat"
    export = await core.handle(command(alice, "export"))
    payload = export[0].attachment[1].decode("utf-8")
    assert "テスト" in payload and "\u202e" not in payload


async def test_malformed_commands_get_clear_messages(core):
    alice = person()
    cases = {
        "/frobnicate now": "I don't know /frobnicate",
        '/prefs set tone "casual': "tone must be one of",  # quotes are not syntax
        "/prefs set tone": "Valid keys",
        "/prefs set tone shouty": "tone must be one of: casual, neutral, formal",
        "/prefs set timezone Mars/Olympus": "IANA timezone",
        "/prefs set language klingon-xx": "language code",
        "/prefs set digest hourly": "daily|weekdays|weekly",
        "/prefs reset nope": "unknown preference",
        "/consent maybe": "Usage: /consent",
        "/forget later": "Usage: /forget",
    }
    for line, expected in cases.items():
        replies = await core.handle(message(alice, line))
        assert len(replies) == 1 and expected in replies[0].text, (line, replies[0].text)
        assert replies[0].kind is ReplyKind.EPHEMERAL


async def test_prefs_round_trip(core):
    alice = person()
    replies = await core.handle(
        command(alice, "prefs", "set avoid_topics Politics, crypto ,politics")
    )
    assert "avoid_topics = politics, crypto" in replies[0].text
    shown = (await core.handle(command(alice, "prefs")))[0].text
    assert "avoid_topics: politics, crypto — set by you" in shown
    assert "Reset" in (await core.handle(command(alice, "prefs", "reset")))[0].text
    assert "Nothing to reset" in (await core.handle(command(alice, "prefs", "reset tone")))[0].text


async def test_avoided_topics_filtered_from_reply(make_core):
    core = await make_core(ScriptedBackend(["Crypto is volatile. Here is a budgeting tip."]))
    alice = person()
    await core.handle(command(alice, "prefs", "set avoid_topics crypto"))
    reply = (await core.handle(message(alice, "any money advice?")))[0]
    assert reply.text == "Here is a budgeting tip."
    assert '"crypto"' in core.services.llm.requests[-1].system


async def test_verbosity_shapes_the_prompt_and_never_cuts_the_answer(make_core):
    """A long answer once reached Slack as its first 1,095 of 5,400 characters, cut with no
    mark at the verbosity ceiling. Verbosity is an instruction to the model; what it wrote
    is delivered whole."""
    steps = "\n".join(f"{n}. Step {n}: " + "do the thing carefully. " * 8 for n in range(1, 31))
    core = await make_core(ScriptedBackend([steps]))
    alice = person()
    await core.handle(command(alice, "prefs", "set verbosity brief"))
    reply = (await core.handle(message(alice, "explain everything")))[0]
    assert len(steps) > 5000
    assert reply.text == steps.strip()
    assert "brief" in core.services.llm.requests[-1].system


async def test_model_failure_keeps_message_and_signals(make_core):
    core = await make_core(ScriptedBackend([LLMUnavailable("rate limited (429)")]))
    alice = person()
    await grant(core, alice)
    replies = await core.handle(message(alice, TOPIC_TEXT))
    assert "couldn't reach my language model" in replies[0].text
    assert "try again" in replies[0].text and "learned from it as usual" in replies[0].text
    assert "rate limited" not in replies[0].text  # the operator's detail is logged
    pid = await person_id(core, alice)
    assert await count(core, Interest, person_id=pid) > 0
    assert await count(core, ConversationTurn, person_id=pid, role="user") == 1


async def test_a_model_failure_says_only_what_is_true_for_that_person(make_core, caplog):
    """"Your message is saved and I learned from it as usual" was said to people who never
    consented or had revoked (nothing was kept), "try again in a moment" to a bad key, and
    the backend's reason — an internal URL and a setting's name, in English — to everyone
    (input audit)."""
    bad_key = LLMUnavailable(
        "The model server at http://10.0.0.4:8000/v1/ rejected the API key (401). The "
        "operator needs to check TAILORBOT_OPENAI_API_KEY.", failure=Failure.BAD_KEY,
    )
    core = await make_core(ScriptedBackend([LLMUnavailable("timed out"), bad_key, bad_key]))
    stranger, alice = person("stranger"), person()
    [first, *_] = await core.handle(message(stranger, TOPIC_TEXT))
    assert "try again" in first.text and "learned" not in first.text
    await grant(core, alice)
    [keyless] = await core.handle(message(alice, TOPIC_TEXT))
    assert "trying again will not help" in keyless.text and "operator" in keyless.text
    assert "learned from it as usual" in keyless.text
    assert "10.0.0.4" not in keyless.text and "TAILORBOT_OPENAI_API_KEY" not in keyless.text
    assert any("TAILORBOT_OPENAI_API_KEY" in r.getMessage() for r in caplog.records)
    await core.handle(command(alice, "prefs", "set language fr"))
    [french] = await core.handle(message(alice, TOPIC_TEXT))
    assert "opérateur" in french.text and "rejected" not in french.text


@pytest.mark.parametrize("answer", ["", "   \n  ", "🎉🎉"])
async def test_an_empty_answer_is_not_sent_as_a_reply(make_core, answer):
    """An empty body (or one without choices), blanks, or only emoji for someone who turned
    emoji off were sent and stored as an empty reply (on Discord, a message of two buttons;
    input audit): the person is told the model gave no answer, and no empty turn is kept."""
    core = await make_core(ScriptedBackend([answer]))
    alice = person()
    await grant(core, alice)
    await core.handle(command(alice, "prefs", "set emoji off"))
    [reply] = await core.handle(message(alice, TOPIC_TEXT))
    assert reply.purpose == "error" and "couldn't reach my language model" in reply.text
    pid = await person_id(core, alice)
    assert await count(core, ConversationTurn, person_id=pid, role="assistant") == 0
    # The call was made and its tokens spent: its record says so, as failed (the review
    # found an empty answer's record with no tokens and no model, as if never sent).
    async with core.services.db.session() as session:
        [call] = (await session.exec(select(LLMCall).where(LLMCall.purpose == "chat"))).all()
    assert not call.ok and call.error == EMPTY_ANSWER
    assert call.model == "scripted-1" and call.input_tokens and call.input_tokens > 0


async def test_no_model_backend_still_learns_and_explains(make_core):
    from bot.llm import NO_MODEL_REPLY, NoModelBackend

    core = await make_core(NoModelBackend())
    alice = person()
    await grant(core, alice)
    replies = await core.handle(message(alice, TOPIC_TEXT))
    assert replies[0].text == NO_MODEL_REPLY
    assert "ANTHROPIC_API_KEY" in replies[0].text
    assert await count(core, Interest, person_id=await person_id(core, alice)) > 0


async def test_opt_out_mode_learns_until_revoked(make_core):
    core = await make_core(consent_mode="opt_out")
    alice = person()
    replies = await core.handle(message(alice, TOPIC_TEXT))
    assert [r.purpose for r in replies] == ["chat"]
    pid = await person_id(core, alice)
    assert await count(core, Interest, person_id=pid) > 0
    await core.handle(command(alice, "consent", "revoke"))
    n = await count(core, Signal, person_id=pid)
    await core.handle(message(alice, "Something about woodworking and hand planes"))
    assert await count(core, Signal, person_id=pid) == n


async def test_mention_in_channel_replies_in_thread(core):
    alice = person()
    event = MessageEvent(
        event_id=next_id(),
        person=alice,
        text="hey bot",
        channel_id="C9",
        surface=Surface.CHANNEL,
        mentioned=True,
        message_id="1700.01",
    )
    replies = await core.handle(event)
    assert replies[0].thread_id == "1700.01"


async def test_processed_events_are_per_person_rows(core):
    alice = person()
    await core.handle(message(alice, "hi"))
    assert await count(core, ProcessedEvent, person_id=await person_id(core, alice)) == 1
    assert await count(core, Consent) == 1


async def test_channel_message_not_addressed_to_bot_is_observed_silently(core):
    alice = person()
    await grant(core, alice)
    seen = []

    class Observer(FeatureBase):
        name = "observer"

        async def observe(self, session, who, event, signals):
            seen.append((who.user_id, [t for t, _ in signals.topics]))

    core.services.features.register(Observer())
    event = MessageEvent(
        event_id=next_id(),
        person=alice,
        channel_id="C5",
        surface=Surface.CHANNEL,
        mentioned=False,
        message_id="1.2",
        text="Our team migrated the billing service to event sourcing",
    )
    assert await core.handle(event) == []
    assert seen and seen[0][0] == "alice" and "event sourcing" in " ".join(seen[0][1])
    pid = await person_id(core, alice)
    assert await count(core, Signal, person_id=pid) > 0
    assert await count(core, ConversationTurn, person_id=pid) == 0
    assert core.services.llm.requests == []
    bob = person("bob")  # no consent: nothing observed, nothing stored
    await core.handle(
        MessageEvent(
            event_id=next_id(),
            person=bob,
            channel_id="C5",
            surface=Surface.CHANNEL,
            text="Kubernetes is great",
        )
    )
    assert len(seen) == 1
    assert await person_id(core, bob) is None  # not even that bob spoke
    assert await count(core, ProcessedEvent) == 2  # alice's consent and message


async def test_oversized_platform_ids_and_names_are_stored_safely(core):
    from bot.events import PersonRef

    long_a = PersonRef("test", "W" * 500, "U" * 300 + "a", "N\x00" * 5000)
    long_b = PersonRef("test", "W" * 500, "U" * 300 + "b", "other")
    await grant(core, long_a)
    await grant(core, long_b)
    replies = await core.handle(
        message(
            long_a,
            "Hello about woodworking and hand planes",
            event_id="E" * 1000,
            thread_id="T" * 400,
            message_id="M" * 400,
        )
    )
    assert replies[0].purpose == "chat"
    # two different long ids stay two people
    assert await person_id(core, long_a) != await person_id(core, long_b)
    retry = await core.handle(
        message(long_a, "Hello about woodworking and hand planes", event_id="E" * 1000)
    )
    assert retry == []


async def test_commands_and_empty_text_only_count_when_addressed(core):
    alice = person()
    await grant(core, alice)
    chatter = MessageEvent(
        event_id=next_id(),
        person=alice,
        channel_id="C5",
        surface=Surface.CHANNEL,
        text="/forget confirm",
    )
    assert await core.handle(chatter) == []
    assert await person_id(core, alice) is not None  # quoted command did nothing
    empty = MessageEvent(
        event_id=next_id(), person=alice, channel_id="C5", surface=Surface.CHANNEL, text="   "
    )
    assert await core.handle(empty) == []


async def test_forget_user_everywhere_on_a_platform(core):
    for workspace in ("G1", "G2"):
        who = person("zed", workspace=workspace, platform="discord")
        await grant(core, who)
    other = person("amy", workspace="G1", platform="discord")
    await grant(core, other)
    assert await core.forget_user("discord", "zed") == 2
    assert await person_id(core, person("zed", "G1", "discord")) is None
    assert await person_id(core, other) is not None


async def test_reaction_feedback_is_idempotent_by_state(core):
    alice = person()
    await grant(core, alice)
    reply = (await core.handle(message(alice, TOPIC_TEXT)))[0]
    await core.bind_reply(reply.reply_id, "ts-9")
    pid = await person_id(core, alice)
    add = reaction(alice, "ts-9", "👍", event_id="m:u:+1:add")
    remove = reaction(alice, "ts-9", "👍", added=False, event_id="m:u:+1:remove")
    await core.handle(add)
    await core.handle(add)  # a gateway replay of the same add
    assert await count(core, Feedback, person_id=pid) == 1
    await core.handle(remove)
    assert await count(core, Feedback, person_id=pid) == 0
    await core.handle(add)  # the same reaction added again later counts again
    assert await count(core, Feedback, person_id=pid) == 1
    # buttons: pressing 👍 twice counts once; switching to 👎 replaces it
    await core.handle(action(alice, "feedback.up", reply.reply_id))
    await core.handle(action(alice, "feedback.up", reply.reply_id))
    assert await count(core, Feedback, person_id=pid, source="button") == 1
    await core.handle(action(alice, "feedback.down", reply.reply_id))
    assert await count(core, Feedback, person_id=pid, source="button", value=-1) == 1
    assert await count(core, Feedback, person_id=pid, source="button") == 1


async def test_reactions_from_people_who_did_not_consent_leave_no_trace(core):
    stranger = person("stranger")
    await core.handle(reaction(stranger, "some-message", "🎉", target_text="Rust async"))
    assert await person_id(core, stranger) is None
    assert await count(core, ProcessedEvent) == 0


class PoolWatchingBackend(ScriptedBackend):
    """Records how many database connections are checked out while the model is asked."""

    def __init__(self, core_ref: list) -> None:
        super().__init__(["an answer"])
        self.core_ref = core_ref
        self.checked_out: list[int] = []

    async def generate(self, request, *, on_partial=None):
        # The workspace background's refresh, which assembly may have started, holds a
        # connection of its own for a moment: not the reply's, so it is let finish first;
        # so is the learner's batch with this message's learning, which runs beside the
        # reply by design (a flake of the shifted, shuffled pass counted its connection).
        services = self.core_ref[0].services
        await services.engine.background.settle()
        await services.learner.flush()
        pool = self.core_ref[0].services.db.engine.sync_engine.pool
        self.checked_out.append(pool.checkedout())
        return await super().generate(request, on_partial=on_partial)


async def test_the_model_is_asked_with_no_transaction_open(make_core):
    """The two-transaction rule: identify → … → assemble commit before the model call, and
    the answer is recorded in a second transaction after it."""
    core_ref: list = []
    backend = PoolWatchingBackend(core_ref)
    core = await make_core(backend)
    core_ref.append(core)
    alice = person()
    await grant(core, alice)
    replies = await core.handle(message(alice, "what should I cook tonight?"))
    assert backend.checked_out == [0]
    assert replies[0].reply_id is not None and replies[0].reply_id.startswith("turn:")


async def test_extraction_never_holds_the_sqlite_writer(sqlite_url, settings_for):
    """Extraction runs in a worker and takes milliseconds. On SQLite a write transaction
    holds the process's one writer, which every other reply and learning batch waits for: no
    transaction waits for an extraction. The person's words are extracted while the claim is
    written and the context read (here held in the worker until the context is assembled: the
    claim committed meanwhile, and the writer is free). The reply is not extracted when it is
    answered (its topics stay unread); when it is judged, its text is extracted before the
    feedback's transaction, and its topics stored then."""
    from bot.core import Core
    from profiles.db import Database

    core = Core(settings_for(sqlite_url), Database(sqlite_url),
                ScriptedBackend(["Tokio and async Rust runtimes compared, with benchmarks"]))
    writer = core.services.db._writer
    assert writer is not None
    extract, start, held, assembled = (
        core.services.extract, core.services.start_extraction, [], asyncio.Event()
    )
    assemble = core.chat.assemble.request

    async def watched(text, **kw):
        if text == TOPIC_TEXT:
            await asyncio.wait_for(assembled.wait(), timeout=10)  # the context, first
            held.append(writer.locked())
            return await start(text, **kw)
        held.append(writer.locked())
        return await extract(text, **kw)

    async def assembling(*args, **kwargs):
        try:
            return await assemble(*args, **kwargs)
        finally:
            assembled.set()

    core.services.extract = watched  # the judged reply's
    core.services.start_extraction = started(watched)  # the message's
    core.chat.assemble.request = assembling  # type: ignore[method-assign]
    alice = person()
    try:
        await grant(core, alice)
        replies = await core.handle(message(alice, TOPIC_TEXT))
        assert replies[0].purpose == "chat" and replies[0].reply_id
        assert held == [False], held  # the message's; the reply is not extracted
        turn_id = int(replies[0].reply_id.split(":")[1])
        async with core.services.db.session() as session:
            turn = await session.get(ConversationTurn, turn_id)
            asked = await session.get(ConversationTurn, turn_id - 1)
        assert turn is not None and turn.role == "assistant" and turn.topics is None
        assert asked is not None and asked.role == "user" and asked.topics  # its signals
        await core.services.learner.flush()
        assert await count(core, Interest, person_id=await person_id(core, alice)) > 0
        await core.handle(reaction(alice, replies[0].reply_id, "👍"))
        await core.services.learner.flush()  # reactions are resolved in batches
        assert held == [False, False], held  # the reply's, when judged
        async with core.services.db.session() as session:
            turn = await session.get(ConversationTurn, turn_id)
        assert turn is not None and turn.topics
    finally:
        await core.aclose()
        await core.services.db.dispose()


async def test_assembly_never_holds_the_sqlite_writer(sqlite_url, settings_for):
    """A reply's context (history, profile, preferences, prompt) is read after its claim
    commits, in a read-only transaction: on SQLite the one writer is free while the profile
    is read and the prompt rendered (a DM used to hold it twice as long); what the message
    taught, learned in the next batch, is in the next reply's prompt."""
    from bot.core import Core
    from profiles.db import Database

    core = Core(settings_for(sqlite_url), Database(sqlite_url), ScriptedBackend())
    writer = core.services.db._writer
    assert writer is not None
    renderer, held = core.services.renderer, []
    chat = renderer.chat

    def watched(*args, **kwargs):
        held.append(writer.locked())
        return chat(*args, **kwargs)

    renderer.chat = watched  # type: ignore[method-assign]
    alice = person()
    try:
        await grant(core, alice)
        replies = await core.handle(message(alice, TOPIC_TEXT))
        assert replies[0].purpose == "chat"
        await core.services.learner.flush()
        await core.handle(message(alice, "what next?"))
        assert held == [False, False]
        assert "rust" in core.services.llm.requests[-1].system.lower()  # type: ignore[attr-defined]
    finally:
        await core.aclose()
        await core.services.db.dispose()


@pytest.fixture
async def traced_sqlite_core(sqlite_url, settings_for):
    """A core on SQLite whose statements are traced with the thread each ran in
    (tests/support/sqlite_trace.py), with alice's consent granted and its trace taken."""
    from bot.core import Core
    from profiles.db import Database

    core = Core(settings_for(sqlite_url), Database(sqlite_url), ScriptedBackend())
    traced = Traced(core.services.db, words=3)
    try:
        await grant(core, person())
        traced.take()
        yield core, traced
    finally:
        await core.aclose()
        await core.services.db.dispose()


async def test_a_reply_s_statements_run_on_the_event_loop_on_sqlite(
    traced_sqlite_core, monkeypatch
):
    """A reply's transactions are quick (profiles/sqlite_loop.py): its claim, reads and
    record run on the event loop's thread, without a round trip each to aiosqlite's worker
    thread, and so do taking the write lock and committing (nobody else writes, the log is
    not due a checkpoint). Its learning is not among them: the learner's batch writes it,
    after the reply, from BEGIN to COMMIT in the worker thread (``Database.in_one_call``)."""
    core, traced = traced_sqlite_core
    alice = person()
    core.services.learner.queue.max_delay = 60.0  # the batch waits for the flush below
    replies = await core.handle(message(alice, TOPIC_TEXT))
    assert replies[0].purpose == "chat"
    seen = traced.take()
    # (a workspace count may run beside it, in the worker thread: not the reply's)
    reply = {
        statement: {w for s, w in seen if s == statement}
        for statement in (
            "INSERT INTO processed_event",  # the claim
            # profile and history, one statement (profiles/profile_rows.py)
            "SELECT style_profile.person_id, style_profile.messages_seen,",
            "INSERT INTO conversation_turn",  # the record
        )
    }
    assert reply == {statement: {LOOP} for statement in reply}, seen
    assert {w for s, w in seen if s in ("BEGIN IMMEDIATE", "COMMIT")} == {LOOP}
    assert not [s for s, _ in seen if s == "INSERT INTO signal"]
    handed = count_hand_offs(monkeypatch)
    await core.services.learner.flush()
    batch = traced.take()
    assert "INSERT INTO signal" in [s for s, _ in batch]
    assert {w for _, w in batch} == {WORKER}, batch
    # on the batch's connection: from BEGIN IMMEDIATE to COMMIT as one call (other
    # connections meanwhile: the workspace's background counts)
    calls = calls_of(handed, "run")
    at = calls.index("run")
    assert calls[at + 1:] == [] and (at == 0 or calls[at - 1] != "_begin_now"), handed


async def test_a_preference_change_writes_on_the_event_loop_and_an_export_does_not(
    traced_sqlite_core,
):
    """``/prefs`` is a quick command (a few indexed statements about the person): on SQLite
    its transaction runs on the event loop's thread and holds the one writer only for its
    own work (under load it held it ~13 ms, mostly waiting for loop turns between round
    trips, while replies queued). ``/export``, which reads everything the person has, stays
    in the worker thread."""
    core, traced = traced_sqlite_core
    alice = person()
    replies = await core.handle(command(alice, "prefs", "set tone casual"))
    assert "Saved" in replies[0].text
    seen = traced.take()
    writes = [w for s, w in seen if s.startswith(("BEGIN IMMEDIATE", "INSERT INTO", "COMMIT"))]
    assert writes and set(writes) == {LOOP}, seen
    await core.handle(command(alice, "export"))
    seen = traced.take()
    assert {w for s, w in seen if s.startswith("BEGIN IMMEDIATE")} == {WORKER}, seen


class TogetherBackend(ScriptedBackend):
    """Answers only once ``n`` requests wait for it at the same time."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n, self.waiting, self.all_in = n, 0, asyncio.Event()

    async def generate(self, request, *, on_partial=None):
        self.waiting += 1
        if self.waiting >= self.n:
            self.all_in.set()
        await self.all_in.wait()
        return await super().generate(request, on_partial=on_partial)


async def test_replies_take_turns_for_the_database_not_for_the_model(make_core):
    """With one reply's database work at a time, three people's models still answer
    together: a turn is never held while the model writes (here the model answers only
    when all three ask at once, so holding the turn would hang the test)."""
    core = await make_core(TogetherBackend(3), reply_work_at_once=1)
    people = [person(name) for name in ("ann", "bob", "cat")]
    for who in people:
        await grant(core, who)
    answered = await asyncio.wait_for(
        asyncio.gather(*(core.handle(message(who, TOPIC_TEXT)) for who in people)), 30
    )
    assert [[r.purpose for r in replies] for replies in answered] == [["chat"]] * 3
    for who in people:
        assert await count(core, ConversationTurn, person_id=await person_id(core, who)) == 2


class HeldBackend(ScriptedBackend):
    """Answers once ``go`` is set; ``asked`` is set when a request arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = asyncio.Event()
        self.go = asyncio.Event()

    async def generate(self, request, *, on_partial=None):
        self.asked.set()
        await self.go.wait()
        return await super().generate(request, on_partial=on_partial)


async def test_a_reply_s_record_takes_a_turn_only_where_it_can_interleave(make_core):
    """With one turn for replies' database work and bob's reply holding it (his assembly is
    stuck): on SQLite ann's reply records its answer meanwhile (a quick transaction, one
    step of the loop: it needs no turn, and a second turn was ~20 ms of a DM's ~110 under
    maximum ingest); on PostgreSQL, where the record's round trip lets other replies in,
    it waits for bob's turn to end."""
    model = HeldBackend()
    core = await make_core(model, reply_work_at_once=1)
    ann, bob = person("ann"), person("bob")
    for who in (ann, bob):
        await grant(core, who)
    ann_reply = asyncio.create_task(core.handle(message(ann, TOPIC_TEXT)))
    await asyncio.wait_for(model.asked.wait(), 10)  # ann is at her model, her turn given back
    stuck, release = asyncio.Event(), asyncio.Event()
    assemble = core.chat.assemble.request

    async def held_assembly(*args, **kwargs):
        stuck.set()
        await release.wait()
        return await assemble(*args, **kwargs)

    core.chat.assemble.request = held_assembly
    bob_reply = asyncio.create_task(core.handle(message(bob, TOPIC_TEXT)))
    await asyncio.wait_for(stuck.wait(), 10)  # bob holds the only turn
    model.go.set()
    if core.services.db.single_writer:
        replies = await asyncio.wait_for(ann_reply, 10)  # recorded while bob holds it
    else:
        await asyncio.sleep(0.3)
        assert not ann_reply.done()  # waits for the turn bob holds
    release.set()
    replies = await asyncio.wait_for(ann_reply, 10)
    assert replies[0].purpose == "chat" and replies[0].reply_id
    assert (await asyncio.wait_for(bob_reply, 10))[0].purpose == "chat"
    assert await count(core, ConversationTurn, person_id=await person_id(core, ann)) == 2


async def test_no_more_replies_than_allowed_do_their_database_work_at_once(make_core):
    core = await make_core(reply_work_at_once=2)
    inside, most = 0, 0

    def counted(stage):
        @functools.wraps(stage)
        async def run(*args, **kwargs):
            nonlocal inside, most
            inside += 1
            most = max(most, inside)
            try:
                return await stage(*args, **kwargs)
            finally:
                inside -= 1

        return run

    core.chat._claim_learn_prepare = counted(core.chat._claim_learn_prepare)
    if not core.services.db.single_writer:  # on SQLite the record takes no turn (above)
        core.chat.record.store = counted(core.chat.record.store)
    people = [person(f"p{n}") for n in range(6)]
    for who in people:
        await grant(core, who)
    answered = await asyncio.gather(*(core.handle(message(who, TOPIC_TEXT)) for who in people))
    assert all(replies[0].purpose == "chat" for replies in answered)
    assert most == 2


async def test_a_message_whose_extraction_fails_is_answered_and_teaches_nothing(
    core, caplog: pytest.LogCaptureFixture
):
    """The extraction runs while the message's claim commits: if it then fails, the message
    is claimed already and a retry would be a duplicate, so the person is answered anyway,
    the exchange recorded without topics, nothing learned from it, and the log says why."""
    start = core.services.start_extraction

    async def failing(text, **kw):
        if text == TOPIC_TEXT:
            raise ValueError("unreadable")
        return await start(text, **kw)

    core.services.start_extraction = started(failing)
    alice = person()
    await grant(core, alice)
    pid = await person_id(core, alice)
    before = [await count(core, table, person_id=pid) for table in (Signal, Interest)]
    with caplog.at_level("ERROR", logger="bot.pipeline.chat"):
        replies = await core.handle(message(alice, TOPIC_TEXT))
    assert replies[0].purpose == "chat" and replies[0].reply_id
    assert any("could not be extracted" in r.getMessage() for r in caplog.records)
    await core.services.learner.flush()
    assert [await count(core, table, person_id=pid) for table in (Signal, Interest)] == before
    assert await count(core, ConversationTurn, person_id=pid) == 2  # the exchange, kept


async def test_a_person_who_has_not_consented_is_answered_without_waiting_for_extraction(
    core,
):
    """Nothing of their message is kept, so its signals are not waited for: here they never
    come back from the worker, and the answer does not wait for them."""
    never = asyncio.Event()

    async def stuck(text, **kw):
        await never.wait()

    core.services.start_extraction = started(stuck)
    bob = person()
    replies = await asyncio.wait_for(core.handle(message(bob, TOPIC_TEXT)), timeout=10)
    assert replies and replies[0].purpose == "chat"
    assert await count(core, ConversationTurn) == 0  # and nothing of it is stored


async def test_an_answer_with_a_nul_is_stored_without_it(make_core):
    """PostgreSQL refuses NUL in text: an answer holding one lost the exchange's record (the
    person's message too) and the reply had no feedback id."""
    core = await make_core(ScriptedBackend(lambda request: "tea\x00 or coffee?"))
    alice = person("alice")
    await grant(core, alice)

    [reply] = await core.handle(message(alice, "What should I drink?"))

    assert reply.text == "tea or coffee?" and reply.reply_id is not None
    assert await count(core, ConversationTurn) == 2
