"""/memory — what a person explicitly asked the bot to remember.

Reached from every surface through the one command registry, and from the sentences
"remember that …" / "forget that …" (see :mod:`bot.memory.intent`). Works without a model and
without consent: asking to remember one thing is consent for that thing.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.commands.base import REGISTRY, CommandContext, CommandError, command, usage_text
from bot.events import MessageEvent, Reply
from profiles.memories import (
    MemoryFull,
    add_memory,
    clear_memories,
    matching,
    own_memories,
    remove_memories,
    visible_memories,
)
from profiles.memory_models import Memory, MemoryScope

_ORIGINS = {"message": "your message", "command": "/memory add", "tool": "our conversation"}

@command("memory")
async def memory(ctx: CommandContext, args: list[str]) -> list[Reply]:
    action = args[0].lower() if args else "list"
    rest = args[1:]
    if action == "list":
        return [ctx.reply(await listing(ctx.session, ctx.person_id))]
    if action == "add":
        return [await _add(ctx, rest)]
    if action in ("remove", "forget", "delete"):
        return [await _remove(ctx, rest)]
    if action == "clear":
        removed = await clear_memories(ctx.session, ctx.person_id)
        return [ctx.reply(f"Done: I forgot all {removed} things you had asked me to remember.")]
    raise CommandError(usage_text(REGISTRY["memory"]))


async def _add(ctx: CommandContext, rest: list[str]) -> Reply:
    scope = MemoryScope.LINKED
    if rest and rest[0] in ("--here", "--this-workspace"):
        scope, rest = MemoryScope.WORKSPACE, rest[1:]
    text = " ".join(rest).strip()
    if not text:
        raise CommandError("What should I remember? For example: /memory add I'm vegetarian")
    limit = ctx.core.settings.memory_max_chars
    if len(text) > limit:
        raise CommandError(
            f"That is too long to remember ({len(text)} characters; the most is {limit}). "
            "Could you say it in fewer words?"
        )
    source = "message" if isinstance(ctx.event, MessageEvent) else "command"
    cap = ctx.core.settings.memory_max_per_person
    try:
        added = await add_memory(
            ctx.session,
            ctx.person_id,
            text,
            source=source,
            at=ctx.now,
            limit=cap,
            scope=scope,
            event_id=ctx.event.event_id,
        )
    except MemoryFull:
        raise CommandError(
            f"I already remember {cap} things for you, the most I keep, so I did not add "
            f"“{text}”. See them with /memory and remove one with /memory remove <number>, "
            "then ask me again."
        ) from None
    if not added.created:
        return ctx.reply(f"I already remember that: “{added.memory.text}”.")
    where = "here only" if scope == MemoryScope.WORKSPACE else "everywhere you linked"
    note = ""
    consent = await ctx.engine.consent(ctx.session, ctx.person_id)
    if not await ctx.engine.may_learn_in(ctx.session, ctx.person, consent):
        note = (
            " You haven't allowed me to learn from your messages, so this is the one thing "
            "I keep from them, because you asked."
        )
    return ctx.reply(
        f"Got it, I'll remember: “{added.memory.text}” ({where}).{note} "
        "/memory shows everything I remember; “forget that …” removes it."
    )


async def _remove(ctx: CommandContext, rest: list[str]) -> Reply:
    words = " ".join(rest).strip()
    mine = await own_memories(ctx.session, ctx.person_id)
    if not words:
        raise CommandError("Which one? /memory remove <number> (see /memory for the numbers).")
    if words.isdigit():
        index = int(words) if len(words) < 6 else 0
        if not 1 <= index <= len(mine):
            raise CommandError(
                f"There is no memory number {words[:6]}: /memory lists the {len(mine)} I have."
            )
        chosen = [mine[index - 1]]
    else:
        chosen, certain = matching(mine, words)
        if not chosen:
            return ctx.reply(
                f"I don't remember anything about “{words}”. /memory lists what I remember."
            )
        if not certain or len(chosen) > 1:
            options = "\n".join(f"{mine.index(m) + 1}. {m.text}" for m in chosen if m in mine)
            return ctx.reply(
                f"Which one should I forget?\n{options}\nSay /memory remove <number> to confirm."
            )
    await remove_memories(ctx.session, chosen)
    return ctx.reply(f"Forgotten: “{chosen[0].text}”.")


async def listing(session: AsyncSession, person_id: int) -> str:
    memories = await visible_memories(session, person_id)
    if not memories:
        return (
            "You haven't asked me to remember anything. Say “remember that …” or use "
            "/memory add <text>."
        )
    lines = ["What you asked me to remember:"]
    lines.extend(describe(memories, person_id))
    lines.append("/memory remove <number> forgets one; /memory clear forgets all.")
    return "\n".join(lines)


def describe(memories: list[Memory], person_id: int) -> list[str]:
    """One line per memory with its provenance; shared with /profile."""
    lines = []
    own = 0
    for memory in memories:
        if memory.person_id == person_id:
            own += 1
            label = f"{own}."
            origin = _ORIGINS.get(memory.source, memory.source)
        else:
            label = "•"
            origin = "a linked identity"
        scope = "here only" if memory.scope == MemoryScope.WORKSPACE else "shared with links"
        lines.append(f"{label} {memory.text} (from {origin}, {_day(memory.created_at)}; {scope})")
    return lines


def _day(at: dt.datetime) -> str:
    return f"{at:%Y-%m-%d}"
