"""The parts every room of the bot shares: settings, database, model, profile engine, signal
extractor, prompt renderer, clock, outage journal, held exchanges, the registered features,
the outbox registry and the write-behind learner.

Why a separate leaf object: commands, features (digests, memory), summaries and the CLI need
these parts, not the router that dispatches events. When they took the whole ``Core`` they
closed an import cycle through it (commands ↔ core ↔ digest service ↔ summaries ↔ context)
and reached into its internals. ``Services`` imports nothing of ``bot.core`` or of any
feature, so anything may depend on it (tests/test_import_contract.py keeps it that way).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings, journal_path
from bot.consent import AwaitingConsent
from bot.events import AnyEvent, Reply, utcnow
from bot.features import FeatureBase, Features
from bot.journal import Journal
from bot.learning import Learner, default_batch_max
from bot.llm.base import LLMBackend
from bot.outbox import Outbox
from bot.reply_bindings import ReplyBindings
from bot.reply_turns import ReplyTurns
from bot.written_languages import WrittenLanguages
from profiles import feedback, topics
from profiles.background import WorkspaceBackground
from profiles.db import Database, DatabaseUnavailable, again_on_conflict
from profiles.engine import ProfileEngine
from profiles.extraction import ExtractionPool, default_workers
from profiles.signals import MessageSignals, SignalExtractor
from prompts.render import PromptRenderer

log = logging.getLogger(__name__)

T = TypeVar("T")

_AFTER_COMMIT = "tailorbot.after_commit"

Clock = Callable[[], dt.datetime]
# Sends replies for an event through the adapter of its platform (replays after an outage,
# digests and other work that finishes after the event's own answer went out).
Deliver = Callable[[AnyEvent, list[Reply]], Awaitable[None]]


@dataclass(eq=False)
class Services:
    settings: Settings
    db: Database
    llm: LLMBackend
    engine: ProfileEngine
    extractor: SignalExtractor
    renderer: PromptRenderer
    clock: Clock
    journal: Journal
    awaiting_consent: AwaitingConsent
    # Where ``extract`` runs: worker processes, started on first use (profiles/extraction.py).
    extraction: ExtractionPool = field(default_factory=lambda: ExtractionPool(0))
    # Digests, held exchanges, an adapter's home view …: see bot/features.py.
    features: Features = field(default_factory=Features)
    # Replies to events handled outside an adapter's own call (outage replays, digests) go
    # back through the adapter of the event's platform; ``deliver`` is a catch-all fallback.
    deliverers: dict[str, Deliver] = field(default_factory=dict)
    deliver: Deliver | None = None
    # The adapters' outboxes by platform (bot/outbox.py): replies to events and to people.
    outboxes: dict[str, Outbox] = field(default_factory=dict)
    # Replies first: their turns, and observed messages held back while they work
    # (bot/reply_turns.py).
    reply_turns: ReplyTurns = field(init=False)
    # Implicit learning no reply waits for, applied in batches (bot/learning.py).
    learner: Learner = field(init=False)
    # Sent replies' platform ids, written to their turns (bot/reply_bindings.py).
    bindings: ReplyBindings = field(init=False)
    # The language each person's longer messages are in: how their short ones are read
    # (bot/written_languages.py).
    written: WrittenLanguages = field(default_factory=WrittenLanguages)

    def __post_init__(self) -> None:
        self.reply_turns = ReplyTurns(
            self.settings.reply_work_at_once, self.settings.observe_yield_ms
        )
        self.learner = Learner(
            self, max_batch=self.settings.learning_batch_max or default_batch_max(self.db)
        )
        self.bindings = ReplyBindings(self.db)

    @classmethod
    def build(
        cls,
        settings: Settings,
        db: Database,
        llm: LLMBackend,
        *,
        extractor: SignalExtractor | None = None,
        renderer: PromptRenderer | None = None,
        clock: Clock = utcnow,
        journal: Journal | None = None,
    ) -> Services:
        """The default parts for ``settings``; tests and embedders pass their own."""
        engine = ProfileEngine(
            half_life_days=settings.interest_half_life_days,
            lasting_half_life_days=settings.interest_lasting_half_life_days,
            max_interests=settings.max_interests_per_person,
            consent_opt_out=settings.consent_mode == "opt_out",
            workspace_opt_out_allowed=settings.workspace_opt_out_allowed,
            last_seen_resolution_seconds=settings.last_seen_resolution_seconds,
            default_timezone=settings.default_timezone,
            default_locale=settings.default_locale,
        )
        services = cls(
            settings=settings,
            db=db,
            llm=llm,
            engine=engine,
            extractor=extractor
            or SignalExtractor(
                max_keyphrases=settings.keyphrases_per_message,
                max_chars=settings.max_signal_chars,
            ),
            renderer=renderer or PromptRenderer(),
            clock=clock,
            # Events that could not reach the database wait here, durably (bot/journal.py).
            journal=journal
            or Journal(
                journal_path(str(settings.database_url), settings.outage_journal),
                limit=settings.outage_journal_limit,
            ),
            awaiting_consent=AwaitingConsent(clock),
            extraction=ExtractionPool(
                default_workers()
                if settings.extract_workers is None
                else settings.extract_workers,
                nice=settings.extract_worker_nice,
            ),
        )
        services.features.register(services.awaiting_consent)
        # Closing the core (Features.close) stops the workers.
        services.features.register(_ExtractionWorkers(services.extraction))
        # The workspace background is counted in sessions of its own, off the reply path;
        # closing the core cancels a refresh still running.
        # Counting only reads: in read-only transactions, which on SQLite never queue for
        # the writer (nor make replies queue behind a count).
        engine.background.refresh_with(db.read)
        services.features.register(_BackgroundCounts(engine.background))
        return services

    async def warm_up(self, *, every_worker: bool = False) -> None:
        """Load, before the first message, the lexicons extraction needs (in its workers,
        ``every_worker``: all of them, see ExtractionPool.warm_up) and the ones this
        process reads itself to rank and name profile topics (profiles/topics.py) and to
        name reactions (profiles/feedback.py): in a thread, so loading them never blocks the
        event loop."""
        await asyncio.gather(
            self.extraction.warm_up(self.extractor, every_worker=every_worker),
            asyncio.to_thread(_load_own_lexicons),
            self._open_connections(),
        )

    async def _open_connections(self) -> None:
        """The database pool's connections, opened before the first burst of people
        (profiles/db.py ``open_connections``). A database away at start is no failure of
        the start: connections then open on first use, as before, and events meet the
        outage journal as always."""
        try:
            opened = await self.db.open_connections()
        except DatabaseUnavailable as exc:
            log.warning("database not reachable at start (%s): connections open on first use", exc)
            return
        log.info("database connections opened at start: %d", opened)

    async def extract(
        self,
        text: str,
        *,
        names: Sequence[str] = (),
        reply: bool = False,
        usual: str | None = None,
    ) -> MessageSignals:
        """The signals of ``text``, computed in a worker process (a thread with
        ``extract_workers = 0``). Keyphrase extraction and language detection are CPU work
        (milliseconds a message, more for long ones); on the event loop, or in a thread that
        holds the GIL, they would stall every other person's reply and, on Discord, the
        gateway heartbeat. ``reply``: a reply waits for it, so it goes ahead of observed
        messages still waiting for a worker. ``usual``: the writer's language as their platform
        or preferences say (profiles/signals.py ``SignalExtractor.extract``)."""
        return await self.extraction.extract(
            self.extractor, text, names=names, reply=reply, usual=usual
        )

    def start_extraction(
        self,
        text: str,
        *,
        names: Sequence[str] = (),
        reply: bool = False,
        usual: str | None = None,
    ) -> asyncio.Future[MessageSignals]:
        """:meth:`extract`, under way before this returns (its message already sent to a
        worker when they run), for a caller that does other work before it needs the
        signals."""
        return self.extraction.start(
            self.extractor, text, names=names, reply=reply, usual=usual
        )

    def now(self) -> dt.datetime:
        return self.clock()

    @contextlib.asynccontextmanager
    async def transaction(self, *, quick: bool = False) -> AsyncIterator[AsyncSession]:
        """A database transaction whose follow-up work (deletion and preference hooks) runs
        once it has committed, so hooks see committed data and never wait on its locks.
        ``quick``: as for :meth:`profiles.db.Database.session`."""
        pending: list[Callable[[], Awaitable[None]]] = []
        async with self._session_keeping(pending, quick=quick) as session:
            yield session
        for work in pending:
            await work()

    @contextlib.asynccontextmanager
    async def _session_keeping(
        self, pending: list[Callable[[], Awaitable[None]]], *, quick: bool
    ) -> AsyncIterator[AsyncSession]:
        """A session whose :meth:`after_commit` work is kept in ``pending``, for the caller
        to run once it has committed."""
        async with self.db.session(quick=quick) as session:
            session.info[_AFTER_COMMIT] = pending
            yield session

    async def in_transaction(
        self, work: Callable[[AsyncSession], Awaitable[T]], *, quick: bool = False
    ) -> T:
        """``work`` in :meth:`transaction`, run again in a new one (up to
        :data:`profiles.db.CONFLICT_ATTEMPTS` times) when PostgreSQL aborts it over a conflict with
        another transaction (:func:`profiles.db.conflicted`), as PostgreSQL's documentation
        advises: nothing of the aborted run was kept. ``work`` must do nothing outside the
        database that a second run would do twice (after-commit work is fine: it runs once).

        Why: an erasure deletes many tables' rows about a person while other transactions
        write some of them; the known lock-order cycles are removed (profiles/privacy.py),
        and this keeps one not yet found from failing a /forget."""
        async def once() -> tuple[T, list[Callable[[], Awaitable[None]]]]:
            pending: list[Callable[[], Awaitable[None]]] = []
            async with self._session_keeping(pending, quick=quick) as session:
                return await work(session), pending

        done, pending = await again_on_conflict(once, "a transaction")
        # Outside the retry: once committed, nothing runs the work again.
        for after in pending:
            await after()
        return done

    @staticmethod
    def after_commit(session: AsyncSession, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` after ``session`` commits; ``session`` must come from
        :meth:`transaction` or :meth:`in_transaction` (a plain ``db.session()`` has no
        after-commit step)."""
        pending = session.info.get(_AFTER_COMMIT)
        if pending is None:
            raise RuntimeError("after_commit needs a session from Services.transaction()")
        pending.append(work)

    def open_outbox(self, outbox: Outbox) -> None:
        """An adapter that can send on its own registers here at start-up."""
        self.outboxes[outbox.platform] = outbox
        self.deliverers[outbox.platform] = outbox.reply

    def close_outbox(self, outbox: Outbox) -> None:
        if self.outboxes.get(outbox.platform) is outbox:
            del self.outboxes[outbox.platform]
        if self.deliverers.get(outbox.platform) == outbox.reply:
            del self.deliverers[outbox.platform]

    async def deliver_to(self, event: AnyEvent, replies: list[Reply]) -> bool:
        """Send ``replies`` through the adapter of the event's platform; False if none."""
        deliver = self.deliverers.get(event.person.platform, self.deliver)
        if deliver is None:
            return False
        await deliver(event, replies)
        return True

    def can_deliver(self, platform: str) -> bool:
        return self.deliver is not None or platform in self.deliverers


def _load_own_lexicons() -> None:
    topics.warm_up()
    feedback.warm_up()


class _ExtractionWorkers(FeatureBase):
    """The extraction pool's place in the core's life: closed with the core."""

    name = "extraction"

    def __init__(self, pool: ExtractionPool) -> None:
        self.pool = pool

    async def close(self) -> None:
        await self.pool.aclose()


class _BackgroundCounts(FeatureBase):
    """The workspace background's refresh tasks (profiles/background.py) in the core's
    life: cancelled and awaited when it closes, so none outlives the database."""

    name = "workspace background"

    def __init__(self, background: WorkspaceBackground) -> None:
        self.background = background

    async def close(self) -> None:
        await self.background.aclose()
