"""`tailorbot users forget` through the real command line, on both backends."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from adapters.cli import main as cli
from bot.config import Settings
from bot.core import Core
from bot.digest import digests_for
from bot.llm import NoModelBackend
from profiles.db import Database, sync_url
from tests.support.helpers import command, grant, person, person_id


def jobs(url: str) -> list[str]:
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            return [row[0] for row in conn.execute(text("SELECT id FROM apscheduler_jobs"))]
    finally:
        engine.dispose()


def subscribe(url: str, journal: str) -> int:
    async def main() -> int:
        settings = Settings(
            database_url=url, auto_migrate=False, outage_journal=journal, _env_file=None
        )
        core = Core(settings, Database(url), NoModelBackend())
        digests = digests_for(core.services)
        alice = person("alice")
        try:
            await grant(core, alice)
            replies = await core.handle(command(alice, "digest", "subscribe daily 08:00"))
            assert "Subscribed" in replies[0].text
            await digests.settle()
            pid = await person_id(core, alice)
            assert pid is not None
            return pid
        finally:
            await digests.aclose()
            await core.aclose()
            await core.services.db.dispose()

    return asyncio.run(main())


@pytest.fixture
def fresh(database_url):
    if database_url.startswith("postgresql"):
        from tests.support.databases import truncate_all

        truncate_all(database_url)
    return database_url


def test_users_forget_removes_the_scheduled_digest_job(fresh, tmp_path):
    """On PostgreSQL the job removal ran in a background task the CLI never awaited, so the
    person's digest job stayed in apscheduler_jobs."""
    journal = str(tmp_path / "outage.journal")
    pid = subscribe(fresh, journal)
    assert jobs(fresh) == [f"digest:{pid}"]
    config = tmp_path / "tailorbot.toml"
    config.write_text(
        f'database_url = "{fresh}"\nllm = "none"\nauto_migrate = false\n'
        f'outage_journal = "{journal}"\n',
        encoding="utf-8",
    )
    # Another worker holds the job row for a moment: the removal has to wait for it, and the
    # command must wait for the removal instead of exiting with the job still scheduled.
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        engine = create_engine(sync_url(fresh))
        with engine.connect() as conn:
            if fresh.startswith("sqlite"):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.execute(text("SELECT id FROM apscheduler_jobs FOR UPDATE"))
            locked.set()
            release.wait(timeout=2)
            conn.rollback()
        engine.dispose()

    holder = threading.Thread(target=hold)
    holder.start()
    locked.wait()
    threading.Timer(1.0, release.set).start()
    result = CliRunner().invoke(cli.app, ["users", "forget", str(pid), "--yes", "-c", str(config)])
    holder.join()
    assert result.exit_code == 0, result.output
    assert jobs(fresh) == []


def test_an_id_beyond_64_bits_is_no_one(fresh, tmp_path):
    config = tmp_path / "tailorbot.toml"
    config.write_text(
        f'database_url = "{fresh}"\nllm = "none"\nauto_migrate = false\n'
        f'outage_journal = "{tmp_path / "j"}"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli.app, ["users", "show", "9" * 25, "-c", str(config)])
    assert result.exit_code == 1
    assert "No person matches" in result.output


def test_db_purge_runs_the_retention_purge_once(fresh, tmp_path):
    config = tmp_path / "tailorbot.toml"
    config.write_text(
        f'database_url = "{fresh}"\nllm = "none"\nauto_migrate = false\n'
        f'outage_journal = "{tmp_path / "j"}"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli.app, ["db", "purge", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert "Purged 0 record(s): nothing expired." in result.output
