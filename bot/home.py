"""A person's "home": everything they can see and control about themselves, as plain data for
adapters that have a place to show it (the Slack Home tab). Nothing here knows a platform.

Built from the same snapshot ``/profile`` uses, read-only, and never creates a person: someone
the bot has never met (or who was just forgotten) gets an empty, honest view.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.commands.admin import workspace_status
from bot.effective_prefs import effective_preferences
from bot.events import PersonRef
from bot.i18n import person_locale
from bot.services import Services
from bot.workspace_settings import WorkspaceSettings, describe, effective
from profiles.engine import PersonKey
from profiles.models import ConsentStatus
from profiles.workspace_defaults import stored_defaults

PREFERENCE_KEYS = ("tone", "verbosity", "language", "emoji", "timezone", "avoid_topics")


@dataclass(frozen=True, slots=True)
class HomeView:
    known: bool
    consent: str = ConsentStatus.UNKNOWN.value
    learning: bool = False
    interests: list[tuple[str, float]] = field(default_factory=list)
    # The profile's two components (see profiles.engine.InterestView): what the person talks
    # about lately (short half-life) and what they come back to over time (lasting).
    lately: list[str] = field(default_factory=list)
    lasting: list[str] = field(default_factory=list)
    # (key, value, source) — source is explicit / platform / inferred / default
    preferences: list[tuple[str, str, str]] = field(default_factory=list)
    digest: tuple[str, str] = ("off", "default")
    admin_status: str | None = None
    # Admins only: the workspace's defaults, as text and as values for the controls.
    admin_defaults: str | None = None
    workspace: WorkspaceSettings | None = None
    locale: str = "en"


async def home_view(services: Services, ref: PersonRef, *, admin: bool = False,
                    now: dt.datetime | None = None,
                    platform_locale: str | None = None) -> HomeView:
    """What ``ref`` sees on their home; ``admin`` (the platform's word) adds the workspace's
    aggregate counts, excluded channels and defaults. Texts are in the person's language
    (their preference, else ``platform_locale``, else the deployment's)."""
    now = now or services.clock()
    key = PersonKey(ref.platform, ref.workspace, ref.user_id)
    default_locale = services.settings.default_locale
    async with services.db.session() as session:
        person = await services.engine.find_person(session, key)
        prefs = (await services.engine.preferences(session, person.id, now)
                 if person is not None and person.id is not None else None)
        locale = person_locale(prefs, platform_locale, default_locale)
        status = defaults = workspace = None
        if admin:
            stored = await stored_defaults(session, ref.platform, ref.workspace)
            workspace = effective(services.settings, stored)
            status = await workspace_status(session, ref.platform, ref.workspace, locale=locale)
            defaults = describe(workspace, locale)
        if person is None or person.id is None:
            return HomeView(known=False, locale=locale, admin_status=status,
                            admin_defaults=defaults, workspace=workspace)
        snapshot = await services.engine.snapshot(session, person, now)
        learning = await services.engine.may_learn_in(
            session, person, await services.engine.consent(session, person.id)
        )
        prefs, _ = await effective_preferences(session, person, snapshot.preferences,
                                               learning=learning)
        lately = [v.topic for v in snapshot.lately] if learning else []
        return HomeView(
            known=True,
            consent=snapshot.consent,
            learning=learning,
            interests=[(i.topic, i.weight) for i in snapshot.interests] if learning else [],
            lately=lately,
            lasting=([v.topic for v in snapshot.lasting if v.topic not in lately[:3]]
                     if learning else []),
            preferences=[(k, prefs.get(k), prefs.source(k)) for k in PREFERENCE_KEYS
                         if k != "avoid_topics" or prefs.get(k)],
            digest=(prefs.get("digest"), prefs.source("digest")),
            locale=locale,
            admin_status=status,
            admin_defaults=defaults,
            workspace=workspace,
        )
