"""Tables of explicit memories and linked identities (issue 14).

Each follows the ``person_id`` contract of :mod:`profiles.models`, so ``/export`` and
``/forget`` cover them without extra code. A link between identities is one row per identity
(``group_key`` shared by every linked identity), so each identity's own export shows its link
and forgetting one identity removes only its own membership.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Column, DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from profiles.models import BigId, _person_fk, _ts


class MemoryScope:
    """Where a memory applies: every identity the person linked, or only this one."""

    LINKED = "linked"
    WORKSPACE = "workspace"


class Memory(SQLModel, table=True):
    """Something a person explicitly asked the bot to remember. Asking is consent for that
    item, so it is kept (and used) even for people who do not allow learning; ``source`` and
    ``source_event_id`` say where it came from (a message, a command or the model's remember
    tool acting on the person's words)."""

    __tablename__ = "memory"
    __table_args__ = (UniqueConstraint("person_id", "key", name="uq_memory_key"),)

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    person_id: int = _person_fk(index=False)  # uq_memory_key leads with it
    text: str = Field(max_length=500)
    key: str = Field(max_length=500)  # normalised text: one memory per fact
    scope: str = Field(default=MemoryScope.LINKED, max_length=16)
    source: str = Field(max_length=16)  # message | command | tool
    source_event_id: str | None = Field(default=None, max_length=200)
    created_at: dt.datetime = _ts()


class IdentityLink(SQLModel, table=True):
    """This identity's membership of a group of identities one human linked on purpose.
    ``share_preferences`` is this identity's choice to lend its explicit preferences to the
    others; interests are shared only between identities that each allow learning."""

    __tablename__ = "identity_link"

    person_id: int = _person_fk(primary_key=True)
    group_key: str = Field(max_length=32, index=True)
    share_preferences: bool = Field(default=False, sa_type=Boolean)
    linked_at: dt.datetime = _ts()


class LinkCode(SQLModel, table=True):
    """A one-time code issued by ``/link``. Only its hash is stored; it expires, and it is
    used at most once (``used_at``)."""

    __tablename__ = "link_code"
    __table_args__ = (UniqueConstraint("code_hash", name="uq_link_code_hash"),)

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    person_id: int = _person_fk()
    code_hash: str = Field(max_length=64)
    created_at: dt.datetime = _ts()
    expires_at: dt.datetime = Field(sa_type=DateTime(timezone=True))
    used_at: dt.datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


class LinkAttempt(SQLModel, table=True):
    """A ``/link CODE`` attempt, kept briefly so guessing codes is rate limited per person."""

    __tablename__ = "link_attempt"
    __table_args__ = (Index("ix_link_attempt_person_at", "person_id", "at"),)

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    person_id: int = _person_fk(index=False)
    ok: bool = Field(default=False, sa_type=Boolean)
    at: dt.datetime = _ts()
