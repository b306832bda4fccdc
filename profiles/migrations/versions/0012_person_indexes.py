"""drop the person_id indexes that a unique constraint already leads with

Interest, trait, preference and memory rows each had an index on ``person_id`` beside a
unique constraint whose first column is ``person_id``. The constraint's index finds a
person's rows as well (both databases use a leading column), so the single-column index was
only written: one more index entry on every interest and trait insert, the learner's
hottest writes (issue 16).

Revision ID: 0012_person_indexes
Revises: 0011_turn_person_id
Create Date: 2026-12-04
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op


revision: str = '0012_person_indexes'
down_revision: str | None = '0011_turn_person_id'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ('interest', 'trait', 'preference', 'memory')


def upgrade() -> None:
    for table in TABLES:
        op.drop_index(f'ix_{table}_person_id', table_name=table)


def downgrade() -> None:
    for table in TABLES:
        op.create_index(f'ix_{table}_person_id', table, ['person_id'], unique=False)
