"""The profile engine: learns from implicit signals and answers "what do we know about this
person" for context assembly, ``/profile`` and ranking.

All methods take an open :class:`AsyncSession` so the caller decides the transaction: the core
commits a message's dedupe row, signals and history together, so a crash never half-learns.
"""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import bindparam, delete, desc, func, true
from sqlalchemy import select as select_rows
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from profiles.background import (
    POPULAR_MAX_SHARE,
    POPULAR_MIN_PEOPLE,
    WorkspaceBackground,
    families,
    family_label,
    is_junk,
    learning_statuses,
)
from profiles.borrowed import withdraw_words_of
from profiles.db import scans
from profiles.decay import DAY_SECONDS, decayed, to_ts
from profiles.ingest import BatchIngestor, Observation
from profiles.learning_sql import LASTING_HALF_LIFE_DAYS, interest_row, interest_upsert
from profiles.models import (
    Consent,
    ConsentStatus,
    ConversationTurn,
    Feedback,
    Interest,
    Person,
    Preference,
    ProfileSummary,
    Signal,
    Source,
    StyleProfile,
    Trait,
    table_of,
    utcnow,
)
from profiles.preferences import ResolvedPreferences, resolve, validate
from profiles.preload import PREFERENCES, drop, preference_rows
from profiles.profile_rows import (
    INTEREST_COLUMNS,
    TRAIT_COLUMNS,
    InterestFields,
    ProfileRows,
    TraitFields,
    read_profile,
)
from profiles.signals import MessageSignals
from profiles.upsert import AnyOf, any_of, dialect_of, insert_for
from profiles.workspace_defaults import (
    CONSENT_KEY,
    OPT_IN,
    OPT_OUT,
    learning_allowed,
    stored_default,
)

FEEDBACK_TOPIC_DELTA = 0.5
# A 👎 is about the answer, not the subject: only what the reply brought in on its own loses,
# and less than a 👍 gains.
NEGATIVE_FEEDBACK_SHARE = 0.5
MIN_MESSAGES_FOR_STYLE = 3
# "Lately" is what came up within this many (fading) half-lives: four weeks by default.
LATELY_HALF_LIVES = 2
# Topics considered when grouping a profile into families (the strongest ones).
FAMILY_CANDIDATES = 60


@dataclass(frozen=True, slots=True)
class PersonKey:
    platform: str
    workspace: str
    user_id: str


@dataclass(frozen=True, slots=True)
class InterestView:
    """``lately`` fades with the short half-life; ``lasting`` with a year's, scaled by the
    ratio of half-lives so both read on the same scale for steady talk. ``weight`` (their
    sum) ranks: a pause of weeks empties ``lately`` but leaves ``lasting``."""

    topic: str
    weight: float
    evidence_count: int
    positive_feedback: int
    negative_feedback: int
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    lately: float = 0.0
    lasting: float = 0.0
    family: tuple[str, ...] = ()  # other variants of the same subject, merged into this one

    def reweighed(self, weight: float, lately: float, lasting: float) -> InterestView:
        """This view with other weights. Ranking reweighs every interest of a person twice
        on every reply; ``dataclasses.replace`` took ~40 % of that ranking's CPU (it walks
        the fields by name), a plain construction a third of it."""
        return InterestView(
            self.topic,
            weight,
            self.evidence_count,
            self.positive_feedback,
            self.negative_feedback,
            self.first_seen_at,
            self.last_seen_at,
            lately,
            lasting,
            self.family,
        )


@dataclass(frozen=True, slots=True)
class StyleView:
    messages_seen: int
    avg_length: float
    formality: float
    emoji_rate: float
    liked_replies: int
    disliked_replies: int
    languages: list[tuple[str, float]]
    active_hours: list[tuple[int, float]]
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ProfileSnapshot:
    person: Person
    consent: str
    preferences: ResolvedPreferences
    interests: list[InterestView]
    style: StyleView | None
    workspace_popular: list[str]
    summary: ProfileSummary | None = None
    lately: list[InterestView] = field(default_factory=list)
    lasting: list[InterestView] = field(default_factory=list)


class ProfileEngine:
    def __init__(
        self,
        *,
        half_life_days: float = 14.0,
        max_interests: int = 200,
        consent_opt_out: bool = False,
        default_timezone: str = "UTC",
        default_locale: str = "en",
        popular_cache_seconds: float = 300.0,
        lasting_half_life_days: float = LASTING_HALF_LIFE_DAYS,
        workspace_opt_out_allowed: bool = False,
        last_seen_resolution_seconds: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """``monotonic``: the clock of the workspace caches (popular topics, background),
        in seconds; injected so tests age them without waiting."""
        self.half_life = half_life_days * DAY_SECONDS
        self.lasting_half_life = max(lasting_half_life_days * DAY_SECONDS, self.half_life)
        self.max_interests = max_interests
        self.consent_opt_out = consent_opt_out
        # Whether a workspace admin may choose opt-out for their workspace when the
        # deployment asks first (the operator's call: it means learning without asking).
        self.workspace_opt_out_allowed = workspace_opt_out_allowed
        self.defaults = {"timezone": default_timezone, "language": default_locale}
        self.last_seen_resolution = dt.timedelta(seconds=last_seen_resolution_seconds)
        self._popular_ttl = popular_cache_seconds
        self._popular_cache: dict[tuple[str, str], tuple[float, list[str]]] = {}
        self.ingestor = BatchIngestor(self)
        self.monotonic = monotonic
        self.background = WorkspaceBackground(
            opt_out_in=self.opt_out_in, ttl_seconds=popular_cache_seconds, clock=monotonic
        )

    # Identity and consent -----------------------------------------------------------------
    async def person(
        self,
        session: AsyncSession,
        key: PersonKey,
        *,
        display_name: str | None = None,
        at: dt.datetime | None = None,
    ) -> Person:
        """Get or create, race-free across workers (insert-if-absent, then read). ``at``:
        when, by the caller's clock (the bot's services' clock; the process's by default),
        for the new row's creation and last-seen times."""
        found = await self.find_person(session, key)
        if found is None:
            now = at or utcnow()
            stmt = insert_for(session, table_of(Person)).values(
                platform=key.platform,
                workspace=key.workspace,
                user_id=key.user_id,
                display_name=display_name,
                created_at=now,
                last_seen_at=now,
            )
            await session.exec(
                stmt.on_conflict_do_nothing(index_elements=["platform", "workspace", "user_id"])
            )
            found = await self.find_person(session, key)
            assert found is not None
        elif display_name and found.display_name != display_name:
            found.display_name = display_name
        return found

    async def find_person(self, session: AsyncSession, key: PersonKey) -> Person | None:
        result = await session.exec(
            select(Person).where(
                Person.platform == key.platform,
                Person.workspace == key.workspace,
                Person.user_id == key.user_id,
            )
        )
        return result.first()

    async def touch(self, session: AsyncSession, person: Person, at: dt.datetime) -> None:
        """Mark the person as seen at ``at``, written at most once per
        ``last_seen_resolution`` (default five minutes): every message used to pay an UPDATE
        for a value only retention (days) and the people listing (minutes) read. The stored
        value is therefore up to that much older than the last message."""
        if self.touch_due(person, at):
            person.last_seen_at = at
            session.add(person)

    def touch_due(self, person: Person, at: dt.datetime) -> bool:
        """Whether :meth:`touch` at ``at`` would write."""
        seen = person.last_seen_at
        if seen is not None and seen.tzinfo is None:  # SQLite hands back naive UTC
            seen = seen.replace(tzinfo=dt.UTC)
        return seen is None or at - seen >= self.last_seen_resolution or at < seen

    async def consent(self, session: AsyncSession, person_id: int) -> Consent:
        """The person's consent row (created unanswered). An unanswered one takes a grant the
        same account gave "everywhere" in another workspace of the platform: only the
        decision crosses workspaces, never any data."""
        row = await session.get(Consent, person_id)
        if row is None:
            row = Consent(person_id=person_id, status=ConsentStatus.UNKNOWN.value)
            session.add(row)
            await session.flush()
        if row.status == ConsentStatus.UNKNOWN.value:
            person = await session.get(Person, person_id)
            granted = (
                await self.granted_everywhere(session, person.platform, person.user_id)
                if person is not None
                else None
            )
            if granted is not None:
                row.status = ConsentStatus.GRANTED.value
                row.changed_at = granted.changed_at
                session.add(row)
        return row

    async def granted_everywhere(
        self, session: AsyncSession, platform: str, user_id: str
    ) -> Consent | None:
        """The account's standing "allow in every workspace" grant, if any."""
        result = await session.exec(
            select(Consent)
            .join(Person, col(Person.id) == col(Consent.person_id))
            .where(
                Person.platform == platform,
                Person.user_id == user_id,
                col(Consent.everywhere).is_(True),
                Consent.status == ConsentStatus.GRANTED.value,
            )
            .limit(1)
        )
        return result.first()

    async def learning_person(
        self, session: AsyncSession, key: PersonKey, *, at: dt.datetime | None = None
    ) -> Person | None:
        """The person behind ``key`` if they allow learning, else None. Creates nobody,
        except where the account allowed learning everywhere: then the bot meeting them in a
        new workspace is enough to start (with that workspace's own, empty profile), created
        ``at`` (see :meth:`person`)."""
        person = await self.find_person(session, key)
        if person is None:
            if await self.granted_everywhere(session, key.platform, key.user_id) is None:
                return None
            person = await self.person(session, key, at=at)
        assert person.id is not None
        row = await session.get(Consent, person.id)
        if row is None or row.status == ConsentStatus.UNKNOWN.value:
            row = await self.consent(session, person.id)
        return person if await self.may_learn_in(session, person, row) else None

    async def set_consent_everywhere(
        self, session: AsyncSession, person: Person, status: ConsentStatus, at: dt.datetime
    ) -> list[Person]:
        """Grant (or revoke) for every identity of this account on its platform, and, for a
        grant, for workspaces where the bot meets it later. Returns the other identities
        changed (a revocation's caller stops their scheduled work too)."""
        assert person.id is not None
        row = await self.set_consent(session, person.id, status, at)
        row.everywhere = status == ConsentStatus.GRANTED
        result = await session.exec(
            select(Person).where(
                Person.platform == person.platform,
                Person.user_id == person.user_id,
                Person.id != person.id,
            )
        )
        others = list(result)
        for other in others:
            assert other.id is not None
            sibling = await self.set_consent(session, other.id, status, at)
            sibling.everywhere = False
        return others

    def may_learn(self, consent: Consent) -> bool:
        """Opt-in (default): only after an explicit grant. Opt-out: unless revoked. The
        deployment's mode; :meth:`may_learn_in` also honours the workspace's own default."""
        if consent.status == ConsentStatus.GRANTED.value:
            return True
        return self.consent_opt_out and consent.status != ConsentStatus.REVOKED.value

    async def opt_out_in(self, session: AsyncSession, platform: str, workspace: str) -> bool:
        """The consent mode of one workspace: an admin's default (``/admin set consent``)
        over the deployment's. Opt-out chosen by an admin counts only where the operator
        allows it, so switching that off later takes effect at once."""
        return self.opt_out_of(await stored_default(session, platform, workspace, CONSENT_KEY))

    def opt_out_of(self, stored: str | None) -> bool:
        """:meth:`opt_out_in` for an already read workspace default (None: not set)."""
        if stored == OPT_IN:
            return False
        if stored == OPT_OUT:
            return self.consent_opt_out or self.workspace_opt_out_allowed
        return self.consent_opt_out

    async def answered_learning(self, session: AsyncSession, person: Person) -> bool:
        """:meth:`may_learn_in` with the person's consent row read here; without a row
        (never asked, nothing answered) nothing is allowed, whatever the workspace's mode:
        for work that must not start on its own (a digest's schedule, the locale a command
        reports)."""
        assert person.id is not None
        consent = await session.get(Consent, person.id)
        return consent is not None and await self.may_learn_in(session, person, consent)

    async def may_learn_in(self, session: AsyncSession, person: Person, consent: Consent) -> bool:
        """:meth:`may_learn` in the person's workspace: an answered consent decides alone; an
        unanswered one follows the workspace's consent mode (one query, only then)."""
        answered = answered_allows(consent)
        if answered is not None:
            return answered
        return await self.opt_out_in(session, person.platform, person.workspace)

    async def still_learning(
        self, session: AsyncSession, person_ids: Iterable[int], *, writing: bool = False
    ) -> set[int]:
        """Those of ``person_ids`` who still exist and allow learning in their own workspace
        (:meth:`may_learn_in`'s rule, as one statement for many people), their person and
        consent rows share-locked in id order on PostgreSQL until the transaction ends: a
        revocation or /forget that comes meanwhile orders itself after it (SQLite's single
        writer does the same). For a write about people decided before it began — a
        learning batch, a model's summary, a digest's quotes.

        ``writing``: the transaction will then update some of these people's rows (a
        learning batch's ``last_seen_at``), so the person rows are locked ``FOR NO KEY
        UPDATE`` instead, in the same id order. Why: two batches of two processes that both
        held a person ``FOR SHARE`` and then both updated the row each waited for the
        other's share — a deadlock PostgreSQL broke by aborting one (9 rounds in 10 of a
        two-process test). Taken at once in id order, the second batch waits for the first
        before it holds anyone the first will want. It conflicts with what ``FOR SHARE``
        conflicted with, plus another batch's hold and another ``FOR SHARE``, which the
        update would have waited for anyway; not with ``FOR KEY SHARE`` (an erasure's hold
        on readers, a digest page's: profiles/privacy.py)."""
        wanted = set(person_ids)
        if not wanted:
            return set()
        stmt, ids = _still_learning_statement(
            dialect_of(session), self.consent_opt_out, self.workspace_opt_out_allowed,
            writing,
        )
        result = await session.exec(stmt, params=ids.params(wanted))
        return {int(pid) for (pid,) in result.all()}

    async def set_consent(
        self, session: AsyncSession, person_id: int, status: ConsentStatus, at: dt.datetime
    ) -> Consent:
        row = await self.consent(session, person_id)
        row.status = status.value
        row.changed_at = at
        if status != ConsentStatus.GRANTED:
            row.everywhere = False  # a "no" here also ends the standing "yes everywhere"
        session.add(row)
        return row

    # Learning ------------------------------------------------------------------------------
    # One implementation of the learning rule: the per-event methods below apply a batch of
    # one through :class:`profiles.ingest.BatchIngestor`, the same code the product's
    # write-behind learner (bot/learning.py) runs for many events at once.
    async def observe_message(
        self,
        session: AsyncSession,
        person_id: int,
        signals: MessageSignals,
        *,
        at: dt.datetime,
        local_hour: int,
        event_id: str | None,
        excerpt: str,
    ) -> None:
        """Record one message's signals: evidence rows, interests, habits, style."""
        observation = Observation.of_message(
            person_id, signals, at=at, local_hour=local_hour, event_id=event_id, excerpt=excerpt
        )
        await self.ingestor.apply(session, [observation])

    async def add_interests(
        self,
        session: AsyncSession,
        person_id: int,
        topics: Iterable[tuple[str, float]],
        *,
        at: dt.datetime,
        evidence: int = 1,
        positive: int = 0,
        negative: int = 0,
    ) -> None:
        """One atomic upsert per call: decay the stored weight to ``at`` and add ``delta``.
        Explicit signals (feedback, /recommend, digest ratings) come through here; implicit
        ones through :meth:`observe_message`, whose batch rule builds the same rows."""
        values = [
            interest_row(
                person_id, topic, delta, at, evidence=evidence, positive=positive,
                negative=negative,
            )
            for topic, delta in dict(topics).items()
        ]
        if not values:
            return
        await interest_upsert(session, self.half_life, self.lasting_half_life).execute(
            session, values
        )

    async def prune_interests(self, session: AsyncSession, person_id: int, at: dt.datetime) -> int:
        """Keep the ``max_interests`` strongest; amortised over 50 messages so it stays O(1).
        Returns how many went.

        On PostgreSQL a row another transaction holds is left for the next pruning
        (``SKIP LOCKED``): an erasure taking an author's share back from these interests may
        hold it while it waits for one the batch pruning them has just written, and a prune
        that waited for it then was a deadlock. Every other statement that locks interest
        rows takes them in one order (profiles/learning_sql.py); this one is a second pass
        over the person's rows, after the batch's upsert has locked some of them."""
        views = await self.interests(session, person_id, at, limit=None, positive_only=False)
        doomed = [v.topic for v in views[self.max_interests :]]
        if not doomed:
            return 0
        free = (
            select_rows(col(Interest.id))
            .where(col(Interest.person_id) == person_id, col(Interest.topic).in_(doomed))
            .with_for_update(skip_locked=True)  # SQLite: its one writer holds them all
        )
        result = await session.exec(delete(Interest).where(col(Interest.id).in_(free)))
        return int(result.rowcount or 0)

    async def observe_reaction_elsewhere(
        self,
        session: AsyncSession,
        person_id: int,
        topics: Sequence[tuple[str, float]],
        *,
        at: dt.datetime,
        emoji: str,
        event_id: str | None,
        author_id: int,
    ) -> None:
        """A reaction on someone else's message (``author_id``'s) is a (weaker) interest
        signal in its topics."""
        if not topics:
            return
        observation = Observation.of_reaction(
            person_id, topics, at=at, emoji=emoji, event_id=event_id, author_id=author_id
        )
        await self.ingestor.apply(session, [observation])

    async def withdraw_words_of(self, session: AsyncSession, author_id: int) -> int:
        """What other people learned from ``author_id``'s messages, taken back at their
        erasure (:mod:`profiles.borrowed`); the number of signal rows removed."""
        return await withdraw_words_of(
            session,
            author_id,
            half_life=self.half_life,
            lasting_half_life=self.lasting_half_life,
        )

    async def record_feedback(
        self,
        session: AsyncSession,
        person_id: int,
        turn: ConversationTurn,
        value: int,
        *,
        at: dt.datetime,
        source: str,
        emoji: str | None = None,
    ) -> Feedback:
        """Feedback on one of the bot's replies: its topics gain or lose weight and the reply's
        length moves the inferred verbosity. The same reaction (or a button) twice counts once;
        switching a button from 👍 to 👎 replaces the earlier judgement."""
        previous = await self._existing_feedback(session, person_id, turn, emoji, source)
        if previous is not None:
            if previous.value == value:
                return previous
            await self.withdraw_feedback(session, person_id, turn, emoji=emoji, at=at)
        feedback = Feedback(
            person_id=person_id,
            turn_id=turn.id,
            value=value,
            emoji=emoji,
            source=source,
            created_at=at,
        )
        session.add(feedback)
        await self.add_interests(
            session,
            person_id,
            await self._feedback_topics(session, turn, value),
            at=at,
            evidence=0,
            positive=1 if value > 0 else 0,
            negative=1 if value < 0 else 0,
        )
        style = await session.get(StyleProfile, person_id)
        if style is None:
            style = StyleProfile(person_id=person_id, updated_at=at)
        chars = float(len(turn.text))
        if value > 0:
            style.liked_replies += 1
            style.liked_reply_chars += (chars - style.liked_reply_chars) / style.liked_replies
        elif value < 0:
            style.disliked_replies += 1
            style.disliked_reply_chars += (
                chars - style.disliked_reply_chars
            ) / style.disliked_replies
        style.updated_at = at
        session.add(style)
        return feedback

    async def _feedback_topics(
        self, session: AsyncSession, turn: ConversationTurn, value: int
    ) -> list[tuple[str, float]]:
        """What a judgement on ``turn`` (a bot reply) moves: a 👍 credits the reply's own
        topics; a 👎 means "not that answer", so it lowers only what the reply brought in
        that the person had not asked about, never the subject of their question."""
        topics = turn.topics or []  # None: not read (the caller reads them first)
        if value > 0:
            return [(topic, FEEDBACK_TOPIC_DELTA) for topic in topics]
        if value == 0:
            return []
        asked: set[str] = set()
        if turn.id is not None:
            question = await session.exec(
                select(ConversationTurn)
                .where(
                    ConversationTurn.person_id == turn.person_id,
                    ConversationTurn.role == "user",
                    col(ConversationTurn.id) < turn.id,
                )
                .order_by(desc(col(ConversationTurn.id)))
                .limit(1)
            )
            found = question.first()
            if found is not None:
                asked = {word for topic in found.topics or [] for word in topic.split()}
        delta = -FEEDBACK_TOPIC_DELTA * NEGATIVE_FEEDBACK_SHARE
        return [
            (topic, delta)
            for topic in topics
            if not any(word in asked for word in topic.split())
        ]

    async def _existing_feedback(
        self,
        session: AsyncSession,
        person_id: int,
        turn: ConversationTurn,
        emoji: str | None,
        source: str,
    ) -> Feedback | None:
        query = select(Feedback).where(
            Feedback.person_id == person_id, Feedback.turn_id == turn.id, Feedback.source == source
        )
        query = query.where(
            col(Feedback.emoji).is_(None) if emoji is None else Feedback.emoji == emoji
        )
        result = await session.exec(query.order_by(desc(col(Feedback.id))))
        return result.first()

    async def withdraw_feedback(
        self,
        session: AsyncSession,
        person_id: int,
        turn: ConversationTurn,
        *,
        emoji: str | None,
        at: dt.datetime,
    ) -> bool:
        """A removed reaction takes back exactly what it gave."""
        result = await session.exec(
            select(Feedback)
            .where(
                Feedback.person_id == person_id,
                Feedback.turn_id == turn.id,
                Feedback.emoji == emoji,
            )
            .order_by(desc(col(Feedback.id)))
        )
        feedback = result.first()
        if feedback is None:
            return False
        given = await self._feedback_topics(session, turn, feedback.value)
        await self.add_interests(
            session,
            person_id,
            [(topic, -delta) for topic, delta in given],
            at=at,
            evidence=0,
            positive=-1 if feedback.value > 0 else 0,
            negative=-1 if feedback.value < 0 else 0,
        )
        style = await session.get(StyleProfile, person_id)
        if style is not None:
            if feedback.value > 0:
                style.liked_replies = max(0, style.liked_replies - 1)
            elif feedback.value < 0:
                style.disliked_replies = max(0, style.disliked_replies - 1)
            session.add(style)
        await session.delete(feedback)
        return True

    # Reading -------------------------------------------------------------------------------
    async def interests(
        self,
        session: AsyncSession,
        person_id: int,
        now: dt.datetime,
        *,
        limit: int | None = 10,
        positive_only: bool = True,
    ) -> list[InterestView]:
        result = await session.exec(_interests_of(), params={"person_id": person_id})
        return self._interest_views(list(result), now, limit, positive_only)

    def _interest_views(
        self,
        rows: Sequence[InterestFields],
        now: dt.datetime,
        limit: int | None,
        positive_only: bool,
    ) -> list[InterestView]:
        views = [self.interest_view(row, now) for row in rows]
        if positive_only:
            views = [v for v in views if v.weight > 0.01]
        views.sort(key=lambda v: (-v.weight, v.topic))
        return views if limit is None else views[:limit]

    def interest_view(self, row: InterestFields, now: dt.datetime) -> InterestView:
        now_ts = to_ts(now)
        lately = decayed(row.weight, row.updated_ts, now_ts, self.half_life)
        lasting = decayed(
            row.lasting_weight, row.updated_ts, now_ts, self.lasting_half_life
        ) * (self.half_life / self.lasting_half_life)
        return InterestView(
            topic=row.topic,
            weight=lately + lasting,
            evidence_count=row.evidence_count,
            positive_feedback=row.positive_feedback,
            negative_feedback=row.negative_feedback,
            first_seen_at=row.first_seen_at,
            last_seen_at=dt.datetime.fromtimestamp(row.updated_ts, dt.UTC),
            lately=lately,
            lasting=lasting,
        )

    async def evidence(
        self, session: AsyncSession, person_id: int, topic: str, *, limit: int = 2
    ) -> list[Signal]:
        result = await session.exec(
            select(Signal)
            .where(
                Signal.person_id == person_id,
                Signal.kind.in_(("topic", "reaction")),  # type: ignore[attr-defined]
                Signal.value == topic,
            )
            .order_by(desc(col(Signal.id)))
            .limit(limit)
        )
        return list(result)

    async def traits(
        self, session: AsyncSession, person_id: int, kind: str, now: dt.datetime
    ) -> list[tuple[str, float]]:
        """(key, share) sorted by decayed weight; shares sum to 1."""
        result = await session.exec(
            select(Trait).where(Trait.person_id == person_id, Trait.kind == kind)
        )
        return self._shares(list(result), now)

    def _shares(self, rows: Sequence[TraitFields], now: dt.datetime) -> list[tuple[str, float]]:
        now_ts = to_ts(now)
        weights = [
            (row.key, decayed(row.weight, row.updated_ts, now_ts, self.half_life)) for row in rows
        ]
        total = sum(w for _, w in weights) or 1.0
        return sorted(((k, w / total) for k, w in weights), key=lambda kv: -kv[1])

    async def style(
        self, session: AsyncSession, person_id: int, now: dt.datetime
    ) -> StyleView | None:
        row = await session.get(StyleProfile, person_id)
        if row is None:
            return None
        result = await session.exec(select(Trait).where(Trait.person_id == person_id))
        return self._style_view(row, list(result), now)

    async def _style_rows(
        self, session: AsyncSession, person_id: int
    ) -> tuple[StyleProfile | None, list[TraitFields], ProfileSummary | None]:
        """The style row, the traits and the summary in one statement: the two 1:1 rows are
        joined to the person, so there is one row per trait (a few dozen at most). Traits
        come as plain rows of the four columns read: as ORM objects they were a third of the
        read's cost on every reply (issue 16)."""
        rows = list(await session.exec(_style_rows_of(), params={"person_id": person_id}))
        if not rows:
            return None, [], None
        traits = [row for row in rows if row.kind is not None]
        return rows[0][0], traits, rows[0][-1]

    def _style_view(
        self, row: StyleProfile, traits: Sequence[TraitFields], now: dt.datetime
    ) -> StyleView:
        hours = self._shares([t for t in traits if t.kind == "hour"], now)
        return StyleView(
            messages_seen=row.messages_seen,
            avg_length=row.avg_length,
            formality=row.formality,
            emoji_rate=row.emoji_rate,
            liked_replies=row.liked_replies,
            disliked_replies=row.disliked_replies,
            languages=self._shares([t for t in traits if t.kind == "language"], now),
            active_hours=[(int(h), share) for h, share in hours],
            updated_at=row.updated_at,
        )

    def inferred_preferences(
        self, style: StyleView | None, row: StyleProfile | None = None
    ) -> dict[str, tuple[str, dt.datetime]]:
        """What behaviour suggests; never stored over an explicit value (see resolve())."""
        if style is None:
            return {}
        at = style.updated_at
        inferred: dict[str, tuple[str, dt.datetime]] = {}
        if style.messages_seen >= MIN_MESSAGES_FOR_STYLE:
            if style.formality >= 0.35:
                inferred["tone"] = ("formal", at)
            elif style.formality <= -0.25:
                inferred["tone"] = ("casual", at)
            else:
                inferred["tone"] = ("neutral", at)
            inferred["emoji"] = ("on" if style.emoji_rate >= 0.3 else "off", at)
            if style.languages and style.languages[0][1] >= 0.6:
                inferred["language"] = (style.languages[0][0], at)
            if style.avg_length >= 400:
                inferred["verbosity"] = ("detailed", at)
            elif style.avg_length <= 40 and style.messages_seen >= 5:
                inferred["verbosity"] = ("brief", at)
        if (
            row is not None
            and row.disliked_replies >= 2
            and row.disliked_replies > row.liked_replies
        ):
            liked = row.liked_reply_chars if row.liked_replies else 0.0
            if row.disliked_reply_chars > max(400.0, liked * 1.5):
                inferred["verbosity"] = ("brief", at)
            elif row.disliked_reply_chars and row.disliked_reply_chars < 150 and liked > 300:
                inferred["verbosity"] = ("detailed", at)
        return inferred

    async def preferences(
        self, session: AsyncSession, person_id: int, now: dt.datetime
    ) -> ResolvedPreferences:
        rows = await preference_rows(session, person_id)
        style_row, traits, _ = await self._style_rows(session, person_id)
        style = self._style_view(style_row, traits, now) if style_row else None
        return self._resolve(list(rows), style, style_row)

    def _resolve(
        self, rows: list[Preference], style: StyleView | None, style_row: StyleProfile | None
    ) -> ResolvedPreferences:
        stored = [(p.key, p.value, p.source, p.set_at) for p in rows]
        return resolve(stored, self.inferred_preferences(style, style_row), self.defaults)

    async def set_preference(
        self,
        session: AsyncSession,
        person_id: int,
        key: str,
        value: str,
        *,
        source: Source = Source.EXPLICIT,
        at: dt.datetime | None = None,
    ) -> str:
        """Validate and store; returns the normalised value. Raises PreferenceError."""
        key = key.strip().lower()
        clean = validate(key, value)
        at = at or utcnow()
        stmt = insert_for(session, table_of(Preference)).values(
            person_id=person_id, key=key, value=clean, source=source.value, set_at=at
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["person_id", "key", "source"],
            set_={"value": stmt.excluded.value, "set_at": stmt.excluded.set_at},
        )
        await session.exec(stmt)
        drop(session, PREFERENCES, person_id)
        return clean

    async def reset_preferences(
        self, session: AsyncSession, person_id: int, key: str | None = None
    ) -> int:
        """Remove explicit values (one key or all); inferred behaviour takes over again."""
        stmt = delete(Preference).where(
            Preference.person_id == person_id,  # type: ignore[arg-type]
            Preference.source == Source.EXPLICIT.value,  # type: ignore[arg-type]
        )
        if key is not None:
            stmt = stmt.where(Preference.key == key.strip().lower())  # type: ignore[arg-type]
        result = await session.exec(stmt)
        drop(session, PREFERENCES, person_id)
        return int(result.rowcount or 0)

    async def popular_interests(
        self,
        session: AsyncSession,
        platform: str,
        workspace: str,
        now: dt.datetime,
        *,
        limit: int = 5,
    ) -> list[str]:
        """Cold start: distinctive topics several people in the same workspace share
        recently — not what everyone says (more than half of a workspace of five or more),
        and never filler. Only people who allow learning count; cached because it is the
        same for everyone there. Counting grows with the workspace, so once the list is
        known a reply serves it and an older one is recounted beside the replies
        (``WorkspaceBackground.run_beside``); only a workspace's first ask counts in place."""
        cached = self._popular_cache.get((platform, workspace))

        async def recount(own: AsyncSession) -> None:
            await self._count_popular(own, platform, workspace, now)

        if cached is None or (
            self.monotonic() - cached[0] >= self._popular_ttl
            and not self.background.run_beside(f"popular {platform}/{workspace}", recount)
        ):
            return (await self._count_popular(session, platform, workspace, now))[:limit]
        return cached[1][:limit]

    async def _count_popular(
        self, session: AsyncSession, platform: str, workspace: str, now: dt.datetime
    ) -> list[str]:
        """:meth:`popular_interests` counted now (and cached, 20 at most)."""
        horizon = to_ts(now) - 4 * self.half_life
        # Whoever the consent gate lets the bot learn from in this workspace (its mode).
        allowed = learning_statuses(await self.opt_out_in(session, platform, workspace))
        # a person holds a topic once (uq_interest): its rows are its people, no DISTINCT
        # (which sorted every row first: profiles/background.py's counts)
        people = func.count()
        stmt = scans(  # counts over the workspace: never on the event loop (profiles/db.py)
            select(Interest.topic, people)
            .join(Person, Person.id == Interest.person_id)  # type: ignore[arg-type]
            .join(Consent, Consent.person_id == Interest.person_id)  # type: ignore[arg-type]
            .where(
                Person.platform == platform,
                Person.workspace == workspace,
                Consent.status.in_(allowed),  # type: ignore[attr-defined]
                Interest.updated_ts >= horizon,
                Interest.weight > 0,
            )
            .group_by(Interest.topic)
            .having(people >= POPULAR_MIN_PEOPLE)
            .order_by(desc(people), Interest.topic)
            .limit(200)
        )
        result = await session.exec(stmt)
        shared = [(str(row[0]), int(row[1])) for row in result.all() if not is_junk(row[0])]
        total = await self.background.people_in(session, platform, workspace)
        if total >= 5:
            shared = [(t, n) for t, n in shared if n <= POPULAR_MAX_SHARE * total]
        heads = [members[0] for members in families([t for t, _ in shared])][:20]
        self._popular_cache[(platform, workspace)] = (self.monotonic(), heads)
        return heads

    async def profile_interests(
        self,
        session: AsyncSession,
        person: Person,
        rows: Sequence[InterestFields],
        now: dt.datetime,
        *,
        limit: int | None,
    ) -> list[InterestView]:
        """What the person is interested in, as /profile and prompts show it: junk left by
        older extraction dropped, each topic weighed against the workspace's background
        (profiles/background.py), variants merged into one entry per subject family."""
        views = [self.interest_view(row, now) for row in rows if not is_junk(row.topic)]
        views = sorted((v for v in views if v.weight > 0.01), key=lambda v: (-v.weight, v.topic))
        views = views[:FAMILY_CANDIDATES]
        factors = await self.background.factors(
            session, person.platform, person.workspace, [v.topic for v in views]
        )
        weighed = [
            v.reweighed(v.weight * f, v.lately * f, v.lasting * f)
            for v in views
            for f in (factors[v.topic],)
        ]
        weighed.sort(key=lambda v: (-v.weight, v.topic))
        by_topic = {v.topic: v for v in weighed}
        merged = [
            _merge([by_topic[t] for t in members])
            for members in families([v.topic for v in weighed])
        ]
        merged = _blend(merged)
        merged.sort(key=lambda v: (-v.weight, v.topic))
        return merged if limit is None else merged[:limit]

    async def read_profile(
        self, session: AsyncSession, person_id: int, *, turns: int = 0
    ) -> ProfileRows:
        """The person's profile rows and latest ``turns`` turns in one statement, for
        :meth:`snapshot` (profiles/profile_rows.py)."""
        return await read_profile(session, person_id, turns=turns)

    async def snapshot(
        self,
        session: AsyncSession,
        person: Person,
        now: dt.datetime,
        *,
        interests: int = 10,
        rows: ProfileRows | None = None,
    ) -> ProfileSnapshot:
        """Everything known about a person in one query, whatever the history size
        (profiles/profile_rows.py: ``rows``, when the caller read them with the history it
        needs; preference rows and consent come from what the transaction read ahead when it
        did, see profiles/preload.py)."""
        assert person.id is not None
        person_id = person.id
        consent = await self.consent(session, person_id)
        if rows is None:
            rows = await read_profile(session, person_id)
        merged = await self.profile_interests(session, person, rows.interests, now, limit=None)
        top = merged[:interests]
        recent = now - dt.timedelta(seconds=LATELY_HALF_LIVES * self.half_life)
        lately = sorted(
            (v for v in merged if v.last_seen_at >= recent), key=lambda v: (-v.lately, v.topic)
        )[:5]
        lasting = sorted(merged, key=lambda v: (-v.lasting, v.topic))[:5]
        style_row, summary = rows.style, rows.summary
        style = self._style_view(style_row, rows.traits, now) if style_row is not None else None
        pref_rows = await preference_rows(session, person_id)
        preferences = self._resolve(list(pref_rows), style, style_row)
        popular: list[str] = []
        if len(top) < 3:
            popular = await self.popular_interests(session, person.platform, person.workspace, now)
            avoid = preferences.avoid_topics
            popular = [t for t in popular if not any(a in t for a in avoid)]
        return ProfileSnapshot(
            person=person,
            consent=consent.status,
            preferences=preferences,
            interests=top,
            style=style,
            workspace_popular=popular,
            summary=summary,
            lately=lately,
            lasting=lasting,
        )


def answered_allows(consent: Consent) -> bool | None:
    """Whether an answered consent allows learning; None for an unanswered one (the
    workspace's consent mode decides: :meth:`ProfileEngine.may_learn_in`)."""
    if consent.status == ConsentStatus.UNKNOWN.value:
        return None
    return consent.status == ConsentStatus.GRANTED.value


# Built once: building the statement and its cache key cost more Python than executing its
# cached compiled form (a learning batch of one spent ~40 % of its time in its construction).
@functools.cache
def _still_learning_statement(
    dialect: str, consent_opt_out: bool, workspace_opt_out_allowed: bool, writing: bool
) -> tuple[Any, AnyOf]:
    """Everyone asked for, with their consent row if they have one: a person the bot has a
    row for but who never met the consent gate (an author others reacted to) has none, and
    counts as unanswered, as the reaction's decision counted them
    (``bot.handlers.feedback.allowing_author``); an inner join dropped them (review).

    On PostgreSQL each person row and then its consent row are share-locked, in id order,
    as an erasure takes them (person first, profiles/privacy.py): the people in a locked
    subquery, each joined to a lateral one that locks its consent row, since PostgreSQL
    locks nothing on the nullable side of an outer join. Still one statement a batch.
    ``writing``: the person rows ``FOR NO KEY UPDATE`` (:meth:`ProfileEngine.still_learning`);
    the consent rows, which the caller only reads, are share-locked all the same."""
    person, consent = table_of(Person), table_of(Consent)
    ids = any_of(dialect, "ids", person.c.id)
    rows: Any
    status: Any
    if dialect == "sqlite":  # one writer orders every transaction: nothing to lock
        rows, status = person, consent.c.status
        found = (
            select_rows(person.c.id)
            .select_from(person.outerjoin(consent, consent.c.person_id == person.c.id))
            .where(ids.clause)
        )
    else:
        rows = (
            select_rows(person.c.id, person.c.platform, person.c.workspace)
            .where(ids.clause)
            .order_by(person.c.id)
            .with_for_update(read=not writing, key_share=writing)
            .subquery("p")
        )
        theirs = (
            select_rows(consent.c.status)
            .where(consent.c.person_id == rows.c.id)
            .with_for_update(read=True)
            .lateral("c")
        )
        status = theirs.c.status
        found = select_rows(rows.c.id).select_from(rows.outerjoin(theirs, true()))
    allowed = learning_allowed(  # the consent gate's rule, the workspace's mode included
        consent_opt_out=consent_opt_out,
        workspace_opt_out_allowed=workspace_opt_out_allowed,
        status=func.coalesce(status, ConsentStatus.UNKNOWN.value),  # no row: unanswered
        platform=rows.c.platform,
        workspace=rows.c.workspace,
    )
    return found.where(allowed), ids


# Statements of every reply, built once with bound parameters: building a statement and its
# cache key costs Python on every call (~0.05-0.17 ms each; issue 16).
@functools.cache
def _interests_of() -> Any:
    """Plain rows of the columns :meth:`ProfileEngine.interest_view` reads, not ORM objects:
    a reply reads every interest of its person, and hydrating them was a fifth of the read's
    cost at ~30 interests (issue 16)."""
    return select(*(col(getattr(Interest, name)) for name in INTEREST_COLUMNS)).where(
        col(Interest.person_id) == bindparam("person_id")
    )


@functools.cache
def _style_rows_of() -> Any:
    return (
        # SQLAlchemy's select: SQLModel's is typed for at most four entities.
        select_rows(
            StyleProfile,
            *(col(getattr(Trait, name)) for name in TRAIT_COLUMNS),
            ProfileSummary,
        )
        .select_from(Person)
        .outerjoin(StyleProfile, col(StyleProfile.person_id) == col(Person.id))
        .outerjoin(Trait, col(Trait.person_id) == col(Person.id))
        .outerjoin(ProfileSummary, col(ProfileSummary.person_id) == col(Person.id))
        .where(col(Person.id) == bindparam("person_id"))
        # Learning upserts these rows with Core statements earlier in the same
        # transaction: never serve a stale copy from the identity map.
        .execution_options(populate_existing=True)
    )


def _blend(views: list[InterestView]) -> list[InterestView]:
    """Rank by recent and lasting interest alike: each part is scaled to the person's
    strongest in it and the two are averaged (0-1). A subject talked about for months stays
    near the top after a newer one takes over "lately"; summing raw weights would let a few
    recent weeks bury it."""
    top_lately = max((v.lately for v in views), default=0.0) or 1.0
    top_lasting = max((v.lasting for v in views), default=0.0) or 1.0
    return [
        v.reweighed(0.5 * v.lately / top_lately + 0.5 * v.lasting / top_lasting, v.lately,
                    v.lasting)
        for v in views
    ]


def _merge(members: list[InterestView]) -> InterestView:
    """One entry for a family: named by its strongest member, with the evidence of all."""
    head = members[0]
    if len(members) == 1:
        return head
    return replace(
        head,
        topic=family_label([(m.topic, m.weight) for m in members]),
        weight=sum(m.weight for m in members),
        lately=sum(m.lately for m in members),
        lasting=sum(m.lasting for m in members),
        evidence_count=sum(m.evidence_count for m in members),
        positive_feedback=sum(m.positive_feedback for m in members),
        negative_feedback=sum(m.negative_feedback for m in members),
        first_seen_at=min(m.first_seen_at for m in members),
        last_seen_at=max(m.last_seen_at for m in members),
        family=tuple(m.topic for m in members),
    )
