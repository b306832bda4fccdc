"""Explicit memories and linked identities as a feature (bot/features.py), registered in the
composition root (bot/app.py) like the digests.

Why a feature: what memory keeps outside a person's own rows must go when they are forgotten,
and the feature contract is where every such part answers for itself, by name. A memory row
belongs to its person and goes with the schema-driven deletion (profiles/privacy.py); what
goes here is the identity link other people's rows still hold: an identity left alone in a
link group is unlinked, inside the /forget transaction. If that fails, the whole erasure
rolls back and the person is told that "memory" failed (bot/handlers/commands.py).
The feature's commands (/memory, /link) are registered by its package (bot/memory/__init__.py).
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.features import FeatureBase
from bot.services import Services
from profiles.memories import unlink
from profiles.models import Person

FEATURE = "memory"


class MemoryFeature(FeatureBase):
    name = FEATURE

    def __init__(self, services: Services) -> None:
        self.services = services

    async def erase(self, session: AsyncSession, person: Person) -> None:
        assert person.id is not None
        await unlink(session, person.id)  # a linked identity left alone is unlinked too
