"""/profile — what the bot believes about the person, and why, in plain language."""

from __future__ import annotations

import datetime as dt

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.command_base import REGISTRY, CommandContext, CommandError, command, usage_error
from bot.context import style_summary
from bot.events import Reply
from bot.i18n import N_
from bot.memory.profile import memory_profile_lines
from bot.retention import policy_of
from bot.summaries import describe_summary, remove_from_summary
from profiles.engine import ProfileEngine, ProfileSnapshot
from profiles.models import ConsentStatus, Person, ProfileSummary


@command("profile")
async def profile(ctx: CommandContext, args: list[str]) -> list[Reply]:
    if not args:
        text = await describe(ctx.engine, ctx.session, ctx.person, ctx.now)
        return [ctx.reply(f"{text}\n{policy_of(ctx.services.settings).describe()}")]
    if args[0].lower() != "summary":
        raise usage_error(REGISTRY["profile"])
    row = await ctx.session.get(ProfileSummary, ctx.person_id)
    if row is None:
        return [ctx.reply(ctx.t("There is no model summary of you."))]
    action = args[1].lower() if len(args) > 1 else "show"
    if action == "show":
        return [ctx.reply("\n".join(describe_summary(row)))]
    if action == "clear":
        await ctx.session.delete(row)
        return [ctx.reply(ctx.t("Deleted the model's summary of you."))]
    if action == "remove" and len(args) > 2:
        item = " ".join(args[2:])
        if not remove_from_summary(row, item):
            raise CommandError(N_("Nothing in the summary mentions '{item}'."), item=item)
        row.corrected_at = ctx.now
        ctx.session.add(row)
        return [ctx.reply(ctx.t("Corrected.") + " " + "\n".join(describe_summary(row)))]
    raise usage_error(REGISTRY["profile"])


async def describe(
    engine: ProfileEngine, session: AsyncSession, person: Person, now: dt.datetime
) -> str:
    """Plain-language profile; shared by /profile and ``tailorbot users show``."""
    assert person.id is not None
    person_id = person.id
    snapshot = await engine.snapshot(session, person, now)
    lines: list[str] = []
    learning = await engine.may_learn_in(session, person, await engine.consent(session, person_id))
    if not learning:
        if snapshot.consent == ConsentStatus.REVOKED.value:
            lines.append("You revoked consent: I am not learning anything from your messages.")
        else:
            lines.append(
                "You haven't allowed me to learn from your messages, so I only know what you "
                "told me explicitly. /consent grant lets me adapt to you."
            )
    lines.extend(await interest_lines(engine, session, person_id, snapshot, learning))
    if snapshot.style and snapshot.style.messages_seen:
        lines.append(
            f"Your style (from {snapshot.style.messages_seen} messages): "
            f"{style_summary(snapshot.style)}."
        )
        hours = active_hours_line(snapshot)
        if hours:
            lines.append(hours)
        languages = language_line(snapshot.style.languages)
        if languages:
            lines.append(languages)
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


# Languages under this share are detection noise, not languages the person writes in.
MIN_LANGUAGE_SHARE = 0.05


async def interest_lines(
    engine: ProfileEngine,
    session: AsyncSession,
    person_id: int,
    snapshot: ProfileSnapshot,
    learning: bool,
) -> list[str]:
    """Interests as subject families with their evidence, then what is recent ("lately")
    and what held over time ("lasting"). Someone the bot learned from is never told it
    knows nothing."""
    lines: list[str] = []
    if snapshot.interests:
        lines.append("Interests I noticed (strongest first; similar topics are grouped):")
        for interest in snapshot.interests:
            stored = interest.family[0] if interest.family else interest.topic
            evidence = await engine.evidence(session, person_id, stored, limit=1)
            why = f"{interest.evidence_count} message(s)"
            if interest.positive_feedback or interest.negative_feedback:
                why += (
                    f", {interest.positive_feedback} 👍 / {interest.negative_feedback} 👎 "
                    "on my replies"
                )
            variants = [t for t in interest.family if t != interest.topic][:4]
            family = f" — as: {', '.join(variants)}" if variants else ""
            example = f' — e.g. "{evidence[0].excerpt}"' if evidence and evidence[0].excerpt else ""
            lines.append(
                f"• {interest.topic} (weight {interest.weight:.2f}; from {why}, last "
                f"{interest.last_seen_at:%Y-%m-%d}){family}{example}"
            )
        lately = [v.topic for v in snapshot.lately]
        lasting = [v.topic for v in snapshot.lasting if v.topic not in lately[:3]]
        lines.append("Lately: " + (", ".join(lately) if lately else "nothing new recently") + ".")
        if lasting:
            lines.append("Lasting (what you come back to over time): " + ", ".join(lasting) + ".")
    elif learning:
        seen = snapshot.style.messages_seen if snapshot.style else 0
        if seen:
            lines.append(
                f"From your {seen} message(s) I haven't found a subject that stands out yet: "
                "small talk doesn't count as an interest."
            )
        else:
            lines.append("I haven't picked up any interests yet: talk to me a little.")
        if snapshot.workspace_popular:
            lines.append(
                "Until then I lean on what's popular here: "
                + ", ".join(snapshot.workspace_popular)
                + "."
            )
    return lines


def language_line(languages: list[tuple[str, float]]) -> str:
    shown = [(code, share) for code, share in languages if share >= MIN_LANGUAGE_SHARE][:3]
    if not shown:
        return ""
    return "Languages you write in: " + ", ".join(f"{c} {s:.0%}" for c, s in shown) + "."


def active_hours_line(snapshot: ProfileSnapshot) -> str:
    """Which timezone the hours are in, and that it is a guess when nobody said."""
    style = snapshot.style
    if style is None or not style.active_hours:
        return ""
    hours = ", ".join(f"{h:02d}:00" for h in sorted(h for h, _ in style.active_hours[:3]))
    zone = snapshot.preferences.values["timezone"]
    if zone.source == "default":
        return (
            f"You seem most active around {hours} {zone.value} — a guess: I don't know your "
            "timezone (/prefs set timezone Europe/Paris, for example)."
        )
    return f"You seem most active around {hours} ({zone.value}, your timezone)."
