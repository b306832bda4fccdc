"""Real databases for tests: an SQLite file per test (copied from a migrated template) and a
PostgreSQL database per test session (created on the local server, dropped afterwards).

PostgreSQL tests skip with a reason when the server is unreachable, except under CI=true,
where they fail: CI must prove both backends.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlmodel import SQLModel

import profiles.models  # noqa: F401
from profiles.migrate import upgrade

DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def pg_admin_url() -> str:
    return os.environ.get("TAILORBOT_TEST_POSTGRES_URL", DEFAULT_PG_ADMIN_URL)


def postgres_or_skip() -> str:
    """Admin URL of a reachable server, else skip (or fail under CI)."""
    url = pg_admin_url()
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        message = f"PostgreSQL not reachable at {url}: {exc}".strip()
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI requires PostgreSQL tests to run)")
        pytest.skip(message + " (set TAILORBOT_TEST_POSTGRES_URL or start PostgreSQL)")
    return url


def create_pg_database(admin_url: str) -> str:
    name = f"tailorbot_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


def drop_pg_database(admin_url: str, url: str) -> None:
    name = url.rpartition("/")[2]
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def truncate_all(url: str) -> None:
    """Empty every table of the session's PostgreSQL database and restart its sequences, so
    the next test sees it as freshly migrated.

    Only the tables that hold rows are emptied, with DELETE, children before parents. A
    TRUNCATE of all 32 tables cost 0.2-0.5 s per test on the shared CI machine (each table
    gets new files), over a third of the suite's time; DELETE of the handful a test wrote
    costs milliseconds, and ends in the same state: no rows, every sequence back at its
    start (what RESTART IDENTITY did)."""
    ordered = [t.name for t in reversed(SQLModel.metadata.sorted_tables)]
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        names = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ]
        held = {
            row[0]
            for row in conn.execute(
                sql.SQL(" UNION ALL ").join(
                    sql.SQL("SELECT {} WHERE EXISTS (SELECT FROM {})").format(
                        sql.Literal(name), sql.Identifier(name)
                    )
                    for name in names
                )
            )
        }
        # Tables owned by other components (APScheduler's job store, Slack's installation
        # store) reference none of ours; ours go children first (sorted_tables reversed).
        others = sorted(held - set(ordered))
        for name in others + [n for n in ordered if n in held]:
            conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(name)))
        conn.execute(
            "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, start_value, "
            "false) FROM pg_sequences WHERE schemaname = 'public' AND last_value IS NOT NULL"
        )


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    admin = postgres_or_skip()
    url = create_pg_database(admin)
    upgrade(url)
    yield url
    drop_pg_database(admin, url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty database of each kind; tests using it run once per backend."""
    if request.param == "sqlite":
        path = tmp_path / "tailorbot.db"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("postgres_database")
    truncate_all(url)
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """SQLite only, for tests about behaviour that does not depend on the backend."""
    path = tmp_path / "tailorbot.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"
