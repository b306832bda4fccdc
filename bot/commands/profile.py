"""/profile — what the bot believes about the person, and why, in plain language."""

from __future__ import annotations

import datetime as dt

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.commands.base import REGISTRY, CommandContext, CommandError, command, usage_text
from bot.context import style_summary
from bot.events import Reply
from bot.memory.profile import memory_profile_lines
from bot.summaries import describe_summary, remove_from_summary
from profiles.engine import ProfileEngine
from profiles.models import ConsentStatus, Person, ProfileSummary


@command(
    "profile",
    "what I believe about you and why",
    ["/profile", "/profile summary [clear | remove <item>]"],
    subcommands=("summary",),
)
async def profile(ctx: CommandContext, args: list[str]) -> list[Reply]:
    if not args:
        return [ctx.reply(await describe(ctx.engine, ctx.session, ctx.person, ctx.now))]
    if args[0].lower() != "summary":
        raise CommandError(usage_text(REGISTRY["profile"]))
    row = await ctx.session.get(ProfileSummary, ctx.person_id)
    if row is None:
        return [ctx.reply("There is no model summary of you.")]
    action = args[1].lower() if len(args) > 1 else "show"
    if action == "show":
        return [ctx.reply("\n".join(describe_summary(row)))]
    if action == "clear":
        await ctx.session.delete(row)
        return [ctx.reply("Deleted the model's summary of you.")]
    if action == "remove" and len(args) > 2:
        item = " ".join(args[2:])
        if not remove_from_summary(row, item):
            raise CommandError(f"Nothing in the summary mentions {item!r}.")
        row.corrected_at = ctx.now
        ctx.session.add(row)
        return [ctx.reply("Corrected. " + "\n".join(describe_summary(row)))]
    raise CommandError(usage_text(REGISTRY["profile"]))


async def describe(
    engine: ProfileEngine, session: AsyncSession, person: Person, now: dt.datetime
) -> str:
    """Plain-language profile; shared by /profile and ``tailorbot users show``."""
    assert person.id is not None
    person_id = person.id
    snapshot = await engine.snapshot(session, person, now)
    lines: list[str] = []
    learning = engine.may_learn(await engine.consent(session, person_id))
    if not learning:
        if snapshot.consent == ConsentStatus.REVOKED.value:
            lines.append("You revoked consent: I am not learning anything from your messages.")
        else:
            lines.append(
                "You haven't allowed me to learn from your messages, so I only know what you "
                "told me explicitly. /consent grant lets me adapt to you."
            )
    if snapshot.interests:
        lines.append("Interests I noticed (strongest first, fading over time if not mentioned):")
        for interest in snapshot.interests:
            evidence = await engine.evidence(session, person_id, interest.topic, limit=1)
            why = f"{interest.evidence_count} message(s)"
            if interest.positive_feedback or interest.negative_feedback:
                why += (
                    f", {interest.positive_feedback} 👍 / {interest.negative_feedback} 👎 "
                    "on my replies"
                )
            example = f' — e.g. "{evidence[0].excerpt}"' if evidence and evidence[0].excerpt else ""
            lines.append(
                f"• {interest.topic} (weight {interest.weight:.2f}; from {why}, last "
                f"{interest.last_seen_at:%Y-%m-%d}){example}"
            )
    elif learning:
        lines.append("I haven't picked up any interests yet: talk to me a little.")
        if snapshot.workspace_popular:
            lines.append(
                "Until then I lean on what's popular here: "
                + ", ".join(snapshot.workspace_popular)
                + "."
            )
    if snapshot.style and snapshot.style.messages_seen:
        lines.append(
            f"Your style (from {snapshot.style.messages_seen} messages): "
            f"{style_summary(snapshot.style)}."
        )
        if snapshot.style.languages:
            langs = ", ".join(f"{code} {share:.0%}" for code, share in snapshot.style.languages[:3])
            lines.append(f"Languages you write in: {langs}.")
        if snapshot.style.liked_replies or snapshot.style.disliked_replies:
            lines.append(
                f"Feedback on my replies: {snapshot.style.liked_replies} liked, "
                f"{snapshot.style.disliked_replies} disliked."
            )
    if snapshot.summary is not None:
        lines.extend(describe_summary(snapshot.summary))
    lines.extend(await memory_profile_lines(session, person_id))
    lines.append("How I'll answer you:")
    for key in ("tone", "verbosity", "language", "emoji", "timezone", "avoid_topics", "digest"):
        value = snapshot.preferences.values[key]
        if key == "avoid_topics" and not value.value:
            continue
        lines.append(f"• {key}: {value.value} ({value.source})")
    lines.append(
        "Change anything with /prefs, see the raw data with /export, erase it with /forget."
    )
    return "\n".join(lines)
