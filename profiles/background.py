"""What everyone says is nobody's interest: a person's topics weighed against their workspace.

A topic's *document frequency* is the number of people in the workspace (who allow learning)
with that topic in their profile. A topic most of them share ("meeting", "lunch", or filler
that slipped through) says little about any one of them; one only they talk about says a lot.
A topic several people share is still theirs (five sports fans in fifty); only what a large
share of the workspace says loses weight, with the log of that share:

    share = (df − 1) / N
    factor = 1                                 while share ≤ 10 %
    factor = max(0.05, ln(1/share) / ln 10)    above: 0.6 at 25 %, 0.3 at 50 %, 0.05 at all

Until a workspace has :data:`MIN_PEOPLE` learning people there is no background to speak of
and every factor is 1. Counts are cached per workspace for a few minutes: they move slowly and
are the same for everyone there. In the bot they are counted off the reply path, by one
refresh task per workspace; a topic not counted yet weighs 1 until it is.

This module also groups a person's topics into *families* ("rust async", "async rust" and
"async runtime" share words) so that one subject is one entry, shown with its variants.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from profiles.db import scans
from profiles.models import Consent, ConsentStatus, Interest, Person
from profiles.topics import (
    GENERIC_ALONE,
    SINGLE_MAX,
    candidate,
    generic_alone,
    is_filler,
    title_shaped,
    topic_words,
    zipf,
)
from profiles.upsert import AnyOf, any_of, dialect_of

log = logging.getLogger(__name__)

MIN_PEOPLE = 5
# A topic shared by up to this share of the workspace is fully distinctive; beyond it the
# weight falls with the log of the share, to MIN_FACTOR for what everyone says.
FREE_SHARE = 0.1
MIN_FACTOR = 0.05
# "Popular here" (cold start): shared by at least this many people, and by at most this
# share of the workspace once it has MIN_PEOPLE people (what everyone says is not a topic).
POPULAR_MIN_PEOPLE = 2
POPULAR_MAX_SHARE = 0.5
FAMILY_WORD_MAX = 5.0
# Topics counted per statement: about one person's worth (profiles show their 60 strongest),
# so a refresh of many topics never holds SQLite's one connection for long at a time.
COUNT_BATCH = 100


def distinctiveness(df: int, people: int) -> float:
    if people < MIN_PEOPLE or df <= 1:
        return 1.0
    share = (min(df, people) - 1) / people  # of the others, how many share it
    if share <= FREE_SHARE:
        return 1.0
    return max(MIN_FACTOR, math.log(1 / share) / math.log(1 / FREE_SHARE))


@functools.lru_cache(maxsize=50_000)
def is_junk(topic: str) -> bool:
    """A stored topic that today's extraction would never produce (profiles learned before
    it, or by an older version): made only of filler, or one everyday word."""
    words = topic.split()
    if all(is_filler(w) or generic_alone(w) for w in words):
        return True
    return len(words) == 1 and zipf(words[0], "en") >= SINGLE_MAX


@dataclass(frozen=True, slots=True)
class _Entry:
    """One workspace's counts, all from one refresh: replaced whole, never edited in place,
    so a reader sees either the old counts or the new ones."""

    loaded_at: float
    people: int
    allowed: list[str]  # consent states counted there
    df: dict[str, int] = field(default_factory=dict)


OptOutIn = Callable[[AsyncSession, str, str], Awaitable[bool]]
Sessions = Callable[[], contextlib.AbstractAsyncContextManager[AsyncSession]]
Key = tuple[str, str]


def _within(session: AsyncSession) -> Sessions:
    """The caller's own session, as a source of sessions (counting in place)."""
    return lambda: contextlib.nullcontext(session)


def learning_statuses(opt_out: bool) -> list[str]:
    """Consent states that allow learning in a workspace of this mode (the SQL twin of the
    consent gate for an unanswered consent)."""
    if opt_out:
        return [ConsentStatus.GRANTED.value, ConsentStatus.UNKNOWN.value]
    return [ConsentStatus.GRANTED.value]


class WorkspaceBackground:
    """Per-workspace document frequencies of the topics asked about, cached.

    Counting is the expensive part (66 ms a topic batch at 20k people on PostgreSQL, more
    with the workspace: it joins every holder of a popular topic to ``person`` and
    ``consent``), and the reply path asks on every message. Once :meth:`refresh_with` gave
    it a way to open its own sessions, :meth:`factors` never counts in the caller's
    session: it answers from the counts already known (a topic not counted yet weighs 1, as
    in a workspace too small to have a background) and hands what is missing or older than
    ``ttl_seconds`` to one refresh task per workspace, which takes in whatever is asked
    while it runs. Without one (an engine used on its own), it counts in the caller's
    session before answering, as it always did.
    """

    def __init__(
        self,
        *,
        opt_out_in: OptOutIn,
        ttl_seconds: float = 300.0,
        retry_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``opt_out_in``: the workspace's consent mode (``ProfileEngine.opt_out_in``), read
        when a workspace's entry is (re)loaded: who counts is whoever the consent gate lets
        the bot learn from there, so an admin's default applies within ``ttl_seconds``.
        ``retry_seconds``: after a refresh failed (the database away), how long replies
        schedule none for that workspace — one warning per outage, not one per reply.
        ``clock``: seconds, monotonic (injected so tests age the cache without waiting)."""
        self.opt_out_in = opt_out_in
        self.ttl = ttl_seconds
        self.retry = retry_seconds
        # workspace (or run_beside's name) → when its last refresh failed
        self._failed: dict[Key | str, float] = {}
        self.clock = clock
        self._cache: dict[Key, _Entry] = {}
        # Topics asked about since the workspace's entry was loaded: counted by the next
        # refresh, and the only ones a reload counts again (a topic nobody asked about for a
        # whole period leaves the cache).
        self._asked: dict[Key, set[str]] = {}
        self._sessions: Sessions | None = None
        self._tasks: dict[Key, asyncio.Task[None]] = {}
        self._beside: dict[str, asyncio.Task[None]] = {}  # see run_beside
        self._closed = False

    def refresh_with(self, sessions: Sessions) -> None:
        """Count in sessions of its own, in the background, from now on (see the class)."""
        self._sessions = sessions

    async def factors(
        self, session: AsyncSession, platform: str, workspace: str, topics: Iterable[str]
    ) -> dict[str, float]:
        """Each topic's weight in this workspace: 1 for what few people here share (or what
        is not counted yet), down to :data:`MIN_FACTOR` for what everyone says."""
        wanted = set(topics)
        key = (platform, workspace)
        if self._sessions is None:  # counting in place: only what this caller waits for
            entry = self._cache.get(key)
            self._asked[key] = wanted
            if entry is None or self._stale(entry):
                await self._update(_within(session), key, reload=True)
            elif not self._holds(entry, wanted):
                await self._update(_within(session), key, reload=False)
        else:
            self._asked.setdefault(key, set()).update(wanted)
            self._schedule(key, wanted)
        entry = self._cache.get(key)
        if entry is None or entry.people < MIN_PEOPLE:
            return {t: 1.0 for t in wanted}
        return {
            t: distinctiveness(entry.df[t], entry.people) if t in entry.df else 1.0
            for t in wanted
        }

    def people(self, platform: str, workspace: str) -> int:
        """People the counts are out of, as last counted (0 when never counted)."""
        entry = self._cache.get((platform, workspace))
        return entry.people if entry else 0

    async def people_in(self, session: AsyncSession, platform: str, workspace: str) -> int:
        """People who allow learning in the workspace: as last counted (a refresh is
        scheduled when that is old); never counted yet, counted now in ``session`` (one
        count, no topics: the cold-start list must not show what everyone says)."""
        key = (platform, workspace)
        entry = self._cache.get(key)
        if self._sessions is None:
            if entry is None or self._stale(entry):
                self._asked[key] = set()
                await self._update(_within(session), key, reload=True)
            return self.people(platform, workspace)
        self._schedule(key, set())
        if entry is not None:
            return entry.people
        allowed = learning_statuses(await self.opt_out_in(session, platform, workspace))
        return await self._people(session, platform, workspace, allowed)

    def run_beside(
        self, name: str, work: Callable[[AsyncSession], Awaitable[None]]
    ) -> bool:
        """Run ``work`` in a session of its own, off the reply path, unless one named
        ``name`` is running already (another workspace cache that refreshes like this one:
        ``ProfileEngine.popular_interests``). False when there are no sessions of its own
        (an engine used on its own): the caller then works in place. A failure pauses
        ``name`` for ``retry_seconds`` and is logged once, as the workspace counts' own
        refreshes are; :meth:`settle` and :meth:`aclose` cover it."""
        if self._sessions is None:
            return False
        running = self._beside.get(name)
        if self._closed or self._paused(name) or (running is not None and not running.done()):
            return True
        sessions = self._sessions

        async def run() -> None:
            try:
                async with sessions() as session:
                    await work(session)
            except Exception as exc:  # a cache fill: the reply path never waits for it
                self._failure(name, name, exc)
                return
            self._recovery(name, name)

        self._beside[name] = asyncio.create_task(run(), name=f"workspace background {name}")
        return True

    async def settle(self) -> None:
        """Wait until every refresh scheduled so far (and any it chained) has finished."""
        while running := [
            task for task in [*self._tasks.values(), *self._beside.values()] if not task.done()
        ]:
            await asyncio.gather(*running, return_exceptions=True)

    async def aclose(self) -> None:
        """Stop: running refreshes are cancelled and awaited (they only fill a cache), none
        starts afterwards."""
        self._closed = True
        tasks = [*self._tasks.values(), *self._beside.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        self._beside.clear()

    def _stale(self, entry: _Entry) -> bool:
        return self.clock() - entry.loaded_at > self.ttl

    def _holds(self, entry: _Entry, topics: set[str]) -> bool:
        """Whether ``entry`` answers for ``topics`` (a small workspace: for every topic)."""
        return entry.people < MIN_PEOPLE or topics <= entry.df.keys()

    def _missing(self, key: Key, entry: _Entry) -> bool:
        return not self._holds(entry, self._asked.get(key, set()))

    def _schedule(self, key: Key, wanted: set[str]) -> None:
        """Start the workspace's refresh unless its counts are fresh and hold ``wanted``
        (``wanted`` only: this runs on every reply), or one is running already."""
        entry = self._cache.get(key)
        if entry is not None and not self._stale(entry) and self._holds(entry, wanted):
            return
        if self._paused(key):
            return  # the last refresh failed moments ago: old counts serve until the retry
        running = self._tasks.get(key)
        if self._closed or (running is not None and not running.done()):
            return  # the running one takes the new topics in
        # In a context of its own: started from a digest run (patient work, unbounded;
        # profiles/db_timeout.py), the refresh would have inherited its patience and gone
        # unbounded beside replies (review); nor does it carry the caller's event id.
        task = asyncio.create_task(
            self._refresh(key), name=f"workspace background {key}", context=contextvars.Context()
        )
        self._tasks[key] = task
        task.add_done_callback(lambda done: self._forget_task(key, done))

    def _forget_task(self, key: Key, task: asyncio.Task[None]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]

    async def _refresh(self, key: Key) -> None:
        """The workspace's refresh task: reload when old or absent, then count whatever was
        asked meanwhile until nothing is missing. A failure (database away) is logged and
        ends it; the next question schedules another."""
        assert self._sessions is not None
        entry = self._cache.get(key)
        reload = entry is None or self._stale(entry)
        try:
            while True:
                await self._update(self._sessions, key, reload=reload)
                reload = False
                entry = self._cache.get(key)
                if entry is None or not self._missing(key, entry):
                    return
        except Exception as exc:  # a cache fill: the reply path never waits for it
            self._failure(key, "workspace background of {}/{}".format(*key), exc)
            return
        self._recovery(key, "workspace background of {}/{}".format(*key))

    def _paused(self, name: Key | str) -> bool:
        """Whether ``name``'s last refresh failed less than ``retry_seconds`` ago."""
        failed = self._failed.get(name)
        return failed is not None and self.clock() - failed < self.retry

    def _failure(self, name: Key | str, what: str, exc: Exception) -> None:
        """A refresh failed: pause ``name``; warn once per outage, since replies keep coming
        meanwhile."""
        if name not in self._failed:
            log.warning("%s not refreshed (next try in %.0f s): %s", what, self.retry, exc)
        self._failed[name] = self.clock()

    def _recovery(self, name: Key | str, what: str) -> None:
        if self._failed.pop(name, None) is not None:
            log.info("%s refreshed again", what)

    async def _update(self, sessions: Sessions, key: Key, *, reload: bool) -> None:
        """Count what is asked and not counted (everything asked, on a reload) and replace
        the workspace's entry with the result. Each batch of topics in a session of its own
        (read-only ones in the bot: on SQLite they neither wait for nor hold up the writer)."""
        platform, workspace = key
        entry = self._cache.get(key)
        if reload or entry is None:
            asked = self._asked.pop(key, set())
            loaded_at = self.clock()
            async with sessions() as session:
                allowed = learning_statuses(await self.opt_out_in(session, platform, workspace))
                people = await self._people(session, platform, workspace, allowed)
            df: dict[str, int] = {}
        else:
            asked = set(self._asked.get(key, ()))
            loaded_at, people, allowed = entry.loaded_at, entry.people, entry.allowed
            df = dict(entry.df)
        if people >= MIN_PEOPLE:
            missing = sorted(asked - df.keys())
            for start in range(0, len(missing), COUNT_BATCH):
                chunk = missing[start : start + COUNT_BATCH]
                async with sessions() as session:
                    found = await self._df(session, platform, workspace, chunk, allowed)
                for topic in chunk:
                    df[topic] = found.get(topic, 0)
        self._cache[key] = _Entry(loaded_at, people, allowed, df)

    async def _people(
        self, session: AsyncSession, platform: str, workspace: str, allowed: list[str]
    ) -> int:
        # People with an interest, each counted once: EXISTS probes uq_interest (it leads
        # with person_id) per person, where a count of distinct ids sorted every interest
        # row of the workspace (100k people: 143 ms against 278 on PostgreSQL).
        holds = select(Interest.person_id).where(Interest.person_id == Person.id).exists()
        stmt = scans(
            select(func.count())
            .select_from(Person)
            .join(Consent, Consent.person_id == Person.id)  # type: ignore[arg-type]
            .where(
                Person.platform == platform,
                Person.workspace == workspace,
                Consent.status.in_(allowed),  # type: ignore[attr-defined]
                holds,
            )
        )
        result = await session.exec(stmt)
        return int(result.one() or 0)

    async def _df(
        self, session: AsyncSession, platform: str, workspace: str, topics: list[str],
        allowed: list[str],
    ) -> dict[str, int]:
        stmt, topic_ids = _df_statement(dialect_of(session))
        result = await session.exec(
            stmt,
            params={
                "platform": platform, "workspace": workspace, "allowed": allowed,
                **topic_ids.params(topics),
            },
        )
        return {str(topic): int(n) for topic, n in result.all()}


@functools.lru_cache(maxsize=2)
def _df_statement(dialect: str) -> tuple[Any, AnyOf]:
    """How many people hold each of a list of topics: built once per dialect, everything
    bound at execution (a workspace's background counts up to COUNT_BATCH topics a time)."""
    topics = any_of(dialect, "topics", col(Interest.topic))
    # Each person holds a topic once (uq_interest) and has one person and one consent row,
    # so the rows of a topic are its people: count(*), where count(DISTINCT) sorted them all
    # first (100k people: 225 ms against 612 on PostgreSQL, its sort spilled to disk).
    people = func.count()
    return scans(
        select(Interest.topic, people)
        .join(Person, col(Person.id) == col(Interest.person_id))
        .join(Consent, col(Consent.person_id) == col(Interest.person_id))
        .where(
            topics.clause,
            col(Person.platform) == bindparam("platform"),
            col(Person.workspace) == bindparam("workspace"),
            col(Consent.status).in_(bindparam("allowed", expanding=True)),
        )
        .group_by(col(Interest.topic))
    ), topics


def families(topics: Sequence[str]) -> list[list[str]]:
    """Group topics (strongest first) into families: a topic joins the first family whose
    head shares a word (lemma) with it, so "async rust" and "async runtime" join "rust
    async"; the head is the family's strongest member and names it."""
    groups: list[tuple[frozenset[str], list[str]]] = []
    for topic in topics:
        words = _family_key(topic)
        for head_words, members in groups:
            if words & head_words:
                members.append(topic)
                break
        else:
            groups.append((words, [topic]))
    return [members for _, members in groups]


@functools.lru_cache(maxsize=50_000)
def _family_key(topic: str) -> frozenset[str]:
    """The words a family is recognised by: specific ones ("war" would join "star wars" and
    "world war"), else all of them."""
    words = topic_words(topic) - GENERIC_ALONE
    specific = frozenset(w for w in words if zipf(w, "en") < FAMILY_WORD_MAX)
    return specific or words


def family_label(members: Sequence[tuple[str, float]]) -> str:
    """What a family is called: the word sequence its members share most, by weight
    ("film noir" for "film noir classic", "film noir detective" …); longer wins ties, so
    "film noir" beats "noir". A phrase that is junk on its own never names a family."""
    scores: dict[str, float] = {}
    for topic, weight in members:
        words = topic.split()
        grams = {
            " ".join(words[i:j]) for i in range(len(words)) for j in range(i + 1, len(words) + 1)
        }
        for gram in grams:
            scores[gram] = scores.get(gram, 0.0) + weight
    ranked = sorted(scores.items(), key=lambda kv: (-round(kv[1], 9), -len(kv[0].split()), kv[0]))
    for gram, _ in ranked:
        if gram in scores and _names_something(gram):
            return gram
    return members[0][0]


def _names_something(gram: str) -> bool:
    """A phrase extraction itself would keep as a topic ("large" would not)."""
    if is_junk(gram) or not _family_key(gram):
        return False
    if title_shaped(gram):
        return True
    found = candidate([(w, False) for w in gram.split()], "en")
    return found is not None and found[0] == gram
