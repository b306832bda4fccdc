"""Answers being written (adapters/slack/stream.py) through the real Bolt app and slack_sdk,
against the fake Slack API and its limits: what rate limits, refusals and dropped connections
during and at the end of an answer do, and answers longer than a Slack message. Whatever
happens to the preview, the person must end up with the whole answer, once: what Slack would
show is read back from the fake's messages (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.llm import ScriptedBackend
from bot.llm.base import LLMRequest, LLMResult, PartialCallback
from profiles.models import ConversationTurn
from tests.adapters.slack.conftest import (
    CHANNEL,
    DM,
    ONE,
    TWO,
    USER,
    Distributed,
    MakeWorld,
    SlackWorld,
    fast_options,
    next_ts,
    rows,
)
from tests.support.fake_slack_api import BOT_USER_ID

ANSWER = ("Tokio schedules tasks on a work stealing runtime and each worker keeps a local "
          "queue so most wakeups never touch a shared lock at all")


class FrozenClock:
    """The answer's clock stands still: a Retry-After is never over within the test, and with
    a long ``stream_interval`` no partial update comes after the first."""

    def __call__(self) -> float:
        return 1000.0


class OneChunk(ScriptedBackend):
    """A model whose whole answer arrives in one chunk (as after a pause in its stream)."""

    async def generate(
        self, request: LLMRequest, *, on_partial: PartialCallback | None = None
    ) -> LLMResult:
        result = await super().generate(request)
        if on_partial is not None:
            await on_partial(result.text)
        return result


def long_answer(paragraphs: int) -> str:
    """Plain words (no markup, so Slack shows them as written), ~600 characters a paragraph."""
    return "\n\n".join(
        " ".join(f"word{p}x{w}" for w in range(60)) for p in range(paragraphs)
    )


def shown(message: dict[str, Any]) -> str:
    """What Slack draws of a message: its sections when it has any, else its text."""
    sections = [b["text"]["text"] for b in message.get("blocks") or [] if b["type"] == "section"]
    return "\n".join(sections) if sections else str(message["text"])


def words(text: str) -> list[str]:
    return text.split()


async def mention(world: SlackWorld, text: str = "tell me about Tokio") -> str:
    ts = next_ts()
    await world.event({"type": "app_mention", "channel": CHANNEL, "user": USER, "ts": ts,
                       "text": f"<@{BOT_USER_ID}> {text}"})
    return ts


def answers_in_thread(world: SlackWorld, thread: str) -> list[dict[str, Any]]:
    return [m for m in world.slack.messages[CHANNEL]
            if m.get("thread_ts") == thread and m.get("user") == BOT_USER_ID]


def answers_in_dm(world: SlackWorld) -> list[dict[str, Any]]:
    return [m for m in world.slack.messages[DM] if m.get("user") == BOT_USER_ID]


async def answered(world: SlackWorld, *, streamed: bool) -> list[dict[str, Any]]:
    """Ask once (a mention answered in its thread, or a DM answered with a placeholder) and
    return the bot's messages the question got."""
    if streamed:
        return answers_in_thread(world, await mention(world))
    await world.dm("tell me about Tokio")
    return answers_in_dm(world)


# Rate limits and failures while the answer is written ----------------------------------------
async def test_a_rate_limited_stream_start_does_not_turn_streaming_off(
    make_world: MakeWorld,
) -> None:
    """A 429 on chat.startStream, past slack_sdk's retries, was taken for the workspace
    refusing streaming: no answer streamed again until the process restarted."""
    world = await make_world(llm=ScriptedBackend([ANSWER, ANSWER]))
    await world.grant()
    for _ in range(3):
        world.slack.fail_next("chat.startStream", status=429, retry_after=0)
    [answer] = answers_in_thread(world, await mention(world))
    assert words(shown(answer)) == words(ANSWER)
    assert not world.adapter.streaming_refused
    assert world.slack.calls_to("chat.postMessage") == []  # no placeholder instead
    second = await mention(world)
    assert [c.params["thread_ts"] for c in world.slack.calls_to("chat.startStream")][-1] == second


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "placeholder"])
async def test_rate_limited_partial_updates_are_skipped_not_waited_for(
    make_world: MakeWorld, streamed: bool
) -> None:
    """The core awaits every partial update while it reads the model: slack_sdk waiting out a
    Retry-After there (twice, then again at the next update) held up the whole answer. The
    updates now pause until Retry-After is over, and the final answer is whole."""
    world = await make_world(llm=ScriptedBackend([ANSWER]),
                             options=fast_options(clock=FrozenClock()))
    await world.grant()
    update = "chat.appendStream" if streamed else "chat.update"
    world.slack.fail_next(update, status=429, retry_after=3)
    [answer] = await answered(world, streamed=streamed)
    assert words(shown(answer)) == words(ANSWER)
    updates = world.slack.calls_to(update, ok_only=False)
    # the rate-limited update was not tried again, nor any later one (the final chat.update
    # of a placeholder is the answer itself)
    assert [c.status for c in updates] == ([429] if streamed else [429, 200])
    assert world.slack.streams_open == set()


async def test_a_dropped_connection_while_streaming_loses_nothing(make_world: MakeWorld) -> None:
    """Past slack_sdk's connection retries, aiohttp's error left ``on_partial`` (which catches
    only slack_sdk's) and the core dropped the answer. And an append whose answer was lost
    may have been applied: what the stream holds is unknown, so the answer replaces it."""
    world = await make_world(llm=ScriptedBackend([ANSWER]))
    await world.grant()
    for _ in range(3):
        world.slack.fail_next("chat.appendStream", drop=True)
    [answer] = answers_in_thread(world, await mention(world))
    assert words(shown(answer)) == words(ANSWER)
    assert answer["blocks"][-1]["block_id"] == "tailorbot.feedback"
    assert world.slack.streams_open == set()
    assert world.slack.calls_to("chat.postEphemeral") == []  # no "something went wrong"


async def test_a_stop_slack_refuses_still_ends_with_the_whole_answer(
    make_world: MakeWorld,
) -> None:
    """chat.stopStream rate-limited past slack_sdk's retries: the rest of the answer was
    lost and the message ended with "something went wrong" instead."""
    world = await make_world(llm=ScriptedBackend([ANSWER]),
                             options=fast_options(rate_limit_retries=0))
    await world.grant()
    world.slack.fail_next("chat.stopStream", status=429, retry_after=0)
    [answer] = answers_in_thread(world, await mention(world))
    assert words(shown(answer)) == words(ANSWER)
    assert answer["blocks"][-1]["block_id"] == "tailorbot.feedback"
    assert world.slack.streams_open == set()
    await world.core.bindings.flush()  # what its timer does (bot/reply_bindings.py)
    [turn] = await rows(world.core, ConversationTurn, ConversationTurn.role == "assistant")
    assert turn.platform_message_id == answer["ts"]


@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "placeholder"])
async def test_an_answer_slack_will_not_finish_is_posted_anew_once(
    make_world: MakeWorld, streamed: bool
) -> None:
    """The final chat.update refused past slack_sdk's retries: the placeholder was then
    replaced by "something went wrong" and the answer was lost. It is now posted anew, and the
    unfinished message deleted, so the answer is there once."""
    world = await make_world(llm=ScriptedBackend([ANSWER]), options=fast_options(
        rate_limit_retries=0, stream_interval=60.0, clock=FrozenClock()))
    await world.grant()
    if streamed:
        world.slack.fail_next("chat.stopStream", status=429, retry_after=0)
        world.slack.fail_next("chat.stopStream", status=429, retry_after=0)
    world.slack.fail_next("chat.update", status=429, retry_after=0)
    [answer] = await answered(world, streamed=streamed)
    assert words(shown(answer)) == words(ANSWER)
    assert answer["blocks"][-1]["block_id"] == "tailorbot.feedback"
    assert len(world.slack.calls_to("chat.delete")) == 1
    assert world.slack.streams_open == set()


# Answers longer than a message ---------------------------------------------------------------
@pytest.mark.parametrize("streamed", [True, False], ids=["streamed", "placeholder"])
@pytest.mark.parametrize("consent", [True, False], ids=["buttons", "plain"])
async def test_a_long_answer_continues_in_further_messages(
    make_world: MakeWorld, streamed: bool, consent: bool
) -> None:
    """A message's text was cut at 39,000 characters, its blocks at 48 sections (3,000
    characters each), and the rest dropped; streamed, the rest went to chat.stopStream whole,
    which takes 12,000 characters, and was lost. Either way the answer now continues in
    further messages, its 👍/👎 on the last."""
    text = long_answer(260)  # ~160,000 characters: 55 sections of 3,000
    world = await make_world(llm=ScriptedBackend([text]), options=fast_options(
        stream_interval=60.0, clock=FrozenClock()))
    if consent:
        await world.grant()
    messages = await answered(world, streamed=streamed)
    assert words(" ".join(shown(m) for m in messages)) == words(text)
    assert len(messages) == 5
    assert all(len(m["text"]) <= 40_000 for m in messages)
    with_buttons = [m for m in messages if any(b["type"] == "actions"
                                               for b in m.get("blocks") or [])]
    assert with_buttons == (messages[-1:] if consent else [])
    assert world.slack.streams_open == set()
    if streamed:  # what Slack drew of the streamed Markdown is replaced, buttons or not
        assert messages[0]["blocks"][0]["type"] == "section"
    if consent:
        await world.core.bindings.flush()
        [turn] = await rows(world.core, ConversationTurn, ConversationTurn.role == "assistant")
        assert turn.platform_message_id == messages[-1]["ts"]  # where the 👍/👎 are


async def test_a_long_chunk_is_streamed_in_calls_slack_takes(make_world: MakeWorld) -> None:
    """markdown_text takes 12,000 characters a call: a first chunk longer than that was refused
    (msg_too_long), taken for the workspace refusing streaming, and streaming turned off."""
    text = long_answer(35)  # ~21,000 characters, in one chunk
    world = await make_world(llm=OneChunk([text]))
    await world.grant()
    [answer] = answers_in_thread(world, await mention(world))
    assert words(shown(answer)) == words(text)
    assert not world.adapter.streaming_refused
    [start] = world.slack.calls_to("chat.startStream")
    [stop] = world.slack.calls_to("chat.stopStream")
    assert start.params["markdown_text"] + stop.params["markdown_text"] == text


async def test_a_workspace_that_refuses_streaming_turns_it_off_for_itself_only(
    distributed: Any,
) -> None:
    """One app installed in two workspaces ("Add to Slack"): the one whose tokens Slack
    refuses the streaming methods gets message updates from then on; the other still gets
    its answers streamed (one refusal turned streaming off for every workspace)."""
    world: Distributed = await distributed()
    for team in (ONE, TWO):
        await world.install(team)
    world.slack.streaming_refused_teams.add(TWO)
    for team in (TWO, ONE, TWO, ONE):
        await world.event(team, {
            "type": "app_mention", "channel": f"C{team}", "user": f"U{team}", "ts": next_ts(),
            "text": f"<@UBOT{team}> tell me about Rust",
        })

    tried = [world.slack.tokens[call.token or ""]
             for call in world.slack.calls_to("chat.startStream", ok_only=False)]
    assert tried == [TWO, ONE, ONE]  # TWO's refusal was asked once, ONE streamed each time
    assert world.adapter.streaming_refused == {TWO}
    placeholders = world.slack.calls_to("chat.postMessage")
    assert [world.slack.tokens[c.token or ""] for c in placeholders] == [TWO, TWO]
