"""Gather → deduplicate → rank: what goes into one person's digest.

Ranking is :class:`profiles.ranking.Ranker` (decayed interests, avoided topics, already-sent
exclusion, freshness, diversity) fed with the collaborative signal of similar people for
people with little history. ``dedupe``, ``shortlist`` and ``penalties`` below are the rules,
one reader at a time; a draft applies them through the run's
:class:`bot.digest.selection.CandidateTable`, which gives the same choice with arrays.
Composition (plain or written by the model) is in :mod:`bot.digest.compose`; delivery and
bookkeeping in :mod:`bot.digest.runner`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.digest import store
from bot.digest.cache import SharedCache
from bot.digest.collaborative import WorkspaceSimilarity
from bot.digest.identity import marks
from bot.digest.sources import DigestSource, GatherContext
from bot.experiments import current_registry, variant_for
from bot.workspace_settings import DIGEST_SOURCES_KEY, digest_sources_of
from profiles.background import is_junk
from profiles.db import Database
from profiles.engine import InterestView, ProfileEngine
from profiles.models import Consent, Person
from profiles.preferences import ResolvedPreferences
from profiles.ranking import Candidate, Ranked, Ranker, Reason, similarity, tokens
from profiles.workspace_defaults import CONSENT_KEY, stored_defaults

log = logging.getLogger(__name__)

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def dedupe(candidates: Iterable[Candidate], already_sent: Set[str]) -> list[Candidate]:
    """First occurrence wins (sources are listed in priority order); anything whose key or
    fingerprint was in an earlier digest is dropped."""
    seen: set[str] = set()
    kept: list[Candidate] = []
    for candidate in candidates:
        known_as = marks(candidate.key, candidate.url, candidate.title)
        if not seen.isdisjoint(known_as) or not already_sent.isdisjoint(known_as):
            continue
        seen.update(known_as)
        kept.append(candidate)
    return kept


def shortlist(
    candidates: Sequence[Candidate],
    interests: dict[str, float],
    collaborative: dict[str, float],
    *,
    limit: int,
) -> list[Candidate]:
    """Candidates that can have relevance (a word in common with an interest) or a
    collaborative score, plus the freshest of the rest. Everything else would score on
    freshness alone and lose to these, so ranking cost follows matches, not the pool."""
    interest_words: set[str] = set()
    for topic, weight in interests.items():
        if weight > 0:
            interest_words |= tokens(topic)
    relevant: list[Candidate] = []
    rest: list[Candidate] = []
    for candidate in candidates:
        words: set[str] = set()
        for topic in candidate.topics or (candidate.title,):
            words |= tokens(topic)
        if words & interest_words or candidate.key in collaborative:
            relevant.append(candidate)
        else:
            rest.append(candidate)
    rest.sort(key=lambda c: c.published_at or _EPOCH, reverse=True)
    return relevant + rest[: limit * 4]


ALSO_NEW = Reason("also_new")


def matched(item: Ranked) -> bool:
    """Picked for a reason about the person (an interest, similar people), not for being new."""
    return any(reason.code != "new" for reason in item.reasons)


def without_padding(ranked: Sequence[Ranked], items: int, also_new: int) -> list[Ranked]:
    """Only items that match the person; unrelated new items at most in a labelled "also new"
    tail of ``also_new`` items (off by default), never dressed up with a reason."""
    kept = [item for item in ranked if matched(item)][:items]
    extra = [item for item in ranked if not matched(item)][:also_new]
    return kept + [Ranked(item.candidate, item.score, (ALSO_NEW,)) for item in extra]


def penalties(candidates: Sequence[Candidate], disliked: dict[str, float]) -> dict[str, float]:
    """How strongly each candidate resembles topics the person asked for less of. The
    Ranker ignores non-positive interests, so the builder passes this as a negative
    collaborative score: "less like this" then pushes similar items down, not only the
    topic's own weight."""
    if not disliked:
        return {}
    top = max(disliked.values())
    found: dict[str, float] = {}
    for candidate in candidates:
        worst = 0.0
        for topic in candidate.topics or (candidate.title,):
            for bad, weight in disliked.items():
                worst = max(worst, similarity(topic, bad) * weight / top)
        if worst > 0:
            found[candidate.key] = round(worst, 4)
    return found


@dataclass(frozen=True, slots=True)
class Reader:
    """Who a digest is for, as far as choosing and writing it needs."""

    person: Person
    interests: dict[str, float]
    disliked: dict[str, float]  # topics pushed down by "less like this" (positive weights)
    avoid: list[str]
    language: str
    tone: str
    verbosity: str
    emoji: str
    timezone: str
    learning: bool
    sent: frozenset[str] = frozenset()  # keys and fingerprints of items already sent
    # The locale of the bot's own texts when known better than from ``language`` (a preview
    # asked for in a platform whose locale says French, by someone with no language set).
    locale: str = ""


def reader_of(
    person: Person,
    prefs: ResolvedPreferences,
    views: Sequence[InterestView],
    sent: Set[str],
    *,
    learning: bool,
) -> Reader:
    """A reader from what was read about them (one by one, or a page at a time by
    :mod:`bot.digest.readers`): one construction, so both ways give the same reader.
    Topics older extraction stored from filler ("haha") are never a reason to pick."""
    views = [v for v in views if not is_junk(v.topic)]
    positive = [v for v in views if v.weight > 0.01][:30]
    return Reader(
        person=person,
        interests={v.topic: v.weight for v in positive},
        disliked={v.topic: -v.weight for v in views if v.weight < -0.01},
        avoid=prefs.avoid_topics,
        language=prefs.get("language"),
        tone=prefs.get("tone"),
        verbosity=prefs.get("verbosity"),
        emoji=prefs.get("emoji"),
        timezone=prefs.get("timezone"),
        learning=learning,
        sent=frozenset(sent),
    )


@dataclass(slots=True)
class DigestDraft:
    reader: Reader
    items: list[Ranked]
    now: dt.datetime
    since: dt.datetime
    considered: int = 0
    failed_sources: list[str] = field(default_factory=list)


class DigestBuilder:
    def __init__(
        self,
        *,
        engine: ProfileEngine,
        sources: Sequence[DigestSource],
        ranker: Ranker | None = None,
        similarity: WorkspaceSimilarity | None = None,
        items: int = 6,
        cold_start_interests: int = 3,
        source_timeout: float = 60.0,
        also_new: int = 0,
    ) -> None:
        self.engine = engine
        self.also_new = also_new
        self.sources = list(sources)
        self.ranker = ranker or Ranker()
        self.similarity = similarity
        self.items = items
        self.cold_start_interests = cold_start_interests
        self.source_timeout = source_timeout

    async def reader(self, db: Database, person: Person, now: dt.datetime) -> Reader:
        async with db.session() as session:
            return await self.load_reader(session, person, now)

    async def load_reader(self, session: AsyncSession, person: Person, now: dt.datetime) -> Reader:
        """Read-only on purpose: it may run while the person's own command transaction is
        open (a preview), so it must not insert the consent row that transaction may hold."""
        assert person.id is not None
        consent = await session.get(Consent, person.id) or Consent(person_id=person.id)
        learning = await self.engine.may_learn_in(session, person, consent)
        prefs = await self.engine.preferences(session, person.id, now)
        views = (
            await self.engine.interests(session, person.id, now, limit=None, positive_only=False)
            if learning
            else []
        )
        sent = await store.sent_keys(session, person.id)
        return reader_of(person, prefs, views, sent, learning=learning)

    async def gather(
        self, person: Person, context: GatherContext, *, only: Set[str] | None = None
    ) -> tuple[list[Candidate], list[str]]:
        """All sources at once (``only``: those the workspace's admins chose, by name); one
        that raises or hangs is logged and left out."""

        async def one(source: DigestSource) -> list[Candidate]:
            # (asyncio.timeout: Python 3.11's wait_for can drop a cancellation)
            async with asyncio.timeout(self.source_timeout):
                return await source.candidates(person, context)

        sources = [s for s in self.sources if only is None or s.name in only]
        results = await asyncio.gather(*(one(s) for s in sources), return_exceptions=True)
        found: list[Candidate] = []
        failed: list[str] = []
        for source, result in zip(sources, results, strict=True):
            if isinstance(result, BaseException):
                if isinstance(result, asyncio.CancelledError):
                    raise result
                failed.append(source.name)
                log.error(
                    "digest source %s failed for person %s: %r",
                    source.name,
                    person.id,
                    result,
                    exc_info=result,
                )
                continue
            found.extend(result)
        return found, failed

    async def _ranker_for(self, db: Database, person: Person, learning: bool) -> Ranker:
        """The ranking-settings variant of a running online experiment, if one applies."""
        if not current_registry().of_kind("ranking"):
            return self.ranker
        async with db.session() as session:
            variant = await variant_for(session, person, learning, "ranking")
        if variant is None:
            return self.ranker
        return Ranker(variant.ranking_settings(self.ranker.settings))

    async def prefetch_defaults(
        self, db: Database, people: Sequence[Person], cache: SharedCache
    ) -> None:
        """The workspace defaults of a page's workspaces, one read each, before its digests
        are drafted concurrently (each draft would otherwise miss the cache and read them)."""
        for platform, workspace in sorted({(p.platform, p.workspace) for p in people}):
            where = ("workspace_defaults", platform, workspace)
            if cache.peek(where) is None:
                async with db.session() as session:
                    stored = await stored_defaults(session, platform, workspace)
                cache.put(where, 60.0, stored)

    async def draft(
        self,
        db: Database,
        person: Person,
        *,
        now: dt.datetime,
        since: dt.datetime,
        consent_opt_out: bool | None = None,
        cache: SharedCache | None = None,
        reader: Reader | None = None,
    ) -> DigestDraft:
        assert person.id is not None
        reader = reader or await self.reader(db, person, now)
        cache = cache or SharedCache()
        # The workspace's own choices (/admin set), read once per run and workspace, in this
        # task (a load in another task would wait on SQLite's writer lock held by a preview's
        # command transaction).
        where = ("workspace_defaults", person.platform, person.workspace)
        defaults: dict[str, str] | None = cache.peek(where)
        if defaults is None:
            async with db.session() as session:
                defaults = await stored_defaults(session, person.platform, person.workspace)
            cache.put(where, 60.0, defaults)
        if consent_opt_out is None:
            consent_opt_out = self.engine.opt_out_of(defaults.get(CONSENT_KEY))
        context = GatherContext(
            db=db,
            now=now,
            since=since,
            consent_opt_out=consent_opt_out,
            cache=cache,
        )
        gathered, failed = await self.gather(
            person, context, only=digest_sources_of(defaults.get(DIGEST_SOURCES_KEY))
        )
        # Imported here: numpy loads with the first digest drafted, not with the CLI.
        from bot.digest.selection import CandidateTable

        table = CandidateTable.of_run(cache)
        pool = table.dedupe(table.rows(gathered), reader.sent)
        collaborative = None
        if (
            self.similarity is not None
            and reader.learning
            and len(reader.interests) < self.cold_start_interests
        ):
            try:
                neighbourhood = await self.similarity.neighbourhood(db, person, now)
                collaborative = table.collaborative(neighbourhood, pool)
            except Exception:  # a cold-start hint is never worth losing the digest over
                log.exception("digest collaborative signal failed for person %s", person.id)
        ranked = table.choose(
            pool,
            collaborative,
            interests=reader.interests,
            disliked=reader.disliked,
            avoid=reader.avoid,
            ranker=await self._ranker_for(db, person, reader.learning),
            now=now,
            items=self.items,
            limit=self.items + self.also_new,
        )
        return DigestDraft(
            reader=reader,
            items=without_padding(ranked, self.items, self.also_new),
            now=now,
            since=since,
            considered=len(pool),
            failed_sources=failed,
        )
