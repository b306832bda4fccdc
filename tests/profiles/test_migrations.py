"""Alembic migrations are the schema: upgrading an empty database yields exactly the models."""

import json

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


def test_unread_reply_topics_become_none_when_downgraded(database_url):
    """Migration 0013 lets a reply's topics be NULL (not read yet); the schema before it has
    no such state, so going back reads them as none — and the turn is kept."""
    from sqlalchemy import text

    engine = create_engine(sync_url(database_url), poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            person = conn.execute(text(
                "INSERT INTO person (platform, workspace, user_id, created_at, last_seen_at) "
                "VALUES ('test', 'w', 'u', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id"
            )).scalar_one()
            conn.execute(text(
                "INSERT INTO conversation_turn (person_id, role, text, channel_id, topics, "
                "created_at) VALUES (:p, 'assistant', 'an answer', '', NULL, CURRENT_TIMESTAMP)"
            ), {"p": person})
        migrate.downgrade(database_url, "0012_person_indexes")
        try:
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT text, topics FROM conversation_turn")).all()
            assert [(row[0], json.loads(row[1]) if isinstance(row[1], str) else row[1])
                    for row in rows] == [("an answer", [])]
        finally:
            migrate.upgrade(database_url)
    finally:
        engine.dispose()
