"""The /profile section about explicit memories and linked identities."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import t
from bot.memory.commands import describe
from bot.memory.links import describe_identity
from profiles.memories import linked_people, visible_memories


async def memory_profile_lines(
    session: AsyncSession, person_id: int, locale: str | None = None
) -> list[str]:
    lines: list[str] = []
    memories = await visible_memories(session, person_id)
    if memories:
        lines.append(t("Things you asked me to remember (/memory to change them):", locale))
        lines.extend(describe(memories, person_id, locale))
    linked = await linked_people(session, person_id)
    if linked:
        lines.append(t("Identities you linked (/link remove to unlink this one):", locale))
        lines.extend(f"• {describe_identity(p, locale)}" for p in linked)
    return lines
