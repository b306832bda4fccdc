"""The chat path: the stages of bot/pipeline/ called in order, the two transactions visible.

A message addressed to the bot is answered; any other channel message is only observed
(and only when its author allows learning: nothing at all is stored about others).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.channel_policy import Policy, policy_of
from bot.consent import consent_buttons, consent_notice
from bot.events import AnyEvent, MessageEvent, Reply, ReplyKind, Surface
from bot.i18n import N_, negotiate, person_locale, t
from bot.llm.base import LLMRequest, PartialCallback
from bot.pipeline.answer import Answer
from bot.pipeline.assemble import Assemble
from bot.pipeline.consent_gate import ConsentGate
from bot.pipeline.identify import Identify, key_of
from bot.pipeline.observe import Observe, Observed
from bot.pipeline.record import Record
from bot.pipeline.tools import attach_tools
from bot.services import Services
from profiles.db import DatabaseUnavailable
from profiles.models import Consent, ConversationTurn, Person
from profiles.signals import clean_text

log = logging.getLogger(__name__)

EMPTY_MESSAGE = N_("I got an empty message. Type something, or /help to see what I can do.")
TRUNCATED_NOTE = N_("(Your message was very long; I read the first {n:,} characters.)")


def addressed_to_bot(event: AnyEvent) -> bool:
    """Direct messages, mentions and follow-ups the adapter marked as addressed are answered;
    other channel messages are only observed."""
    if not isinstance(event, MessageEvent):
        return True
    return event.surface == Surface.DM or event.mentioned


def reply_thread(event: MessageEvent) -> str | None:
    """Where the answer to ``event`` goes: its thread, or a new thread under a channel mention
    (public so adapters that stream can open the right thread before the reply exists)."""
    if event.thread_id:
        return event.thread_id
    return event.message_id if event.surface != Surface.DM and event.mentioned else None


@dataclass(slots=True)
class Prepared:
    """What the first transaction hands to the model step of a chat message."""

    person: Person
    learn: bool
    request: LLMRequest
    notice: bool
    topics: list[str]
    verbosity: str
    emoji: str
    avoid: list[str]
    truncated: bool
    text: str = ""
    awaiting_consent: bool = False
    locale: str = "en"
    # The person's message as a history turn, stored with the answer (Record.store).
    turn: ConversationTurn | None = None


class Chat:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.identify = Identify(services)
        self.consent_gate = ConsentGate(services)
        self.observe = Observe(services)
        self.assemble = Assemble(services)
        self.answer = Answer(services)
        self.record = Record(services)

    async def handle(
        self, event: MessageEvent, on_partial: PartialCallback | None
    ) -> list[Reply]:
        limit = self.services.settings.max_message_chars
        truncated = len(event.text) > limit
        text = clean_text(event.text, max_chars=limit).strip()
        if not addressed_to_bot(event):
            if text:
                await self.observe_only(event, text)
            return []
        if not text:
            return [
                Reply(
                    text=t(EMPTY_MESSAGE, negotiate(
                        event.context.locale, self.services.settings.default_locale)),
                    kind=ReplyKind.EPHEMERAL,
                    purpose="error",
                    thread_id=event.thread_id,
                )
            ]
        # Transaction 1: identify + dedupe → consent gate → observe → assemble. A retried or
        # crashed delivery is either fully processed once or not at all.
        async with self.services.db.session() as session:
            sender = await self.identify.sender(session, event)
            if not await self.identify.claim(session, sender.person, event):
                log.info("duplicate event %s ignored", event.event_id)
                return []
            policy = policy_of(event, sender.channel_policy) if sender.read_ahead else None
            prepared = await self.prepare(
                session, event, sender.person, text, truncated, policy=policy
            )
        # No transaction open: the model may take seconds and must hold no database lock.
        answered = await self.answer.generate(
            prepared.request, emoji=prepared.emoji, avoid=prepared.avoid, on_partial=on_partial,
            locale=prepared.locale,
        )
        text = answered.text
        if prepared.truncated:
            text = f"{text}\n{t(TRUNCATED_NOTE, prepared.locale, n=limit)}"
        thread = reply_thread(event)
        error = answered.error
        reply = Reply(text=text, thread_id=thread, purpose="chat" if error is None else "error")
        # Transaction 2: record. Its failure loses only the record, never the answer.
        try:
            await self.record.store(
                event, prepared.person, learn=prepared.learn, reply=reply, answered=answered,
                text=text, thread=thread, asked=prepared.turn,
            )
        except DatabaseUnavailable as exc:
            log.warning("could not record reply to %s: %s", event.event_id, exc)
        if prepared.awaiting_consent:
            self.record.hold_until_consent(
                event, prepared.text, text if error is None else None, thread
            )
        replies = [reply]
        if prepared.notice:
            platform = event.person.platform
            replies.append(
                Reply(
                    text=consent_notice(platform, prepared.locale),
                    kind=ReplyKind.EPHEMERAL,
                    buttons=consent_buttons(platform, prepared.locale),
                    thread_id=thread,
                    purpose="consent_notice",
                )
            )
        return replies

    async def prepare(
        self,
        session: AsyncSession,
        event: MessageEvent,
        person: Person,
        text: str,
        truncated: bool,
        *,
        policy: Policy | None = None,
    ) -> Prepared:
        """Consent gate and observation (writes), then assembly (reads), in one transaction.
        ``policy``: the channel's, when the caller read it with the sender."""
        now = self.services.clock()
        gate = await self.consent_gate.check(session, event, person, now, policy=policy)
        observed = (
            await self.observe.message(session, person, event, text) if gate.learn
            else Observed()
        )
        request, prefs = await self.assemble.request(
            session, person, event, text, learn=gate.learn, history=observed.history, now=now
        )
        request = attach_tools(self.services, request, person, event, learn=gate.learn)
        return Prepared(
            person=person,
            learn=gate.learn,
            request=request,
            notice=gate.notice,
            topics=observed.topics,
            verbosity=prefs.get("verbosity"),
            emoji=prefs.get("emoji"),
            avoid=prefs.avoid_topics,
            truncated=truncated,
            text=text,
            awaiting_consent=gate.awaiting_consent,
            locale=person_locale(
                prefs, event.context.locale, self.services.settings.default_locale
            ),
            turn=observed.turn,
        )

    async def observe_only(self, event: MessageEvent, text: str) -> None:
        """A channel message not addressed to the bot: observed if its author allows
        learning, never answered. Nothing is stored about others, not even that they spoke.
        Only reads happen here; the writes (event claim, last_seen_at, learning, digest
        activity) are queued for the learner's next batch (bot/learning.py)."""
        async with self.services.db.session() as session:
            person = await self.identify.learning_person(session, event)
            if person is None or person.id is None:
                return
            context = await self.observe.channel_context(session, person, event)
        await self.observe.channel(person, event, text, context)

    async def preview(self, event: MessageEvent) -> LLMRequest:
        """The exact model input this message would produce now, with nothing stored
        (``tailorbot prompt preview``, benchmarks). Unknown people get the generic prompt."""
        services = self.services
        key = key_of(event)
        text = clean_text(event.text, max_chars=services.settings.max_message_chars)
        async with services.db.session() as session:
            person = await services.engine.find_person(session, key)
            if person is None or person.id is None:
                person = Person(
                    id=-1,
                    platform=key.platform,
                    workspace=key.workspace,
                    user_id=key.user_id,
                    display_name=event.person.display_name,
                )
                learn = False
            else:
                consent = await session.get(Consent, person.id)
                learn = consent is not None and await services.engine.may_learn_in(
                    session, person, consent
                )
            history = (
                await self.observe.history(session, person.id) if learn and person.id else []
            )
            request, _ = await self.assemble.request(
                session, person, event, text, learn=learn, history=history, now=services.clock()
            )
            await session.rollback()
        return request
