"""Alembic migrations are the schema: upgrading an empty database yields exactly the models."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, pool

from profiles import migrate
from profiles.db import sync_url
from profiles.models import SQLModel


def test_migrated_schema_matches_models(database_url):
    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": migrate.include_object}
        )
        diff = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert diff == []
    assert migrate.current_revision(database_url) == migrate.head_revision()


def test_upgrade_is_idempotent_and_downgrade_works(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate.upgrade(url)
    migrate.upgrade(url)
    assert migrate.current_revision(url) == migrate.head_revision()
    migrate.downgrade(url, "base")
    assert migrate.current_revision(url) is None


def test_one_head():
    """Parallel branches each add a migration: after a rebase there must still be one head."""
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, heads
