"""What the prompt restates from a person's explicit memories."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from profiles.memories import LinkGroup, visible_memories


async def prompt_memories(
    session: AsyncSession, person_id: int, group: LinkGroup | None = None
) -> list[str]:
    """Own memories and those linked identities share, oldest first (the prompt budget drops
    the oldest first when it must). Unknown people (no id yet) have none. ``group``: the
    turn's link group when the caller already read it."""
    if person_id < 0:
        return []
    others = group.others if group is not None else None
    return [m.text for m in await visible_memories(session, person_id, others)]
