"""A person's "home": everything they can see and control about themselves, as plain data for
adapters that have a place to show it (the Slack Home tab). Nothing here knows a platform.

Built from the same snapshot ``/profile`` uses, read-only, and never creates a person: someone
the bot has never met (or who was just forgotten) gets an empty, honest view.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.commands.admin import workspace_status
from bot.events import PersonRef
from bot.services import HasServices, Services, services_of
from profiles.engine import PersonKey
from profiles.models import ConsentStatus

PREFERENCE_KEYS = ("tone", "verbosity", "language", "emoji", "timezone", "avoid_topics")


@dataclass(frozen=True, slots=True)
class HomeView:
    known: bool
    consent: str = ConsentStatus.UNKNOWN.value
    learning: bool = False
    interests: list[tuple[str, float]] = field(default_factory=list)
    # (key, value, source) — source is explicit / platform / inferred / default
    preferences: list[tuple[str, str, str]] = field(default_factory=list)
    digest: tuple[str, str] = ("off", "default")
    admin_status: str | None = None


async def home_view(owner: Services | HasServices, ref: PersonRef, *, admin: bool = False,
                    now: dt.datetime | None = None) -> HomeView:
    """What ``ref`` sees on their home; ``admin`` (the platform's word) adds the workspace's
    aggregate counts and excluded channels."""
    core = services_of(owner)
    now = now or core.clock()
    key = PersonKey(ref.platform, ref.workspace, ref.user_id)
    async with core.db.session() as session:
        status = (await workspace_status(session, ref.platform, ref.workspace)
                  if admin else None)
        person = await core.engine.find_person(session, key)
        if person is None or person.id is None:
            return HomeView(known=False, admin_status=status)
        snapshot = await core.engine.snapshot(session, person, now)
        learning = core.engine.may_learn(await core.engine.consent(session, person.id))
        prefs = snapshot.preferences
        return HomeView(
            known=True,
            consent=snapshot.consent,
            learning=learning,
            interests=[(i.topic, i.weight) for i in snapshot.interests] if learning else [],
            preferences=[(k, prefs.get(k), prefs.source(k)) for k in PREFERENCE_KEYS
                         if k != "avoid_topics" or prefs.get(k)],
            digest=(prefs.get("digest"), prefs.source("digest")),
            admin_status=status,
        )
