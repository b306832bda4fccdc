"""/memory — what a person explicitly asked the bot to remember.

Reached from every surface through the one command registry, and from the sentences
"remember that …" / "forget that …" (see :mod:`bot.memory.intent`). Works without a model and
without consent: asking to remember one thing is consent for that thing.
"""

from __future__ import annotations

import datetime as dt

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.command_base import (
    REGISTRY,
    CommandContext,
    CommandError,
    command,
    free_text,
    usage_error,
)
from bot.events import MessageEvent, Reply
from bot.i18n import N_, t
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

_ORIGINS = {
    "message": N_("your message"),
    "command": "/memory add",
    "tool": N_("our conversation"),
}
HERE_ONLY = N_("here only")

@command("memory")
async def memory(ctx: CommandContext, args: list[str]) -> list[Reply]:
    action = args[0].lower() if args else "list"
    if action == "list":
        return [ctx.reply(await listing(ctx.session, ctx.person_id, ctx.locale))]
    if action == "add":
        return [await _add(ctx, args)]
    if action in ("remove", "forget", "delete", "clear") and ctx.replayed:
        # It took effect already (CommandContext.replayed): run again it would remove the
        # memory now at that number, or find nothing and say so.
        return [ctx.unseen("/memory")]
    if action in ("remove", "forget", "delete"):
        return [await _remove(ctx, args)]
    if action == "clear":
        removed = await clear_memories(ctx.session, ctx.person_id)
        if not removed:  # "I forgot all 0 things" (input audit)
            return [ctx.reply(ctx.t("Nothing to forget: you haven't asked me to remember "
                                    "anything."))]
        return [ctx.reply(ctx.nt(
            "Done: I forgot the {n} thing you had asked me to remember.",
            "Done: I forgot all {n} things you had asked me to remember.",
            removed,
        ))]
    raise usage_error(REGISTRY["memory"])


async def _add(ctx: CommandContext, args: list[str]) -> Reply:
    """``args``: ``add [--here] <text>``; the text is kept exactly as typed (free_text)."""
    scope, words = MemoryScope.LINKED, 1
    if len(args) > 1 and args[1] in ("--here", "--this-workspace"):
        scope, words = MemoryScope.WORKSPACE, 2
    text = free_text(args, words)
    if not text:
        raise CommandError(N_("What should I remember? For example: /memory add I'm vegetarian"))
    limit = ctx.services.settings.memory_max_chars
    length = len(text) + ctx.args_cut  # as typed, not as cut (input audit)
    if length > limit:
        raise CommandError(
            N_("That is too long to remember ({length} characters; the most is {limit}). "
               "Could you say it in fewer words?"),
            length=length, limit=limit,
        )
    source = "message" if isinstance(ctx.event, MessageEvent) else "command"
    cap = ctx.services.settings.memory_max_per_person
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
            N_("I already remember {cap} things for you, the most I keep, so I did not add "
               "“{text}”. See them with /memory and remove one with /memory remove <number>, "
               "then ask me again."),
            cap=cap, text=text,
        ) from None
    # Run again after it took effect (CommandContext.replayed), it finds the memory it
    # added: answered as added, not as one they had asked for before.
    own = ctx.replayed and added.memory.source_event_id == ctx.event.event_id[:200]
    if not added.created and not own:
        return ctx.reply(ctx.t("I already remember that: “{text}”.", text=added.memory.text))
    where = ctx.t(HERE_ONLY) if scope == MemoryScope.WORKSPACE else ctx.t("everywhere you linked")
    note = ""
    consent = await ctx.engine.consent(ctx.session, ctx.person_id)
    if not await ctx.engine.may_learn_in(ctx.session, ctx.person, consent):
        note = " " + ctx.t(
            "You haven't allowed me to learn from your messages, so this is the one thing "
            "I keep from them, because you asked."
        )
    return ctx.reply(
        ctx.t("Got it, I'll remember: “{text}” ({where}).", text=added.memory.text, where=where)
        + note + " "
        + ctx.t("/memory shows everything I remember; “forget that …” removes it.")
    )


async def _remove(ctx: CommandContext, args: list[str]) -> Reply:
    words = free_text(args, 1)
    mine = await own_memories(ctx.session, ctx.person_id)
    if not words:
        raise CommandError(N_("Which one? /memory remove <number> (see /memory for the numbers)."))
    if words.isdecimal():  # isdigit() holds for "፩" and "²", which int() refuses
        index = int(words) if len(words) < 6 else 0
        if not 1 <= index <= len(mine):
            # as typed (cut with "…" only past 24 digits): cut at six, a longer number read
            # as a different one ("999999")
            number = words if len(words) <= 24 else words[:24] + "…"
            if not mine:  # "/memory lists the 0 I have" (input audit)
                raise CommandError(N_("There is no memory number {number}: you haven't asked "
                                      "me to remember anything."), number=number)
            raise CommandError(ctx.nt(
                "There is no memory number {number}: I remember only {n} thing (see /memory).",
                "There is no memory number {number}: I remember {n} things (see /memory).",
                len(mine), number=number,
            ))
        chosen = [mine[index - 1]]
    else:
        chosen, certain = matching(mine, words)
        if not chosen:
            return ctx.reply(ctx.t(
                "I don't remember anything about “{words}”. /memory lists what I remember.",
                words=words,
            ))
        if not certain or len(chosen) > 1:
            options = "\n".join(f"{mine.index(m) + 1}. {m.text}" for m in chosen if m in mine)
            return ctx.reply(ctx.t(
                "Which one should I forget?\n{options}\nSay /memory remove <number> to confirm.",
                options=options,
            ))
    await remove_memories(ctx.session, chosen)
    return ctx.reply(ctx.t("Forgotten: “{text}”.", text=chosen[0].text))


async def listing(session: AsyncSession, person_id: int, locale: str | None = None) -> str:
    memories = await visible_memories(session, person_id)
    if not memories:
        return t(
            "You haven't asked me to remember anything. Say “remember that …” or use "
            "/memory add <text>.",
            locale,
        )
    lines = [t("What you asked me to remember:", locale)]
    lines.extend(describe(memories, person_id, locale))
    lines.append(t("/memory remove <number> forgets one; /memory clear forgets all.", locale))
    return "\n".join(lines)


def describe(memories: list[Memory], person_id: int, locale: str | None = None) -> list[str]:
    """One line per memory with its provenance; shared with /profile (English until
    /profile passes the person's locale)."""
    lines = []
    own = 0
    for memory in memories:
        if memory.person_id == person_id:
            own += 1
            label = f"{own}."
            origin = t(_ORIGINS.get(memory.source, memory.source), locale)
        else:
            label = "•"
            origin = t("a linked identity", locale)
        scope = (
            t(HERE_ONLY, locale)
            if memory.scope == MemoryScope.WORKSPACE
            else t("shared with links", locale)
        )
        lines.append(label + " " + t(
            "{text} (from {origin}, {day}; {scope})", locale,
            text=memory.text, origin=origin, day=_day(memory.created_at), scope=scope,
        ))
    return lines


def _day(at: dt.datetime) -> str:
    return f"{at:%Y-%m-%d}"
