"""/profile — what the bot believes about the person, and why, in plain language."""

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
from bot.commands.prefs import source_words
from bot.context import message_length, style_register, uses_emoji_often
from bot.effective_prefs import effective_preferences
from bot.events import Reply
from bot.i18n import N_, nt, t
from bot.memory.profile import memory_profile_lines
from bot.profile_texts import retention_sentence
from bot.retention import retention_policy_for
from bot.summaries import describe_summary, remove_from_summary
from profiles.engine import ProfileEngine, ProfileSnapshot, StyleView
from profiles.models import ConsentStatus, Person, ProfileSummary
from profiles.workspace_defaults import stored_defaults


@command("profile")
async def profile(ctx: CommandContext, args: list[str]) -> list[Reply]:
    if not args:
        text = await describe(ctx.engine, ctx.session, ctx.person, ctx.now, ctx.locale)
        # The workspace's own limits where an admin made them shorter than the deployment's.
        stored = await stored_defaults(ctx.session, ctx.person.platform, ctx.person.workspace)
        policy = retention_policy_for(ctx.services.settings, stored)
        return [ctx.reply(f"{text}\n{retention_sentence(policy, ctx.locale)}")]
    if args[0].lower() != "summary":
        raise usage_error(REGISTRY["profile"])
    action = args[1].lower() if len(args) > 1 else "show"
    if action in ("clear", "remove") and ctx.replayed:
        # It took effect already (CommandContext.replayed): run again it would find nothing
        # to clear or correct, and say so.
        return [ctx.unseen("/profile summary")]
    row = await ctx.session.get(ProfileSummary, ctx.person_id)
    if row is None:
        return [ctx.reply(ctx.t("There is no model summary of you."))]
    if action == "show":
        return [ctx.reply("\n".join(describe_summary(row, ctx.locale)))]
    if action == "clear":
        await ctx.session.delete(row)
        return [ctx.reply(ctx.t("Deleted the model's summary of you."))]
    if action == "remove" and len(args) > 2:
        item = free_text(args, 2)
        if not remove_from_summary(row, item):
            raise CommandError(N_("Nothing in the summary mentions '{item}'."), item=item)
        row.corrected_at = ctx.now
        ctx.session.add(row)
        return [ctx.reply(ctx.t("Corrected.") + " " + "\n".join(describe_summary(row, ctx.locale)))]
    raise usage_error(REGISTRY["profile"])


async def describe(
    engine: ProfileEngine,
    session: AsyncSession,
    person: Person,
    now: dt.datetime,
    locale: str | None = None,
) -> str:
    """Plain-language profile in ``locale`` (English by default); shared by /profile, the
    model's profile tool and ``tailorbot users show``."""
    assert person.id is not None
    person_id = person.id
    snapshot = await engine.snapshot(session, person, now)
    lines: list[str] = []
    learning = await engine.may_learn_in(session, person, await engine.consent(session, person_id))
    if not learning:
        if snapshot.consent == ConsentStatus.REVOKED.value:
            # a "Not now" is kept as a no too (bot/commands/privacy.py), so not "you revoked"
            lines.append(t("You said no to learning from your messages: I am not learning "
                           "anything from them. /consent grant if you change your mind.",
                           locale))
        else:
            lines.append(t(
                "You haven't allowed me to learn from your messages, so I only know what you "
                "told me explicitly. /consent grant lets me adapt to you.", locale))
    lines.extend(await interest_lines(engine, session, person_id, snapshot, learning, locale))
    if snapshot.style and snapshot.style.messages_seen:
        lines.append(nt("Your style (from {n} message): {style}.",
                        "Your style (from {n} messages): {style}.",
                        snapshot.style.messages_seen, locale,
                        style=style_line(snapshot.style, locale)))
        hours = active_hours_line(snapshot, locale)
        if hours:
            lines.append(hours)
        languages = language_line(snapshot.style.languages, locale)
        if languages:
            lines.append(languages)
        if snapshot.style.liked_replies or snapshot.style.disliked_replies:
            lines.append(t("Feedback on my replies: {liked} liked, {disliked} disliked.", locale,
                           liked=snapshot.style.liked_replies,
                           disliked=snapshot.style.disliked_replies))
    if snapshot.summary is not None:
        lines.extend(describe_summary(snapshot.summary, locale))
    lines.extend(await memory_profile_lines(session, person_id, locale))
    lines.append(t("How I'll answer you:", locale))
    prefs, _ = await effective_preferences(session, person, snapshot.preferences,
                                           learning=learning)
    for key in ("tone", "verbosity", "language", "emoji", "timezone", "avoid_topics", "digest"):
        value = prefs.values[key]
        if key == "avoid_topics" and not value.value:
            continue
        lines.append(f"• {key}: {value.value} ({source_words(value.source, locale)})")
    lines.append(t(
        "Change anything with /prefs, see the raw data with /export, erase it with /forget.",
        locale))
    return "\n".join(lines)


_REGISTERS = {"formal": N_("formal register"), "casual": N_("casual register"),
              "neutral": N_("neutral register")}


def style_line(style: StyleView, locale: str | None) -> str:
    """The person's writing style in words (the model's prompt has its own English sentence,
    bot.context.style_summary, with the same thresholds)."""
    chars = round(style.avg_length)
    length = {
        "short": N_("short messages (about {chars} chars)"),
        "medium-length": N_("medium-length messages (about {chars} chars)"),
        "long": N_("long messages (about {chars} chars)"),
    }[message_length(style)]
    emoji = N_("often uses emoji") if uses_emoji_often(style) else N_("rarely uses emoji")
    return "; ".join((
        t(_REGISTERS[style_register(style)], locale),
        t(length, locale, chars=chars),
        t(emoji, locale),
    ))


# Languages under this share are detection noise, not languages the person writes in.
MIN_LANGUAGE_SHARE = 0.05


async def interest_lines(
    engine: ProfileEngine,
    session: AsyncSession,
    person_id: int,
    snapshot: ProfileSnapshot,
    learning: bool,
    locale: str | None = None,
) -> list[str]:
    """Interests as subject families with their evidence, then what is recent ("lately")
    and what held over time ("lasting"). Someone the bot learned from is never told it
    knows nothing."""
    lines: list[str] = []
    if snapshot.interests:
        lines.append(t("Interests I noticed (strongest first; similar topics are grouped):",
                       locale))
        for interest in snapshot.interests:
            stored = interest.family[0] if interest.family else interest.topic
            evidence = await engine.evidence(session, person_id, stored, limit=1)
            why = nt("{n} message", "{n} messages", interest.evidence_count, locale)
            if interest.positive_feedback or interest.negative_feedback:
                why = t("{messages}, {up} 👍 / {down} 👎 on my replies", locale, messages=why,
                        up=interest.positive_feedback, down=interest.negative_feedback)
            variants = [v for v in interest.family if v != interest.topic][:4]
            family = t(" — as: {variants}", locale, variants=", ".join(variants)) \
                if variants else ""
            example = t(' — e.g. "{excerpt}"', locale, excerpt=evidence[0].excerpt) \
                if evidence and evidence[0].excerpt else ""
            lines.append("• " + t(
                "{topic} (weight {weight}; from {why}, last {last}){family}{example}", locale,
                topic=interest.topic, weight=f"{interest.weight:.2f}", why=why,
                last=f"{interest.last_seen_at:%Y-%m-%d}", family=family, example=example))
        lately = [v.topic for v in snapshot.lately]
        lasting = [v.topic for v in snapshot.lasting if v.topic not in lately[:3]]
        lines.append(t("Lately: {topics}.", locale, topics=", ".join(lately)) if lately
                     else t("Lately: nothing new recently.", locale))
        if lasting:
            lines.append(t("Lasting (what you come back to over time): {topics}.", locale,
                           topics=", ".join(lasting)))
    elif learning:
        seen = snapshot.style.messages_seen if snapshot.style else 0
        if seen:
            lines.append(nt(
                "From your {n} message I haven't found a subject that stands out yet: small "
                "talk doesn't count as an interest.",
                "From your {n} messages I haven't found a subject that stands out yet: small "
                "talk doesn't count as an interest.", seen, locale))
        else:
            lines.append(t("I haven't picked up any interests yet: talk to me a little.",
                           locale))
        if snapshot.workspace_popular:
            lines.append(t("Until then I lean on what's popular here: {topics}.", locale,
                           topics=", ".join(snapshot.workspace_popular)))
    return lines


def language_line(languages: list[tuple[str, float]], locale: str | None = None) -> str:
    shown = [(code, share) for code, share in languages if share >= MIN_LANGUAGE_SHARE][:3]
    if not shown:
        return ""
    return t("Languages you write in: {languages}.", locale,
             languages=", ".join(f"{c} {s:.0%}" for c, s in shown))


def active_hours_line(snapshot: ProfileSnapshot, locale: str | None = None) -> str:
    """Which timezone the hours are in, and that it is a guess when nobody said."""
    style = snapshot.style
    if style is None or not style.active_hours:
        return ""
    hours = ", ".join(f"{h:02d}:00" for h in sorted(h for h, _ in style.active_hours[:3]))
    zone = snapshot.preferences.values["timezone"]
    if zone.source == "default":
        return t("You seem most active around {hours} {zone} — a guess: I don't know your "
                 "timezone (/prefs set timezone Europe/Paris, for example).", locale,
                 hours=hours, zone=zone.value)
    return t("You seem most active around {hours} ({zone}, your timezone).", locale,
             hours=hours, zone=zone.value)
