"""Where digest items come from. Each source is pluggable: anything with a ``name``, a
``label`` and ``async candidates(person, context) -> list[Candidate]`` can be passed to the
builder, and a source that fails is logged and skipped while the others still make the
digest (see :mod:`bot.digest.builder`).

Built in:

* :class:`ChannelActivitySource` — conversations in channels the bot can see, only from
  authors who allow learning now, never from a private channel the reader has not posted in;
* :class:`RssSource` — RSS/Atom feeds configured for the workspace or by the person;
* :class:`RecommendationSource` — the person's open recommendations.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from sqlmodel import col, select

from bot.digest import feeds, store
from bot.digest.cache import SharedCache
from bot.i18n import N_
from profiles.db import Database
from profiles.models import Person, Recommendation
from profiles.ranking import Candidate
from profiles.signals import SignalExtractor

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DigestCandidate(Candidate):
    """A candidate with a short, source-specific line for the reader ("5 messages from 3
    people", the feed's name); ranking ignores it. ``quoted``: the people whose words it
    carries (a conversation's authors), recorded with the item so that their /forget finds
    it, and checked when it is recorded (whoever was forgotten meanwhile drops it)."""

    detail: str = ""
    quoted: frozenset[int] = frozenset()


@dataclass(slots=True)
class GatherContext:
    """What a source may use besides the person. ``cache`` is shared by every digest of one
    run, so workspace-wide data (activity, feeds) is loaded once, not once per person."""

    db: Database
    now: dt.datetime
    since: dt.datetime
    consent_opt_out: bool
    cache: SharedCache = field(default_factory=SharedCache)


@runtime_checkable
class DigestSource(Protocol):
    name: str
    label: str

    async def candidates(self, person: Person, context: GatherContext) -> list[Candidate]:
        """Items for ``person`` since ``context.since``; may raise (the digest goes on)."""
        ...


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True, slots=True)
class _Thread:
    channel_id: str
    private: bool
    authors: frozenset[int]
    candidate: DigestCandidate


class ChannelActivitySource:
    name = "channels"
    label = N_("conversations in channels I can see")

    def __init__(
        self,
        *,
        window: dt.timedelta = dt.timedelta(days=7),
        cache_seconds: float = 120.0,
        max_threads: int = 1000,
    ) -> None:
        self.window = window
        self.cache_seconds = cache_seconds
        self.max_threads = max_threads

    async def candidates(self, person: Person, context: GatherContext) -> list[Candidate]:
        assert person.id is not None
        threads = await self._threads(person, context)
        if not threads:
            return []
        memberships = await self._private_memberships(person, context)
        mine = memberships.get(person.id, frozenset())
        alone = frozenset((person.id,))  # built once: this runs for every reader of a run
        found: list[Candidate] = [
            thread.candidate
            for thread in threads
            if (not thread.private or thread.channel_id in mine)
            and thread.authors != alone  # only the reader spoke: nothing they missed
        ]
        return found[: self.max_threads]

    async def _threads(self, person: Person, context: GatherContext) -> list[_Thread]:
        """The workspace's conversations since ``context.since``, built once per run and
        shared by every reader (they differ only by which private channels they may see)."""

        async def load() -> list[_Thread]:
            async with context.db.session() as session:
                rows = await store.workspace_activity(
                    session,
                    person.platform,
                    person.workspace,
                    max(context.since, context.now - self.window),
                    consent_opt_out=context.consent_opt_out,
                )
            return self._group(person.platform, person.workspace, rows)

        since = context.since.replace(second=0, microsecond=0)
        key = ("threads", person.platform, person.workspace, since)
        return await context.cache.get(key, self.cache_seconds, load)

    async def _private_memberships(
        self, person: Person, context: GatherContext
    ) -> dict[int, frozenset[str]]:
        """Who has posted in which private channel: the only evidence of membership the
        core gives us, so the only private channels whose activity a reader may see."""

        async def load() -> dict[int, frozenset[str]]:
            async with context.db.session() as session:
                return await store.private_memberships(session, person.platform, person.workspace)

        key = ("private", person.platform, person.workspace)
        return await context.cache.get(key, self.cache_seconds, load)

    def _group(self, platform: str, workspace: str, rows: list[store.ActivityRow]) -> list[_Thread]:
        grouped: dict[tuple[str, str], list[store.ActivityRow]] = collections.defaultdict(list)
        for row in rows:
            grouped[(row.channel_id, row.root)].append(row)
        threads: list[tuple[int, float, _Thread]] = []
        for (channel, root), messages in grouped.items():
            authors = frozenset(m.author_id for m in messages)
            counts = collections.Counter(t for m in messages for t in m.topics)
            first = messages[0]
            detail = f"{len(messages)} message{'s' if len(messages) != 1 else ''}"
            if len(authors) > 1:
                detail += f" from {len(authors)} people"
            if first.private:
                detail += " in a private channel"
            latest = max(m.created_at for m in messages)
            candidate = DigestCandidate(
                key=store.chat_item_key(platform, workspace, channel, root),
                title=_short(first.excerpt, 140) or "A conversation",
                topics=tuple(t for t, _ in counts.most_common(3)),
                text=_short(" … ".join(m.excerpt for m in messages[:5]), 600),
                published_at=latest,
                source=self.name,
                detail=detail,
                quoted=authors,
            )
            thread = _Thread(channel, first.private, authors, candidate)
            threads.append((len(messages), latest.timestamp(), thread))
        threads.sort(key=lambda t: (-t[0], -t[1]))
        return [t for _, _, t in threads]


class RecommendationSource:
    name = "recommendations"
    label = N_("things I recommended to you that you haven't rated yet")

    def __init__(self, *, max_age: dt.timedelta = dt.timedelta(days=30), limit: int = 50):
        self.max_age = max_age
        self.limit = limit

    def _query(self, now: dt.datetime) -> Any:
        return (
            select(Recommendation)
            .where(
                Recommendation.status == "shown",
                Recommendation.created_at >= now - self.max_age,
            )
            .order_by(col(Recommendation.created_at).desc(), col(Recommendation.id).desc())
        )

    async def prefetch(
        self, db: Database, person_ids: list[int], now: dt.datetime, cache: SharedCache
    ) -> None:
        """Open recommendations of a page of people in one query per 900 people; each
        person's share is cached for :meth:`candidates` (same rows, same order, same cut)."""
        found: dict[int, list[Recommendation]] = {pid: [] for pid in person_ids}
        async with db.session() as session:
            for start in range(0, len(person_ids), 900):
                chunk = person_ids[start : start + 900]
                result = await session.exec(
                    self._query(now).where(col(Recommendation.person_id).in_(chunk))
                )
                for row in result:
                    mine = found[row.person_id]
                    if len(mine) < self.limit:
                        mine.append(row)
        for pid, rows in found.items():
            cache.put(("recommendations", pid, now), 300.0, rows)

    async def candidates(self, person: Person, context: GatherContext) -> list[Candidate]:
        async def load() -> list[Recommendation]:
            async with context.db.session() as session:
                result = await session.exec(
                    self._query(context.now)
                    .where(Recommendation.person_id == person.id)
                    .limit(self.limit)
                )
                return list(result)

        key = ("recommendations", person.id, context.now)
        rows = await context.cache.get(key, 0.0, load)
        return [
            DigestCandidate(
                key=f"rec:{row.id}",
                title=_short(row.title, 300),
                topics=tuple(row.topics),
                text=row.reason,
                published_at=store.as_utc(row.created_at),
                source=self.name,
                detail=f"I suggested it on {store.as_utc(row.created_at):%Y-%m-%d}",
            )
            for row in rows
        ]


@dataclass(frozen=True, slots=True)
class _LoadedFeed:
    """A fetched feed as candidates, built once per fetch and shared by every reader."""

    feed: feeds.ParsedFeed
    candidates: tuple[DigestCandidate, ...]


class RssSource:
    name = "rss"
    label = N_("RSS/Atom feeds for your workspace and your own")

    def __init__(
        self,
        *,
        extractor: SignalExtractor | None = None,
        timeout: float = 10.0,
        max_bytes: int = 2_000_000,
        cache_seconds: float = 900.0,
        allow_private: bool = False,
        max_age: dt.timedelta = dt.timedelta(days=14),
        max_entries: int = 200,
    ) -> None:
        self.extractor = extractor or SignalExtractor(max_keyphrases=3)
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.cache_seconds = cache_seconds
        self.allow_private = allow_private
        self.max_age = max_age
        self.max_entries = max_entries
        # Feeds outlive one run: the same URL is fetched at most once per cache period.
        self._feeds = SharedCache()

    async def candidates(self, person: Person, context: GatherContext) -> list[Candidate]:
        assert person.id is not None

        async def load() -> dict[int | None, list[store.FeedRef]]:
            async with context.db.session() as session:
                return await store.workspace_feed_map(session, person.platform, person.workspace)

        feed_map = await context.cache.get(("feeds", person.platform, person.workspace), 60.0, load)
        shared = feed_map.get(None, [])
        known = {ref.url for ref in shared}
        refs = shared + [r for r in feed_map.get(person.id, []) if r.url not in known]
        if not refs:
            return []
        loaded = await asyncio.gather(*(self.load(ref) for ref in refs), return_exceptions=True)
        failures = [
            (ref, r) for ref, r in zip(refs, loaded, strict=True) if isinstance(r, Exception)
        ]
        for ref, error in failures:
            log.warning("digest feed %s failed: %s", ref.url, error)
        if failures and len(failures) == len(refs):
            raise feeds.FeedError(f"all {len(refs)} feed(s) failed, e.g. {failures[0][1]}")
        horizon = context.now - self.max_age
        found: list[Candidate] = []
        for result in loaded:
            if isinstance(result, BaseException):
                continue
            found.extend(
                c for c in result.candidates if c.published_at is None or c.published_at >= horizon
            )
        return found

    async def load(self, ref: store.FeedRef) -> _LoadedFeed:
        async def fetch() -> _LoadedFeed:
            # Imported here: aiohttp loads on the first fetch, not with the command registry.
            from bot.digest.fetch import fetch_and_parse

            parsed = await fetch_and_parse(
                ref.url,
                time_limit=self.timeout,
                max_bytes=self.max_bytes,
                trusted=ref.trusted,
                allow_private=self.allow_private,
            )
            entries = parsed.entries[: self.max_entries]
            topics = await asyncio.to_thread(self._topics, entries)
            detail = _short(parsed.title, 80)
            candidates = tuple(
                DigestCandidate(
                    key=entry.key,
                    title=_short(entry.title, 300),
                    topics=topics.get(entry.key, ()),
                    text=entry.summary,
                    published_at=entry.published_at,
                    source=self.name,
                    url=entry.url,
                    detail=detail,
                )
                for entry in entries
            )
            return _LoadedFeed(parsed, candidates)

        return await self._feeds.get((ref.url, ref.trusted), self.cache_seconds, fetch)

    def _topics(self, entries: tuple[feeds.FeedEntry, ...]) -> dict[str, tuple[str, ...]]:
        """Feed tags first, then keyphrases of the title and summary (blocking: YAKE)."""
        topics: dict[str, tuple[str, ...]] = {}
        for entry in entries:
            phrases = [
                t for t, _ in self.extractor.extract(f"{entry.title}. {entry.summary}").topics
            ]
            topics[entry.key] = tuple(dict.fromkeys([*entry.tags, *phrases]))[:5]
        return topics


def default_sources(
    *,
    extractor: SignalExtractor | None = None,
    feed_timeout: float = 10.0,
    feed_max_bytes: int = 2_000_000,
    feed_cache_seconds: float = 900.0,
    allow_private_feeds: bool = False,
) -> list[DigestSource]:
    return [
        RecommendationSource(),
        ChannelActivitySource(),
        RssSource(
            extractor=extractor,
            timeout=feed_timeout,
            max_bytes=feed_max_bytes,
            cache_seconds=feed_cache_seconds,
            allow_private=allow_private_feeds,
        ),
    ]
