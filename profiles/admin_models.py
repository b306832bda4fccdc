"""Tables of workspace administration (bot/commands/admin.py).

``ChannelPolicy`` and ``WorkspaceDefault`` hold no person data: whether the bot may learn from
a channel's messages and collect them for digests, per (platform, workspace, channel), and the
defaults an admin chose for the workspace (consent mode, digest sources, retention).
``AdminAudit`` records every change
an admin made, and *who* made it, so it follows the person_id contract of
:mod:`profiles.models`: the admin's ``/export`` shows their entries and ``/forget`` deletes them
(the policy they set stays).

Registered on ``SQLModel.metadata`` by ``profiles/__init__.py``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from profiles.models import BigId, _person_fk, utcnow


class ChannelPolicy(SQLModel, table=True):
    """A channel an admin excluded from learning and/or digests (no row: both allowed)."""

    __tablename__ = "channel_policy"
    __table_args__ = (
        UniqueConstraint("platform", "workspace", "channel_id", name="uq_channel_policy"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    platform: str = Field(max_length=32)
    workspace: str = Field(max_length=128)
    channel_id: str = Field(max_length=128)
    learn: bool = True
    digest: bool = True
    changed_at: dt.datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class AdminAudit(SQLModel, table=True):
    """One admin change: what, where, by whom (``person_id``), when."""

    __tablename__ = "admin_audit"
    __table_args__ = (Index("ix_admin_audit_workspace", "platform", "workspace", "created_at"),)

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    person_id: int = _person_fk()
    platform: str = Field(max_length=32)
    workspace: str = Field(max_length=128)
    action: str = Field(max_length=64)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class WorkspaceDefault(SQLModel, table=True):
    """One default an admin set for their workspace (no row: the deployment's setting).

    Keys and values are validated by ``bot/workspace_settings.py``; stored as text so a new
    kind of default needs no migration. Holds no person data (who set it is in the audit)."""

    __tablename__ = "workspace_default"
    __table_args__ = (
        UniqueConstraint("platform", "workspace", "key", name="uq_workspace_default"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    platform: str = Field(max_length=32)
    workspace: str = Field(max_length=128)
    key: str = Field(max_length=64)
    value: str = Field(max_length=500)
    changed_at: dt.datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
