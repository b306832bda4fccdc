"""What the prompt restates from a person's explicit memories."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from profiles.memories import visible_memories


async def prompt_memories(session: AsyncSession, person_id: int) -> list[str]:
    """Own memories and those linked identities share, oldest first (the prompt budget drops
    the oldest first when it must). Unknown people (no id yet) have none."""
    if person_id < 0:
        return []
    return [m.text for m in await visible_memories(session, person_id)]
