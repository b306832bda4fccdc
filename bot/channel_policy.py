"""Where the bot may learn: admins can exclude channels from learning and from digests
(``/admin exclude``). The core asks :func:`policy_for` before learning from a channel message
or letting digest observers keep it; direct messages are never excluded (they are the person's
own conversation with the bot, governed by their consent alone)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.events import Event, MessageEvent, Surface
from profiles.admin_models import ChannelPolicy
from profiles.preload import known_channel_policy


@dataclass(frozen=True, slots=True)
class Policy:
    learn: bool = True
    digest: bool = True


OPEN = Policy()


async def policy_for(session: AsyncSession, event: Event) -> Policy:
    """The channel's policy for this event (everything allowed when no admin said otherwise)."""
    if not event.channel_id or (isinstance(event, MessageEvent) and event.surface == Surface.DM):
        return OPEN
    found, row = known_channel_policy(
        session, event.person.platform, event.person.workspace, event.channel_id
    )
    if found:  # read with the sender (profiles/preload.py)
        return policy_of(event, row)
    row = (await session.exec(select(ChannelPolicy).where(
        ChannelPolicy.platform == event.person.platform,
        ChannelPolicy.workspace == event.person.workspace,
        ChannelPolicy.channel_id == event.channel_id,
    ))).first()
    return policy_of(event, row)


def policy_of(event: Event, row: ChannelPolicy | None) -> Policy:
    """:func:`policy_for` with the channel's row already read (None: no row), as the reply
    path reads it together with the sender (profiles/preload.py)."""
    if row is None or not event.channel_id:
        return OPEN
    if isinstance(event, MessageEvent) and event.surface == Surface.DM:
        return OPEN
    return Policy(learn=row.learn, digest=row.digest)
