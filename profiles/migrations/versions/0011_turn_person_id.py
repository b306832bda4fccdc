"""conversation history read by (person, id): an index that matches the history query

Revision ID: 0011_turn_person_id
Revises: 0010_workspace_defaults
Create Date: 2026-12-02
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op


revision: str = '0011_turn_person_id'
down_revision: str | None = '0010_workspace_defaults'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_turn_person_id', 'conversation_turn', ['person_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_turn_person_id', table_name='conversation_turn')
