"""whose words a digest item carries, so that their /forget finds it

A chat item's title and topics are another person's words. Erasure found such items through
the author's channel excerpts, which expire after 14 days while the items are kept 180: past
that, a /forget left the author's words in other readers' items. ``digest_quote`` keeps the
link with the item. Items recorded before it are still found through the excerpts while
those last.

Revision ID: 0014_digest_quote
Revises: 0013_turn_topics_unread
Create Date: 2026-12-05
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0014_digest_quote'
down_revision: str | None = '0013_turn_topics_unread'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('digest_quote',
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['digest_item.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', 'item_id')
    )
    with op.batch_alter_table('digest_quote', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_quote_item_id'), ['item_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('digest_quote', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digest_quote_item_id'))

    op.drop_table('digest_quote')
