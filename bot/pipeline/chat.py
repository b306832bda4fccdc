"""The chat path: the stages of bot/pipeline/ called in order, the transactions visible
(the claim; the reply's reads in a read-only one of their own — inside the claim's on
PostgreSQL when the claim needed its session; the record), and what the message teaches
handed to the batched learner in between.

A message addressed to the bot is answered; any other channel message is only observed
(and only when its author allows learning: nothing at all is stored about others).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.exc import DBAPIError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.channel_policy import Policy, policy_of
from bot.consent import consent_buttons, consent_notice
from bot.events import AnyEvent, MessageEvent, Reply, ReplyKind, Surface
from bot.i18n import N_, negotiate, person_locale, t
from bot.journal import Owed, RecordOwed
from bot.learning import Pending
from bot.llm.base import LLMRequest, PartialCallback
from bot.pipeline.answer import Answer
from bot.pipeline.assemble import Assemble
from bot.pipeline.consent_gate import ConsentGate, Gate
from bot.pipeline.identify import ClaimAttempt, ClaimUnsure, Identify, SteadyClaim, key_of
from bot.pipeline.intake import Intake
from bot.pipeline.observe import ChannelContext, Observe, writing_language
from bot.pipeline.record import Record, TurnRow
from bot.pipeline.tools import attach_tools
from bot.services import Services
from bot.written_languages import writer_of
from profiles.db import DatabaseUnavailable, is_busy
from profiles.engine import answered_allows
from profiles.models import Consent, ConversationTurn, Person
from profiles.preferences import ResolvedPreferences
from profiles.preload import (
    ReadAhead,
    Sender,
    hand_over,
    read_sender_now,
    take_over,
)
from profiles.signals import MessageSignals, clean_text

log = logging.getLogger(__name__)

# The topics of a message whose extraction failed: none (Chat.observed).
NO_SIGNALS = MessageSignals(
    topics=(), language=None, length=0, word_count=0, formality=0.0, emoji_count=0
)
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


class AnswerOwed(DatabaseUnavailable):
    """The database went away after a message's claim committed and before its reply was
    assembled. The core keeps the event in the outage journal as owing its answer and its
    learning (bot/journal.py): its replay learns, answers and records without claiming it
    again — a second claim would call it a duplicate, and the person would never be
    answered."""


@dataclass(slots=True)
class Decided:
    """What a chat message's first transaction decided and wrote, for its assembly."""

    person: Person
    gate: Gate
    # The timezone the message is read in, when it teaches (None: nothing is learned —
    # no consent, or a replay whose learning was done)
    timezone: str | None
    # The sender's small rows the first transaction read, for the assembly's own transaction
    # (None when it assembles in the first one: PostgreSQL's claim through a session)
    read_ahead: ReadAhead | None = None


@dataclass(slots=True)
class Prepared:
    """What assembly hands to the model step of a chat message."""

    person: Person
    learn: bool
    request: LLMRequest
    notice: bool
    verbosity: str
    emoji: str
    avoid: list[str]
    truncated: bool
    text: str = ""
    awaiting_consent: bool = False
    locale: str = "en"
    timezone: str | None = None  # Decided.timezone
    # Set from the message's signals once they are back (Chat.observed): the message as a
    # history turn stored with the answer (Record.store), and what it teaches for the
    # learner (bot/learning.py; None: nothing).
    turn: TurnRow | None = None
    learning: Pending | None = None


class Chat:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.identify = Identify(services)
        self.consent_gate = ConsentGate(services)
        self.observe = Observe(services)
        self.assemble = Assemble(services)
        self.answer = Answer(services)
        self.record = Record(services)
        self.intake = Intake(services, self.observe, self.observe_one)
        # Replies take one of a few turns for their database and CPU stages, in arrival
        # order (bot/reply_turns.py). The record takes a turn too, but on SQLite: there it is
        # a quick transaction, one step of the loop with no round trip, which cannot
        # interleave with other replies' stages, and waiting a second turn behind their
        # claims was ~20 ms of a DM's ~110 under maximum ingest. On PostgreSQL its round trip
        # lets other replies in; without the turn loop lag p99 went 15-18 -> 25-28 ms
        # (docs/measurement.md). Either way observed messages wait for it.
        turns = services.reply_turns
        self._work = turns.turn
        self._record_turn = turns.urgent if services.db.single_writer else turns.turn

    async def handle(
        self, event: MessageEvent, on_partial: PartialCallback | None, *,
        owed: Owed | None = None,
    ) -> list[Reply]:
        """Answer (or only observe) a message. ``owed``: a replay from the outage journal of
        a message claimed already, and what it still owes (see :class:`AnswerOwed`)."""
        limit = self.services.settings.max_message_chars
        truncated = len(event.text) > limit
        text = clean_text(event.text, max_chars=limit).strip()
        tried: tuple[dt.datetime, ...] = ()
        if owed is not None and owed.claims:  # not known to be claimed: replayed as new
            tried, owed = owed.claims, None
        if owed is not None and owed.record is not None:
            await self.record_owed(event, text, owed.record)
            if text and owed.learning:
                await self.learn_owed(event, text)
            return []
        if not addressed_to_bot(event):
            if text:
                await self.observe_only(event, text)
            return []
        if owed is not None and not owed.answer:
            if text and owed.learning:
                await self.learn_owed(event, text)
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
        # The message is extracted in a worker while its claim and context are read: neither
        # waits for the other. Before, the claim waited for the extraction (a round trip to a
        # worker, ~12 ms at maximum ingest; with both at once a DM's median went 42 -> 37 ms
        # on SQLite), and it must never be the other way round: on SQLite the claim's
        # transaction holds the one writer, which no other reply or learning batch should
        # wait for while a worker extracts. The signals are read once the reply's context is
        # (unused, and discarded, for a duplicate or a person who does not consent).
        # Its writer's language: what the platform reports with it, else what their longer
        # messages were written in (their stored preferences are not read yet).
        usual = writing_language({}, event, self.services.written.usual(writer_of(event)))
        extraction = self.services.start_extraction(
            text, names=event.mentioned_names, reply=True, usual=usual
        )
        try:
            async with self._turn(self._work):
                prepared = await self._claim_learn_prepare(
                    event, text, truncated, claimed=owed is not None,
                    learn=owed is None or owed.learning, tried=tried,
                )
            if prepared is None:
                return []
            if prepared.learn:  # else nothing of the message is kept: not waited for
                self.observed(prepared, event, text, await self._signals(extraction, event))
        finally:
            _discard(extraction)
        if prepared.learning is not None:
            # Claimed and its context read: what it teaches goes to the next batch, which
            # this reply does not wait for (bot/learning.py).
            await self.services.learner.submit(prepared.learning)
        # No transaction open: the model may take seconds and must hold no database lock.
        answered = await self.answer.generate(
            prepared.request, emoji=prepared.emoji, avoid=prepared.avoid, on_partial=on_partial,
            locale=prepared.locale, learn=prepared.learn,
        )
        text = answered.text
        if prepared.truncated:
            text = f"{text}\n{t(TRUNCATED_NOTE, prepared.locale, n=limit)}"
        thread = reply_thread(event)
        error = answered.error
        reply = Reply(text=text, thread_id=thread, purpose="chat" if error is None else "error")
        # The record. Its failure loses only the record, never the answer.
        try:
            async with self._turn(self._record_turn):
                await self.record.store(
                    event, prepared.person, learn=prepared.learn, reply=reply,
                    answered=answered, text=text, thread=thread, asked=prepared.turn,
                )
        except DatabaseUnavailable as exc:
            # The person has the answer; the exchange waits in the outage journal to join
            # their history once the database answers (it was logged and lost before: the
            # model never saw it again and /export missed it — input audit).
            # A failed answer's record is the person's message alone (answer ""): they were
            # told it is kept.
            if prepared.learn:
                self.services.learner.journal_events([event], [Owed(record=RecordOwed(
                    text if error is None else "", self.services.clock(),
                    tuple((prepared.turn or {}).get("topics") or ()),
                    answered.result.model if answered.result else None,
                ))], busy=is_busy(exc))
            log.warning("could not record reply to %s, kept to record later: %s",
                        event.event_id, exc)
        except DBAPIError as exc:
            # The database refused the record: the person was forgotten, through another
            # worker, while the model answered (the rows it refers to are gone; within one
            # process a person's events are handled in order). The answer is still theirs;
            # nothing of the exchange is stored.
            log.warning("reply to %s not recorded, refused: %s", event.event_id, exc.orig)
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

    @contextlib.asynccontextmanager
    async def _turn(
        self, turn: Callable[[], contextlib.AbstractAsyncContextManager[None]]
    ) -> AsyncIterator[None]:
        """``turn`` (a few replies' database stages at a time), given up with
        :class:`DatabaseUnavailable` once it comes if the database was found hanging
        while this reply waited for it. Why: against a database that hangs each turn ahead
        took the whole database timeout to find that out (profiles/db_timeout.py), and the
        people writing together waited one timeout for every ``reply_work_at_once`` of them
        ahead (eight at once, two at a time, a 2 s timeout: 8.2 s for the last). Only a
        round trip that timed out counts: any other lost connection (one reset, a digest's
        failure) says nothing of the next, and made every waiting reply give up (review)."""
        db = self.services.db
        timeouts = db.timeouts
        async with turn():
            if db.timeouts != timeouts:
                raise DatabaseUnavailable("the database failed while this reply waited its turn")
            yield

    async def _claim_learn_prepare(
        self,
        event: MessageEvent,
        text: str,
        truncated: bool,
        *,
        claimed: bool,
        learn: bool,
        tried: tuple[dt.datetime, ...] = (),
    ) -> Prepared | None:
        """Everything before the model: None for a duplicate delivery. ``claimed``: a replay
        of a message claimed already; ``learn``: False if its learning was done; ``tried``:
        a replay of a message whose claims sent at these times may have committed
        (:class:`ClaimUnsure`): found claimed by one of them, it is no duplicate but owes
        its answer and its learning."""
        attempt = ClaimAttempt(self.services.clock())
        try:
            prepared = await self._claim_then_prepare(
                event, text, truncated, claimed=claimed, learn=learn, attempt=attempt
            )
        except AnswerOwed:
            raise
        except DatabaseUnavailable as exc:
            if not attempt.sent:
                raise
            raise ClaimUnsure(str(exc), (*tried, attempt.at)) from exc
        if prepared is None and tried and await self.identify.claimed_by(event, tried):
            log.info("event %s was claimed before an outage it met: answered now",
                     event.event_id)
            return await self._claim_then_prepare(
                event, text, truncated, claimed=True, learn=True, attempt=attempt
            )
        return prepared

    async def _claim_then_prepare(
        self,
        event: MessageEvent,
        text: str,
        truncated: bool,
        *,
        claimed: bool,
        learn: bool,
        attempt: ClaimAttempt,
    ) -> Prepared | None:
        """:meth:`_claim_learn_prepare`'s claim (unless ``claimed``), then the reply's
        reads: None for a duplicate."""
        decided = None if claimed else await self._claim_steady(event, learn, attempt)
        if decided is False:
            log.info("duplicate event %s ignored", event.event_id)
            return None
        if decided is None or decided is SteadyClaim.CLAIMED_NOT_STEADY:
            in_transaction = await self._claim_in_transaction(
                event, text, truncated, claimed=claimed or decided is not None, learn=learn,
                attempt=attempt,
            )
            if not isinstance(in_transaction, Decided):
                return in_transaction  # a duplicate (None), or PostgreSQL's reply prepared
            decided = in_transaction
        # Assembly reads what the claim taught in a read-only transaction of its own (on
        # SQLite it must not hold the one writer: a DM held it twice as long). The claim has
        # committed, so if the database goes away now the event is kept as owed its answer,
        # and its replay answers without claiming (bot/journal.py).
        try:
            return await self.prepare(event, decided, text, truncated)
        except DatabaseUnavailable as exc:
            raise AnswerOwed(str(exc)) from exc

    async def _claim_steady(
        self, event: MessageEvent, learn: bool, attempt: ClaimAttempt
    ) -> Decided | Literal[False, SteadyClaim.CLAIMED_NOT_STEADY] | None:
        """The claim of a steady sender's message straight to the driver, in one transaction
        with the read of their rows (:meth:`Identify.claim_if_steady`): when nothing needs
        writing but the claim, their new display name or last-seen mark — their consent
        answered, nothing new in the timezone or locale the platform reports — which is most
        messages of anyone who talks to the bot. None when more would be (or they are new):
        then :meth:`_claim_in_transaction`; ``CLAIMED_NOT_STEADY`` when the claim went with
        the read all the same (PostgreSQL): then that, without claiming; False for a
        duplicate.

        Why: through the session, the claim's transaction cost a DM on SQLite ~0.75 ms of the
        event loop, ~0.32 ms this way: the whole DM 16 % less; on PostgreSQL 3–8 % less
        (docs/measurement.md, "A steady sender's claim straight to the driver")."""
        decided: list[Decided] = []

        def steady(sender: Sender, ahead: ReadAhead) -> bool:
            gate = self.consent_gate.answered(
                sender.consent, policy_of(event, sender.channel_policy)
            )
            if gate is None:
                return False
            timezone: str | None = None
            if gate.learn and learn:
                timezone = self.observe.unchanged_timezone(sender.preferences, event)
                if timezone is None:
                    return False
            decided.append(Decided(sender.person, gate, timezone, read_ahead=ahead))
            return True

        claimed = await self.identify.claim_if_steady(event, steady, attempt)
        if claimed is SteadyClaim.CLAIMED:
            return decided[0]
        if claimed is SteadyClaim.DUPLICATE:
            return False
        if claimed is SteadyClaim.CLAIMED_NOT_STEADY:
            return claimed
        return None

    async def _claim_in_transaction(
        self,
        event: MessageEvent,
        text: str,
        truncated: bool,
        *,
        claimed: bool,
        learn: bool,
        attempt: ClaimAttempt,
    ) -> Decided | Prepared | None:
        """The claim in a transaction of its ORM session, whatever it must write (a new
        person, an unanswered consent, what the platform reports anew; a replay): the
        decision for SQLite's assembly after it, or on PostgreSQL the reply's context read in
        it. None for a duplicate."""
        # Transaction 1: identify + dedupe → consent gate. A retried or crashed delivery is
        # claimed once or not at all; its learning is queued once the reply's context is
        # read (an outage before then keeps it owed: AnswerOwed). Quick: a few statements on
        # indexes about this person (profiles/db.py).
        async with self.services.db.session(quick=True) as session:
            sender = await self.identify.sender(session, event)
            if not claimed and not await self.identify.claim(
                session, sender.person, event, attempt
            ):
                log.info("duplicate event %s ignored", event.event_id)
                return None
            policy = policy_of(event, sender.channel_policy) if sender.read_ahead else None
            decided = await self.decide(
                session, event, sender.person, policy=policy, learn=learn
            )
            # On PostgreSQL the reply's reads follow in this transaction (cheaper than a
            # second one); on SQLite after it (the caller).
            if not self.services.db.single_writer:
                return await self.prepare(event, decided, text, truncated, session=session)
            consent = await session.get(Consent, sender.person.id)  # identity map: no SQL
            decided.read_ahead = hand_over(session, consent)
        return decided

    async def decide(
        self,
        session: AsyncSession,
        event: MessageEvent,
        person: Person,
        *,
        policy: Policy | None = None,
        learn: bool = True,
    ) -> Decided:
        """Consent gate and what observing the message writes (the timezone and locale the
        platform reports), in its first transaction. ``policy``: the channel's, when the
        caller read it with the sender; ``learn``: False for a replay whose learning was
        done (then nothing is learned again)."""
        assert person.id is not None
        now = self.services.clock()
        gate = await self.consent_gate.check(session, event, person, now, policy=policy)
        timezone = (
            await self.observe.message_context(session, person, event)
            if gate.learn and learn
            else None
        )
        return Decided(person, gate, timezone)

    def observed(
        self,
        prepared: Prepared,
        event: MessageEvent,
        text: str,
        signals: MessageSignals | None,
    ) -> None:
        """What the message teaches and its history turn, from its signals, into
        ``prepared`` (of a person who allows learning); only the turn, without topics, when
        the signals could not be extracted (None)."""
        observed = self.observe.message(
            prepared.person,
            event,
            text,
            signals or NO_SIGNALS,
            prepared.timezone if signals is not None else None,
        )
        prepared.turn, prepared.learning = observed.turn, observed.learning

    async def _signals(
        self, extraction: asyncio.Future[MessageSignals], event: MessageEvent
    ) -> MessageSignals | None:
        """The message's signals; None if they could not be extracted: the person is
        answered and the exchange recorded, and the message teaches nothing (it is claimed
        already, so failing here would leave it unanswered for good)."""
        try:
            return await extraction
        except Exception:
            log.exception("signals of %s could not be extracted: answered, learned nothing",
                          event.event_id)
            return None

    async def prepare(
        self,
        event: MessageEvent,
        decided: Decided,
        text: str,
        truncated: bool,
        *,
        session: AsyncSession | None = None,
    ) -> Prepared:
        """History and context → prompt (reads): in ``session`` (PostgreSQL's claim through
        a session), else in a read-only transaction after the claim committed, starting from
        what it read ahead."""
        person, gate = decided.person, decided.gate
        person_id = person.id
        assert person_id is not None
        if not gate.allowed:  # new, revoked, or forgotten by another worker: no hint here
            self.services.written.forget(writer_of(event))
        now = self.services.clock()

        async def assemble(
            session: AsyncSession, on_driver: bool = False
        ) -> tuple[LLMRequest, ResolvedPreferences]:
            return await self.assemble.request(
                session, person, event, text, learn=gate.learn, now=now,
                profile_on_driver=on_driver,
            )

        async def assemble_after(
            session: AsyncSession, writable: bool
        ) -> tuple[LLMRequest, ResolvedPreferences]:
            if decided.read_ahead is not None:
                take_over(session, decided.read_ahead)
            # The read-only attempt holds no connection yet: its profile is read straight on
            # the driver, so it begins no transaction at all (before, one around that single
            # statement, held open while the assembly worked; at maximum ingest SQLite
            # answered ~a fifth more without it: docs/measurement.md). A retry that writes
            # reads it in its transaction.
            return await assemble(session, not writable)

        request, prefs = (
            await assemble(session) if session is not None
            else await self.services.db.read_first(assemble_after, quick=True)
        )
        request = attach_tools(self.services, request, person, event, learn=gate.learn)
        return Prepared(
            person=person,
            learn=gate.learn,
            request=request,
            notice=gate.notice,
            verbosity=prefs.get("verbosity"),
            emoji=prefs.get("emoji"),
            avoid=prefs.avoid_topics,
            truncated=truncated,
            text=text,
            awaiting_consent=gate.awaiting_consent,
            locale=person_locale(
                prefs, event.context.locale, self.services.settings.default_locale
            ),
            timezone=decided.timezone,
        )

    async def record_owed(self, event: MessageEvent, text: str, owed: RecordOwed) -> None:
        """The replay of an answered exchange whose record met the database gone: its turns,
        stored as they were, if the person still allows learning (a /forget meanwhile
        removed the entry itself; a revocation is read here), and once — a replay whose
        removal from the journal was lost to a crash or a second outage finds it stored."""
        async with self.services.db.session() as session:
            person = await self.identify.learning_person(session, event)
            if person is None or person.id is None or (await session.exec(
                select(ConversationTurn.id).where(
                    ConversationTurn.person_id == person.id, ConversationTurn.role == "user",
                    ConversationTurn.created_at == event.occurred_at,
                    ConversationTurn.text == text,
                ).limit(1)
            )).first() is not None:
                return
        await self.record.store_owed(event, person.id, text, reply_thread(event), owed)

    async def observe_only(self, event: MessageEvent, text: str) -> None:
        """A channel message not addressed to the bot: observed if its author allows
        learning, never answered. Nothing is stored about others, not even that they spoke.
        Queued for the intake (bot/pipeline/intake.py), which resolves many such messages
        in one read and hands them to the learner's next batch (bot/learning.py)."""
        await self.intake.submit(event, text)

    async def observe_one(self, event: MessageEvent, text: str) -> None:
        """:meth:`observe_only` for one message, on its own: what the intake's batch could
        not decide from its rows (first contact, an unanswered consent, a timezone to
        store). It reads in a read-only transaction and writes only when the rule must (a
        person created on an "everywhere" grant, a consent taking it, the platform's new
        timezone); the claim, ``last_seen_at`` and learning are the learner's batch."""

        found = await self._learning_author(event)
        if found is not None:
            await self.observe.channel(found[0], event, text, found[1])

    async def learn_owed(self, event: MessageEvent, text: str) -> None:
        """The replay of a message addressed to the bot that was claimed and answered but
        whose learning batch met a database outage (bot/journal.py): learned now, if its
        author still allows it, without claiming or answering it again."""
        found = await self._learning_author(event)
        if found is None or not found[1].policy.learn:
            return
        person, context = found
        signals = await self.services.extract(
            text, names=event.mentioned_names, usual=context.language
        )
        observation = self.observe.observation(person, event, text, signals, context.timezone)
        await self.services.learner.submit(
            self.observe.claimed_learning(person, event, observation)
        )

    async def _learning_author(
        self, event: MessageEvent
    ) -> tuple[Person, ChannelContext] | None:
        """The author of ``event`` if they allow learning, with what observing it needs: in a
        read-only transaction that writes only when the rule must (see :meth:`observe_one`)."""

        async def resolve(
            session: AsyncSession, _writable: bool
        ) -> tuple[Person, ChannelContext] | None:
            person = await self.identify.learning_person(session, event)
            if person is None or person.id is None:
                return None
            return person, await self.observe.channel_context(session, person, event)

        return await self.services.db.read_first(resolve)

    async def preview(self, event: MessageEvent) -> LLMRequest:
        """The exact model input this message would produce now, with nothing stored
        (``tailorbot prompt preview``, benchmarks). Unknown people get the generic prompt.
        Read-only: on SQLite nothing waits for the writer. The reads are a steady sender's
        reply's: their small rows in one statement straight on the driver
        (profiles/preload.py), then the assembly, its profile straight on the driver too
        (:meth:`prepare`) — so what is timed here is what a reply's assembly costs."""
        services = self.services
        key = key_of(event)
        text = clean_text(event.text, max_chars=services.settings.max_message_chars)
        channel = event.channel_id if event.surface != Surface.DM else ""
        now = services.clock()

        async def assemble(
            session: AsyncSession, writable: bool, person: Person, learn: bool, on_driver: bool
        ) -> LLMRequest:
            request, _ = await self.assemble.request(
                session, person, event, text, learn=learn, now=now,
                profile_on_driver=on_driver,
            )
            if writable:
                await session.rollback()  # nothing stored, whatever assembly wrote
            return request

        # The sender's rows straight on the driver, as a steady sender's reply reads them
        # (Identify.claim_if_steady); only an unanswered consent reads more: the workspace's
        # consent mode.
        found = await read_sender_now(
            services.db, key.platform, key.workspace, key.user_id, channel
        )
        ahead: ReadAhead | None = None
        if found is None:
            learn = False
            person = Person(
                id=-1,
                platform=key.platform,
                workspace=key.workspace,
                user_id=key.user_id,
                display_name=event.person.display_name,
            )
        else:
            sender, ahead = found
            person, consent = sender.person, sender.consent
            answered = None if consent is None else answered_allows(consent)
            if consent is None or answered is not None:
                learn = bool(answered)
            else:
                learn = await services.db.read_first(
                    lambda session, _: services.engine.may_learn_in(session, person, consent),
                    quick=True,
                )

        async def assemble_after(session: AsyncSession, writable: bool) -> LLMRequest:
            if ahead is not None:
                take_over(session, ahead)
            return await assemble(session, writable, person, learn, not writable)

        return await services.db.read_first(assemble_after, quick=True)


def _discard(extraction: asyncio.Future[Any]) -> None:
    """An extraction nobody reads any more (a duplicate, an error): cancelled if still
    running, its failure marked as seen if it failed (not reported as unhandled)."""
    if not extraction.done():
        extraction.cancel()
    elif not extraction.cancelled():
        extraction.exception()
