"""Stage 4: context → prompt → model request. Reads only; people who have not allowed
learning get their explicit preferences and nothing inferred."""

from __future__ import annotations

import datetime as dt

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.context import build_prompt_context
from bot.effective_prefs import effective_preferences
from bot.events import Event, MessageEvent
from bot.experiments import renderer_for
from bot.i18n import person_locale
from bot.llm.base import LLMRequest, Turn
from bot.memory.links import with_linked_interests
from bot.memory.prompt import prompt_memories
from bot.services import Services
from profiles.memories import link_group
from profiles.models import Person
from profiles.preferences import ResolvedPreferences
from profiles.profile_rows import ProfileRows, read_profile_now
from prompts.context import HistoryTurn
from prompts.render import PromptBudget


class Assemble:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def request(
        self,
        session: AsyncSession,
        person: Person,
        event: MessageEvent,
        text: str,
        *,
        learn: bool,
        now: dt.datetime,
        profile_on_driver: bool = False,
    ) -> tuple[LLMRequest, ResolvedPreferences]:
        """The model request for ``text``. Only for people who allow learning: their profile
        and conversation history, read together in one statement (:meth:`profile_rows`)."""
        assert person.id is not None
        services = self.services
        engine, settings = services.engine, services.settings
        snapshot = None
        history: list[HistoryTurn] = []
        if learn:
            rows = await self.profile_rows(session, person.id, on_driver=profile_on_driver)
            history = [HistoryTurn(role, text) for role, text in rows.history]
            snapshot = await engine.snapshot(session, person, now, rows=rows)
        prefs = (
            snapshot.preferences
            if snapshot
            else await engine.preferences(session, person.id, now)
        )
        # An online experiment may vary the template or preference defaults, never against an
        # explicit preference, and only for people who allow learning; linked identities may
        # share theirs.
        links = await link_group(session, person.id)  # read once, used three times below
        prefs, variant = await effective_preferences(session, person, prefs, learning=learn,
                                                     links=links)
        context = build_prompt_context(
            bot_name=settings.bot_name,
            platform=event.person.platform,
            surface=event.surface.value,
            now=now,
            prefs=prefs,
            platform_context=event.context,
            default_timezone=settings.default_timezone,
            snapshot=snapshot,
            history=history,
            display_name=event.person.display_name,
            memories=await prompt_memories(session, person.id, links),
        )
        if snapshot is not None:
            context = await with_linked_interests(engine, session, person, context, now, links)
        rendered = renderer_for(variant, services.renderer).chat(
            context,
            text,
            count_tokens=services.llm.count_tokens,
            budget=PromptBudget(
                system_tokens=settings.prompt_system_tokens,
                history_tokens=settings.prompt_history_tokens,
            ),
        )
        request = LLMRequest(
            system=rendered.system,
            turns=[Turn(t.role, t.text) for t in rendered.turns],  # type: ignore[arg-type]
            max_tokens=settings.llm_max_tokens,
        )
        return request, prefs

    async def profile_rows(
        self, session: AsyncSession, person_id: int, *, on_driver: bool
    ) -> ProfileRows:
        """The person's profile and latest turns: in ``session``, or (``on_driver``, for
        work that holds no connection and wrote nothing yet: a reply's reads after its claim)
        straight on the driver, in no transaction (profiles/profile_rows.py)."""
        services = self.services
        turns = services.settings.history_turns
        if on_driver:
            return await read_profile_now(services.db, person_id, turns=turns)
        return await services.engine.read_profile(session, person_id, turns=turns)

    async def locale_of(self, session: AsyncSession, person: Person, event: Event) -> str:
        """The language of the bot's own texts for this person (bot/i18n.py)."""
        assert person.id is not None
        services = self.services
        prefs = await services.engine.preferences(session, person.id, services.clock())
        return person_locale(prefs, event.context.locale, services.settings.default_locale)
