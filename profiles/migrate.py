"""Schema migrations (Alembic), callable from the CLI and at start-up.

On PostgreSQL an advisory lock serialises concurrent upgrades, so several workers starting at
once do not race each other through the same migration.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import URL

from profiles.db import sync_url

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Tables the migrations create for an adapter's library store (slack_sdk's OAuth installation
# and state stores). They are not SQLModel models: autogenerate and the schema test skip them,
# and the adapter's own tests check their shape (tests/adapters/slack/test_installations.py).
ADAPTER_TABLES: frozenset[str] = frozenset({
    "slack_installations", "slack_bots", "slack_oauth_states",
})


def include_object(obj: object, name: str | None, type_: str, reflected: bool,
                   compare_to: object) -> bool:
    """Alembic filter: leave :data:`ADAPTER_TABLES` (and their indexes) out of comparisons."""
    table = getattr(obj, "table", None)
    table_name = name if type_ == "table" else getattr(table, "name", None)
    return table_name not in ADAPTER_TABLES
_LOCK_KEY = 0x7A11_0B07


def alembic_config(url: str | URL) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option(
        "sqlalchemy.url", sync_url(url).render_as_string(hide_password=False).replace("%", "%%")
    )
    return config


def upgrade(url: str | URL, revision: str = "head") -> None:
    config = alembic_config(url)
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def downgrade(url: str | URL, revision: str) -> None:
    config = alembic_config(url)
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, revision)
    finally:
        engine.dispose()


def current_revision(url: str | URL) -> str | None:
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


class SchemaNotCurrent(Exception):
    """The database is not at this code's schema (``auto_migrate`` off): said before the bot
    starts rather than as failures of whatever command first reads a missing table."""


def require_head(url: str | URL) -> None:
    """Raise :class:`SchemaNotCurrent` unless the database is at :func:`head_revision`. Why:
    with ``auto_migrate = false`` a worker on a database one migration behind answered
    ``/readyz`` as ready, then failed every ``/export`` and ``/forget`` on a missing table
    (operations audit); on an empty database it stopped with a driver's error."""
    current, head = current_revision(url), head_revision()
    if current == head:
        return
    if current is None:
        raise SchemaNotCurrent(
            "the database has no tailorbot schema yet: run `tailorbot db upgrade` "
            "(or set auto_migrate = true)"
        )
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    try:
        script.get_revision(current)
    except Exception:  # alembic: a revision this code has never heard of
        raise SchemaNotCurrent(
            f"the database schema is at {current}, newer than this code ({head}): run the "
            "code that migrated it"
        ) from None
    raise SchemaNotCurrent(
        f"the database schema is at {current}, this code needs {head}: run "
        "`tailorbot db upgrade` (or set auto_migrate = true)"
    )
