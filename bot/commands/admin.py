"""/admin: what a workspace (or Discord server) admin controls, written once for every platform.

Who is an admin is the platform's word, not ours: adapters set ``PlatformContext.admin`` from
the platform's own roles (Slack ``users.info`` ``is_admin``/``is_owner``, Discord's Manage
Server permission). Everyone else gets :data:`NOT_ADMIN` and nothing changes. Every change is
recorded in ``admin_audit`` with who made it.

* ``/admin`` — aggregate counts for the workspace (never anyone's data) and excluded channels
* ``/admin exclude [learning|digest|all] [here|<channel>]`` — stop learning from a channel's
  messages and/or collecting them for digests (the core checks it, see bot/channel_policy.py)
* ``/admin include [learning|digest|all] [here|<channel>]`` — undo that
* ``/admin audit`` — the latest changes
"""

from __future__ import annotations

import re

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.commands.base import CommandContext, CommandError, command
from bot.events import Reply
from profiles.admin_models import AdminAudit, ChannelPolicy
from profiles.models import Consent, ConsentStatus, DigestSubscription, Person

# User-facing texts (module constants so they are easy to translate).
NOT_ADMIN = "Only workspace admins can use /admin (your platform role decides who that is)."
NO_CHANNEL = "Run this in the channel you mean, or name it: /admin {action} {what} #channel."
STATUS = (
    "Workspace {workspace}: {people} people known, {learning} allow learning, "
    "{subscribers} get a digest.\n{channels}"
)
NO_EXCLUSIONS = "No channel is excluded: I may learn from and collect digests in any channel."
EXCLUDED_LINE = "• {channel}: {what}"
CHANGED = "Done: {channel} is now {state}."
AUDIT_EMPTY = "No admin changes yet."
AUDIT_LINE = "• {at:%Y-%m-%d %H:%M} {who}: {action} {detail}"
STATE_WORDS = {
    (True, True): "open for learning and digests",
    (False, True): "excluded from learning (digests still collect it)",
    (True, False): "excluded from digests (I still learn from it)",
    (False, False): "excluded from learning and digests",
}
WHAT_WORDS = {(False, True): "no learning", (True, False): "no digests",
              (False, False): "no learning, no digests"}
SCOPES = {"learning": (True, False), "digest": (False, True), "digests": (False, True),
          "all": (True, True)}
_CHANNEL = re.compile(r"^<?#?([A-Za-z0-9]+)(?:\|[^>]*)?>?$")


@command(
    "admin",
    "workspace admins: excluded channels, counts, audit",
    ["/admin", "/admin exclude [learning|digest|all] [here|#channel]",
     "/admin include [learning|digest|all] [here|#channel]", "/admin audit"],
    subcommands=("exclude", "include", "audit"),
)
async def admin(ctx: CommandContext, args: list[str]) -> list[Reply]:
    if not ctx.event.context.admin:
        raise CommandError(NOT_ADMIN)
    action = args[0].lower() if args else "status"
    if action == "status":
        platform, workspace = _where(ctx)
        return [ctx.reply(await workspace_status(ctx.session, platform, workspace))]
    if action in ("exclude", "include"):
        return [ctx.reply(await _set_policy(ctx, action, args[1:]))]
    if action == "audit":
        return [ctx.reply(await _audit(ctx))]
    raise CommandError("Usage: " + " · ".join(admin_usage()))


def admin_usage() -> list[str]:
    from bot.commands.base import REGISTRY

    return REGISTRY["admin"].usage


def _where(ctx: CommandContext) -> tuple[str, str]:
    ref = ctx.event.person
    return ref.platform, ref.workspace


async def workspace_status(session: AsyncSession, platform: str, workspace: str) -> str:
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
                                  what=WHAT_WORDS[(r.learn, r.digest)])
             for r in rows if (r.learn, r.digest) != (True, True)]
    return STATUS.format(workspace=workspace, people=total, learning=learning,
                         subscribers=subscribers,
                         channels="\n".join(lines) if lines else NO_EXCLUSIONS)


async def _set_policy(ctx: CommandContext, action: str, args: list[str]) -> str:
    what = "all"
    if args and args[0].lower() in SCOPES:
        what, args = args[0].lower(), args[1:]
    channel = _channel(ctx, args[0] if args else "here")
    if channel is None:
        raise CommandError(NO_CHANNEL.format(action=action, what=what))
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
    return CHANGED.format(channel=_mention(platform, channel),
                          state=STATE_WORDS[(row.learn, row.digest)])


async def _audit(ctx: CommandContext, limit: int = 10) -> str:
    platform, workspace = _where(ctx)
    entries = list(await ctx.session.exec(
        select(AdminAudit, Person).join(Person, col(Person.id) == AdminAudit.person_id)
        .where(AdminAudit.platform == platform, AdminAudit.workspace == workspace)
        .order_by(col(AdminAudit.id).desc()).limit(limit)
    ))
    if not entries:
        return AUDIT_EMPTY
    return "\n".join(
        AUDIT_LINE.format(at=entry.created_at, who=person.display_name or person.user_id,
                          action=entry.action,
                          detail=", ".join(f"{k}={v}" for k, v in entry.detail.items()))
        for entry, person in entries
    )


def _channel(ctx: CommandContext, word: str) -> str | None:
    """``here`` (the channel the command was run in; not a DM), or a channel id, with or
    without the platform's mention markup (``<#C123|name>``, ``<#123>``, ``#C123``)."""
    if word.lower() == "here":
        surface = getattr(ctx.event, "surface", None)
        channel = ctx.event.channel_id
        return channel if channel and getattr(surface, "value", "dm") != "dm" else None
    match = _CHANNEL.match(word.strip())
    return match.group(1) if match else None


def _mention(platform: str, channel: str) -> str:
    return f"#{channel}"
