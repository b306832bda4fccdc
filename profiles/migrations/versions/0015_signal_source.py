"""whose words a signal was read from, when they are someone else's

A reaction to another person's message teaches the reactor that message's topics. The
evidence named only the reactor, so the author's ``/forget`` left their words (as topics) in
the reactor's signals and interests. ``signal.source_person_id`` names the author; their
erasure withdraws that evidence and its share of the reactor's interests. Evidence recorded
before this revision names no author and stays as it was.

Revision ID: 0015_signal_source
Revises: 0014_digest_quote
Create Date: 2026-12-06
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0015_signal_source'
down_revision: str | None = '0014_digest_quote'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
WHERE_SET = sa.text('source_person_id IS NOT NULL')


def upgrade() -> None:
    # One batch: on SQLite a foreign key can only be added by rebuilding the table.
    with op.batch_alter_table('signal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_person_id', BIG_ID, nullable=True))
        batch_op.create_foreign_key(
            'fk_signal_source_person_id', 'person', ['source_person_id'], ['id'],
            ondelete='CASCADE',
        )
        batch_op.create_index(
            'ix_signal_source_person_id', ['source_person_id'], unique=False,
            sqlite_where=WHERE_SET, postgresql_where=WHERE_SET,
        )


def downgrade() -> None:
    with op.batch_alter_table('signal', schema=None) as batch_op:
        batch_op.drop_index('ix_signal_source_person_id')
        batch_op.drop_constraint('fk_signal_source_person_id', type_='foreignkey')
        batch_op.drop_column('source_person_id')
