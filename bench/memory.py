"""`python -m bench --memory` — cross-platform memory and tool use, scripted, no real model.

Each conversation: a person states a fact (or a preference) on one platform, later asks on
another. We check, in the body the model server actually received over HTTP, that the fact
reaches the model on the second platform when the two identities are linked and never when
they are not. Then the same questions with the local model server scripted to call tools
(search_history, then an answer) give tool calls per turn and the latency one tool round adds,
against turns without tools, through the real OpenAI SDK and the real core on SQLite.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import col, select

from bench.running import run
from bot.config import Settings
from bot.core import Core
from bot.events import CommandEvent, MessageEvent, PersonRef, PlatformContext, Surface
from bot.llm.openai_backend import OpenAICompatibleBackend
from profiles.db import Database
from profiles.migrate import upgrade
from profiles.models import LLMCall
from tests.support.fake_llm_server import FakeLLMServer, Reply, ToolCall

FACTS = [
    ("I'm vegetarian", "Suggest a dinner for tonight"),
    ("my team ships on Thursdays", "When should I plan the release notes?"),
    ("I'm allergic to peanuts", "What snack should I bring?"),
    ("my daughter is called Ines", "Help me write a birthday card"),
    ("I run 10k every Sunday", "Plan my weekend"),
    ("I use Neovim, not VS Code", "How do I rename a symbol?"),
    ("I live in Lisbon", "Where could I go for a day trip?"),
    ("I prefer metric units", "How far is a marathon?"),
    ("my manager is Priya", "Draft a status update"),
    ("I'm learning Japanese", "Recommend a podcast"),
]
_ids = iter(range(1, 10**9))


@dataclass
class MemoryFigures:
    conversations: int
    reached_linked: int
    leaked_unlinked: int
    preference_linked: bool
    preference_unlinked_leak: bool
    tool_calls_per_turn: float
    plain_ms: float
    tool_turn_ms: float
    rounds_per_tool_turn: float

    @property
    def ms_per_tool_round(self) -> float:
        extra_rounds = max(self.rounds_per_tool_turn - 1, 1e-9)
        return (self.tool_turn_ms - self.plain_ms) / extra_rounds


def _message(who: PersonRef, text: str) -> MessageEvent:
    return MessageEvent(
        event_id=f"bench-{next(_ids)}",
        person=who,
        text=text,
        channel_id="D1",
        surface=Surface.DM,
        context=PlatformContext(),
    )


def _command(who: PersonRef, name: str, args: str = "") -> CommandEvent:
    return CommandEvent(event_id=f"bench-{next(_ids)}", person=who, name=name, args=args)


async def _link(core: Core, first: PersonRef, second: PersonRef) -> None:
    issued = (await core.handle(_command(first, "link")))[0].text
    found = re.search(r"[A-Z2-9]{4}-[A-Z2-9]{4}", issued)
    assert found is not None, issued
    await core.handle(_command(second, "link", found.group(0)))


def _system(body: dict[str, object]) -> str:
    messages = body.get("messages")
    assert isinstance(messages, list)
    return str(messages[0].get("content", "")) if messages else ""


async def run_memory(directory: Path) -> MemoryFigures:
    url = f"sqlite:///{directory / 'memory-bench.db'}"
    await asyncio.to_thread(upgrade, url)
    settings = Settings(database_url=url, auto_migrate=False, _env_file=None)  # type: ignore[call-arg]
    async with FakeLLMServer() as server:
        llm = OpenAICompatibleBackend(base_url=server.openai_base_url, max_retries=0)
        core = Core(settings, Database(url), llm)
        try:
            reached = leaked = 0
            plain: list[float] = []
            for number, (fact, question) in enumerate(FACTS):
                slack = PersonRef("slack", "T1", f"U{number}", f"Person {number}")
                discord = PersonRef("discord", "G1", f"{number}", f"Person {number}")
                alone = PersonRef("discord", "G1", f"alone-{number}", f"Other {number}")
                await core.handle(_message(slack, f"remember that {fact}"))
                await _link(core, slack, discord)
                for who in (discord, alone):
                    await core.handle(_message(who, question))
                    seen = json.dumps(server.requests_for("openai")[-1].body)
                    present = json.dumps(fact)[1:-1] in seen
                    if who is discord:
                        reached += present
                    else:
                        leaked += present
                plain.append(await _last_latency(core))
            pref_slack = PersonRef("slack", "T1", "prefs", "Prefs")
            pref_discord = PersonRef("discord", "G1", "prefs", "Prefs")
            pref_alone = PersonRef("discord", "G1", "prefs-alone", "Alone")
            await core.handle(_command(pref_slack, "prefs", "set tone formal"))
            await _link(core, pref_slack, pref_discord)
            await core.handle(_command(pref_slack, "link", "share on"))
            await core.handle(_message(pref_discord, "hello"))
            pref_linked = "Tone: formal (linked)" in _system(server.requests_for("openai")[-1].body)
            await core.handle(_message(pref_alone, "hello"))
            pref_leak = "formal" in _system(server.requests_for("openai")[-1].body)

            tool_turns: list[float] = []
            calls: list[int] = []
            rounds: list[int] = []
            for number, (_fact, question) in enumerate(FACTS):
                discord = PersonRef("discord", "G1", f"{number}", f"Person {number}")
                server.enqueue(
                    "openai",
                    Reply(tool_calls=(ToolCall("search_history", {"query": question}),)),
                    Reply("Here is what I found."),
                )
                started = len(server.requests_for("openai"))
                await core.handle(_message(discord, question))
                rounds.append(len(server.requests_for("openai")) - started)
                tool_turns.append(await _last_latency(core))
                calls.append(await _last_tool_count(core))
        finally:
            await core.aclose()
            await core.services.db.dispose()
    return MemoryFigures(
        conversations=len(FACTS),
        reached_linked=reached,
        leaked_unlinked=leaked,
        preference_linked=pref_linked,
        preference_unlinked_leak=pref_leak,
        tool_calls_per_turn=statistics.mean(calls),
        plain_ms=statistics.median(plain),
        tool_turn_ms=statistics.median(tool_turns),
        rounds_per_tool_turn=statistics.mean(rounds),
    )


async def _last_call(core: Core) -> LLMCall:
    async with core.services.db.session() as session:
        row = (
            await session.exec(
                select(LLMCall).where(LLMCall.purpose == "chat").order_by(col(LLMCall.id).desc())
            )
        ).first()
    assert row is not None
    return row


async def _last_latency(core: Core) -> float:
    return (await _last_call(core)).latency_ms or 0.0


async def _last_tool_count(core: Core) -> int:
    tools = (await _last_call(core)).tools
    return len(tools.split(",")) if tools else 0


def format_memory(figures: MemoryFigures) -> str:
    n = figures.conversations
    return "\n".join(
        [
            f"facts stated on Slack reaching the model on Discord, linked: "
            f"{figures.reached_linked}/{n}",
            f"facts reaching the model for an unlinked person: {figures.leaked_unlinked}/{n}",
            f"shared preference reaches the linked identity: {figures.preference_linked}; "
            f"leaks to an unlinked one: {figures.preference_unlinked_leak}",
            f"tool calls per turn (model scripted to search once): "
            f"{figures.tool_calls_per_turn:.2f}; model rounds per turn "
            f"{figures.rounds_per_tool_turn:.2f}",
            f"turn latency, median: {figures.plain_ms:.1f} ms without tools, "
            f"{figures.tool_turn_ms:.1f} ms with one tool round → "
            f"{figures.ms_per_tool_round:.1f} ms added per tool round "
            "(local model server, SQLite)",
        ]
    )


def run_memory_bench() -> MemoryFigures:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as directory:
        figures = run(run_memory(Path(directory)))
    print(format_memory(figures))
    print(f"(memory bench took {time.perf_counter() - started:.1f} s)")
    return figures
