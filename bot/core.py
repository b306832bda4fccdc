"""The router: every platform event comes in here and goes to the one handler of its kind.

Adapters call :meth:`Core.handle` with a neutral event and render the replies it returns.
The router owns what is about events as such: one person's events are handled in order
(per-person locks), events that could not reach the database wait in the outage journal and
are replayed first, and failures that concern every event (database away, a refused
template) become plain replies. The work itself is elsewhere:

* chat messages: bot/pipeline/chat.py, explicit stages in visible order
  (identify + dedupe → consent gate → observe → assemble → answer → record);
* commands and buttons: bot/handlers/commands.py;
* reactions and feedback buttons: bot/handlers/feedback.py;
* the shared parts (settings, database, model, engine …): bot/services.py;
* features (digests, held exchanges): bot/features.py, registered in bot/app.py.

A database that is *busy* is no outage: PostgreSQL cut a statement that waited for a lock
held by other work (a ``/forget``, a digest page) under the database timeout
(:class:`~profiles.db.DatabaseBusy`, profiles/db_timeout.py). The event is then run again
at once, as its replay would run it (with what it owes), up to :data:`BUSY_ATTEMPTS` times
in all, in its person's turn; only if the lock outlasts them is it kept in the outage
journal, marked busy, and the person told the bot is busy, not that the database is away.
A busy entry holds back its own person's later events only (they are kept behind it, told
the bot is busy); everyone else's go ahead of it without replaying the journal first, and a
drain skips it while its lock holds (bot/journal.py, "Busy entries"). An entry kept while the
database was away still holds everyone's events behind the whole journal.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import weakref
from collections.abc import Callable, Container, Iterable

from bot import lifecycle
from bot.commands import REGISTRY, parse_command_line
from bot.config import Settings
from bot.events import (
    ActionEvent,
    AnyEvent,
    CommandEvent,
    DepartureEvent,
    Gone,
    JournaledEvent,
    MessageEvent,
    PersonRef,
    ReactionEvent,
    Reply,
    ReplyKind,
    utcnow,
)
from bot.handlers.commands import Commands
from bot.handlers.feedback import Feedback
from bot.i18n import N_, negotiate, t
from bot.journal import ANSWER_AND_LEARNING, Ahead, Drainer, Journal, Kept, Owed
from bot.llm.base import LLMBackend, LLMRequest, PartialCallback
from bot.memory.intent import memory_intent
from bot.observe import observed
from bot.pipeline.chat import (
    EMPTY_MESSAGE,
    AnswerOwed,
    Chat,
    addressed_to_bot,
    reply_thread,
)
from bot.pipeline.identify import ClaimUnsure, key_of
from bot.sanitize import fit_event
from bot.services import Services
from profiles.db import Database, DatabaseBusy, DatabaseUnavailable, is_busy
from profiles.engine import PersonKey
from profiles.signals import SignalExtractor
from prompts.render import PromptRenderer, TemplateError

# Re-exported: adapters, tests and benchmarks know these texts and helpers by the core's name.
__all__ = [
    "DB_BUSY",
    "DB_UNAVAILABLE",
    "EMPTY_MESSAGE",
    "JOURNAL_FULL",
    "TEMPLATE_REFUSED",
    "Core",
    "addressed_to_bot",
    "command_names",
    "reply_thread",
]

log = logging.getLogger(__name__)

# Catalog texts (bot/i18n.py). With the database away the person's stored language cannot be
# read: these follow the platform's locale for the event, else the deployment's default.
DB_UNAVAILABLE = N_(
    "I can't reach my memory (database) right now. I've kept your message and will process it "
    "as soon as the database is back."
)
DB_BUSY = N_(
    "I'm busy with other work on my memory right now. I've kept your message and will "
    "answer it as soon as that work is done."
)
JOURNAL_FULL = N_(
    "I can't reach my memory (database) right now, and too many messages are already waiting "
    "for it, so I could not keep this one. Please send it again later."
)
TEMPLATE_REFUSED = N_(
    "I couldn't prepare an answer: my prompt template was refused. The operator can see why "
    "in the log; please try again later."
)

# Runs of an event whose database work is cut as busy (see the module docstring): each
# waits up to the server's lock_timeout, a share of database_timeout_seconds (4 s by
# default), for the lock to be released.
BUSY_ATTEMPTS = 3


def owed_of(exc: Exception, ran_with: Owed | None = None) -> Owed | None:
    """What an event whose run, with ``ran_with`` owed, failed with ``exc`` owes now — kept
    so in the outage journal, whether it was being handled, run again while the database was
    busy, or replayed (bot/journal.py): its answer if its claim committed
    (:class:`AnswerOwed`), an unsure claim's times (:class:`ClaimUnsure`), else what the run
    owed already (a replay failing before any of it was done owes it still; None: nothing of
    it took effect, it is run whole)."""
    if isinstance(exc, AnswerOwed):
        return ANSWER_AND_LEARNING
    if isinstance(exc, ClaimUnsure):
        return exc.owed
    return ran_with


class Unfinished(DatabaseUnavailable):
    """An event run more than once (:meth:`Core._route_while_busy`) that failed still: to be
    kept owing ``owed``; ``busy``: the database was busy, not unavailable."""

    def __init__(self, message: str, owed: Owed | None, *, busy: bool) -> None:
        super().__init__(message)
        self.owed = owed
        self.busy = busy


class Core:
    """Routes each event to its handler; the shared parts live in :attr:`services`."""

    busy_attempts = BUSY_ATTEMPTS

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
        # One handler per event kind (the chat path is the pipeline of named stages).
        self.chat = Chat(self.services)
        self.feedback = Feedback(self.services, self.chat.intake)
        self.commands = Commands(self.services, self.feedback)
        self.drainer = Drainer(
            self.services.journal,
            self._replay,
            self._deliver_replayed,
            unavailable=DatabaseUnavailable,
            owed_of=owed_of,
            busy=is_busy,
            before=self.services.db.fence_lost,
        )
        self.bindings = self.services.bindings
        # Batches of implicit learning the database refused wait in the journal too.
        self.services.learner.on_journaled = self.drainer.wake

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
            return [Reply(text=t(TEMPLATE_REFUSED, self._locale(event)),
                          kind=ReplyKind.EPHEMERAL, purpose="error")]
        except Unfinished as exc:
            return self._kept(event, exc.owed, exc, busy=exc.busy)
        except DatabaseUnavailable as exc:
            return self._kept(event, owed_of(exc), exc, busy=is_busy(exc))

    def _kept(
        self, event: AnyEvent, owed: Owed | None, exc: DatabaseUnavailable, *, busy: bool
    ) -> list[Reply]:
        """``event`` in the outage journal, owing ``owed``, and what the person is told."""
        kept = self.services.journal.keep(event, owed=owed, busy=busy)
        self.drainer.wake()
        state = "busy" if busy else "unavailable"
        log.warning("database %s, event %s %s: %s", state, event.event_id, kept.value, exc)
        if isinstance(event, ReactionEvent) or not addressed_to_bot(event):
            return []
        text = JOURNAL_FULL if kept is Kept.FULL else DB_BUSY if busy else DB_UNAVAILABLE
        return [Reply(text=t(text, self._locale(event)), kind=ReplyKind.EPHEMERAL,
                      purpose="error")]

    def _locale(self, event: AnyEvent) -> str:
        """The language of an error reply when the person's preferences cannot be read."""
        return negotiate(event.context.locale, self.services.settings.default_locale)

    async def bind_reply(self, reply_id: str, platform_message_id: str) -> None:
        """Adapters report the platform id of a reply they sent, so reactions to it can be
        read as feedback (:class:`bot.reply_bindings.ReplyBindings`: kept in memory and
        written with the others of the next 50 ms, longer with the database away; never
        raised to the adapter)."""
        await self.bindings.bind(reply_id, platform_message_id)

    # A platform's notice that someone is gone. With the database away (or busy past its
    # retries) the erasure is kept in the outage journal and done once it answers, in its
    # place among the events kept meanwhile: it used to fail back to the adapter and be lost
    # (Discord never sends a removal twice; a workspace that removed the bot sends nothing
    # more). What these return then is what is known so far: nothing removed yet.
    async def forget_ref(self, ref: PersonRef) -> bool:
        """See :func:`bot.lifecycle.forget_ref`; kept for later with the database away."""
        departure = DepartureEvent.of(Gone.PERSON, ref.platform, ref.workspace, ref.user_id)
        return bool(await self._depart(departure))

    async def forget_user(self, platform: str, user_id: str, *, keep_if_away: bool = True) -> int:
        """See :func:`bot.lifecycle.forget_user`; kept for later with the database away,
        unless ``keep_if_away`` is False (an operator's command, who is told instead)."""
        if not keep_if_away:
            return await lifecycle.forget_user(self.services, platform, user_id)
        return await self._depart(DepartureEvent.of(Gone.ACCOUNT, platform, user_id=user_id))

    async def forget_workspace(self, platform: str, workspace: str) -> int:
        """See :func:`bot.lifecycle.forget_workspace`; kept for later with the database
        away."""
        return await self._depart(DepartureEvent.of(Gone.WORKSPACE, platform, workspace))

    async def _depart(self, departure: DepartureEvent) -> int:
        try:
            return await lifecycle.depart(self.services, departure)
        except DatabaseUnavailable as exc:
            self._keep_departures([departure], exc)
            return 0

    def _keep_departures(self, departures: list[DepartureEvent], exc: DatabaseUnavailable) -> None:
        busy = is_busy(exc)
        kept = self.services.journal.keep_many(departures, busy=busy)
        self.drainer.wake()
        if len(departures) == 1:
            [departure], [outcome] = departures, kept
            log.warning("database %s: erasure of %s %s %s, done once it answers: %s",
                        "busy" if busy else "unavailable", departure.gone.value,
                        departure.person, outcome.value, exc)
        elif departures:
            ref = departures[0].person
            log.warning("database %s: erasures of %d people of %s workspace %s kept, done "
                        "once it answers: %s", "busy" if busy else "unavailable",
                        len(departures), ref.platform, ref.workspace, exc)

    async def forget_absent(
        self, platform: str, workspace: str, present_user_ids: Container[str]
    ) -> int:
        """See :func:`bot.lifecycle.forget_absent`."""
        return await lifecycle.forget_absent(self.services, platform, workspace,
                                             present_user_ids)

    async def forget_absent_workspaces(
        self, platform: str, present_workspaces: Container[str], *,
        covered: Callable[[str], bool],
    ) -> dict[str, int]:
        """See :func:`bot.lifecycle.forget_absent_workspaces`."""
        return await lifecycle.forget_absent_workspaces(
            self.services, platform, present_workspaces, covered=covered)

    async def accounts_reported(
        self, platform: str, workspace: str, report: lifecycle.AccountReport
    ) -> int:
        """See :func:`bot.lifecycle.accounts_reported`. With the database away the erasures
        of the accounts the platform says are deleted are kept for later, each as the notice
        of one departure: asking the platform again costs a check its rate limits (Slack's
        ``users.info``, paced, minutes for a large workspace), and its answer was in hand."""
        try:
            return await lifecycle.accounts_reported(self.services, platform, workspace, report)
        except DatabaseUnavailable as exc:
            self._keep_departures([
                DepartureEvent.of(Gone.PERSON, platform, workspace, user_id)
                for user_id in sorted(report.deleted)
            ], exc)
            return 0

    async def known_accounts(self, platform: str, workspace: str) -> set[str]:
        """See :func:`bot.lifecycle.known_accounts`."""
        return await lifecycle.known_accounts(self.services, platform, workspace)

    async def known_workspaces(self, platform: str) -> set[str]:
        """See :func:`bot.lifecycle.known_workspaces`."""
        return await lifecycle.known_workspaces(self.services, platform)

    @property
    def backlog_size(self) -> int:
        """Events waiting in the outage journal."""
        return len(self.services.journal)

    async def drain_backlog(self) -> int:
        """Replay events kept while the database was away, in order, by the one drainer."""
        return await self.drainer.drain()

    async def _replay(self, event: JournaledEvent, owed: Owed | None) -> list[Reply]:
        """The drainer's: an event kept in the outage journal, processed now."""
        if isinstance(event, DepartureEvent):
            await lifecycle.depart(self.services, event)
            return []
        return await self._dispatch(event, None, replaying=True, owed=owed)

    async def _deliver_replayed(self, event: JournaledEvent, replies: list[Reply]) -> None:
        if not isinstance(event, DepartureEvent):  # (none: a departure answers nobody)
            await self.services.deliver_to(event, replies)

    async def aclose(self) -> None:
        # Learning accepted but not yet applied goes in first (or to the journal, which the
        # drainer closes below): a graceful stop loses none of it.
        await self.services.learner.aclose()
        await self.bindings.aclose()
        await self.services.features.close()
        await self.drainer.aclose()
        await self.services.llm.aclose()

    async def preview_request(self, event: MessageEvent) -> LLMRequest:
        """See :meth:`bot.pipeline.chat.Chat.preview`."""
        return await self.chat.preview(event)

    # Dispatch ------------------------------------------------------------------------------
    async def _dispatch(
        self,
        event: AnyEvent,
        on_partial: PartialCallback | None,
        *,
        replaying: bool = False,
        owed: Owed | None = None,
    ) -> list[Reply]:
        key = key_of(event)
        journal = self.services.journal
        if not replaying and journal.ahead(key) is not Ahead.NOTHING:
            # Older events first: a new one waits behind them while any it must wait behind
            # are still waiting — everyone's while an outage entry waits, only this
            # person's own while the rest wait for locks on other people's rows.
            await self.drainer.drain()
            self._raise_if_behind(journal.ahead(key))
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        waited = lock.locked()
        async with lock:  # one person's events are handled in order
            if replaying:  # the drainer's: a failure stops the drain, to be tried later
                return await self._route(event, on_partial, owed)
            if waited:  # for an earlier event of theirs, kept meanwhile? Not ahead of it
                self._raise_if_behind(journal.ahead(key))
            return await self._route_while_busy(event, on_partial, owed)

    @staticmethod
    def _raise_if_behind(ahead: Ahead) -> None:
        """A new event that must wait behind the journal is kept behind it, told why: the
        database away (an outage entry waits), or busy (their own earlier events wait for a
        lock on their rows)."""
        if ahead is Ahead.OUTAGE:
            raise DatabaseUnavailable("earlier events are still waiting for the database")
        if ahead is Ahead.OWN:
            raise DatabaseBusy("this person's earlier events are still waiting for a lock")

    async def _route_while_busy(
        self, event: AnyEvent, on_partial: PartialCallback | None, owed: Owed | None
    ) -> list[Reply]:
        """:meth:`_route`, run again while the database is busy (module docstring), with
        what the failed run left owed, as its replay from the journal would run it: an
        event is safe to run again after any :class:`DatabaseUnavailable`. In the person's
        turn, so that their next event does not overtake it. Still busy after
        :attr:`busy_attempts` runs, or failing otherwise after the first:
        :class:`Unfinished`, with what it owes then."""
        for attempt in range(1, self.busy_attempts + 1):
            try:
                return await self._route(event, on_partial, owed)
            except DatabaseUnavailable as exc:
                busy = is_busy(exc)
                if attempt == 1 and not busy:
                    raise  # kept with what the failure says it owes (_handle)
                owed = owed_of(exc, owed)
                if not busy or attempt == self.busy_attempts:
                    raise Unfinished(str(exc), owed, busy=busy) from exc
                log.info("database busy, event %s run again (%d): %s",
                         event.event_id, attempt, exc)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _route(
        self, event: AnyEvent, on_partial: PartialCallback | None, owed: Owed | None
    ) -> list[Reply]:
        """The event to its handler."""
        if isinstance(event, MessageEvent):
            # A "/forget confirm" quoted in a channel is chatter, not a command.
            parsed = parse_command_line(event.text) if addressed_to_bot(event) else None
            if parsed is None and addressed_to_bot(event):
                parsed = memory_intent(event.text)  # "remember that …" is /memory add
            if parsed is not None:
                return await self.commands.command(event, parsed[0], parsed[1], owed=owed)
            return await self.chat.handle(event, on_partial, owed=owed)
        if isinstance(event, CommandEvent):
            name = event.name.lstrip("/").lower()
            return await self.commands.command(event, name, event.args, owed=owed)
        if isinstance(event, ActionEvent):
            return await self.commands.action(event, owed=owed)
        if isinstance(event, ReactionEvent):
            await self.feedback.reaction(event)
            return []
        raise TypeError(f"unsupported event {type(event).__name__}")




def command_names() -> Iterable[str]:
    return REGISTRY.keys()
