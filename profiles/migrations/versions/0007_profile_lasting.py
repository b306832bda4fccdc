"""interests: a lasting (long-term) component beside the fading one

Revision ID: 0007_profile
Revises: 0006_i18n
Create Date: 2026-12-02
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007_profile'
down_revision: str | None = '0006_i18n'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('interest', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('lasting_weight', sa.Float(), nullable=False, server_default='0')
        )
    # What was learned so far is the best estimate of the lasting component too.
    op.execute('UPDATE interest SET lasting_weight = weight')
    with op.batch_alter_table('interest', schema=None) as batch_op:
        batch_op.alter_column('lasting_weight', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('interest', schema=None) as batch_op:
        batch_op.drop_column('lasting_weight')
