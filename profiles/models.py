"""SQLModel tables of the personalization memory.

Contract (checked by tests/profiles/test_privacy.py): every table that holds data about a person
has a ``person_id`` column with a foreign key to ``person.id``. Export and deletion discover
tables through that key, so a new table is covered the moment it follows the rule.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Protocol, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Table,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.types import TypeEngine
from sqlmodel import Field, SQLModel

# 64-bit ids on PostgreSQL; on SQLite only INTEGER PRIMARY KEY auto-increments (rowid alias).
# Declared, not inferred: the model modules imported at the end of this one use it, and an
# incremental mypy run from a cache left by other code could not infer it across that cycle.
BigId: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")


# The longest model name the tables that record one store (a model server's own word, cut
# to this by bot.llm.base.LLMResult).
MODEL_NAME_MAX = 128


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _ts(**kwargs: Any) -> Any:
    """A timezone-aware timestamp column (SQLite stores it as text, PostgreSQL as timestamptz)."""
    return Field(default_factory=utcnow, sa_type=DateTime(timezone=True), **kwargs)


def _person_fk(*, index: bool = True, primary_key: bool = False, nullable: bool = False) -> Any:
    """The owner column of a person's rows. ``index=False`` where a unique constraint already
    leads with it: that index finds a person's rows as well, and a second one would only be
    written on every insert (tests/profiles/test_models.py checks no index is redundant)."""
    return Field(
        default=None if nullable else ...,
        sa_column=Column(
            BigId,
            ForeignKey("person.id", ondelete="CASCADE"),
            nullable=nullable,
            index=index and not primary_key,
            primary_key=primary_key,
        ),
    )


class Source(StrEnum):
    EXPLICIT = "explicit"
    INFERRED = "inferred"
    PLATFORM = "platform"


class ConsentStatus(StrEnum):
    UNKNOWN = "unknown"
    GRANTED = "granted"
    REVOKED = "revoked"


class Person(SQLModel, table=True):
    __tablename__ = "person"
    __table_args__ = (
        UniqueConstraint("platform", "workspace", "user_id", name="uq_person_identity"),
        # One account's identities across workspaces (consent given "everywhere").
        Index("ix_person_platform_user", "platform", "user_id"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    platform: str = Field(max_length=32)
    workspace: str = Field(max_length=128)
    user_id: str = Field(max_length=128)
    display_name: str | None = Field(default=None, max_length=256)
    created_at: dt.datetime = _ts()
    last_seen_at: dt.datetime = _ts()


class Consent(SQLModel, table=True):
    __tablename__ = "consent"

    person_id: int = _person_fk(primary_key=True)
    status: str = Field(default=ConsentStatus.UNKNOWN.value, max_length=16)
    changed_at: dt.datetime = _ts()
    notice_shown_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    # Granted for every workspace of the platform where this account meets the bot (one
    # Discord account in many servers); each workspace's data still stays in that workspace.
    everywhere: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class Preference(SQLModel, table=True):
    """One row per (person, key, source): explicit and inferred values live side by side and
    resolution (explicit > platform > inferred > default) happens on read."""

    __tablename__ = "preference"
    __table_args__ = (UniqueConstraint("person_id", "key", "source", name="uq_preference"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = _person_fk(index=False)  # uq_preference leads with it
    key: str = Field(max_length=64)
    value: str = Field(max_length=2000)
    source: str = Field(max_length=16)
    set_at: dt.datetime = _ts()


class Signal(SQLModel, table=True):
    """The evidence log: every implicit observation, kept so ``/profile`` can say *why*.

    ``source_person_id``: whose words the evidence was read from when they are someone else's
    (a reaction to another person's message teaches the reactor its topics). Their
    ``/forget`` takes that evidence, and what it added to the reactor's interests, with them
    (:mod:`profiles.borrowed`); the foreign key is the safety net that no row outlives them.
    Indexed only where set: one row in ten, and the rest are never looked up by it."""

    __tablename__ = "signal"
    __table_args__ = (
        Index("ix_signal_person_kind_value", "person_id", "kind", "value"),
        Index(
            "ix_signal_source_person_id",
            "source_person_id",
            sqlite_where=text("source_person_id IS NOT NULL"),
            postgresql_where=text("source_person_id IS NOT NULL"),
        ),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    person_id: int = _person_fk(index=False)
    kind: str = Field(max_length=32)
    value: str = Field(max_length=200)
    weight: float = 1.0
    excerpt: str | None = Field(default=None, max_length=200)
    event_id: str | None = Field(default=None, max_length=200)
    created_at: dt.datetime = _ts()
    source_person_id: int | None = Field(
        default=None,
        sa_column=Column(BigId, ForeignKey("person.id", ondelete="CASCADE"), nullable=True),
    )


class Interest(SQLModel, table=True):
    """A learned interest. ``weight`` is the value as of ``updated_ts`` (epoch seconds); the
    current value is ``weight * 0.5 ** (age / half_life)`` (see :mod:`profiles.decay`), so a new
    signal is one atomic upsert, never a rescan of history. ``lasting_weight`` is the same
    evidence with a half-life of a year: what a pause of weeks does not erase."""

    __tablename__ = "interest"
    __table_args__ = (UniqueConstraint("person_id", "topic", name="uq_interest"),)

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    person_id: int = _person_fk(index=False)  # uq_interest leads with it
    topic: str = Field(max_length=200, index=True)
    weight: float = 0.0
    lasting_weight: float = 0.0
    updated_ts: float = 0.0
    evidence_count: int = 0
    positive_feedback: int = 0
    negative_feedback: int = 0
    first_seen_at: dt.datetime = _ts()


class Trait(SQLModel, table=True):
    """Decayed counters for categorical habits: ``kind`` is ``language`` (key: ISO code) or
    ``hour`` (key: local hour 00-23). Same update rule as interests."""

    __tablename__ = "trait"
    __table_args__ = (UniqueConstraint("person_id", "kind", "key", name="uq_trait"),)

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    person_id: int = _person_fk(index=False)  # uq_trait leads with it
    kind: str = Field(max_length=16)
    key: str = Field(max_length=32)
    weight: float = 0.0
    updated_ts: float = 0.0


class StyleProfile(SQLModel, table=True):
    """Exponentially weighted running averages of how a person writes, and how they reacted to
    the length of the bot's replies (what drives inferred verbosity)."""

    __tablename__ = "style_profile"

    person_id: int = _person_fk(primary_key=True)
    messages_seen: int = 0
    avg_length: float = 0.0
    formality: float = 0.0
    emoji_rate: float = 0.0
    liked_replies: int = 0
    disliked_replies: int = 0
    liked_reply_chars: float = 0.0
    disliked_reply_chars: float = 0.0
    updated_at: dt.datetime = _ts()


class ConversationTurn(SQLModel, table=True):
    """History, both sides. Assistant turns keep their topics so reactions become feedback.
    ``topics`` is None for a model's reply whose topics are not read yet: they are read from
    its text the first time it is judged (bot/handlers/feedback.py), not for every reply —
    most replies are never reacted to, and reading one cost an extraction of a text longer
    than the question's on every answer."""

    __tablename__ = "conversation_turn"
    __table_args__ = (
        Index("ix_turn_person_created", "person_id", "created_at"),
        # History is "this person's last N turns by id": without it PostgreSQL, once it has
        # statistics, walks the primary key backwards filtering by person.
        Index("ix_turn_person_id", "person_id", "id"),
        Index("ix_turn_platform_message", "platform_message_id"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    person_id: int = _person_fk(index=False)
    role: str = Field(max_length=16)
    text: str
    channel_id: str = Field(default="", max_length=128)
    thread_id: str | None = Field(default=None, max_length=128)
    platform_message_id: str | None = Field(default=None, max_length=200)
    topics: list[str] | None = Field(
        default_factory=list, sa_column=Column(JSON(none_as_null=True), nullable=True)
    )
    model: str | None = Field(default=None, max_length=MODEL_NAME_MAX)
    created_at: dt.datetime = _ts()


class Feedback(SQLModel, table=True):
    __tablename__ = "feedback"

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    person_id: int = _person_fk()
    turn_id: int | None = Field(
        default=None,
        sa_column=Column(
            BigId, ForeignKey("conversation_turn.id", ondelete="SET NULL"), nullable=True
        ),
    )
    value: int
    emoji: str | None = Field(default=None, max_length=64)
    source: str = Field(max_length=16)
    created_at: dt.datetime = _ts()


class ProcessedEvent(SQLModel, table=True):
    """Platform event ids already handled; the unique key is what makes retries harmless."""

    __tablename__ = "processed_event"
    __table_args__ = (
        UniqueConstraint("platform", "workspace", "event_id", name="uq_processed_event"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    person_id: int = _person_fk()
    platform: str = Field(max_length=32)
    workspace: str = Field(max_length=128)
    event_id: str = Field(max_length=200)
    processed_at: dt.datetime = _ts()


# The largest token count ``llm_call`` stores: its columns are INTEGER (PostgreSQL's 32 bits).
TOKEN_COUNT_MAX = 2**31 - 1


def token_count(reported: int | None) -> int | None:
    """A model server's token count as stored: past the column's range it is kept at its
    limit, and a negative one is unknown. Why: the count comes from the server's body, and
    a malformed one (10^13 tokens) made PostgreSQL refuse the record — and the reply with it."""
    if reported is None or reported < 0:
        return None
    return min(reported, TOKEN_COUNT_MAX)


class LLMCall(SQLModel, table=True):
    """Usage and latency of every model call, for cost reporting. ``person_id`` is set only
    for people who allow learning; anonymous calls keep just the numbers."""

    __tablename__ = "llm_call"

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    person_id: int | None = _person_fk(nullable=True)
    purpose: str = Field(max_length=32)
    backend: str = Field(max_length=32)
    model: str = Field(max_length=MODEL_NAME_MAX)
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_ms: float | None = None
    ok: bool = True
    error: str | None = Field(default=None, max_length=500)
    tools: str | None = Field(default=None, max_length=500)  # tools the model called, in order
    created_at: dt.datetime = _ts()

    @classmethod
    def of(
        cls,
        result: ModelUsage | None,
        *,
        purpose: str,
        backend: str,
        at: dt.datetime,
        person_id: int | None = None,
        error: str | None = None,
        latency_ms: float | None = None,
        tools: list[str] | None = None,
    ) -> LLMCall:
        """The record of one call: ``result`` is what the model returned (``None`` when it
        failed before answering), ``error`` marks the call failed (also when an answer came
        back unusable), ``latency_ms`` is the caller's own timing, used when the backend
        reported none. ``at``: when, by the caller's clock (the services' clock: retention
        ages these records by it, so the process's own clock would not do)."""
        return cls(
            person_id=person_id,
            created_at=at,
            purpose=purpose,
            backend=backend,
            model=result.model if result is not None else "",
            input_tokens=token_count(result.input_tokens) if result is not None else None,
            output_tokens=token_count(result.output_tokens) if result is not None else None,
            latency_ms=(result.latency_ms if result is not None else None) or latency_ms,
            ok=error is None,
            error=None if error is None else error[:500],
            tools=",".join(tools)[:500] if tools else None,
        )


class ModelUsage(Protocol):
    """What :meth:`LLMCall.of` reads from a model's answer (``bot.llm.LLMResult`` has it;
    profiles/ cannot import bot/)."""

    @property
    def model(self) -> str: ...
    @property
    def input_tokens(self) -> int | None: ...
    @property
    def output_tokens(self) -> int | None: ...
    @property
    def latency_ms(self) -> float | None: ...


class Recommendation(SQLModel, table=True):
    """Something the bot recommended, kept so it is never recommended twice and so feedback
    on it can reach the profile."""

    __tablename__ = "recommendation"
    __table_args__ = (Index("ix_recommendation_person_created", "person_id", "created_at"),)

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    person_id: int = _person_fk(index=False)
    request: str = Field(max_length=500)
    title: str = Field(max_length=300)
    normalised_title: str = Field(max_length=300)
    reason: str = Field(default="", max_length=500)
    topics: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    score: float = 0.0
    status: str = Field(default="shown", max_length=16)  # shown | liked | disliked | done
    created_at: dt.datetime = _ts()
    feedback_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class ProfileSummary(SQLModel, table=True):
    """The model's structured reading of a person's recent behaviour (batched, not per
    message). Shown in /profile with its provenance; the person can correct or delete it, and
    it never overrides an explicit preference."""

    __tablename__ = "profile_summary"

    person_id: int = _person_fk(primary_key=True)
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    model: str = Field(max_length=MODEL_NAME_MAX)
    based_on_turns: int = 0
    created_at: dt.datetime = _ts()
    corrected_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a model (typed, for insert/upsert statements)."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


def person_tables() -> list[Any]:
    """Every table with a ``person_id`` foreign key to ``person``, in a deletion-safe order
    (children before parents)."""
    tables = [
        table
        for table in SQLModel.metadata.sorted_tables
        if any(
            fk.column.table.name == "person" and fk.parent.name == "person_id"
            for fk in table.foreign_keys
        )
    ]
    return list(reversed(tables))


# Digests ----------------------------------------------------------------------------------
# Scheduled personalised digests (bot/digest/). Every table about a person follows the
# person_id contract above, so /export and /forget cover digests without extra code.

from sqlalchemy import Boolean, Float, LargeBinary, Unicode  # noqa: E402


class DigestSubscription(SQLModel, table=True):
    """The schedule derived from a person's ``digest`` preference, with the timezone it was
    built in and where to deliver. Kept in the database so every worker can rebuild its
    scheduler jobs from it, and so a timezone change can be detected at fire time."""

    __tablename__ = "digest_subscription"

    person_id: int = _person_fk(primary_key=True)
    cadence: str = Field(max_length=16)  # daily | weekdays | weekly (Mondays)
    time: str = Field(max_length=5)  # HH:MM, local to ``timezone``
    timezone: str = Field(max_length=64)
    platform: str = Field(max_length=32)
    channel_id: str = Field(default="", max_length=128)  # "" = a direct message
    created_at: dt.datetime = _ts()
    updated_at: dt.datetime = _ts()


class DigestRun(SQLModel, table=True):
    """One digest for one person and one period (``2026-11-26`` or ``2026-W48``). The row is
    inserted *before* anything is delivered and is unique per (person, period): whichever
    worker inserts it owns the send, so restarts, misfires and racing workers send once."""

    __tablename__ = "digest_run"
    __table_args__ = (UniqueConstraint("person_id", "period_key", name="uq_digest_run_period"),)

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    person_id: int = _person_fk(index=False)
    period_key: str = Field(max_length=16)
    scheduled_for: dt.datetime = Field(sa_type=DateTime(timezone=True))
    # building → delivering → sent | empty | failed | skipped
    status: str = Field(default="building", max_length=16)
    claimed_at: dt.datetime = _ts()
    sent_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    item_count: int = 0
    error: str | None = Field(default=None, max_length=500)


class DigestItem(SQLModel, table=True):
    """An item that went out in a digest: never shown again, and the target of the "more /
    less like this" buttons and of engagement counts for later evaluation."""

    __tablename__ = "digest_item"
    __table_args__ = (
        UniqueConstraint("person_id", "item_key", name="uq_digest_item_key"),
        Index("ix_digest_item_person_fingerprint", "person_id", "fingerprint"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    person_id: int = _person_fk(index=False)
    run_id: int = Field(
        sa_column=Column(
            BigId, ForeignKey("digest_run.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    item_key: str = Field(max_length=300)
    fingerprint: str = Field(max_length=300)
    position: int = 0
    title: str = Field(max_length=300)
    url: str | None = Field(default=None, max_length=1000)
    source: str = Field(max_length=32)
    topics: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    reason: str = Field(default="", max_length=300)
    score: float = 0.0
    feedback: int = 0  # +1 "more like this", -1 "less like this", 0 none
    engaged_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    opened_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    created_at: dt.datetime = _ts()


class DigestQuote(SQLModel, table=True):
    """Someone whose words a digest item carries: a channel conversation's authors (its
    title is an excerpt of theirs, its topics their keyphrases), on an item that is mostly
    another reader's. /forget of an author redacts every item they are quoted in
    (``bot.digest.store.redact_quotes_of``); kept with the item, not found through the
    excerpts it was built from, since those expire long before it (14 days against 180)."""

    __tablename__ = "digest_quote"

    person_id: int = _person_fk(primary_key=True)
    item_id: int = Field(
        sa_column=Column(
            BigId,
            ForeignKey("digest_item.id", ondelete="CASCADE"),
            primary_key=True,
            index=True,  # the item's deletion (retention, a failed run) finds its quotes
        )
    )


class ChannelActivity(SQLModel, table=True):
    """A channel message by a consented author, kept (as a short excerpt and its topics) so
    digests can say what a reader missed. ``person_id`` is the author: /forget of the author
    removes it; ``private`` channels are shown only to readers who posted there."""

    __tablename__ = "channel_activity"
    __table_args__ = (
        Index("ix_channel_activity_space_created", "platform", "workspace", "created_at"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    person_id: int = _person_fk()
    platform: str = Field(max_length=32)
    workspace: str = Field(max_length=128)
    channel_id: str = Field(max_length=128)
    private: bool = Field(default=False, sa_type=Boolean)
    message_id: str = Field(default="", max_length=200)
    thread_id: str | None = Field(default=None, max_length=200)
    excerpt: str = Field(default="", max_length=300)
    topics: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: dt.datetime = _ts()


class PersonFeed(SQLModel, table=True):
    """An RSS/Atom feed a person added to their own digest."""

    __tablename__ = "person_feed"
    __table_args__ = (UniqueConstraint("person_id", "url", name="uq_person_feed"),)

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    person_id: int = _person_fk(index=False)
    url: str = Field(max_length=1000)
    title: str | None = Field(default=None, max_length=300)
    created_at: dt.datetime = _ts()


class WorkspaceFeed(SQLModel, table=True):
    """An RSS/Atom feed an operator configured for everyone in a workspace. It holds no data
    about a person (no ``person_id``), so it stays when someone is forgotten."""

    __tablename__ = "workspace_feed"
    __table_args__ = (UniqueConstraint("platform", "workspace", "url", name="uq_workspace_feed"),)

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    platform: str = Field(max_length=32)
    workspace: str = Field(max_length=128)
    url: str = Field(max_length=1000)
    title: str | None = Field(default=None, max_length=300)
    created_at: dt.datetime = _ts()


# APScheduler's SQLAlchemyJobStore table, declared here (same shape as APScheduler 3 creates)
# so that migrations own it: the schema test sees no unknown table and `tailorbot db upgrade`
# prepares everything before any worker starts.
SCHEDULER_JOBS = Table(
    "apscheduler_jobs",
    SQLModel.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)


# Explicit memories and linked identities live in their own module; importing it here
# registers the tables wherever the models are loaded (migrations, privacy walk).
from profiles.memory_models import (  # noqa: E402,F401
    IdentityLink,
    LinkAttempt,
    LinkCode,
    Memory,
)
