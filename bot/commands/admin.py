"""/admin: what a workspace (or Discord server) admin controls, written once for every platform.

Who is an admin is the platform's word, not ours: adapters set ``PlatformContext.admin`` from
the platform's own roles (Slack ``users.info`` ``is_admin``/``is_owner``, Discord's Manage
Server permission). Everyone else gets :data:`NOT_ADMIN` and nothing changes. Every change is
recorded in ``admin_audit`` with who made it.

* ``/admin`` — aggregate counts for the workspace (never anyone's data) and excluded channels
* ``/admin exclude [learning|digest|all] [here|<channel>]`` — stop learning from a channel's
  messages and/or collecting them for digests (the core checks it, see bot/channel_policy.py)
* ``/admin include [learning|digest|all] [here|<channel>]`` — undo that
* ``/admin defaults`` — the workspace's defaults and where each comes from
* ``/admin set consent|digest-sources|retention …`` — choose a workspace default (stricter
  than the deployment's only; see bot/workspace_settings.py); ``… default`` or
  ``/admin reset …`` goes back to the deployment's
* ``/admin audit`` — the latest changes

A channel is ``here`` or a platform channel mention: on Slack ``/admin`` is registered with
``should_escape`` so a picked ``#channel`` arrives as ``<#C123|name>``; a bare ``#name`` names
no channel we can trust and is refused.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.command_base import REGISTRY, CommandContext, CommandError, command, usage_error
from bot.config import Settings
from bot.events import Reply
from bot.i18n import N_, nt, t
from bot.workspace_settings import (
    InvalidDefault,
    describe,
    effective,
    parse_default,
    reset_keys,
    typed_setting,
    typed_value,
)
from profiles.admin_models import AdminAudit, ChannelPolicy
from profiles.models import Consent, ConsentStatus, DigestSubscription, Person
from profiles.preload import CHANNEL, drop
from profiles.workspace_defaults import set_default, stored_defaults

# User-facing texts (catalog texts, translated with the person's language).
NOT_ADMIN = N_("Only workspace admins can use /admin (your platform role decides who that is).")
NO_CHANNEL = N_("Run this in the channel you mean, or name it: /admin {action} {what} #channel.")
BAD_CHANNEL = N_(
    "I can't tell which channel {word} is: pick it from the channel list so it becomes a "
    "link, or run the command in that channel with 'here'."
)
STATUS = N_("Workspace {workspace}: {people}, {learning}, {subscribers}.\n{channels}")
NO_EXCLUSIONS = N_("No channel is excluded: I may learn from and collect digests in any channel.")
EXCLUDED_LINE = "• {channel}: {what}"
CHANGED = N_("Done: {channel} is now {state}.")
DEFAULT_SET = N_("Done: this workspace's default changed.")
DEFAULT_SAME = N_("Nothing changed: that is already this workspace's default.")
AUDIT_EMPTY = N_("No admin changes yet.")
AUDIT_LINE = "• {at:%Y-%m-%d %H:%M} {who}: {change}"
AUDIT_BEFORE = N_("before: {value}")
AUDIT_NOW = N_("now {state}")
AUDIT_DEFAULT = N_("the deployment's default")
STATE_WORDS = {
    (True, True): N_("open for learning and digests"),
    (False, True): N_("excluded from learning (digests still collect it)"),
    (True, False): N_("excluded from digests (I still learn from it)"),
    (False, False): N_("excluded from learning and digests"),
}
WHAT_WORDS = {(False, True): N_("no learning"), (True, False): N_("no digests"),
              (False, False): N_("no learning, no digests")}
SCOPES = {"learning": (True, False), "digest": (False, True), "digests": (False, True),
          "all": (True, True)}
# A platform's channel mention (Slack ``<#C123|name>``, Discord ``<#123>``) or a bare id.
_MENTION = re.compile(r"^<#([A-Za-z0-9]+)(?:\|[^>]*)?>$")
_BARE_ID = re.compile(r"^#?([A-Z0-9]{8,}|[0-9]{6,})$")


@command("admin")
async def admin(ctx: CommandContext, args: list[str]) -> list[Reply]:
    if not ctx.event.context.admin:
        raise CommandError(NOT_ADMIN)
    action = args[0].lower() if args else "status"
    if action == "status":
        platform, workspace = _where(ctx)
        return [ctx.reply(await workspace_status(ctx.session, platform, workspace,
                                                 locale=ctx.locale))]
    if action in ("exclude", "include"):
        answer = await _set_policy(ctx, action, args[1:])
        ctx.defer(_workspace_changed(ctx))
        return [ctx.reply(answer)]
    if action == "defaults":
        return [ctx.reply(await defaults_text(ctx.session, ctx.services.settings, *_where(ctx),
                                              locale=ctx.locale))]
    if action in ("set", "reset"):
        answer = await _set_default(ctx, action, args[1:])
        ctx.defer(_workspace_changed(ctx))
        return [ctx.reply(answer)]
    if action == "audit":
        return [ctx.reply(await _audit(ctx))]
    raise usage_error(REGISTRY["admin"])


async def defaults_text(session: AsyncSession, settings: Settings, platform: str,
                        workspace: str, *, locale: str | None) -> str:
    """The workspace's effective defaults; shared by /admin defaults and the Home tab."""
    stored = await stored_defaults(session, platform, workspace)
    return describe(effective(settings, stored), locale)


async def _set_default(ctx: CommandContext, action: str, args: list[str]) -> str:
    """``set`` checks the value against the deployment's settings; ``set … default`` (what
    the Home tab's "deployment default" option sends) and ``reset`` remove the choice."""
    changes: list[tuple[str, str | None]]
    try:
        if action == "reset" or (args and args[-1].lower() == "default"):
            changes = [(key, None) for key in reset_keys(args[:-1] if action == "set" else args)]
        else:
            changes = [parse_default(ctx.services.settings, args)]
    except InvalidDefault as exc:
        raise CommandError(exc.message, **exc.values) from None
    platform, workspace = _where(ctx)
    changed = False
    for key, wanted in changes:
        previous = await set_default(ctx.session, platform, workspace, key, wanted, ctx.now)
        if previous == wanted:
            continue
        changed = True
        ctx.session.add(AdminAudit(
            person_id=ctx.person_id, platform=platform, workspace=workspace,
            action=f"default.{'set' if wanted is not None else 'reset'}",
            detail={"key": key, "value": wanted, "previous": previous},
            created_at=ctx.now,
        ))
    summary = await defaults_text(ctx.session, ctx.services.settings, platform, workspace,
                                  locale=ctx.locale)
    # A repeat said "changed" though nothing did (input audit): say it already was.
    return ctx.t(DEFAULT_SET if changed else DEFAULT_SAME) + "\n" + summary


def _workspace_changed(ctx: CommandContext) -> Callable[[], Awaitable[list[Reply]]]:
    """After the change committed, tell the features (the Slack Home tabs of the workspace's
    other admins show the defaults and excluded channels too)."""
    services, ref = ctx.services, ctx.event.person

    async def notify() -> list[Reply]:
        await services.features.workspace_changed(ref.platform, ref.workspace, ref)
        return []

    return notify


def _where(ctx: CommandContext) -> tuple[str, str]:
    ref = ctx.event.person
    return ref.platform, ref.workspace


async def workspace_status(session: AsyncSession, platform: str, workspace: str, *,
                           locale: str | None = None) -> str:
    """Aggregate counts (never anyone's data) and the excluded channels of one workspace;
    shared by /admin and the Slack Home tab."""
    people = select(Person.id).where(Person.platform == platform, Person.workspace == workspace)
    total = (await session.exec(
        select(func.count()).select_from(people.subquery()))).one()
    learning = (await session.exec(
        select(func.count()).select_from(Consent).where(
            col(Consent.person_id).in_(people),
            Consent.status == ConsentStatus.GRANTED.value))).one()
    subscribers = (await session.exec(
        select(func.count()).select_from(DigestSubscription).where(
            col(DigestSubscription.person_id).in_(people)))).one()
    rows = list(await session.exec(select(ChannelPolicy).where(
        ChannelPolicy.platform == platform, ChannelPolicy.workspace == workspace,
    ).order_by(col(ChannelPolicy.channel_id))))
    lines = [EXCLUDED_LINE.format(channel=_mention(platform, r.channel_id),
                                  what=t(WHAT_WORDS[(r.learn, r.digest)], locale))
             for r in rows if (r.learn, r.digest) != (True, True)]
    # Each count with its own plural: "1 people known" (input audit).
    return t(STATUS, locale, workspace=workspace,
             people=nt("{n} person known", "{n} people known", total, locale),
             learning=nt("{n} allows learning", "{n} allow learning", learning, locale),
             subscribers=nt("{n} gets a digest", "{n} get a digest", subscribers, locale),
             channels="\n".join(lines) if lines else t(NO_EXCLUSIONS, locale))


async def _set_policy(ctx: CommandContext, action: str, args: list[str]) -> str:
    what = "all"
    if args and args[0].lower() in SCOPES:
        what, args = args[0].lower(), args[1:]
    word = args[0] if args else "here"
    channel = _channel(ctx, word)
    if channel is None and word.lower() == "here":
        raise CommandError(NO_CHANNEL, action=action, what=what)
    if channel is None:
        raise CommandError(BAD_CHANNEL, word=word)
    platform, workspace = _where(ctx)
    row = (await ctx.session.exec(select(ChannelPolicy).where(
        ChannelPolicy.platform == platform, ChannelPolicy.workspace == workspace,
        ChannelPolicy.channel_id == channel,
    ))).first() or ChannelPolicy(platform=platform, workspace=workspace, channel_id=channel)
    touch_learning, touch_digest = SCOPES[what]
    allow = action == "include"
    if touch_learning:
        row.learn = allow
    if touch_digest:
        row.digest = allow
    row.changed_at = ctx.now
    drop(ctx.session, CHANNEL, (platform, workspace, channel))  # if read ahead, it changed
    if row.learn and row.digest:
        if row.id is not None:
            await ctx.session.delete(row)
    else:
        ctx.session.add(row)
    ctx.session.add(AdminAudit(
        person_id=ctx.person_id, platform=platform, workspace=workspace,
        action=f"channel.{action}",
        detail={"channel": channel, "scope": what, "learn": row.learn, "digest": row.digest},
        created_at=ctx.now,
    ))
    return ctx.t(CHANGED, channel=_mention(platform, channel),
                 state=ctx.t(STATE_WORDS[(row.learn, row.digest)]))


async def _audit(ctx: CommandContext, limit: int = 10) -> str:
    platform, workspace = _where(ctx)
    entries = list(await ctx.session.exec(
        select(AdminAudit, Person).join(Person, col(Person.id) == AdminAudit.person_id)
        .where(AdminAudit.platform == platform, AdminAudit.workspace == workspace)
        .order_by(col(AdminAudit.id).desc()).limit(limit)
    ))
    if not entries:
        return ctx.t(AUDIT_EMPTY)
    return "\n".join(
        AUDIT_LINE.format(at=entry.created_at, who=person.display_name or person.user_id,
                          change=_change(ctx, entry.action, entry.detail))
        for entry, person in entries
    )


def _change(ctx: CommandContext, action: str, detail: dict[str, Any]) -> str:
    """One audited change as the command that made it, and its effect, in the reader's
    language. It was ``default.reset key=digest_sources, value=None, previous=`` — stored
    names and Python's None, untranslated (input audit)."""
    if action.startswith("default.") and "key" in detail:
        key = str(detail["key"])

        def shown(value: Any) -> str:
            return ctx.t(AUDIT_DEFAULT) if value is None else typed_value(key, str(value))

        setting = typed_setting(key)
        typed = (f"/admin set {setting} {shown(detail.get('value'))}"
                 if detail.get("value") is not None else f"/admin reset {setting}")
        return f"{typed} ({ctx.t(AUDIT_BEFORE, value=shown(detail.get('previous')))})"
    if action.startswith("channel.") and "channel" in detail:
        verb = action.removeprefix("channel.")
        state = STATE_WORDS.get((bool(detail.get("learn")), bool(detail.get("digest"))))
        typed = f"/admin {verb} {detail.get('scope', '')} {_mention('', str(detail['channel']))}"
        return typed + (f" ({ctx.t(AUDIT_NOW, state=ctx.t(state))})" if state else "")
    return action  # an entry of a kind this version does not know: its name, never values


def _channel(ctx: CommandContext, word: str) -> str | None:
    """``here`` (the channel the command was run in; not a DM), a platform channel mention
    (``<#C123|name>``, ``<#123>``) or a bare channel id (``C0123ABCD``, ``#C0123ABCD``,
    Discord's digits). A bare name (``#general``) is None: names are not ids."""
    if word.lower() == "here":
        surface = getattr(ctx.event, "surface", None)
        channel = ctx.event.channel_id
        return channel if channel and getattr(surface, "value", "dm") != "dm" else None
    match = _MENTION.match(word.strip()) or _BARE_ID.match(word.strip())
    return match.group(1) if match else None


def _mention(platform: str, channel: str) -> str:
    return f"#{channel}"
