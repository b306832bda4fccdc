"""The core pipeline: identify → dedupe → consent → observe → context → prompt → model → shape.

Adapters call :meth:`Core.handle` with a neutral event and render the replies it returns.
One transaction covers a message's dedupe row, its signals and its history, so a retried or
crashed delivery is either fully processed once or not at all; the model call happens outside
any transaction so a slow model never holds database locks.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import shlex
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import desc
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot import lifecycle
from bot.channel_policy import policy_for
from bot.commands import (
    ACTION_COMMANDS,
    REGISTRY,
    CommandContext,
    CommandError,
    parse_command_line,
    split_args,
    unknown_command_text,
)
from bot.config import Settings
from bot.consent import AwaitingConsent, HeldTurn, consent_buttons, consent_notice
from bot.context import build_prompt_context, local_hour
from bot.events import (
    ActionEvent,
    AnyEvent,
    CommandEvent,
    Event,
    MessageEvent,
    PersonRef,
    ReactionEvent,
    Reply,
    ReplyKind,
    Surface,
    utcnow,
)
from bot.experiments import renderer_for, variant_for
from bot.i18n import person_locale
from bot.journal import Drainer, Journal, Kept
from bot.llm.base import (
    LLMBackend,
    LLMRequest,
    LLMResult,
    LLMUnavailable,
    PartialCallback,
    Turn,
)
from bot.memory.intent import memory_intent
from bot.memory.links import shared_preferences, with_linked_interests
from bot.memory.prompt import prompt_memories
from bot.memory.tools import attach_tools
from bot.observe import observed
from bot.sanitize import fit_event, fit_id
from bot.services import Deliver, Services
from bot.shape import shape_reply
from profiles.db import Database, DatabaseUnavailable
from profiles.engine import PersonKey, ProfileEngine
from profiles.feedback import reaction_value, reply_topics
from profiles.memories import link_group
from profiles.models import (
    Consent,
    ConsentStatus,
    ConversationTurn,
    LLMCall,
    Person,
    Preference,
    ProcessedEvent,
    Source,
    table_of,
)
from profiles.preferences import PreferenceError, ResolvedPreferences, validate
from profiles.signals import MessageSignals, SignalExtractor, clean_text
from profiles.upsert import insert_for
from prompts.context import HistoryTurn
from prompts.render import PromptBudget, PromptRenderer, TemplateError

log = logging.getLogger(__name__)

MODEL_UNAVAILABLE = (
    "I couldn't reach my language model just now ({reason}). Your message is saved and I "
    "learned from it as usual; please try again in a moment."
)
DB_UNAVAILABLE = (
    "I can't reach my memory (database) right now. I've kept your message and will process it "
    "as soon as the database is back."
)
JOURNAL_FULL = (
    "I can't reach my memory (database) right now, and too many messages are already waiting "
    "for it, so I could not keep this one. Please send it again later."
)
TEMPLATE_REFUSED = (
    "I couldn't prepare an answer: my prompt template was refused. The operator can see why "
    "in the log; please try again later."
)
EMPTY_MESSAGE = "I got an empty message. Type something, or /help to see what I can do."
TRUNCATED_NOTE = "(Your message was very long; I read the first {n:,} characters.)"


@dataclass(slots=True)
class _Prepared:
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


class Core:
    """Routes each event to its handler; the shared parts live in :attr:`services`."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        llm: LLMBackend,
        *,
        extractor: SignalExtractor | None = None,
        renderer: PromptRenderer | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        journal: Journal | None = None,
        services: Services | None = None,
    ) -> None:
        self.services = services or Services.build(
            settings, db, llm, extractor=extractor, renderer=renderer, clock=clock,
            journal=journal,
        )
        self._locks: weakref.WeakValueDictionary[PersonKey, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self.drainer = Drainer(
            self.journal,
            lambda event: self._dispatch(event, None, replaying=True),
            self._deliver_replayed,
            unavailable=DatabaseUnavailable,
        )

    # The shared parts, read through the core by adapters and tests written before Services.
    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def db(self) -> Database:
        return self.services.db

    @property
    def llm(self) -> LLMBackend:
        return self.services.llm

    @llm.setter
    def llm(self, llm: LLMBackend) -> None:
        self.services.llm = llm

    @property
    def engine(self) -> ProfileEngine:
        return self.services.engine

    @property
    def extractor(self) -> SignalExtractor:
        return self.services.extractor

    @property
    def renderer(self) -> PromptRenderer:
        return self.services.renderer

    @property
    def clock(self) -> Callable[[], dt.datetime]:
        return self.services.clock

    @clock.setter
    def clock(self, clock: Callable[[], dt.datetime]) -> None:
        self.services.clock = clock

    @property
    def journal(self) -> Journal:
        return self.services.journal

    @property
    def awaiting_consent(self) -> AwaitingConsent:
        return self.services.awaiting_consent

    @property
    def deliverers(self) -> dict[str, Deliver]:
        return self.services.deliverers

    @property
    def deliver(self) -> Deliver | None:
        return self.services.deliver

    @deliver.setter
    def deliver(self, deliver: Deliver | None) -> None:
        self.services.deliver = deliver

    # Public surface ------------------------------------------------------------------------
    async def handle(
        self, event: AnyEvent, *, on_partial: PartialCallback | None = None
    ) -> list[Reply]:
        """Process one platform event; returns what to say (possibly nothing)."""
        return await observed(event, lambda: self._handle(event, on_partial))

    async def _handle(self, event: AnyEvent, on_partial: PartialCallback | None) -> list[Reply]:
        event = fit_event(event)
        try:
            return await self._dispatch(event, on_partial)
        except TemplateError as exc:  # an operator's template: say so, no traceback
            log.error("event %s not answered: %s", event.event_id, exc)
            return [Reply(text=TEMPLATE_REFUSED, kind=ReplyKind.EPHEMERAL, purpose="error")]
        except DatabaseUnavailable as exc:
            kept = self.journal.keep(event)
            self.drainer.wake()
            log.warning("database unavailable, event %s %s: %s", event.event_id, kept.value, exc)
            if isinstance(event, ReactionEvent) or not addressed_to_bot(event):
                return []
            text = JOURNAL_FULL if kept is Kept.FULL else DB_UNAVAILABLE
            return [Reply(text=text, kind=ReplyKind.EPHEMERAL, purpose="error")]

    async def bind_reply(self, reply_id: str, platform_message_id: str) -> None:
        """Adapters report the platform id of a reply they sent, so reactions to it can be
        read as feedback."""
        if not reply_id.startswith("turn:"):
            return
        async with self.db.session() as session:
            turn = await session.get(ConversationTurn, int(reply_id.removeprefix("turn:")))
            if turn is not None:
                turn.platform_message_id = fit_id(platform_message_id, 200)
                session.add(turn)

    async def forget_ref(self, ref: PersonRef) -> bool:
        """See :func:`bot.lifecycle.forget_ref`."""
        return await lifecycle.forget_ref(self.services, ref)

    async def forget_user(self, platform: str, user_id: str) -> int:
        """See :func:`bot.lifecycle.forget_user`."""
        return await lifecycle.forget_user(self.services, platform, user_id)

    @property
    def backlog_size(self) -> int:
        """Events waiting in the outage journal."""
        return len(self.journal)

    async def drain_backlog(self) -> int:
        """Replay events kept while the database was away, in order, by the one drainer."""
        return await self.drainer.drain()

    async def _deliver_replayed(self, event: AnyEvent, replies: list[Reply]) -> None:
        await self.services.deliver_to(event, replies)

    async def aclose(self) -> None:
        await self.services.features.close()
        await self.drainer.aclose()
        await self.llm.aclose()

    # Dispatch ------------------------------------------------------------------------------
    async def _dispatch(
        self, event: AnyEvent, on_partial: PartialCallback | None, *, replaying: bool = False
    ) -> list[Reply]:
        if not replaying and len(self.journal):
            # Older events first: a new one waits behind them while any are still waiting.
            await self.drainer.drain()
            if len(self.journal):
                raise DatabaseUnavailable("earlier events are still waiting for the database")
        key = PersonKey(event.person.platform, event.person.workspace, event.person.user_id)
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        async with lock:  # one person's events are handled in order
            if isinstance(event, MessageEvent):
                # A "/forget confirm" quoted in a channel is chatter, not a command.
                parsed = parse_command_line(event.text) if addressed_to_bot(event) else None
                if parsed is None and addressed_to_bot(event):
                    parsed = memory_intent(event.text)  # "remember that …" is /memory add
                if parsed is not None:
                    return await self._command(event, parsed[0], parsed[1])
                return await self._message(event, key, on_partial)
            if isinstance(event, CommandEvent):
                return await self._command(event, event.name.lstrip("/").lower(), event.args)
            if isinstance(event, ActionEvent):
                return await self._action(event, key)
            if isinstance(event, ReactionEvent):
                await self._reaction(event, key)
                return []
        raise TypeError(f"unsupported event {type(event).__name__}")

    async def _claim(self, session: AsyncSession, person: Person, event: Event) -> bool:
        """True the first time this platform event id is seen; False for retries."""
        stmt = (
            insert_for(session, table_of(ProcessedEvent))
            .values(
                person_id=person.id,
                platform=event.person.platform,
                workspace=event.person.workspace,
                event_id=event.event_id,
                processed_at=self.clock(),
            )
            .on_conflict_do_nothing(index_elements=["platform", "workspace", "event_id"])
            .returning(table_of(ProcessedEvent).c.id)
        )
        result = await session.exec(stmt)
        return result.first() is not None

    async def _person(self, session: AsyncSession, event: Event, key: PersonKey) -> Person:
        person = await self.engine.person(session, key, display_name=event.person.display_name)
        await self.engine.touch(session, person, self.clock())
        return person

    # Messages ------------------------------------------------------------------------------
    async def _message(
        self, event: MessageEvent, key: PersonKey, on_partial: PartialCallback | None
    ) -> list[Reply]:
        limit = self.settings.max_message_chars
        truncated = len(event.text) > limit
        text = clean_text(event.text, max_chars=limit).strip()
        if not addressed_to_bot(event):
            if text:
                await self._observe_only(event, key, text)
            return []
        if not text:
            return [
                Reply(
                    text=EMPTY_MESSAGE,
                    kind=ReplyKind.EPHEMERAL,
                    purpose="error",
                    thread_id=event.thread_id,
                )
            ]
        async with self.db.session() as session:
            person = await self._person(session, event, key)
            if not await self._claim(session, person, event):
                log.info("duplicate event %s ignored", event.event_id)
                return []
            prepared = await self._prepare(session, event, person, text, truncated)
        return await self._answer(event, prepared, on_partial)

    async def _learning_person(self, session: AsyncSession, key: PersonKey) -> Person | None:
        """The person, only if they allow learning (see ProfileEngine.learning_person)."""
        return await self.engine.learning_person(session, key)

    async def _observe_only(self, event: MessageEvent, key: PersonKey, text: str) -> None:
        """A channel message not addressed to the bot: learn from it if its author allows
        learning, let observers (e.g. digest channel activity) see it, never reply. Nothing
        at all is stored about authors who have not consented, not even that they spoke."""
        async with self.db.session() as session:
            person = await self._learning_person(session, key)
            if person is None or person.id is None:
                return
            if not await self._claim(session, person, event):
                return
            await self.engine.touch(session, person, self.clock())
            policy = await policy_for(session, event)  # admins may exclude a channel
            if policy.learn:
                signals = await self._learn(session, person.id, event, text)
            else:
                signals = self.extractor.extract(text)
            if policy.digest:  # admins may keep a channel out of digests
                await self.services.features.observe(session, person, event, signals)

    async def _learn(
        self, session: AsyncSession, person_id: int, event: MessageEvent, text: str
    ) -> MessageSignals:
        """Implicit signals of one message from a person who allows learning."""
        timezone = await self._store_platform_context(session, person_id, event, self.clock())
        signals = self.extractor.extract(text, names=event.mentioned_names)
        await self.engine.observe_message(
            session,
            person_id,
            signals,
            at=event.occurred_at,
            local_hour=local_hour(event.occurred_at, timezone),
            event_id=event.event_id,
            excerpt=text,
        )
        return signals

    async def _prepare(
        self,
        session: AsyncSession,
        event: MessageEvent,
        person: Person,
        text: str,
        truncated: bool,
    ) -> _Prepared:
        """Consent gate and observation (writes), then context assembly (reads)."""
        assert person.id is not None
        now = self.clock()
        engine = self.engine
        consent = await engine.consent(session, person.id)
        learn = engine.may_learn(consent) and (await policy_for(session, event)).learn
        notice = (
            consent.status == ConsentStatus.UNKNOWN.value
            and consent.notice_shown_at is None
            and not engine.consent_opt_out
        )
        if notice:
            consent.notice_shown_at = now
            session.add(consent)
        topics: list[str] = []
        history: list[HistoryTurn] = []
        if learn:
            signals = await self._learn(session, person.id, event, text)
            topics = [t for t, _ in signals.topics]
            history = await self._history(session, person.id)
            session.add(
                ConversationTurn(
                    person_id=person.id,
                    role="user",
                    text=text,
                    channel_id=event.channel_id,
                    thread_id=event.thread_id,
                    platform_message_id=event.message_id,
                    topics=topics,
                    created_at=event.occurred_at,
                )
            )
        request, prefs = await self._assemble(
            session, person, event, text, learn=learn, history=history, now=now
        )
        request = attach_tools(self.services, request, person, event, learn=learn)
        return _Prepared(
            person=person,
            learn=learn,
            request=request,
            notice=notice,
            topics=topics,
            verbosity=prefs.get("verbosity"),
            emoji=prefs.get("emoji"),
            avoid=prefs.avoid_topics,
            truncated=truncated,
            text=text,
            awaiting_consent=consent.status == ConsentStatus.UNKNOWN.value and not learn,
            locale=person_locale(prefs, event.context.locale, self.settings.default_locale),
        )

    async def _assemble(
        self,
        session: AsyncSession,
        person: Person,
        event: MessageEvent,
        text: str,
        *,
        learn: bool,
        history: list[HistoryTurn],
        now: dt.datetime,
    ) -> tuple[LLMRequest, ResolvedPreferences]:
        """Context → prompt → model request. Reads only; people who have not allowed learning
        get their explicit preferences and nothing inferred."""
        assert person.id is not None
        snapshot = await self.engine.snapshot(session, person, now) if learn else None
        prefs = (
            snapshot.preferences
            if snapshot
            else await self.engine.preferences(session, person.id, now)
        )
        # An online experiment may vary the template or preference defaults, never against an
        # explicit preference, and only for people who allow learning.
        variant = await variant_for(session, person, learn, "prompt")
        if variant is not None:
            prefs = variant.apply_preferences(prefs)
        links = await link_group(session, person.id)  # read once, used three times below
        prefs = await shared_preferences(session, person.id, prefs, links)
        context = build_prompt_context(
            bot_name=self.settings.bot_name,
            platform=event.person.platform,
            surface=event.surface.value,
            now=now,
            prefs=prefs,
            platform_context=event.context,
            default_timezone=self.settings.default_timezone,
            snapshot=snapshot,
            history=history,
            display_name=event.person.display_name,
            memories=await prompt_memories(session, person.id, links),
        )
        if snapshot is not None:
            context = await with_linked_interests(
                self.engine, session, person, context, now, links
            )
        rendered = renderer_for(variant, self.renderer).chat(
            context,
            text,
            count_tokens=self.llm.count_tokens,
            budget=PromptBudget(
                system_tokens=self.settings.prompt_system_tokens,
                history_tokens=self.settings.prompt_history_tokens,
            ),
        )
        request = LLMRequest(
            system=rendered.system,
            turns=[Turn(t.role, t.text) for t in rendered.turns],  # type: ignore[arg-type]
            max_tokens=self.settings.llm_max_tokens,
        )
        return request, prefs

    async def preview_request(self, event: MessageEvent) -> LLMRequest:
        """The exact model input this message would produce now, with nothing stored
        (``tailorbot prompt preview``, benchmarks). Unknown people get the generic prompt."""
        key = PersonKey(event.person.platform, event.person.workspace, event.person.user_id)
        text = clean_text(event.text, max_chars=self.settings.max_message_chars)
        async with self.db.session() as session:
            person = await self.engine.find_person(session, key)
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
                learn = consent is not None and self.engine.may_learn(consent)
            history = await self._history(session, person.id) if learn and person.id else []
            request, _ = await self._assemble(
                session, person, event, text, learn=learn, history=history, now=self.clock()
            )
            await session.rollback()
        return request

    async def _answer(
        self, event: MessageEvent, prepared: _Prepared, on_partial: PartialCallback | None
    ) -> list[Reply]:
        started = time.perf_counter()
        error: str | None = None
        try:
            result = await self.llm.generate(prepared.request, on_partial=on_partial)
            text = result.text
            if self.llm.configured:
                text = shape_reply(text, emoji=prepared.emoji, avoid=prepared.avoid)
        except LLMUnavailable as exc:
            error = str(exc)
            result = None
            text = MODEL_UNAVAILABLE.format(reason=exc)
        latency = (time.perf_counter() - started) * 1000
        if prepared.truncated:
            text = f"{text}\n{TRUNCATED_NOTE.format(n=self.settings.max_message_chars)}"
        thread = reply_thread(event)
        reply = Reply(text=text, thread_id=thread, purpose="chat" if error is None else "error")
        try:
            await self._record_answer(event, prepared, reply, result, error, latency, text, thread)
        except DatabaseUnavailable as exc:  # the answer still goes out; only its record is lost
            log.warning("could not record reply to %s: %s", event.event_id, exc)
        if prepared.awaiting_consent:
            self._hold_until_consent(event, prepared, text if error is None else None, thread)
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

    def _hold_until_consent(
        self, event: MessageEvent, prepared: _Prepared, answer: str | None, thread: str | None
    ) -> None:
        """Nothing is stored before consent; the exchange waits in memory so that, if the
        person allows learning, the model still sees how the conversation began."""
        key = PersonKey(event.person.platform, event.person.workspace, event.person.user_id)
        now = self.clock()
        turns = [
            HeldTurn("user", prepared.text, event.channel_id, event.thread_id, event.message_id,
                     event.occurred_at)
        ]
        if answer is not None:
            turns.append(HeldTurn("assistant", answer, event.channel_id, thread, None, now))
        self.awaiting_consent.hold(key, *turns)

    async def _record_answer(
        self,
        event: MessageEvent,
        prepared: _Prepared,
        reply: Reply,
        result: LLMResult | None,
        error: str | None,
        latency: float,
        text: str,
        thread: str | None,
    ) -> None:
        async with self.db.session() as session:
            person_id = prepared.person.id if prepared.learn else None
            if self.llm.configured:
                session.add(
                    LLMCall.of(
                        result,
                        purpose="chat",
                        backend=self.llm.name,
                        person_id=person_id,
                        error=error,
                        latency_ms=latency,
                        tools=result.tools if result else None,
                    )
                )
            if prepared.learn and error is None:
                # Feedback on a reply is about the reply: its own topics (a canned notice
                # from a missing model has none worth crediting).
                topics = reply_topics(self.extractor, text) if self.llm.configured else []
                assert prepared.person.id is not None
                turn = ConversationTurn(
                    person_id=prepared.person.id,
                    role="assistant",
                    text=text,
                    channel_id=event.channel_id,
                    thread_id=thread,
                    topics=topics,
                    model=result.model if result else None,
                )
                session.add(turn)
                await session.flush()
                reply.reply_id = f"turn:{turn.id}"

    async def _history(self, session: AsyncSession, person_id: int) -> list[HistoryTurn]:
        if self.settings.history_turns == 0:
            return []
        result = await session.exec(
            select(ConversationTurn)
            .where(ConversationTurn.person_id == person_id)
            .order_by(desc(col(ConversationTurn.id)))
            .limit(self.settings.history_turns)
        )
        turns = list(result)
        turns.reverse()
        return [HistoryTurn(t.role, t.text) for t in turns]

    async def _store_platform_context(
        self, session: AsyncSession, person_id: int, event: Event, now: dt.datetime
    ) -> str:
        """Store timezone and locale the platform reports (source "platform", so an explicit
        preference still wins and /profile can say where a value came from) when they
        changed; return the timezone to use for this event."""
        rows = await session.exec(
            select(Preference).where(
                Preference.person_id == person_id,
                Preference.key.in_(("timezone", "language")),  # type: ignore[attr-defined]
            )
        )
        stored = {(p.key, p.source): p.value for p in rows}
        context = event.context
        for key, value in (("timezone", context.timezone), ("language", context.locale)):
            if not value:
                continue
            try:
                clean = validate(key, value)
            except PreferenceError:  # a platform value we cannot use is simply ignored
                continue
            if stored.get((key, Source.PLATFORM.value)) != clean:
                stored[(key, Source.PLATFORM.value)] = await self.engine.set_preference(
                    session, person_id, key, clean, source=Source.PLATFORM, at=now
                )
        return (
            stored.get(("timezone", Source.EXPLICIT.value))
            or stored.get(("timezone", Source.PLATFORM.value))
            or self.settings.default_timezone
        )

    async def locale_of(self, session: AsyncSession, person: Person, event: Event) -> str:
        """The language of the bot's own texts for this person (bot/i18n.py)."""
        assert person.id is not None
        prefs = await self.engine.preferences(session, person.id, self.clock())
        return person_locale(prefs, event.context.locale, self.settings.default_locale)

    # Commands and actions ------------------------------------------------------------------
    async def _command(self, event: AnyEvent, name: str, raw_args: str) -> list[Reply]:
        spec = REGISTRY.get(name)
        thread = getattr(event, "thread_id", None)
        if spec is None:
            return [
                Reply(
                    text=unknown_command_text(name),
                    kind=ReplyKind.EPHEMERAL,
                    purpose="error",
                    thread_id=thread,
                )
            ]
        key = PersonKey(event.person.platform, event.person.workspace, event.person.user_id)
        async with self.services.transaction() as session:
            person = await self._person(session, event, key)
            if not await self._claim(session, person, event):
                return []
            ctx = CommandContext(
                services=self.services, session=session, person=person, event=event,
                now=self.clock(),
                locale=await self.locale_of(session, person, event),
            )
            try:
                args = split_args(clean_text(raw_args, max_chars=2000))
                replies = await spec.handler(ctx, args)
            except CommandError as exc:
                return [
                    Reply(
                        text=exc.text(ctx.locale),
                        kind=ReplyKind.EPHEMERAL,
                        purpose="error",
                        thread_id=thread,
                        locale=ctx.locale,
                    )
                ]
        for work in ctx.after_commit:
            replies.extend(await work())
        for reply in replies:
            reply.thread_id = reply.thread_id or thread
        await self.services.features.person_changed(event.person)
        return replies

    async def _action(self, event: ActionEvent, key: PersonKey) -> list[Reply]:
        line = ACTION_COMMANDS.get(event.action_id)
        if line is not None:
            name, _, args = line.partition(" ")
            if event.value:  # e.g. the id of the recommendation or digest item a button is on
                args = f"{args} {shlex.quote(event.value)}".strip()
            return await self._command(event, name, args)
        if event.action_id in ("feedback.up", "feedback.down"):
            value = 1 if event.action_id == "feedback.up" else -1
            await self._feedback(
                event,
                key,
                event.value or event.target_message_id or "",
                value,
                source="button",
                emoji=None,
                added=True,
            )
            return [Reply(text="Thanks for the feedback!", kind=ReplyKind.EPHEMERAL, purpose="ack")]
        return [
            Reply(
                text="That button is no longer active.", kind=ReplyKind.EPHEMERAL, purpose="error"
            )
        ]

    # Reactions -----------------------------------------------------------------------------
    async def _reaction(self, event: ReactionEvent, key: PersonKey) -> None:
        await self._feedback(
            event,
            key,
            event.target_message_id,
            reaction_value(event.emoji),
            source="reaction",
            emoji=event.emoji,
            added=event.added,
        )

    async def _feedback(
        self,
        event: Event,
        key: PersonKey,
        target: str,
        value: int,
        *,
        source: str,
        emoji: str | None,
        added: bool,
    ) -> None:
        """On the bot's reply to this person: feedback, idempotent by state (a replayed add
        or remove changes nothing twice, and adding the same reaction again after removing it
        counts again). On anything else: an interest signal in what they reacted to (when the
        adapter could tell us its text), deduplicated by event id. Reactions from people who
        do not allow learning leave no trace at all."""
        async with self.db.session() as session:
            person = await self._learning_person(session, key)
            if person is None or person.id is None:
                return
            turn = await self._bot_turn(session, person.id, target)
            now = event.occurred_at
            if turn is not None:
                if not added:
                    await self.engine.withdraw_feedback(
                        session, person.id, turn, emoji=emoji, at=now
                    )
                elif value != 0:
                    await self.engine.record_feedback(
                        session, person.id, turn, value, at=now, source=source, emoji=emoji
                    )
                return
            if not await self._claim(session, person, event):
                return
            target_text = getattr(event, "target_text", None)
            if (added and target_text and emoji is not None and value >= 0
                    and (await policy_for(session, event)).learn):
                signals = self.extractor.extract(target_text)
                await self.engine.observe_reaction_elsewhere(
                    session,
                    person.id,
                    signals.topics,
                    at=now,
                    emoji=emoji,
                    event_id=event.event_id,
                )

    async def _bot_turn(
        self, session: AsyncSession, person_id: int, target: str
    ) -> ConversationTurn | None:
        if target.startswith("turn:"):
            with contextlib.suppress(ValueError):
                turn = await session.get(ConversationTurn, int(target.removeprefix("turn:")))
                if turn is not None and turn.person_id == person_id and turn.role == "assistant":
                    return turn
            return None
        result = await session.exec(
            select(ConversationTurn).where(
                ConversationTurn.platform_message_id == target,
                ConversationTurn.person_id == person_id,
                ConversationTurn.role == "assistant",
            )
        )
        return result.first()

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


def command_names() -> Iterable[str]:
    return REGISTRY.keys()
