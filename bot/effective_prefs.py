"""Each preference as the model is told it, for the prompt and for what a person is shown.

Three layers go over a person's own resolved preferences (explicit, platform, inferred,
default): a running prompt experiment's defaults, for people enrolled in one; then what their
linked identities chose to share. The prompt had them all while ``/prefs``, ``/profile`` and
the Home tab showed the person's own values only — a linked "tone: formal" was in every prompt
while ``/prefs`` said "tone: neutral — default". Both read them here now.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.experiments import Variant, variant_for
from bot.memory.links import shared_preferences
from profiles.memories import LinkGroup
from profiles.models import Person
from profiles.preferences import ResolvedPreferences


async def effective_preferences(
    session: AsyncSession,
    person: Person,
    own: ResolvedPreferences,
    *,
    learning: bool,
    links: LinkGroup | None = None,
) -> tuple[ResolvedPreferences, Variant | None]:
    """``own`` with an experiment's defaults (only when ``learning``: nobody who has not
    allowed it is enrolled) and linked identities' shared choices, never over an explicit
    choice of this identity; and the prompt variant, if any. ``links``: the caller's
    :class:`LinkGroup` when it has read it."""
    assert person.id is not None
    variant = await variant_for(session, person, learning, "prompt")
    prefs = variant.apply_preferences(own) if variant is not None else own
    return await shared_preferences(session, person.id, prefs, links), variant


def source_kind(source: str) -> str:
    """What kind of source a resolved value has: ``experiment:<name>`` is one kind,
    ``experiment``; the others are their own (explicit, platform, inferred, default,
    linked). The views word each kind."""
    return source.split(":", 1)[0]
