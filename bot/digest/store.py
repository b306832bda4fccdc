"""Digest rows: subscriptions, runs, sent items, channel activity and feeds.

Every function takes an open session so the caller decides the transaction. Timestamps are
written in UTC and read back through :func:`as_utc`, because SQLite hands back naive values
where PostgreSQL hands back aware ones.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import bindparam, delete, func, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.digest.schedule import Schedule
from profiles.models import (
    ChannelActivity,
    Consent,
    ConsentStatus,
    ConversationTurn,
    DigestItem,
    DigestQuote,
    DigestRun,
    DigestSubscription,
    Person,
    PersonFeed,
    Preference,
    Source,
    WorkspaceFeed,
    table_of,
)
from profiles.upsert import ManyRows, dialect_of, insert_for, many_rows

T = TypeVar("T")


def as_utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def consent_statuses(opt_out: bool) -> list[str]:
    """Consent states that allow learning (the SQL twin of ``ProfileEngine.may_learn``)."""
    allowed = [ConsentStatus.GRANTED.value]
    if opt_out:
        allowed.append(ConsentStatus.UNKNOWN.value)
    return allowed


# Subscriptions ----------------------------------------------------------------------------
def schedule_of(subscription: DigestSubscription) -> Schedule:
    return Schedule(subscription.cadence, subscription.time, subscription.timezone)


async def subscription(session: AsyncSession, person_id: int) -> DigestSubscription | None:
    return await session.get(DigestSubscription, person_id)


async def save_subscription(
    session: AsyncSession,
    person_id: int,
    schedule: Schedule,
    *,
    platform: str,
    channel_id: str,
    now: dt.datetime,
) -> None:
    """Insert or update in one statement, so two workers reconciling the same person at once
    cannot collide on the primary key."""
    now = as_utc(now)
    stmt = insert_for(session, table_of(DigestSubscription)).values(
        person_id=person_id,
        cadence=schedule.cadence,
        time=schedule.time,
        timezone=schedule.timezone,
        platform=platform[:32],
        channel_id=channel_id[:128],
        created_at=now,
        updated_at=now,
    )
    new = stmt.excluded
    await session.exec(
        stmt.on_conflict_do_update(
            index_elements=["person_id"],
            set_={
                "cadence": new.cadence,
                "time": new.time,
                "timezone": new.timezone,
                "platform": new.platform,
                "channel_id": new.channel_id,
                "updated_at": new.updated_at,
            },
        )
    )


async def drop_subscription(session: AsyncSession, person_id: int) -> bool:
    result = await session.exec(
        delete(DigestSubscription).where(col(DigestSubscription.person_id) == person_id)
    )
    return bool(result.rowcount)


async def subscriptions_of(
    session: AsyncSession, person_ids: Sequence[int]
) -> dict[int, DigestSubscription]:
    """The subscriptions of a page of people, one query per 900 ids."""
    found: dict[int, DigestSubscription] = {}
    for chunk in _chunks(person_ids, 900):
        result = await session.exec(
            select(DigestSubscription).where(col(DigestSubscription.person_id).in_(chunk))
        )
        found.update({s.person_id: s for s in result})
    return found


async def consents_of(session: AsyncSession, person_ids: Sequence[int]) -> dict[int, Consent]:
    """The consent rows of a page of people, one query per 900 ids."""
    found: dict[int, Consent] = {}
    for chunk in _chunks(person_ids, 900):
        result = await session.exec(select(Consent).where(col(Consent.person_id).in_(chunk)))
        found.update({c.person_id: c for c in result})
    return found


async def subscriptions_after(
    session: AsyncSession, after_person_id: int, limit: int
) -> list[DigestSubscription]:
    """Keyset pagination: stable and cheap however many people subscribe."""
    result = await session.exec(
        select(DigestSubscription)
        .where(DigestSubscription.person_id > after_person_id)
        .order_by(col(DigestSubscription.person_id))
        .limit(limit)
    )
    return list(result)


async def count_subscriptions(session: AsyncSession) -> int:
    result = await session.exec(select(func.count()).select_from(DigestSubscription))
    return int(result.one())


async def digest_preferences_without_subscription(session: AsyncSession) -> list[int]:
    """People with an explicit ``digest`` preference other than ``off`` and no subscription."""
    result = await session.exec(
        select(Preference.person_id)
        .outerjoin(
            DigestSubscription,
            col(DigestSubscription.person_id) == col(Preference.person_id),
        )
        .where(
            Preference.key == "digest",
            Preference.source == Source.EXPLICIT.value,
            Preference.value != "off",
            col(DigestSubscription.person_id).is_(None),
        )
    )
    return list(result)


# Runs -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RunClaim:
    """A digest a worker wants to own: one person, one period."""

    person_id: int
    period_key: str
    scheduled_for: dt.datetime


async def claim_runs(
    session: AsyncSession,
    claims: Sequence[RunClaim],
    *,
    now: dt.datetime,
    stale_after: dt.timedelta,
) -> dict[int, int]:
    """Own the digests of ``claims``: person id → run id for those this caller may send.

    The insert is unique per (person, period), so exactly one of several racing workers gets
    each row. A run left in ``building`` by a crashed worker (nothing was delivered yet) can be
    taken over once it is older than ``stale_after``; the conditional update lets only one
    worker do that too. A run that reached ``delivering`` is never retried: it may have been
    sent, and a second copy is worse than a missing one. Two statements for a whole page,
    whatever its size (both cacheable: rows travel as executemany parameters)."""
    if not claims:
        return {}
    now = as_utc(now)
    table = table_of(DigestRun)
    insert = (
        insert_for(session, table)
        .on_conflict_do_nothing(index_elements=["person_id", "period_key"])
        .returning(table.c.id, table.c.person_id)
    )
    rows = [
        {
            "person_id": c.person_id,
            "period_key": c.period_key,
            "scheduled_for": as_utc(c.scheduled_for),
            "status": "building",
            "claimed_at": now,
            "item_count": 0,
        }
        for c in claims
    ]
    result = await session.exec(insert, params=rows)
    owned = {int(pid): int(run_id) for run_id, pid in result.all()}
    # The rest: runs that exist already. One period a statement (a page holds one, most of
    # the time), its people as a list: with (person, period) pairs as one list SQLite scanned
    # every run ever recorded instead of searching the (person, period) index.
    by_period: dict[str, list[int]] = {}
    for claim in claims:
        if claim.person_id not in owned:
            by_period.setdefault(claim.period_key, []).append(claim.person_id)
    for period_key, person_ids in by_period.items():
        for chunk in _chunks(person_ids, 900):
            takeover = (
                update(table)
                .where(
                    table.c.period_key == period_key,
                    table.c.person_id.in_(chunk),
                    table.c.status == "building",
                    table.c.claimed_at < now - stale_after,
                )
                .values(claimed_at=now)
                .returning(table.c.id, table.c.person_id)
            )
            taken = await session.exec(takeover)
            owned.update({int(pid): int(run_id) for run_id, pid in taken.all()})
    return owned


@dataclass(frozen=True, slots=True)
class RunEnd:
    """How one run of a page ends (``None`` leaves a column as it is)."""

    run_id: int
    status: str
    sent_at: dt.datetime | None = None
    error: str | None = None
    item_count: int | None = None


async def finish_runs(session: AsyncSession, ends: Sequence[RunEnd]) -> None:
    """Set the status of many runs in one executemany UPDATE per shape of change."""
    shapes: dict[tuple[bool, bool, bool], list[dict[str, Any]]] = {}
    for end in ends:
        shape = (end.sent_at is not None, end.error is not None, end.item_count is not None)
        row: dict[str, Any] = {"run_id": end.run_id, "new_status": end.status}
        if end.sent_at is not None:
            row["new_sent_at"] = as_utc(end.sent_at)
        if end.error is not None:
            row["new_error"] = end.error[:500]
        if end.item_count is not None:
            row["new_item_count"] = end.item_count
        shapes.setdefault(shape, []).append(row)
    table = table_of(DigestRun)
    for (sent, error, count), rows in shapes.items():
        values: dict[str, Any] = {"status": bindparam("new_status")}
        if sent:
            values["sent_at"] = bindparam("new_sent_at")
        if error:
            values["error"] = bindparam("new_error")
        if count:
            values["item_count"] = bindparam("new_item_count")
        stmt = update(table).where(table.c.id == bindparam("run_id")).values(**values)
        await session.exec(stmt, params=rows)


async def run_exists(session: AsyncSession, run_id: int) -> bool:
    return await session.get(DigestRun, run_id) is not None


async def existing_periods(
    session: AsyncSession, wanted: Iterable[tuple[int, str]]
) -> set[tuple[int, str]]:
    """Which of the (person, period) pairs already have a run (in one query per batch)."""
    pairs = set(wanted)
    if not pairs:
        return set()
    result = await session.exec(
        select(DigestRun.person_id, DigestRun.period_key).where(
            col(DigestRun.person_id).in_({pid for pid, _ in pairs})
        )
    )
    return {(pid, key) for pid, key in result.all()} & pairs


async def last_run(session: AsyncSession, person_id: int) -> DigestRun | None:
    result = await session.exec(
        select(DigestRun)
        .where(DigestRun.person_id == person_id)
        .order_by(col(DigestRun.scheduled_for).desc(), col(DigestRun.id).desc())
        .limit(1)
    )
    return result.first()


async def last_sent_at(session: AsyncSession, person_id: int) -> dt.datetime | None:
    result = await session.exec(
        select(func.max(DigestRun.sent_at)).where(
            DigestRun.person_id == person_id, DigestRun.status == "sent"
        )
    )
    value = result.one()
    return as_utc(value) if value is not None else None


# Items ------------------------------------------------------------------------------------
async def sent_keys(session: AsyncSession, person_id: int) -> set[str]:
    """Keys and fingerprints of everything already sent: never shown twice."""
    result = await session.exec(
        select(DigestItem.item_key, DigestItem.fingerprint).where(DigestItem.person_id == person_id)
    )
    keys: set[str] = set()
    for key, fingerprint in result.all():
        keys.add(key)
        keys.add(fingerprint)
    return keys


async def record_items(
    session: AsyncSession, rows: Sequence[dict[str, Any]]
) -> dict[tuple[int, str], int]:
    """Insert the items of one or many runs; returns (person id, item key) → id for the rows
    actually inserted (an item another run of the same person sent meanwhile is skipped, not
    sent twice)."""
    if not rows:
        return {}
    result = await _record_statement(dialect_of(session), tuple(rows[0])).execute(session, rows)
    return {(int(pid), key): int(item_id) for item_id, pid, key in result.all()}


@functools.lru_cache(maxsize=8)
def _record_statement(dialect: str, names: tuple[str, ...]) -> ManyRows:
    """The items, one array per column on PostgreSQL (see ``profiles.upsert``: a page's
    ~1,200 items as a ``VALUES`` text were two thirds of recording it there)."""
    table = table_of(DigestItem)
    return many_rows(
        dialect,
        table,
        names,
        lambda insert: insert.on_conflict_do_nothing(
            index_elements=["person_id", "item_key"]
        ).returning(table.c.id, table.c.person_id, table.c.item_key),
    )


async def record_quotes(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Who each recorded item quotes (``DigestQuote``: ``item_id``, ``person_id``)."""
    if rows:
        await _quote_statement(dialect_of(session)).execute(session, rows)


@functools.lru_cache(maxsize=2)
def _quote_statement(dialect: str) -> ManyRows:
    return many_rows(dialect, table_of(DigestQuote), ("item_id", "person_id"))


async def drop_run_items(session: AsyncSession, run_ids: Sequence[int]) -> None:
    """Items of runs that failed to deliver may come back in the next digest."""
    for chunk in _chunks(list(run_ids), 900):
        await session.exec(delete(DigestItem).where(col(DigestItem.run_id).in_(chunk)))


async def item_at(session: AsyncSession, person_id: int, position: int) -> DigestItem | None:
    """The item shown at ``position`` (1, 2, …) in the person's latest digest: what a typed
    ``/digest more 2`` means (the digest numbers its items; the buttons send the row id)."""
    run_id = (await session.exec(
        select(DigestItem.run_id).where(DigestItem.person_id == person_id)
        .order_by(col(DigestItem.created_at).desc(), col(DigestItem.run_id).desc()).limit(1)
    )).first()
    if run_id is None or position < 1:
        return None
    # The N-th stored item, not the one stored as N: an item the page could not record (one
    # already sent) is not shown, and the digest numbers the rest 1, 2, … (review).
    return (await session.exec(select(DigestItem).where(
        DigestItem.person_id == person_id, DigestItem.run_id == run_id,
    ).order_by(col(DigestItem.position)).offset(position - 1).limit(1))).first()


async def item_of(session: AsyncSession, person_id: int, item_id: int) -> DigestItem | None:
    """An item by id, only if it belongs to ``person_id`` (button values come from outside)."""
    item = await session.get(DigestItem, item_id)
    if item is None or item.person_id != person_id:
        return None
    return item


# Channel activity -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ActivityRow:
    author_id: int
    channel_id: str
    private: bool
    message_id: str
    thread_id: str | None
    excerpt: str
    topics: tuple[str, ...]
    created_at: dt.datetime

    @property
    def root(self) -> str:
        """The conversation a message belongs to: its thread, or itself."""
        return self.thread_id or self.message_id


async def record_activity(
    session: AsyncSession,
    *,
    person_id: int,
    platform: str,
    workspace: str,
    channel_id: str,
    private: bool,
    message_id: str,
    thread_id: str | None,
    excerpt: str,
    topics: Sequence[str],
    at: dt.datetime,
) -> None:
    """One row of channel activity. A statement, not an ORM object: in a learning batch
    on PostgreSQL it goes out with the batch's other writes (profiles/write_queue.py), where
    the session's flush at commit was a round trip of its own; the rows of a batch's
    messages go as one insert."""
    row = {
        "person_id": person_id,
        "platform": platform[:32],
        "workspace": workspace[:128],
        "channel_id": channel_id[:128],
        "private": private,
        "message_id": message_id[:200],
        "thread_id": thread_id[:200] if thread_id else None,
        "excerpt": excerpt[:300],
        "topics": [t[:200] for t in topics][:10],
        "created_at": as_utc(at),
    }
    await _activity_rows(dialect_of(session)).send_later(session, [row], merges=True)


ACTIVITY_COLUMNS = (
    "person_id", "platform", "workspace", "channel_id", "private", "message_id", "thread_id",
    "excerpt", "topics", "created_at",
)


@functools.lru_cache(maxsize=2)
def _activity_rows(dialect: str) -> ManyRows:
    """Built once per dialect (a statement's compiled form is cached per statement object)."""
    return many_rows(dialect, table_of(ChannelActivity), ACTIVITY_COLUMNS)


async def workspace_activity(
    session: AsyncSession,
    platform: str,
    workspace: str,
    since: dt.datetime,
    *,
    consent_opt_out: bool,
) -> list[ActivityRow]:
    """Channel messages since ``since`` whose authors allow learning *now*: a revoked
    author's messages stop appearing in anyone's digest at once."""
    activity = table_of(ChannelActivity)
    consent = table_of(Consent)
    stmt = (
        sa_select(
            activity.c.person_id,
            activity.c.channel_id,
            activity.c.private,
            activity.c.message_id,
            activity.c.thread_id,
            activity.c.excerpt,
            activity.c.topics,
            activity.c.created_at,
        )
        .join(consent, consent.c.person_id == activity.c.person_id)
        .where(
            activity.c.platform == platform,
            activity.c.workspace == workspace,
            activity.c.created_at >= as_utc(since),
            consent.c.status.in_(consent_statuses(consent_opt_out)),
        )
        .order_by(activity.c.created_at, activity.c.id)
    )
    result = await session.exec(stmt)  # type: ignore[call-overload]
    return [
        ActivityRow(
            author_id=row[0],
            channel_id=row[1],
            private=bool(row[2]),
            message_id=row[3],
            thread_id=row[4],
            excerpt=row[5],
            topics=tuple(row[6] or ()),
            created_at=as_utc(row[7]),
        )
        for row in result.all()
    ]


async def private_memberships(
    session: AsyncSession, platform: str, workspace: str
) -> dict[int, frozenset[str]]:
    """Private channels each person of a workspace has posted in."""
    result = await session.exec(
        select(ChannelActivity.person_id, ChannelActivity.channel_id)
        .where(
            ChannelActivity.platform == platform,
            ChannelActivity.workspace == workspace,
            col(ChannelActivity.private).is_(True),
        )
        .distinct()
    )
    found: dict[int, set[str]] = {}
    for person_id, channel_id in result.all():
        found.setdefault(person_id, set()).add(channel_id)
    return {pid: frozenset(channels) for pid, channels in found.items()}


def bounded_key(prefix: str, *parts: str) -> str:
    """Item keys fit the 300-character column whatever the platform's ids look like."""
    key = prefix + ":" + ":".join(parts)
    if len(key) <= 300:
        return key
    return prefix + ":" + hashlib.sha1(key.encode()).hexdigest()


def chat_item_key(platform: str, workspace: str, channel_id: str, root: str) -> str:
    """The digest item key of one channel conversation (thread, or a message on its own)."""
    return bounded_key("chat", platform, workspace, channel_id, root)


REDACTED_TITLE = "A conversation (removed: a participant asked to be forgotten)"


async def redact_quotes_of(session: AsyncSession, author_id: int) -> int:
    """Erasure reaches copies: other readers' digest items built from conversations this
    author took part in quote them (the title is an excerpt, the topics their keyphrases).
    Those items keep their id and key (so buttons and "never twice" still work) but lose
    every word: title, topics, reason and link; and where the bot's replies to those readers
    repeated an item's title word for word (their digest items are a tool the model can
    read), the title is replaced there too. Call before the author's rows are deleted."""
    found = await _items_quoting(session, author_id)
    for chunk in _chunks(sorted(found), 500):
        await session.exec(
            update(DigestItem).where(col(DigestItem.id).in_(chunk)).values(**_REDACTED)
        )
    titles: dict[int, set[str]] = {}
    for reader, title in found.values():
        quoted = title.removesuffix("…").strip()
        if len(quoted) >= MIN_QUOTED_TITLE:
            titles.setdefault(reader, set()).add(quoted)
    for reader, quoted_titles in titles.items():
        await _redact_replies(session, reader, quoted_titles)
    return len(found)


async def _items_quoting(session: AsyncSession, author_id: int) -> dict[int, tuple[int, str]]:
    """Other readers' items quoting the author, not redacted yet: id → (reader, title).
    Found by the quotes recorded with each item; items recorded before those existed
    (migration 0014) through the author's excerpts while they last."""
    items = table_of(DigestItem)
    columns = (items.c.id, items.c.person_id, items.c.title)
    others = (items.c.person_id != author_id, items.c.title != REDACTED_TITLE)
    quoted = sa_select(table_of(DigestQuote).c.item_id).where(
        table_of(DigestQuote).c.person_id == author_id
    )
    result = await session.exec(  # type: ignore[call-overload]
        sa_select(*columns).where(items.c.id.in_(quoted), *others)
    )
    found = {int(i): (int(reader), str(title)) for i, reader, title in result.all()}
    activity = table_of(ChannelActivity)
    rows = await session.exec(  # type: ignore[call-overload]
        sa_select(
            activity.c.platform,
            activity.c.workspace,
            activity.c.channel_id,
            activity.c.thread_id,
            activity.c.message_id,
        ).where(activity.c.person_id == author_id)
    )
    keys = {
        chat_item_key(platform, workspace, channel, thread or message)
        for platform, workspace, channel, thread, message in rows.all()
    }
    for chunk in _chunks(sorted(keys), 500):
        result = await session.exec(  # type: ignore[call-overload]
            sa_select(*columns).where(items.c.item_key.in_(chunk), *others)
        )
        found.update({int(i): (int(reader), str(title)) for i, reader, title in result.all()})
    return found


# Shorter titles are too likely to be a reply's own words to be replaced in it.
MIN_QUOTED_TITLE = 12


async def _redact_replies(session: AsyncSession, reader: int, titles: set[str]) -> None:
    """The titles replaced in the reader's assistant turns: the turns holding any of them
    read in one statement per 50 titles, each changed one written back with its topics
    unread (read again from the new text when the reply is next judged)."""
    turns = table_of(ConversationTurn)
    ordered = sorted(titles, key=len, reverse=True)  # a title inside a longer one after it
    changed: dict[int, str] = {}
    for chunk in _chunks(ordered, 50):
        result = await session.exec(  # type: ignore[call-overload]
            sa_select(turns.c.id, turns.c.text).where(
                turns.c.person_id == reader,
                turns.c.role == "assistant",
                or_(*(turns.c.text.contains(title, autoescape=True) for title in chunk)),
            )
        )
        for turn_id, text in result.all():
            changed.setdefault(int(turn_id), str(text))
    for turn_id, text in changed.items():
        new = text
        for title in ordered:
            new = new.replace(title, REDACTED_TITLE)
        if new != text:
            await session.exec(
                update(turns).where(turns.c.id == turn_id).values(text=new, topics=None)
            )


_REDACTED: dict[str, Any] = {"title": REDACTED_TITLE, "topics": [], "reason": "", "url": None}


def _chunks(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def prune_activity(session: AsyncSession, before: dt.datetime) -> int:
    result = await session.exec(
        delete(ChannelActivity).where(col(ChannelActivity.created_at) < as_utc(before))
    )
    return int(result.rowcount or 0)


# Feeds ------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FeedRef:
    url: str
    title: str | None
    trusted: bool  # workspace feeds are configured by an operator; personal ones are not


async def feeds_for(
    session: AsyncSession, person_id: int, platform: str, workspace: str
) -> list[FeedRef]:
    shared = await session.exec(
        select(WorkspaceFeed)
        .where(WorkspaceFeed.platform == platform, WorkspaceFeed.workspace == workspace)
        .order_by(col(WorkspaceFeed.id))
    )
    own = await session.exec(
        select(PersonFeed).where(PersonFeed.person_id == person_id).order_by(col(PersonFeed.id))
    )
    feeds = [FeedRef(f.url, f.title, True) for f in shared]
    known = {f.url for f in feeds}
    feeds.extend(FeedRef(f.url, f.title, False) for f in own if f.url not in known)
    return feeds


async def workspace_feed_map(
    session: AsyncSession, platform: str, workspace: str
) -> dict[int | None, list[FeedRef]]:
    """Every feed of a workspace in two queries: the shared ones under ``None``, each
    person's own under their id (loaded once per run instead of once per person)."""
    found: dict[int | None, list[FeedRef]] = {None: []}
    shared = await session.exec(
        select(WorkspaceFeed)
        .where(WorkspaceFeed.platform == platform, WorkspaceFeed.workspace == workspace)
        .order_by(col(WorkspaceFeed.id))
    )
    found[None] = [FeedRef(f.url, f.title, True) for f in shared]
    own = await session.exec(
        select(PersonFeed)
        .join(Person, col(Person.id) == col(PersonFeed.person_id))
        .where(Person.platform == platform, Person.workspace == workspace)
        .order_by(col(PersonFeed.id))
    )
    for feed in own:
        found.setdefault(feed.person_id, []).append(FeedRef(feed.url, feed.title, False))
    return found


async def person_feeds(session: AsyncSession, person_id: int) -> list[PersonFeed]:
    result = await session.exec(
        select(PersonFeed).where(PersonFeed.person_id == person_id).order_by(col(PersonFeed.id))
    )
    return list(result)


async def add_person_feed(
    session: AsyncSession, person_id: int, url: str, *, at: dt.datetime
) -> bool:
    stmt = (
        insert_for(session, table_of(PersonFeed))
        .values(person_id=person_id, url=url, created_at=as_utc(at))
        .on_conflict_do_nothing(index_elements=["person_id", "url"])
        .returning(table_of(PersonFeed).c.id)
    )
    return (await session.exec(stmt)).first() is not None


async def remove_person_feed(session: AsyncSession, person_id: int, url: str) -> bool:
    result = await session.exec(
        delete(PersonFeed).where(col(PersonFeed.person_id) == person_id, col(PersonFeed.url) == url)
    )
    return bool(result.rowcount)


async def workspace_feeds(
    session: AsyncSession, platform: str | None = None, workspace: str | None = None
) -> list[WorkspaceFeed]:
    stmt = select(WorkspaceFeed).order_by(col(WorkspaceFeed.id))
    if platform is not None:
        stmt = stmt.where(WorkspaceFeed.platform == platform)
    if workspace is not None:
        stmt = stmt.where(WorkspaceFeed.workspace == workspace)
    return list(await session.exec(stmt))


async def add_workspace_feed(
    session: AsyncSession,
    platform: str,
    workspace: str,
    url: str,
    title: str | None = None,
    *,
    at: dt.datetime,
) -> bool:
    stmt = (
        insert_for(session, table_of(WorkspaceFeed))
        .values(
            platform=platform,
            workspace=workspace,
            url=url,
            title=title,
            created_at=as_utc(at),
        )
        .on_conflict_do_nothing(index_elements=["platform", "workspace", "url"])
        .returning(table_of(WorkspaceFeed).c.id)
    )
    return (await session.exec(stmt)).first() is not None


async def remove_workspace_feed(
    session: AsyncSession, platform: str, workspace: str, url: str
) -> bool:
    result = await session.exec(
        delete(WorkspaceFeed).where(
            col(WorkspaceFeed.platform) == platform,
            col(WorkspaceFeed.workspace) == workspace,
            col(WorkspaceFeed.url) == url,
        )
    )
    return bool(result.rowcount)
