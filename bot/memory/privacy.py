"""/export and /forget across linked identities: one human's data is theirs on every surface
they linked, so an export includes each identity and /forget can erase them all."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.lifecycle import forget_person
from profiles.memories import linked_people
from profiles.privacy import export_person, hold_all_for_erasure

if TYPE_CHECKING:
    from bot.command_base import CommandContext


async def export_everything(
    session: AsyncSession, person_id: int, *, at: dt.datetime
) -> dict[str, Any]:
    """What ``/export`` returns and ``tailorbot users export`` writes: every row about the
    person and, under ``linked_identities``, the full export of each identity linked to
    theirs (one function, so that the operator's export of a data request is the person's)."""
    data = await export_person(session, person_id, at=at)
    data["linked_identities"] = await export_linked(session, person_id, at=at)
    return data


async def export_linked(
    session: AsyncSession, person_id: int, *, at: dt.datetime
) -> list[dict[str, Any]]:
    """The full export of every other identity linked to this one."""
    return [
        await export_person(session, other.id, at=at)
        for other in await linked_people(session, person_id)
        if other.id is not None
    ]


async def forget_question(ctx: CommandContext) -> str:
    """What /forget adds to its question when this identity is linked to others."""
    others = await linked_people(ctx.session, ctx.person_id)
    if not others:
        return ""
    return " " + ctx.nt(
        "This identity is linked to {n} other: /forget confirm deletes only this one; "
        "/forget confirm all deletes every linked identity.",
        "This identity is linked to {n} others: /forget confirm deletes only this one; "
        "/forget confirm all deletes every linked identity.",
        len(others),
    )


async def forget_linked(ctx: CommandContext) -> int:
    """Forget every identity linked to this one (before this one); returns rows removed."""
    removed = 0
    others = await linked_people(ctx.session, ctx.person_id)
    # every identity about to go, this one included, held at once in id order
    await hold_all_for_erasure(ctx.session, [ctx.person_id, *(o.id for o in others if o.id)])
    for other in others:
        removed += sum((await forget_person(ctx.services, ctx.session, other)).values())
    return removed
