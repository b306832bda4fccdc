"""The tools the chat model may call, each bound to the asking person by closure.

No tool takes a person id: the person is fixed when the tools are built for one message, so
whatever the model writes can only reach that person's own profile, history, memories,
recommendations and digest items. Tools reuse the product's own paths (``/profile``'s
description, ``/recommend``'s LLM-Rec + ranker, ``/memory``'s storage) rather than new ones.
Each opens its own short transaction: the model step runs with no transaction open.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

from pydantic import Field
from sqlalchemy import or_
from sqlmodel import col, desc, select

from bot.command_base import REGISTRY, CommandContext, CommandError
from bot.commands.profile import describe
from bot.events import MessageEvent
from bot.llm.base import LLMRequest
from bot.llm.tools import Tool, ToolArgs
from profiles.memories import (
    MemoryFull,
    add_memory,
    matching,
    own_memories,
    remove_memories,
    visible_memories,
)
from profiles.models import ConversationTurn, DigestItem, Person

if TYPE_CHECKING:
    from bot.services import Services

_WORD = re.compile(r"\w{3,}")
SEARCH_HITS = 6


class NoArgs(ToolArgs):
    pass


class SearchArgs(ToolArgs):
    query: str = Field(min_length=1, max_length=200, description="Words to look for.")


class RecommendArgs(ToolArgs):
    what: str = Field(
        min_length=2, max_length=200, description="What to recommend, e.g. 'a sci-fi book'."
    )


class RememberArgs(ToolArgs):
    fact: str = Field(
        min_length=2, max_length=300, description="The fact, in the person's own words."
    )


class ForgetArgs(ToolArgs):
    description: str = Field(
        min_length=2, max_length=300, description="Which remembered fact, in their words."
    )


def attach_tools(
    services: Services, request: LLMRequest, person: Person, event: MessageEvent, *, learn: bool
) -> LLMRequest:
    """``request`` with this person's tools when the deployment and the backend allow them;
    otherwise unchanged (today's behaviour)."""
    settings = services.settings
    if not settings.llm_tools or not getattr(services.llm, "supports_tools", False):
        return request
    return dataclasses.replace(
        request,
        tools=person_tools(services, person, event, learn=learn),
        tool_rounds=settings.llm_tool_rounds,
        tool_result_chars=settings.llm_tool_result_chars,
        tool_budget_chars=settings.llm_tool_result_chars * settings.llm_tool_rounds,
        tool_timeout_seconds=min(settings.llm_timeout_seconds, 30.0),
    )


def person_tools(
    services: Services, person: Person, event: MessageEvent, *, learn: bool
) -> tuple[Tool, ...]:
    assert person.id is not None
    person_id = person.id

    async def read_profile(args: NoArgs) -> str:
        async with services.db.session() as session:
            fresh = await session.get(Person, person_id)
            if fresh is None:
                return "Nothing is stored about this person."
            return await describe(services.engine, session, fresh, services.clock())

    async def search_history(args: SearchArgs) -> str:
        words = sorted(set(_WORD.findall(args.query.casefold())))[:8]
        if not words:
            return "Give at least one word of three letters or more."
        lines: list[str] = []
        async with services.db.session() as session:
            for memory in await visible_memories(session, person_id):
                if any(word in memory.key for word in words):
                    lines.append(f"memory ({memory.created_at:%Y-%m-%d}): {memory.text}")
            if learn:
                turns = await session.exec(
                    select(ConversationTurn)
                    .where(
                        ConversationTurn.person_id == person_id,
                        or_(*[col(ConversationTurn.text).ilike(f"%{w}%") for w in words]),
                    )
                    .order_by(desc(col(ConversationTurn.id)))
                    .limit(SEARCH_HITS)
                )
                for turn in turns:
                    who = "they said" if turn.role == "user" else "you answered"
                    lines.append(f"{turn.created_at:%Y-%m-%d} {who}: {turn.text[:300]}")
        if not lines:
            note = "" if learn else " (their conversations are not kept: no consent)"
            return f"Nothing found for {args.query!r}{note}."
        return "\n".join(lines[: SEARCH_HITS * 2])

    async def recommend(args: RecommendArgs) -> str:
        """The /recommend path itself: the model proposes, the profile ranker decides."""
        async with services.transaction() as session:
            fresh = await session.get(Person, person_id)
            assert fresh is not None
            ctx = CommandContext(
                services=services, session=session, person=fresh, event=event, now=services.clock()
            )
            try:
                words = args.what.split()
                if words[0].casefold() in ("like", "dislike", "done"):  # not a button's words
                    words.insert(0, "things")
                replies = await REGISTRY["recommend"].handler(ctx, words)
            except CommandError as exc:
                return str(exc)
        for work in ctx.after_commit:
            replies.extend(await work())
        return "\n".join(reply.text for reply in replies) or "No recommendation came back."

    async def digest_items(args: NoArgs) -> str:
        async with services.db.session() as session:
            rows = await session.exec(
                select(DigestItem)
                .where(DigestItem.person_id == person_id)
                .order_by(desc(col(DigestItem.id)))
                .limit(10)
            )
            items = [
                f"{row.created_at:%Y-%m-%d} {row.title}"
                + (f" <{row.url}>" if row.url else "")
                + (f" — {row.reason}" if row.reason else "")
                for row in rows
            ]
        return "\n".join(items) if items else "No digest items yet (/digest subscribe)."

    async def remember(args: RememberArgs) -> str:
        limit = services.settings.memory_max_per_person
        async with services.db.session() as session:
            try:
                added = await add_memory(
                    session,
                    person_id,
                    args.fact,
                    source="tool",
                    at=services.clock(),
                    limit=limit,
                    event_id=event.event_id,
                )
            except MemoryFull:
                return (
                    f"Not remembered: they already have {limit} memories, the most kept. Tell "
                    "them to remove one (/memory, then /memory remove <number>) and ask again."
                )
        if not added.created:
            return f"Already remembered: {added.memory.text}"
        return f"Remembered: {added.memory.text} (they can see it with /memory)"

    async def forget(args: ForgetArgs) -> str:
        async with services.db.session() as session:
            mine = await own_memories(session, person_id)
            chosen, certain = matching(mine, args.description)
            if not chosen:
                return "No remembered fact matches; nothing was forgotten."
            if not certain or len(chosen) > 1:
                options = "; ".join(f"{mine.index(m) + 1}. {m.text}" for m in chosen)
                return (
                    "Ambiguous, nothing was forgotten. Ask the person which one they mean: "
                    f"{options} (they can confirm with /memory remove <number>)."
                )
            await remove_memories(session, chosen)
        return f"Forgotten: {chosen[0].text}"

    return (
        Tool(
            "read_profile",
            "Read what is stored about the person you are talking to: interests, style, "
            "explicit preferences and remembered facts, with where each came from.",
            NoArgs,
            read_profile,
        ),
        Tool(
            "search_history",
            "Search this person's own earlier messages and remembered facts for some words.",
            SearchArgs,
            search_history,
        ),
        Tool(
            "recommend",
            "Personal recommendations for this person (books, films, places…), proposed "
            "and then ranked against their profile. Use it when they ask for suggestions.",
            RecommendArgs,
            recommend,
        ),
        Tool(
            "list_digest_items",
            "The latest items of this person's personal digest.",
            NoArgs,
            digest_items,
        ),
        Tool(
            "remember",
            "Remember a fact about the person. Only when they clearly ask you to remember "
            "something; if you are unsure what they want kept, ask them instead.",
            RememberArgs,
            remember,
        ),
        Tool(
            "forget",
            "Forget one remembered fact when the person asks. If the result says it is "
            "ambiguous, ask them which one; never guess.",
            ForgetArgs,
            forget,
        ),
    )
