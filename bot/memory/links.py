"""/link — one human, several identities (Slack, Discord, the terminal), linked on purpose.

``/link`` on one surface prints a short-lived one-time code; ``/link CODE`` on another confirms.
Only a hash of the code is stored, it expires, it works once, and issuing and trying codes are
both rate limited per identity. Linked identities share explicit memories, the explicit
preferences each identity chooses to share (``/link share on``), and interests between
identities that each allow learning. Conversation history and channel content never cross:
each workspace keeps its own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
from uuid import uuid4

from sqlalchemy import delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.command_base import (
    REGISTRY,
    CommandContext,
    CommandError,
    command,
    usage_error,
    usage_lines,
)
from bot.events import Reply
from bot.i18n import N_, t
from profiles.engine import ProfileEngine
from profiles.memories import LinkGroup, join_links, link_group, link_of, linked_people, unlink
from profiles.memory_models import LinkAttempt, LinkCode
from profiles.models import Consent, Person, Preference, Source
from profiles.preferences import ResolvedPreferences, ResolvedValue
from prompts.context import PromptContext

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud and typed safely
CODE_LENGTH = 8
# Preferences that describe how to talk to the person travel with a link; the timezone and
# the digest schedule belong to one surface.
SHARED_KEYS = ("tone", "verbosity", "emoji", "language", "avoid_topics")
NOT_A_CODE = N_("“{text}” is not a link code: a code is 8 letters and digits, like K7MP-Q2XR, "
               "and /link on your other account prints one. Usage: {usage}")


def hash_code(code: str) -> str:
    """Codes are compared by hash; spacing, dashes and case do not matter."""
    cleaned = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(cleaned.encode()).hexdigest()


def new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def describe_identity(person: Person, locale: str | None = None) -> str:
    return t("{name} on {platform} ({workspace})", locale,
             name=person.display_name or person.user_id, platform=person.platform,
             workspace=person.workspace)


@command("link")
async def link(ctx: CommandContext, args: list[str]) -> list[Reply]:
    action = args[0].lower() if args else "issue"
    if action == "issue":
        return [await _issue(ctx)]
    if action == "list":
        return [ctx.reply(await _listing(ctx.session, ctx.person_id, ctx.locale))]
    if action in ("remove", "unlink"):
        count = await unlink(ctx.session, ctx.person_id)
        if not count and not ctx.replayed:  # replayed: it was this command that unlinked it
            return [ctx.reply(ctx.t("This identity is not linked to any other."))]
        return [
            ctx.reply(ctx.t(
                "Unlinked: this identity no longer shares memories, preferences or interests "
                "with the others. Nothing was deleted."
            ))
        ]
    if action == "share" and len(args) == 2 and args[1].lower() in ("on", "off"):
        row = await link_of(ctx.session, ctx.person_id)
        if row is None:
            raise CommandError(N_("Link an identity first: /link prints a code."))
        row.share_preferences = args[1].lower() == "on"
        ctx.session.add(row)
        return [ctx.reply(
            ctx.t("Your explicit preferences here are now shared with your linked identities.")
            if row.share_preferences
            else ctx.t("Your explicit preferences here are no longer shared with your linked "
                       "identities.")
        )]
    if len(args) == 1 and len("".join(ch for ch in args[0] if ch.isalnum())) == CODE_LENGTH:
        if ctx.replayed:  # took effect already: the code is used now, and would be refused
            return [ctx.unseen("/link list")]
        return [await _confirm(ctx, args[0])]
    if len(args) == 1 and action not in ("share", "help"):  # a mistyped code: say what one is
        shown = args[0] if len(args[0]) <= 40 else args[0][:39] + "…"
        raise CommandError(NOT_A_CODE, text=shown,
                           usage=lambda locale: usage_lines(REGISTRY["link"], locale))
    raise usage_error(REGISTRY["link"])


async def _issue(ctx: CommandContext) -> Reply:
    settings = ctx.services.settings
    since = ctx.now - dt.timedelta(hours=1)
    # Codes older than the rate-limit window serve no purpose any more: keep nothing stale.
    await ctx.session.exec(
        delete(LinkCode).where(
            col(LinkCode.person_id) == ctx.person_id,
            col(LinkCode.created_at) < since,
            col(LinkCode.expires_at) < ctx.now,
        )
    )
    issued = await _codes_since(ctx.session, ctx.person_id, since)
    if issued >= settings.link_codes_per_hour:
        raise CommandError(
            N_("You asked for {issued} link codes in the last hour, the most I give. "
               "Please try again later."),
            issued=issued,
        )
    # A new code replaces any unused one: at most one code of this identity works.
    old = await ctx.session.exec(
        select(LinkCode).where(LinkCode.person_id == ctx.person_id, col(LinkCode.used_at).is_(None))
    )
    for row in old:
        row.used_at = ctx.now
        ctx.session.add(row)
    code = new_code()
    ttl = settings.link_code_ttl_seconds
    ctx.session.add(
        LinkCode(
            person_id=ctx.person_id,
            code_hash=hash_code(code),
            created_at=ctx.now,
            expires_at=ctx.now + dt.timedelta(seconds=ttl),
        )
    )
    return ctx.reply(ctx.t(
        "Your one-time link code is {code} (valid {minutes} minutes, once). On your other "
        "account — Slack, Discord or the terminal — send: /link {code}\n"
        "Linked identities share what you ask me to remember, your preferences if you choose "
        "(/link share on) and, if you allow learning on both, your interests. Conversations "
        "and channel content stay where they are.",
        code=code, minutes=ttl // 60,
    ))


async def _confirm(ctx: CommandContext, code: str) -> Reply:
    settings = ctx.services.settings
    since = ctx.now - dt.timedelta(hours=1)
    await ctx.session.exec(
        delete(LinkAttempt).where(
            col(LinkAttempt.person_id) == ctx.person_id, col(LinkAttempt.at) < since
        )
    )
    tried = await _attempts_since(ctx.session, ctx.person_id, since)
    if tried >= settings.link_attempts_per_hour:
        raise CommandError(N_("Too many link attempts in the last hour. Please try again later."))
    attempt = LinkAttempt(person_id=ctx.person_id, at=ctx.now)
    ctx.session.add(attempt)
    row = (
        await ctx.session.exec(
            select(LinkCode).where(
                LinkCode.code_hash == hash_code(code),
                col(LinkCode.used_at).is_(None),
                col(LinkCode.expires_at) > ctx.now,
            )
        )
    ).first()
    if row is None:
        # A normal reply, not an error raised: the attempt row commits and counts.
        return ctx.reply(
            ctx.t("That code doesn't work: it is wrong, expired or already used. Send /link on "
                  "your other account for a new one."),
            purpose="error",
        )
    if row.person_id == ctx.person_id:
        return ctx.reply(
            ctx.t("That code is from this same identity: use it on your other account."))
    row.used_at = ctx.now
    ctx.session.add(row)
    attempt.ok = True
    await join_links(ctx.session, row.person_id, ctx.person_id, group_key=uuid4().hex, at=ctx.now)
    others = await linked_people(ctx.session, ctx.person_id)
    names = "; ".join(describe_identity(p, ctx.locale) for p in others)
    return ctx.reply(ctx.t(
        "Linked with {names}. What you ask me to remember now follows you there. "
        "/link share on shares your explicit preferences from here; /link remove undoes it.",
        names=names,
    ))


async def _codes_since(session: AsyncSession, person_id: int, since: dt.datetime) -> int:
    result = await session.exec(
        select(func.count())
        .select_from(LinkCode)
        .where(LinkCode.person_id == person_id, col(LinkCode.created_at) >= since)
    )
    return int(result.one())


async def _attempts_since(session: AsyncSession, person_id: int, since: dt.datetime) -> int:
    result = await session.exec(
        select(func.count())
        .select_from(LinkAttempt)
        .where(LinkAttempt.person_id == person_id, col(LinkAttempt.at) >= since)
    )
    return int(result.one())


async def _listing(session: AsyncSession, person_id: int, locale: str) -> str:
    others = await linked_people(session, person_id)
    if not others:
        return t("This identity is not linked. /link prints a code to link another account.",
                 locale)
    row = await link_of(session, person_id)
    lines = [t("Linked identities:", locale)]
    lines.extend(f"• {describe_identity(p, locale)}" for p in others)
    lines.append(
        t("Your explicit preferences from here are shared.", locale)
        if row and row.share_preferences
        else t("Your explicit preferences from here are not shared (/link share on).", locale)
    )
    return "\n".join(lines)


# What linking changes in the prompt --------------------------------------------------------


async def shared_preferences(
    session: AsyncSession,
    person_id: int,
    prefs: ResolvedPreferences,
    group: LinkGroup | None = None,
) -> ResolvedPreferences:
    """Explicit preferences linked identities chose to share fill the keys this identity has
    not set explicitly itself (its own explicit choice always wins). ``group``: the turn's
    :class:`LinkGroup`, read once by the caller (read here when not given)."""
    if group is None:
        group = await link_group(session, person_id)
    sharing = [
        other.id
        for other, membership in group.members
        if other.id is not None and membership.share_preferences
    ]
    if not sharing:
        return prefs
    rows = await session.exec(
        select(Preference)
        .where(
            col(Preference.person_id).in_(sharing),
            Preference.source == Source.EXPLICIT.value,
            col(Preference.key).in_(SHARED_KEYS),
        )
        .order_by(col(Preference.set_at))
    )
    values = dict(prefs.values)
    for row in rows:  # newest last, so the most recent shared choice wins
        if values[row.key].source != Source.EXPLICIT.value or values[row.key].set_at is None:
            values[row.key] = ResolvedValue(row.key, row.value, "linked", row.set_at)
    return ResolvedPreferences(values)


async def with_linked_interests(
    engine: ProfileEngine,
    session: AsyncSession,
    person: Person,
    context: PromptContext,
    now: dt.datetime,
    group: LinkGroup | None = None,
) -> PromptContext:
    """Interests of linked identities that also allow learning (the asking identity does,
    or this is not called), merged by topic with the strongest weight. ``group``: the turn's
    :class:`LinkGroup`, read once by the caller (read here when not given)."""
    if person.id is None:
        return context
    if group is None:
        group = await link_group(session, person.id)
    if group.own is None:
        return context
    merged = dict(context.interests)
    for other in group.others:
        consent = await session.get(Consent, other.id)
        if consent is None or not await engine.may_learn_in(session, other, consent):
            continue
        snapshot = await engine.snapshot(session, other, now)
        for interest in snapshot.interests:
            weight = min(1.0, interest.weight / 5.0)
            merged[interest.topic] = max(weight, merged.get(interest.topic, 0.0))
    ranked = sorted(merged.items(), key=lambda item: -item[1])[:15]
    return dataclasses.replace(context, interests=ranked)
