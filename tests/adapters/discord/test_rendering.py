"""Long replies split at Discord's limit; streamed replies edit one message, throttled."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import simcord

from adapters.discord.render import MESSAGE_LIMIT, split_message
from bot.llm import ScriptedBackend
from bot.llm.base import LLMRequest, LLMResult, PartialCallback, estimate_tokens
from tests.adapters.discord.conftest import MakeWorld

pytestmark = pytest.mark.asyncio_loop  # SimCord (conftest.py) needs asyncio's loop

CODE = "```python\n" + "\n".join(f"print({i})  # line {i}" for i in range(120)) + "\n```"
LONG = ("Intro paragraph. " * 40) + "\n\n" + CODE + "\n\n" + ("Closing words. " * 60)


async def test_long_reply_is_split_code_block_aware(make_world: MakeWorld) -> None:
    llm = ScriptedBackend([LONG])
    llm.configured = False  # type: ignore[misc]  (no length shaping: the raw text goes out)
    world = await make_world(llm)

    await world.alice.user.send_dm("write a lot")

    parts = [m for m in world.bot_messages(world.dm(world.alice))
             if not m.content.startswith("Hi! I can adapt")]
    assert len(parts) >= 3
    assert all(len(m.content) <= MESSAGE_LIMIT for m in parts)
    assert all(m.content.count("```") % 2 == 0 for m in parts)  # every part renders alone
    joined = "".join(m.content for m in parts)
    for i in range(120):
        assert f"print({i})  # line {i}" in joined
    assert parts[0].reference is not None  # the first part answers the message


class SlowStreamingModel:
    """Streams 12 chunks with 0.25 s of (virtual) model time between them."""

    name = "slow"
    configured = False

    def __init__(self, env_holder: list[simcord.Env]) -> None:
        self.env_holder = env_holder

    async def generate(
        self, request: LLMRequest, *, on_partial: PartialCallback | None = None
    ) -> LLMResult:
        text = ""
        for i in range(12):
            text += f"word{i} "
            if on_partial is not None:
                await on_partial(text)
            # Declared as an external wait, the sleep only ends when the test advances
            # SimCord's virtual clock: the test, not the wall clock, decides the pacing.
            await self.env_holder[0].external_wait(asyncio.sleep(0.25), reason="model streaming")
        return LLMResult(text=text.strip(), model="slow")

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    async def aclose(self) -> None:
        return None


async def test_streaming_edits_one_message_about_once_per_second(make_world: MakeWorld) -> None:
    holder: list[simcord.Env] = []
    world = await make_world(SlowStreamingModel(holder), settle_timeout=2.0)
    holder.append(world.env)
    edits: list[Any] = []
    world.env.backend.subscribers.append(
        lambda event, payload: edits.append(payload) if event == "MESSAGE_UPDATE" else None
    )

    await world.alice.send(world.channel, f"{world.bot_mention} stream please")
    preview = world.bot_messages(world.channel)[0]
    assert preview.content == "word0"  # posted at the first partial

    for _ in range(12):
        await world.env.advance_time(0.25)

    (message,) = world.bot_messages(world.channel)  # one message, edited in place
    assert message.content == " ".join(f"word{i}" for i in range(12))
    # 3 s of streaming at one edit per second, plus the final edit.
    print("EDITS", len(edits), [e.get("content") for e in edits])
    assert 2 <= len(edits) <= 5


class BreaksMidStream(SlowStreamingModel):
    """Streams one chunk, then fails with an error nothing in the core expects."""

    async def generate(
        self, request: LLMRequest, *, on_partial: PartialCallback | None = None
    ) -> LLMResult:
        if on_partial is not None:
            await on_partial("The answer is")
        raise RuntimeError("a bug, not an outage")


async def test_a_failure_mid_stream_replaces_the_preview_with_an_apology(
    make_world: MakeWorld,
) -> None:
    """The half-streamed preview stayed as it was and the person was told nothing (Slack and
    slash commands said something went wrong)."""
    from adapters.discord.client import SOMETHING_WENT_WRONG

    world = await make_world(BreaksMidStream([]))
    await world.alice.send(world.channel, f"{world.bot_mention} explain please")
    (message,) = world.bot_messages(world.channel)
    assert message.content == SOMETHING_WENT_WRONG


def test_split_prefers_paragraphs_then_lines() -> None:
    text = ("a" * 1500) + "\n\n" + ("b" * 1500) + "\n" + ("c" * 1500)
    assert split_message(text) == ["a" * 1500, "b" * 1500, "c" * 1500]


def test_split_reopens_a_code_block_with_its_language() -> None:
    chunks = split_message("```js\n" + "x = 1;\n" * 600 + "```")
    assert len(chunks) == 3
    assert chunks[0].startswith("```js\n") and chunks[0].endswith("\n```")
    assert chunks[1].startswith("```js\n") and chunks[1].endswith("\n```")
    assert chunks[2].startswith("```js\n") and chunks[2].endswith("```")
    assert all(len(c) <= MESSAGE_LIMIT for c in chunks)


def test_split_cuts_a_wall_of_text_and_drops_nothing() -> None:
    chunks = split_message("z" * 50_000)
    assert len(chunks) == 26  # 1,996 characters each: room is kept to close a code fence
    assert "".join(chunks) == "z" * 50_000
    assert all(len(c) <= MESSAGE_LIMIT for c in chunks)
