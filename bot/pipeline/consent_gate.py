"""Stage 2: may the bot learn from this message, and must it show the consent notice?"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.channel_policy import Policy, policy_for
from bot.events import MessageEvent
from bot.services import Services
from profiles.models import ConsentStatus, Person


@dataclass(frozen=True, slots=True)
class Gate:
    learn: bool  # the person allows learning and the channel is not excluded
    notice: bool  # show the consent notice with this answer (first time only)
    awaiting_consent: bool  # unanswered consent: hold the exchange in memory, store nothing


class ConsentGate:
    def __init__(self, services: Services) -> None:
        self.services = services

    async def check(
        self,
        session: AsyncSession,
        event: MessageEvent,
        person: Person,
        now: dt.datetime,
        *,
        policy: Policy | None = None,
    ) -> Gate:
        """Reads consent and channel policy (``policy``: already read by the caller); marks
        the notice as shown (a write) when it is due, so it is shown once. Consent comes from
        the session's identity map when the transaction read it ahead (profiles/preload.py)."""
        assert person.id is not None
        engine = self.services.engine
        consent = await engine.consent(session, person.id)
        allowed = await engine.may_learn_in(session, person, consent)  # workspace's mode too
        if allowed and policy is None:
            policy = await policy_for(session, event)
        learn = allowed and policy is not None and policy.learn
        notice = (
            consent.status == ConsentStatus.UNKNOWN.value
            and consent.notice_shown_at is None
            and not allowed  # an unanswered consent allows learning only in opt-out mode
        )
        if notice:
            consent.notice_shown_at = now
            session.add(consent)
        return Gate(
            learn=learn,
            notice=notice,
            awaiting_consent=consent.status == ConsentStatus.UNKNOWN.value and not learn,
        )
