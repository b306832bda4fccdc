"""Events API and interactivity over signed HTTP into the real Bolt app, with the real
AsyncWebClient talking to the fake Slack API. Assertions are on what Slack received and on the
database (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

from adapters.slack.app import THINKING, SlackAdapter
from bot.events import MessageEvent, PersonRef, Reply
from bot.handlers.commands import THANKS
from bot.i18n import t
from bot.llm import ScriptedBackend
from profiles.models import (
    Consent,
    ConversationTurn,
    Feedback,
    Interest,
    Person,
    Preference,
    ProcessedEvent,
    Signal,
)
from tests.adapters.slack.conftest import (
    CHANNEL,
    DM,
    OTHER,
    USER,
    MakeWorld,
    SlackWorld,
    fast_options,
    next_ts,
)
from tests.adapters.slack.conftest import rows as read_rows
from tests.support.fake_slack_api import BOT_ID, BOT_USER_ID, TEAM_ID
from tests.support.helpers import count

RUST = "I love Rust programming and distributed systems with async runtimes"


async def rows(world: SlackWorld, model: Any, *where: Any) -> list[Any]:
    return await read_rows(world.core, model, *where)


async def test_first_contact_shows_consent_buttons_and_learns_nothing(world: SlackWorld) -> None:
    sent, _ = await world.dm(RUST)
    assert sent.status == 200
    [notice] = world.slack.calls_to("chat.postEphemeral")
    assert (notice.params["channel"], notice.params["user"]) == (DM, USER)
    actions = notice.params["blocks"][-1]
    assert actions["type"] == "actions"
    # Ada's Slack locale is fr-FR: the bot's own texts are French before she sets anything.
    assert [(e["action_id"], e["text"]["text"]) for e in actions["elements"]] == [
        ("consent.grant", "Autoriser"), ("consent.decline", "Pas maintenant")]
    answer = world.slack.messages[DM][-1]
    assert answer["text"].startswith("(scripted) you said: I love Rust")
    assert "blocks" not in answer  # nothing stored, so no feedback buttons
    assert await count(world.core, Signal) == 0
    assert await count(world.core, Interest) == 0


async def test_allow_button_grants_consent_then_messages_are_learned(world: SlackWorld) -> None:
    await world.dm("hello")
    sent = await world.press("consent.grant", channel=DM, ephemeral=True)
    assert sent.status == 200
    [response] = world.slack.calls_to("response_url")
    assert response.params["response_type"] == "ephemeral"
    assert response.params["replace_original"] is True  # the notice's buttons go away
    assert "J'apprendrai désormais de vos messages" in response.params["text"]  # fr-FR
    [consent] = await rows(world, Consent)
    assert consent.status == "granted"

    await world.dm(RUST)
    assert await count(world.core, Signal) > 0
    assert {i.topic for i in await rows(world, Interest)} & {"rust programming", "rust"}
    answer = world.slack.messages[DM][-1]
    feedback = answer["blocks"][-1]
    # Two answers: "hello"'s (held until Allow, then kept) and this one.
    await world.core.bindings.flush()  # what its timer does (bot/reply_bindings.py)
    held, turn = sorted(await rows(world, ConversationTurn, ConversationTurn.role == "assistant"),
                        key=lambda t: t.id)
    assert held.text.endswith("you said: hello") and held.platform_message_id is None
    assert [(e["action_id"], e["value"]) for e in feedback["elements"]] == [
        ("feedback.up", f"turn:{turn.id}"), ("feedback.down", f"turn:{turn.id}")]
    assert turn.platform_message_id == answer["ts"]  # Core.bind_reply was called
    # Slack's own profile fed the platform context (explicit preferences still win).
    [tz] = await rows(world, Preference, Preference.key == "timezone")
    assert (tz.value, tz.source) == ("Europe/Paris", "platform")


async def test_retried_delivery_is_processed_once(world: SlackWorld) -> None:
    await world.grant()
    event = {"type": "message", "channel": DM, "user": USER, "text": RUST, "ts": next_ts(),
             "channel_type": "im"}
    first = await world.event(event, event_id="Ev0RETRY01")
    signals = await count(world.core, Signal)
    evidence = {i.topic: i.evidence_count for i in await rows(world, Interest)}
    assert first.status == 200 and signals > 0 and evidence
    retry = await world.event(event, event_id="Ev0RETRY01", retry_num=1)
    assert retry.status == 200
    assert await count(world.core, Signal) == signals
    assert {i.topic: i.evidence_count for i in await rows(world, Interest)} == evidence
    assert await count(world.core, ProcessedEvent) == 2  # /consent grant + the message
    answers = [m for m in world.slack.messages[DM] if m.get("user") == BOT_USER_ID]
    assert len(answers) == 1


async def test_reaction_on_bot_reply_is_feedback_once(world: SlackWorld) -> None:
    await world.grant()
    await world.dm(RUST)
    answer_ts = world.slack.messages[DM][-1]["ts"]
    reaction = {"type": "reaction_added", "user": USER, "reaction": "+1",
                "item_user": BOT_USER_ID, "item": {"type": "message", "channel": DM,
                                                   "ts": answer_ts},
                "event_ts": next_ts()}
    await world.event(reaction, event_id="Ev0REACT01")
    await world.event(reaction, event_id="Ev0REACT01", retry_num=1)
    [feedback] = await rows(world, Feedback)
    assert (feedback.value, feedback.emoji, feedback.source) == (1, "👍", "reaction")
    removed = dict(reaction, type="reaction_removed", event_ts=next_ts())
    await world.event(removed)
    assert await count(world.core, Feedback) == 0


async def test_feedback_button_on_answer(world: SlackWorld) -> None:
    await world.grant()
    await world.dm(RUST)
    answer = world.slack.messages[DM][-1]
    text = answer["text"]
    updates_before = len(world.slack.calls_to("chat.update"))
    responses_before = len(world.slack.calls_to("response_url"))
    down = answer["blocks"][-1]["elements"][1]
    await world.press(down["action_id"], down["value"], ephemeral=False,
                      message_ts=answer["ts"], message=dict(answer))
    [feedback] = await rows(world, Feedback)
    assert (feedback.value, feedback.source) == (-1, "button")
    # The click is acknowledged in place: the 👍/👎 row becomes a note, the answer stays.
    [update] = world.slack.calls_to("chat.update")[updates_before:]
    assert (update.params["channel"], update.params["ts"]) == (DM, answer["ts"])
    updated = world.slack.message(DM, answer["ts"])
    assert updated is not None and updated["text"] == text
    assert updated["blocks"][-1]["type"] == "context"
    # in Ada's language (fr-FR): the note was the adapter's own English
    assert updated["blocks"][-1]["elements"][0]["text"] == "👎 " + t(THANKS, "fr")
    assert t(THANKS, "fr") != t(THANKS, "en")
    assert all(b["type"] != "actions" for b in updated["blocks"])
    # ... and no separate "thanks" message
    assert len(world.slack.calls_to("response_url")) == responses_before


async def test_feedback_button_without_its_message_still_thanks(world: SlackWorld) -> None:
    """When Slack does not include the pressed message, the thanks is an ephemeral reply."""
    await world.grant()
    await world.dm(RUST)
    answer = world.slack.messages[DM][-1]
    up = answer["blocks"][-1]["elements"][0]
    updates_before = len(world.slack.calls_to("chat.update"))
    await world.press(up["action_id"], up["value"], ephemeral=False, message_ts=answer["ts"])
    [feedback] = await rows(world, Feedback)
    assert feedback.value == 1
    thanks = world.slack.calls_to("response_url")[-1]
    assert thanks.params["response_type"] == "ephemeral"
    assert thanks.params["replace_original"] is False  # the public answer stays
    assert thanks.params["text"] == t("Thanks for the feedback!", "fr")  # Ada: fr-FR
    assert len(world.slack.calls_to("chat.update")) == updates_before


async def test_reaction_elsewhere_is_an_interest_signal(world: SlackWorld) -> None:
    await world.grant()
    await world.grant(user=OTHER)  # the author's consent counts too
    ts = next_ts()
    chatter = {"type": "message", "channel": CHANNEL, "user": OTHER, "ts": ts,
               "text": "Kubernetes operators make cluster automation pleasant",
               "channel_type": "channel"}
    await world.event(chatter)
    assert world.slack.calls_to("chat.postMessage") == []  # not addressed to the bot
    await world.event({"type": "reaction_added", "user": USER, "reaction": "fire",
                       "item_user": OTHER, "item": {"type": "message", "channel": CHANNEL,
                                                    "ts": ts}, "event_ts": next_ts()})
    signals = await rows(world, Signal, Signal.kind == "reaction")
    assert signals and any("kubernetes" in s.value for s in signals)


async def test_a_forgotten_author_s_words_leave_the_recent_message_cache(
    world: SlackWorld,
) -> None:
    """The adapter kept the text of recent messages (for reactions to them) after their
    author's /forget: a copy of their words in memory, which a colleague's reaction then
    still learned from. Other authors' messages stay."""
    await world.grant()
    await world.grant(user=OTHER)
    forgotten_ts, kept_ts = next_ts(), next_ts()
    for ts, user, text in ((forgotten_ts, OTHER, "Kubernetes operators make automation easy"),
                           (kept_ts, USER, "Sourdough baking needs a lively starter")):
        await world.event({"type": "message", "channel": CHANNEL, "user": user, "ts": ts,
                           "text": text, "channel_type": "channel"})
    await world.command("/forget", user=OTHER)
    await world.press("forget.confirm", user=OTHER, channel=CHANNEL, ephemeral=True)
    assert await count(world.core, Person, user_id=OTHER) == 0
    for ts, user in ((forgotten_ts, USER), (kept_ts, USER)):
        await world.event({"type": "reaction_added", "user": user, "reaction": "fire",
                           "item": {"type": "message", "channel": CHANNEL, "ts": ts},
                           "event_ts": next_ts()})
    learned = " ".join(s.value for s in await rows(world, Signal, Signal.kind == "reaction"))
    assert "sourdough" in learned or "starter" in learned
    assert "kubernetes" not in learned and "operator" not in learned


async def test_a_reaction_learns_from_the_text_as_edited_and_never_from_a_deleted_one(
    world: SlackWorld,
) -> None:
    """The recent-text cache kept a message as first written: a reaction after an edit
    learned from words the author took back, and after a deletion from words they removed."""
    await world.grant()
    await world.grant(user=OTHER)
    edited_ts, deleted_ts = next_ts(), next_ts()
    for ts, text in ((edited_ts, "Kubernetes operators are painless"),
                     (deleted_ts, "Terraform modules everywhere")):
        await world.event({"type": "message", "channel": CHANNEL, "user": OTHER, "ts": ts,
                           "text": text, "channel_type": "channel"})
    await world.event({"type": "message", "subtype": "message_changed", "channel": CHANNEL,
                       "ts": next_ts(), "channel_type": "channel",
                       "message": {"type": "message", "user": OTHER, "ts": edited_ts,
                                   "text": "Sourdough starters are painless"}})
    await world.event({"type": "message", "subtype": "message_deleted", "channel": CHANNEL,
                       "ts": next_ts(), "deleted_ts": deleted_ts, "channel_type": "channel"})
    for ts in (edited_ts, deleted_ts):
        await world.event({"type": "reaction_added", "user": USER, "reaction": "fire",
                           "item": {"type": "message", "channel": CHANNEL, "ts": ts},
                           "event_ts": next_ts()})
    learned = " ".join(s.value for s in await rows(world, Signal, Signal.kind == "reaction"))
    assert "sourdough" in learned
    assert "kubernetes" not in learned and "terraform" not in learned


async def test_an_edited_mention_is_not_answered_again(make_world: MakeWorld) -> None:
    """Slack sends app_mention again, with "edited" and a new event id, when the message is
    edited: it was answered (and learned from) twice."""
    llm = ScriptedBackend()
    world = await make_world(llm=llm)
    await world.grant()
    ts = next_ts()
    mention = {"type": "app_mention", "channel": CHANNEL, "user": USER, "ts": ts,
               "text": f"<@{BOT_USER_ID}> what about Tokio"}
    await world.event(mention)
    await world.event(dict(mention, text=f"<@{BOT_USER_ID}> what about Tokio and Rust",
                           edited={"user": USER, "ts": next_ts()}))
    assert len(llm.requests) == 1
    assert len(world.slack.calls_to("chat.startStream")) == 1


async def test_mention_streams_an_answer_in_thread(make_world: MakeWorld) -> None:
    llm = ScriptedBackend()
    world = await make_world(llm=llm)
    await world.grant()
    ts = next_ts()
    text = f"<@{BOT_USER_ID}> ask <@{OTHER}> about <#C0RUST|rust> and Tokio"
    mention = {"type": "app_mention", "channel": CHANNEL, "user": USER, "text": text, "ts": ts}
    await world.event(mention)
    # Slack also delivers the same message as message.channels: it must not answer twice.
    await world.event(dict(mention, type="message", channel_type="channel"))
    assert llm.requests[-1].turns[-1].content == "ask @Grace about #rust and Tokio"
    [start] = world.slack.calls_to("chat.startStream")
    assert start.params["channel"] == CHANNEL and start.params["thread_ts"] == ts
    assert (start.params["recipient_user_id"], start.params["recipient_team_id"]) == (
        USER, TEAM_ID)
    assert world.slack.calls_to("chat.appendStream")
    [stop] = world.slack.calls_to("chat.stopStream")
    assert stop.params["blocks"][-1]["elements"][0]["action_id"] == "feedback.up"
    answer = world.slack.message(CHANNEL, stop.params["ts"])
    await world.core.bindings.flush()  # what its timer does (bot/reply_bindings.py)
    [turn] = await rows(world, ConversationTurn, ConversationTurn.role == "assistant")
    assert answer is not None and answer["thread_ts"] == ts
    assert answer["text"] == turn.text == "(scripted) you said: ask @Grace about #rust and Tokio"
    assert turn.platform_message_id == stop.params["ts"]
    assert world.slack.calls_to("chat.postMessage") == []
    assert world.slack.calls_to("chat.update") == []


async def test_markup_is_normalised_before_the_core(make_world: MakeWorld) -> None:
    llm = ScriptedBackend()
    world = await make_world(llm=llm)
    raw = (f"hey <@{BOT_USER_ID}>, <@{OTHER}> says <https://tokio.rs|Tokio> is great "
           "&amp; fast :tada: &lt;3")
    await world.dm(raw)
    assert llm.requests[-1].turns[-1].content == (
        "hey , @Grace says Tokio (https://tokio.rs) is great & fast 🎉 <3")


async def test_reshaped_answer_replaces_the_streamed_text(make_world: MakeWorld) -> None:
    # The model uses an emoji; the person's emoji preference is "off", so the core strips it
    # after streaming: the streamed message must end up saying what the core decided.
    world = await make_world(llm=ScriptedBackend(["Sure 🎉 here is a long answer about Rust"]))
    await world.grant()
    await world.event({"type": "app_mention", "channel": CHANNEL, "user": USER,
                       "ts": next_ts(), "text": f"<@{BOT_USER_ID}> rust?"})
    [stop] = world.slack.calls_to("chat.stopStream")
    [update] = world.slack.calls_to("chat.update")
    assert update.params["ts"] == stop.params["ts"]
    assert update.params["text"] == "Sure here is a long answer about Rust"
    assert update.params["blocks"][-1]["block_id"] == "tailorbot.feedback"


async def test_thread_follow_ups(world: SlackWorld) -> None:
    await world.grant()
    ts = next_ts()
    await world.event({"type": "app_mention", "channel": CHANNEL, "user": USER, "ts": ts,
                       "text": f"<@{BOT_USER_ID}> hello"})
    follow = {"type": "message", "channel": CHANNEL, "channel_type": "channel",
              "thread_ts": ts}
    await world.event(dict(follow, user=USER, text="and what about Go?", ts=next_ts()))
    await world.event(dict(follow, user=OTHER, text="we are chatting among us", ts=next_ts()))
    starts = world.slack.calls_to("chat.startStream")
    assert [s.params["thread_ts"] for s in starts] == [ts, ts]
    assert all(s.params["recipient_user_id"] == USER for s in starts)
    # Grace was not talking to the bot and never consented: not answered, nothing stored.
    assert await rows(world, Person, Person.user_id == OTHER) == []


async def test_channel_chatter_is_learned_silently_with_consent(world: SlackWorld) -> None:
    await world.grant()
    chatter = {"type": "message", "channel": CHANNEL, "channel_type": "channel",
               "text": "Kubernetes operators make cluster automation pleasant"}
    await world.event(dict(chatter, user=USER, ts=next_ts()))
    await world.event(dict(chatter, user=OTHER, ts=next_ts()))
    answered = {"chat.postMessage", "chat.postEphemeral", "chat.startStream"}
    assert not answered & set(world.slack.methods())
    [ada] = await rows(world, Person, Person.user_id == USER)
    assert await count(world.core, Signal, person_id=ada.id) > 0
    # no consent from Grace: not even a person row records that she spoke
    assert await rows(world, Person, Person.user_id == OTHER) == []


async def test_follow_up_in_a_thread_this_replica_never_saw(world: SlackWorld) -> None:
    parent = world.slack.seed_message(CHANNEL, user=USER, text=f"<@{BOT_USER_ID}> hi")
    world.slack.seed_message(CHANNEL, user=BOT_USER_ID, bot_id=BOT_ID, text="hello!",
                             thread_ts=parent)
    await world.event({"type": "message", "channel": CHANNEL, "channel_type": "channel",
                       "user": USER, "text": "one more thing", "ts": next_ts(),
                       "thread_ts": parent})
    [replies] = world.slack.calls_to("conversations.replies")
    assert replies.params["ts"] == parent
    assert world.slack.calls_to("chat.startStream")[0].params["thread_ts"] == parent


async def test_a_mention_deep_in_a_long_thread_is_found(world: SlackWorld) -> None:
    """Only the first 100 replies of a thread were read: someone who mentioned the bot after
    them, in a thread this process had not seen, was not answered on their follow-up."""
    parent = world.slack.seed_message(CHANNEL, user=OTHER, text="release planning thread")
    for n in range(250):
        world.slack.seed_message(CHANNEL, user=OTHER, text=f"note {n}", thread_ts=parent)
    world.slack.seed_message(CHANNEL, user=USER, text=f"<@{BOT_USER_ID}> can you summarise",
                             thread_ts=parent)
    await world.event({"type": "message", "channel": CHANNEL, "channel_type": "channel",
                       "user": USER, "text": "and the risks?", "ts": next_ts(),
                       "thread_ts": parent})
    assert len(world.slack.calls_to("conversations.replies")) == 2  # two pages of 200
    assert world.slack.calls_to("chat.startStream")[0].params["thread_ts"] == parent


async def test_streaming_refused_falls_back_to_updates(make_world: MakeWorld) -> None:
    world = await make_world(streaming=False)
    await world.grant()
    for _ in range(2):
        ts = next_ts()
        await world.event({"type": "app_mention", "channel": CHANNEL, "user": USER,
                           "ts": ts, "text": f"<@{BOT_USER_ID}> tell me about Rust"})
    assert len(world.slack.calls_to("chat.startStream", ok_only=False)) == 1  # then no more
    assert world.adapter.streaming_refused == {TEAM_ID}
    posts = world.slack.calls_to("chat.postMessage")
    assert len(posts) == 2 and posts[-1].params["thread_ts"] == ts
    final = world.slack.calls_to("chat.update")[-1]
    assert final.params["text"].startswith("(scripted) you said: tell me about Rust")
    assert final.params["blocks"][-1]["block_id"] == "tailorbot.feedback"


async def test_bot_messages_edits_and_joins_are_ignored(world: SlackWorld) -> None:
    base = {"type": "message", "channel": DM, "channel_type": "im", "text": "hi"}
    await world.event(dict(base, user=BOT_USER_ID, ts=next_ts()))
    await world.event(dict(base, bot_id=BOT_ID, ts=next_ts()))
    await world.event(dict(base, subtype="bot_message", bot_id="B0OTHER", ts=next_ts()))
    await world.event(dict(base, user="U0OTHERBOT", bot_id="B0OTHER", ts=next_ts()))
    await world.event({"type": "message", "subtype": "message_changed", "channel": DM,
                       "channel_type": "im", "ts": next_ts(),
                       "message": {"user": USER, "text": "edited", "ts": "1.0"}})
    await world.event({"type": "message", "subtype": "channel_join", "channel": CHANNEL,
                       "channel_type": "channel", "user": USER, "ts": next_ts(),
                       "text": "<@U0ADA> has joined the channel"})
    posted = {"chat.postMessage", "chat.postEphemeral", "chat.update", "chat.startStream"}
    assert not posted & set(world.slack.methods())
    assert await count(world.core, Person) == 0


async def test_bad_signature_is_rejected_and_nothing_is_stored(world: SlackWorld) -> None:
    sent, _ = await world.dm(RUST, secret="not-the-signing-secret")
    assert sent.status == 401
    command = await world.command("/consent", "grant", secret="not-the-signing-secret")
    assert command.status == 401
    assert world.slack.calls == []
    assert await count(world.core, Person) == 0
    assert await count(world.core, ProcessedEvent) == 0


async def test_rate_limited_call_is_retried(world: SlackWorld) -> None:
    world.slack.fail_next("chat.postMessage", status=429, retry_after=0)
    await world.dm("hello")
    attempts = world.slack.calls_to("chat.postMessage", ok_only=False)
    assert [a.status for a in attempts] == [429, 200]
    assert world.slack.messages[DM][-1]["text"].startswith("(scripted) you said: hello")


async def test_deactivated_user_is_forgotten_by_policy(make_world: MakeWorld) -> None:
    world = await make_world(forget_on_leave=True)
    await world.grant()
    await world.grant(OTHER)
    await world.event({"type": "user_change", "user": {"id": USER, "team_id": TEAM_ID,
                                                        "deleted": True}})
    assert await count(world.core, Person, user_id=USER) == 0
    assert await count(world.core, Person, user_id=OTHER) == 1


async def test_deactivated_user_is_kept_without_the_policy(world: SlackWorld) -> None:
    await world.grant()
    await world.event({"type": "user_change", "user": {"id": USER, "team_id": TEAM_ID,
                                                        "deleted": True}})
    assert await count(world.core, Person, user_id=USER) == 1


async def test_assistant_thread(world: SlackWorld) -> None:
    thread = next_ts()
    await world.event({"type": "assistant_thread_started", "event_ts": next_ts(),
                       "assistant_thread": {"user_id": USER, "channel_id": DM,
                                            "thread_ts": thread, "context": {}}})
    [prompts] = world.slack.calls_to("assistant.threads.setSuggestedPrompts")
    assert (prompts.params["channel_id"], prompts.params["thread_ts"]) == (DM, thread)
    assert len(prompts.params["prompts"]) == 3
    await world.grant()
    await world.event({"type": "message", "channel": DM, "channel_type": "im", "user": USER,
                       "text": "what should I read next?", "ts": next_ts(),
                       "thread_ts": thread})
    [status] = world.slack.calls_to("assistant.threads.setStatus")
    # Ada's Slack locale is fr-FR: the status is in French, through the catalog.
    assert (status.params["thread_ts"], status.params["status"]) == (thread, t(THINKING, "fr"))
    assert t(THINKING, "fr") != THINKING
    methods = world.slack.methods()
    assert methods.index("assistant.threads.setStatus") < methods.index("chat.startStream")
    assert world.slack.calls_to("chat.startStream")[0].params["thread_ts"] == thread


async def test_backlog_replies_reach_slack(world: SlackWorld) -> None:
    """Replies to Slack events replayed after a database outage go through the Slack
    deliverer the adapter registered for its platform, and only while it runs."""
    deliver = world.core.services.deliverers["slack"]
    slack_event = MessageEvent(event_id="Ev0LATE", person=PersonRef("slack", TEAM_ID, USER),
                               channel_id=DM, text="hello")
    await deliver(slack_event, [Reply(text="sorry for the wait")])
    [late] = world.slack.calls_to("chat.postMessage")
    assert (late.params["channel"], late.params["text"]) == (DM, "sorry for the wait")
    second = SlackAdapter(world.core, world.core.services.settings, options=fast_options())
    await second.aclose()
    assert "slack" not in world.core.services.deliverers


async def test_partial_updates_are_throttled(make_world: MakeWorld) -> None:
    world = await make_world(options=fast_options(stream_interval=60.0))
    await world.grant()
    await world.dm("a message long enough for the scripted answer to stream in several chunks")
    assert len(world.slack.calls_to("chat.postMessage")) == 1  # the placeholder
    [final] = world.slack.calls_to("chat.update")  # no intermediate edits within the interval
    assert final.params["text"].startswith("(scripted) you said: a message long enough")
    await world.event({"type": "app_mention", "channel": CHANNEL, "user": USER, "ts": next_ts(),
                       "text": f"<@{BOT_USER_ID}> and now a long question streamed in a thread"})
    assert world.slack.calls_to("chat.appendStream") == []
    [start] = world.slack.calls_to("chat.startStream")
    [stop] = world.slack.calls_to("chat.stopStream")
    streamed = world.slack.message(CHANNEL, stop.params["ts"])
    assert streamed is not None
    assert streamed["text"] == start.params["markdown_text"] + stop.params["markdown_text"]
    assert streamed["text"].endswith("streamed in a thread")
