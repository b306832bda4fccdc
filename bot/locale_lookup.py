"""The language of the bot's texts for someone, found without leaving a trace.

An unknown command, a stale button or a console's own notes are answered outside any
command's transaction: the person is looked up, never created, and nothing is written. The
answer must still go out when the database cannot be read, so that case (and someone not
known yet) falls back to the platform's locale, then the deployment's default.
"""

from __future__ import annotations

from bot.i18n import negotiate, person_locale
from bot.services import Services
from profiles.db import DatabaseUnavailable
from profiles.engine import PersonKey


async def stored_locale(services: Services, key: PersonKey, platform_locale: str | None) -> str:
    default = services.settings.default_locale
    try:
        async with services.db.session() as session:
            person = await services.engine.find_person(session, key)
            if person is not None and person.id is not None:
                prefs = await services.engine.preferences(session, person.id, services.clock())
                return person_locale(prefs, platform_locale, default)
    except DatabaseUnavailable:
        pass
    return negotiate(platform_locale, default)
