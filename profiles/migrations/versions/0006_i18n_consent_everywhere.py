"""consent.everywhere: one consent for every workspace of a platform (Discord servers)

Revision ID: 0006_i18n
Revises: 0005_slack_oauth
Create Date: 2026-12-02
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006_i18n'
down_revision: str | None = '0005_slack_oauth'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('consent') as batch:
        batch.add_column(
            sa.Column('everywhere', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_index('ix_person_platform_user', 'person', ['platform', 'user_id'])


def downgrade() -> None:
    op.drop_index('ix_person_platform_user', table_name='person')
    with op.batch_alter_table('consent') as batch:
        batch.drop_column('everywhere')
