"""a reply's topics may be unread (NULL) until it is first judged

A model's reply was extracted for its topics on every answer, before its record, so that a
reaction to it could credit them; most replies are never reacted to. ``topics`` NULL now
means "not read yet": the feedback handler reads them from the turn's text the first time
the reply is judged and stores them.

Revision ID: 0013_turn_topics_unread
Revises: 0012_person_indexes
Create Date: 2026-12-05
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0013_turn_topics_unread'
down_revision: str | None = '0012_person_indexes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('conversation_turn', schema=None) as batch_op:
        batch_op.alter_column('topics', existing_type=sa.JSON(), nullable=True)


def downgrade() -> None:
    # Unread topics become "none": the earlier schema has no way to say "not read yet"
    op.execute("UPDATE conversation_turn SET topics = '[]' WHERE topics IS NULL")
    with op.batch_alter_table('conversation_turn', schema=None) as batch_op:
        batch_op.alter_column('topics', existing_type=sa.JSON(), nullable=False)
