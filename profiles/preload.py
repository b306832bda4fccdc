"""The sender's small rows (and whether they keep memories), read ahead in one statement
and kept for the rest of one transaction.

Why: a reply needs the sender's person, consent, identity link, preference rows and the
channel's policy several times over (identify, consent gate, platform context, prompt
assembly), and each lookup used to be its own round trip (issue 16: ~17 statements a DM).
:func:`read_sender` fetches them together; person and consent then sit in the session's
identity map (``session.get`` finds them without SQL), and link and preference rows — which
``session.get`` cannot answer for "none" or "many" — are kept in ``session.info`` for
:func:`preference_rows` and :func:`known_link`. :func:`sender_from_rows` makes the same of
the statement's rows read straight on the driver — outside any transaction
(:func:`read_sender_now`: a preview), or in a steady sender's claim
(bot/pipeline/identify.py) — and hands them on in the same form.

Why only for one transaction (or the read-only assembly of the same reply, which begins the
moment that transaction commits: :func:`hand_over`, :func:`take_over`), not across messages:
nothing read here outlives its reply, so there is nothing to invalidate when this or another
worker, the CLI or a retention purge changes consent, preferences or links, or forgets the
person — the next message reads them afresh in the same single statement. A cross-message
cache would save one statement at most and could not see other workers' changes. Writes
inside the transaction that read ahead drop what they change (:func:`drop`):
``ProfileEngine.set_preference`` and ``reset_preferences``, linking identities, remembering,
and an admin's channel exclusion.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import and_, bindparam, exists, func
from sqlalchemy import select as select_rows
from sqlalchemy.dialects import postgresql
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from profiles.admin_models import ChannelPolicy
from profiles.db import Database
from profiles.detached import detached
from profiles.memory_models import IdentityLink, Memory
from profiles.models import Consent, Person, Preference, ProcessedEvent, table_of
from profiles.upsert import any_of, dialect_of

_INFO_KEY = "tailorbot.preloaded"
PREFERENCES = "preferences"
LINK = "link"
CHANNEL = "channel"  # keyed by (platform, workspace, channel id), not by person
HAS_MEMORIES = "has_memories"
M = TypeVar("M")


@dataclass(slots=True)
class Sender:
    """One person's small rows as :func:`read_sender` found them (None: no such row)."""

    person: Person
    consent: Consent | None
    link: IdentityLink | None
    channel_policy: ChannelPolicy | None
    preferences: list[Preference] = field(default_factory=list)
    # False when the person was just created: nothing else was read ahead then.
    read_ahead: bool = True


async def read_sender(
    session: AsyncSession, platform: str, workspace: str, user_id: str, channel_id: str = ""
) -> Sender | None:
    """The person behind the key with consent, link, preference rows and the policy of
    ``channel_id`` ("" for none), in one statement (one row per preference, at least one);
    None when the person does not exist yet. Link and preferences are kept for this
    transaction (see the module docstring)."""
    rows = list(
        await session.exec(
            _sender_statement(), params=sender_values(platform, workspace, user_id, channel_id)
        )
    )
    if not rows:
        return None
    person, consent, link, policy, _, has_memories = rows[0]
    preferences = [row[4] for row in rows if row[4] is not None]
    assert person.id is not None
    keep(session, PREFERENCES, person.id, preferences)
    keep(session, LINK, person.id, link)
    keep(session, HAS_MEMORIES, person.id, bool(has_memories))
    if channel_id:
        keep(session, CHANNEL, (platform, workspace, channel_id), policy)
    return Sender(person, consent, link, policy, preferences)


@functools.cache
def _sender_statement(entities: bool = True) -> Any:
    """:func:`read_sender`'s statement, built once with bound parameters: it is sent for every
    answered message and preview, and building it (six entities, four joins) and computing
    its cache key cost ~0.25 ms of Python a time. ``entities`` False: the same rows as plain
    columns, table after table (:data:`_SENDER_TABLES`), for :func:`read_sender_now`."""
    selected: tuple[Any, ...] = (
        (Person, Consent, IdentityLink, ChannelPolicy, Preference)
        if entities
        else tuple(column for table in _SENDER_TABLES for column in table.c)
    )
    stmt = (
        # SQLAlchemy's select: SQLModel's is typed for at most four entities.
        select_rows(
            *selected,
            # Most people keep no memories: then the prompt need not ask for them.
            exists().where(col(Memory.person_id) == col(Person.id)).label("has_memories"),
        )
        .outerjoin(Consent, col(Consent.person_id) == col(Person.id))
        .outerjoin(IdentityLink, col(IdentityLink.person_id) == col(Person.id))
        .outerjoin(
            ChannelPolicy,
            and_(
                col(ChannelPolicy.platform) == col(Person.platform),
                col(ChannelPolicy.workspace) == col(Person.workspace),
                col(ChannelPolicy.channel_id) == bindparam("channel_id"),
            ),
        )
        .outerjoin(Preference, col(Preference.person_id) == col(Person.id))
        .where(
            col(Person.platform) == bindparam("platform"),
            col(Person.workspace) == bindparam("workspace"),
            col(Person.user_id) == bindparam("user_id"),
        )
        .order_by(col(Preference.id))
    )
    # Rows of this transaction's earlier reads are refreshed, never served stale.
    return stmt.execution_options(populate_existing=True) if entities else stmt


_SENDER_TABLES = tuple(
    table_of(model) for model in (Person, Consent, IdentityLink, ChannelPolicy, Preference)
)


def _spans() -> tuple[slice, ...]:
    """Where each of :data:`_SENDER_TABLES` sits in a row of the statement without entities."""
    spans: list[slice] = []
    start = 0
    for table in _SENDER_TABLES:
        spans.append(slice(start, start + len(table.c)))
        start += len(table.c)
    return tuple(spans)


_SENDER_SPANS = _spans()


async def read_sender_now(
    db: Database, platform: str, workspace: str, user_id: str, channel_id: str = ""
) -> tuple[Sender, ReadAhead] | None:
    """:func:`read_sender` straight on the driver, outside any transaction
    (:meth:`Database.read_all`): the same statement and rows (:func:`sender_from_rows`).
    None when the person does not exist yet."""
    rows = await db.read_all(
        sender_statement_now(), sender_values(platform, workspace, user_id, channel_id)
    )
    return sender_from_rows(rows, platform, workspace, channel_id)


def sender_statement_now() -> Any:
    """:func:`read_sender`'s statement as plain columns, for the driver
    (:func:`read_sender_now`, a steady sender's claim: bot/pipeline/identify.py)."""
    return _sender_statement(False)


@functools.cache
def sender_claiming_statement() -> Any:
    """PostgreSQL: :func:`sender_statement_now` that also claims a message for its sender in
    the same statement — the claim a data-modifying ``WITH`` part, one ``processed_event``
    row for ``claim_event_id`` at ``claim_at``, unless that event is claimed already — with
    one more column last: how many it claimed (1; 0 for a duplicate, or for nobody to claim
    for: no rows then). Its values: :func:`sender_values` and those two. Why: a steady
    sender's read and claim were two round trips of a DM's four on PostgreSQL, in
    autocommit each (bot/pipeline/identify.py)."""
    person, claims = table_of(Person), table_of(ProcessedEvent)
    who = select_rows(
        person.c.id,
        bindparam("platform", type_=claims.c.platform.type),
        bindparam("workspace", type_=claims.c.workspace.type),
        bindparam("claim_event_id", type_=claims.c.event_id.type),
        bindparam("claim_at", type_=claims.c.processed_at.type),
    ).where(
        person.c.platform == bindparam("platform"),
        person.c.workspace == bindparam("workspace"),
        person.c.user_id == bindparam("user_id"),
    )
    claim = (
        postgresql.insert(claims)
        .from_select(["person_id", "platform", "workspace", "event_id", "processed_at"], who)
        .on_conflict_do_nothing(index_elements=["platform", "workspace", "event_id"])
        .returning(claims.c.id)
        .cte("claimed")
    )
    claimed = select_rows(func.count()).select_from(claim).scalar_subquery()
    return _sender_statement(False).add_cte(claim).add_columns(claimed.label("claimed"))


def sender_values(platform: str, workspace: str, user_id: str, channel_id: str) -> dict[str, str]:
    """The named values of :func:`read_sender`'s statement, in either form."""
    return {"platform": platform, "workspace": workspace, "user_id": user_id,
            "channel_id": channel_id}


def sender_from_rows(
    rows: Sequence[Sequence[Any]], platform: str, workspace: str, channel_id: str
) -> tuple[Sender, ReadAhead] | None:
    """The rows of :func:`sender_statement_now` as :func:`read_sender` returns them, objects
    of no session, and what a transaction would have kept of them, as a :class:`ReadAhead`
    for the reply's assembly (the consent row in it, detached: the assembly's session takes
    it in as a clean row). None for no rows: the person does not exist yet. Why: the
    sender's read through the session opened every reply's claim transaction and cost a DM
    more than any other statement (docs/measurement.md, "A steady sender's claim straight
    to the driver")."""
    if not rows:
        return None
    first = rows[0]
    person = _sender_part(Person, 0, first)
    assert person is not None and person.id is not None  # the inner side of the joins
    # Only the consent row joins the next session (take_over): the others are read, never
    # written through a session (preference writes are statements: ProfileEngine).
    consent = _sender_part(Consent, 1, first, identity=True)
    link = _sender_part(IdentityLink, 2, first)
    policy = _sender_part(ChannelPolicy, 3, first)
    preferences = [
        preference for row in rows
        if (preference := _sender_part(Preference, 4, row)) is not None
    ]
    sender = Sender(person, consent, link, policy, preferences)
    memo: dict[tuple[str, object], Any] = {
        (PREFERENCES, person.id): preferences,
        (LINK, person.id): link,
        (HAS_MEMORIES, person.id): bool(first[-1]),
    }
    if channel_id:
        memo[(CHANNEL, (platform, workspace, channel_id))] = policy
    return sender, ReadAhead(memo, (consent,) if consent is not None else ())


def _sender_part(
    model: type[M], index: int, row: Sequence[Any], *, identity: bool = False
) -> M | None:
    return detached(model, _SENDER_TABLES[index], row[_SENDER_SPANS[index]], identity=identity)


async def read_senders(
    session: AsyncSession, keys: set[tuple[str, str, str]]
) -> dict[tuple[str, str, str], Sender]:
    """:func:`read_sender` for many (platform, workspace, user id) keys in one statement (on
    SQLite one per workspace: :func:`_keys_where`) —
    person, consent and preference rows, not link or channel (:func:`channel_policies`): the
    observed channel messages and reactions of one batch (bot/pipeline/intake.py). People not
    found are absent from the result. Nothing is kept in the session: the caller hands each
    sender on."""
    if not keys:
        return {}
    stmt, executions = _senders_statement(dialect_of(session))
    found: dict[tuple[str, str, str], Sender] = {}
    for params in executions(keys):
        rows = await session.exec(stmt, params=params)
        for person, consent, preference in rows:
            key = (person.platform, person.workspace, person.user_id)
            sender = found.get(key)
            if sender is None:
                sender = found[key] = Sender(person, consent, None, None)
            if preference is not None:
                sender.preferences.append(preference)
    return found


async def channel_policies(
    session: AsyncSession, channels: set[tuple[str, str, str]]
) -> dict[tuple[str, str, str], ChannelPolicy]:
    """The policy rows of these (platform, workspace, channel id) in one statement (on SQLite
    one per workspace: :func:`_keys_where`); channels without a row (no admin said anything)
    are absent."""
    if not channels:
        return {}
    stmt, executions = _policies_statement(dialect_of(session))
    found: dict[tuple[str, str, str], ChannelPolicy] = {}
    for params in executions(channels):
        for row in await session.exec(stmt, params=params):
            found[(row.platform, row.workspace, row.channel_id)] = row
    return found


async def preference_rows(session: AsyncSession, person_id: int) -> Sequence[Preference]:
    """The person's stored preference rows: those read ahead in this transaction, else read
    now (and kept)."""
    found, rows = _recall(session, PREFERENCES, person_id)
    if found:
        return rows
    result = await session.exec(
        select(Preference)
        .where(Preference.person_id == person_id)
        .order_by(col(Preference.id))
        .execution_options(populate_existing=True)
    )
    read = list(result)
    keep(session, PREFERENCES, person_id, read)
    return read


def known_link(session: AsyncSession, person_id: int) -> tuple[bool, IdentityLink | None]:
    """(True, link or None) when this transaction read the person's link ahead; (False, None)
    when the caller must read it."""
    found, link = _recall(session, LINK, person_id)
    return found, link


def known_without_memories(session: AsyncSession, person_id: int) -> bool:
    """True when this transaction read ahead that the person keeps no memories."""
    found, has = _recall(session, HAS_MEMORIES, person_id)
    return found and not has


def known_channel_policy(
    session: AsyncSession, platform: str, workspace: str, channel_id: str
) -> tuple[bool, ChannelPolicy | None]:
    """(True, row or None) when this transaction read the channel's policy ahead."""
    found, row = _recall(session, CHANNEL, (platform, workspace, channel_id))
    return found, row


@dataclass(frozen=True, slots=True)
class ReadAhead:
    """What one transaction read ahead, handed to the next transaction of the same reply."""

    memo: dict[tuple[str, object], Any]
    rows: tuple[Any, ...]  # ORM rows for the next session's identity map (``session.get``)


def hand_over(session: AsyncSession, *rows: Any) -> ReadAhead:
    """What ``session`` read ahead (what its own writes did not drop), and ``rows`` it holds
    (the sender's consent), for :func:`take_over` once it has committed. Why: a reply's
    assembly reads in a transaction of its own after the writes commit (on SQLite it must not
    hold the one writer), and reading the same small rows again would cost statements."""
    return ReadAhead(
        dict(session.info.get(_INFO_KEY, {})), tuple(row for row in rows if row is not None)
    )


def take_over(session: AsyncSession, read_ahead: ReadAhead) -> None:
    """Give ``session`` what an earlier, committed transaction of the same reply read ahead.
    The rows join its identity map unchanged (not new, not dirty: a read-only transaction
    stays read-only)."""
    session.info[_INFO_KEY] = dict(read_ahead.memo)
    for row in read_ahead.rows:
        session.add(row)


def keep(session: AsyncSession, kind: str, key: object, value: Any) -> None:
    """Keep ``value`` for the rest of this transaction (``key``: the person's id, or what
    :data:`CHANNEL` says)."""
    session.info.setdefault(_INFO_KEY, {})[(kind, key)] = value


def drop(session: AsyncSession, kind: str, key: object) -> None:
    """Forget what this transaction read ahead of ``kind`` for ``key`` (it just changed)."""
    session.info.get(_INFO_KEY, {}).pop((kind, key), None)


def _recall(session: AsyncSession, kind: str, key: object) -> tuple[bool, Any]:
    memo = session.info.get(_INFO_KEY)
    if memo is None or (kind, key) not in memo:
        return False, None
    return True, memo[(kind, key)]


Keys = set[tuple[str, str, str]]  # (platform, workspace, an id within the workspace)
Executions = Callable[[Keys], list[dict[str, Any]]]


@functools.lru_cache(maxsize=2)
def _senders_statement(dialect: str) -> tuple[Any, Executions]:
    """Built once per dialect (building it and its cache key for every batch cost more than
    running it), with the parameters of its executions for a set of keys
    (:func:`_keys_where`)."""
    where, executions = _keys_where(
        dialect, col(Person.platform), col(Person.workspace), col(Person.user_id)
    )
    stmt = (
        select_rows(Person, Consent, Preference)
        .outerjoin(Consent, col(Consent.person_id) == col(Person.id))
        .outerjoin(Preference, col(Preference.person_id) == col(Person.id))
        .where(where)
        .order_by(col(Person.id), col(Preference.id))
    )
    return stmt, executions


@functools.lru_cache(maxsize=2)
def _policies_statement(dialect: str) -> tuple[Any, Executions]:
    where, executions = _keys_where(
        dialect, col(ChannelPolicy.platform), col(ChannelPolicy.workspace),
        col(ChannelPolicy.channel_id),
    )
    return select(ChannelPolicy).where(where), executions


def _keys_where(
    dialect: str, platform: Any, workspace: Any, key: Any
) -> tuple[Any, Executions]:
    """A condition matching rows of a set of (platform, workspace, key) keys, and the
    parameters of its executions for such a set.

    SQLite: one execution per workspace (one, most of the time), its keys as a list — with
    the three columns as one list (``(platform, workspace, key) IN …``) SQLite scanned the
    whole table instead of using its index on the three: at 100k people a batch's read of
    its senders cost 171 µs of the event loop a person, against 61 this way
    (docs/measurement.md, twenty-fourth session). PostgreSQL: the three columns as arrays,
    one execution; it finds each key by the index whether or not the table has statistics
    yet, where a list of keys within a workspace, on a table just filled and not analysed,
    was a scan of the workspace's index entries (10.7 ms against 0.33 at 100k people)."""
    if dialect == "postgresql":
        keys = any_of(dialect, "keys", platform, workspace, key)
        return keys.clause, lambda wanted: [keys.params(wanted)]
    listed = any_of(dialect, "keys", key)
    where = and_(platform == bindparam("platform"), workspace == bindparam("workspace"),
                 listed.clause)

    def executions(wanted: Keys) -> list[dict[str, Any]]:
        by_workspace: dict[tuple[str, str], set[str]] = {}
        for platform_of, workspace_of, key_of in wanted:
            by_workspace.setdefault((platform_of, workspace_of), set()).add(key_of)
        return [
            {"platform": platform_of, "workspace": workspace_of, **listed.params(keys)}
            for (platform_of, workspace_of), keys in by_workspace.items()
        ]

    return where, executions
