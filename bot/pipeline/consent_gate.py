"""Stage 2: may the bot learn from this message, and must it show the consent notice?"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.channel_policy import Policy, policy_for
from bot.events import MessageEvent
from bot.services import Services
from profiles.engine import answered_allows
from profiles.models import Consent, ConsentStatus, Person


@dataclass(frozen=True, slots=True)
class Gate:
    learn: bool  # the person allows learning and the channel is not excluded
    notice: bool  # show the consent notice with this answer (first time only)
    awaiting_consent: bool  # unanswered consent: hold the exchange in memory, store nothing
    allowed: bool = True  # the person allows learning here (their answer, the workspace's mode)


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
        gate = gate_of(consent, allowed, policy)
        if gate.notice:
            consent.notice_shown_at = now
            session.add(consent)
        return gate

    @staticmethod
    def answered(consent: Consent | None, policy: Policy) -> Gate | None:
        """:meth:`check` for a consent the person has answered, which reads and writes
        nothing more (None: no row, or unanswered — then :meth:`check` decides). For a
        steady sender's claim straight to the driver (bot/pipeline/chat.py)."""
        allowed = None if consent is None else answered_allows(consent)
        if consent is None or allowed is None:
            return None
        return gate_of(consent, allowed, policy)


def gate_of(consent: Consent, allowed: bool, policy: Policy | None) -> Gate:
    """The gate for ``consent``, whether it ``allowed`` learning here (the workspace's mode
    included), and the channel's policy (None: not read, as it need not be when learning is
    not allowed)."""
    learn = allowed and policy is not None and policy.learn
    unanswered = consent.status == ConsentStatus.UNKNOWN.value
    return Gate(
        learn=learn,
        # shown once; an unanswered consent allows learning only in opt-out mode
        notice=unanswered and consent.notice_shown_at is None and not allowed,
        awaiting_consent=unanswered and not learn,
        allowed=allowed,
    )
