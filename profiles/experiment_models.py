"""Tables of online experiments (bot/experiments/).

``ExperimentAssignment`` is data about a person — which variant they were put in and when —
so it follows the person_id contract of :mod:`profiles.models`: ``/export`` shows it and
``/forget`` deletes it. ``ExperimentState`` holds no person data: whether an experiment runs,
was stopped, or had a variant promoted, shared by every worker.

Registered on ``SQLModel.metadata`` by ``profiles/__init__.py``, so any code that touches the
profile store (export, deletion, migrations, tests) knows these tables.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, DateTime, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from profiles.models import BigId, _person_fk, utcnow


class ExperimentAssignment(SQLModel, table=True):
    """The sticky variant of one person in one experiment. Written the first time the person
    is eligible (consented), then read back forever, so changing weights or adding a variant
    never moves someone who was already assigned."""

    __tablename__ = "experiment_assignment"
    __table_args__ = (
        UniqueConstraint("person_id", "experiment", name="uq_experiment_assignment"),
        Index("ix_experiment_assignment_variant", "experiment", "variant"),
    )

    id: int | None = Field(
        default=None, sa_column=Column(BigId, primary_key=True, autoincrement=True)
    )
    person_id: int = _person_fk(index=False)
    experiment: str = Field(max_length=64)
    variant: str = Field(max_length=64)
    assigned_at: dt.datetime = Field(
        default_factory=utcnow,
        sa_type=DateTime(timezone=True),
    )


class ExperimentState(SQLModel, table=True):
    """Lifecycle of an experiment: ``running`` (the default when no row exists), ``stopped``
    (everyone gets the control; metrics stop counting) or ``promoted`` (everyone eligible gets
    ``promoted_variant``)."""

    __tablename__ = "experiment_state"

    name: str = Field(primary_key=True, max_length=64)
    status: str = Field(default="running", max_length=16)
    promoted_variant: str | None = Field(default=None, max_length=64)
    changed_at: dt.datetime = Field(
        default_factory=utcnow,
        sa_type=DateTime(timezone=True),
    )
