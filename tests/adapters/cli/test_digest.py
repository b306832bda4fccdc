"""`tailorbot digest preview --user U` and `tailorbot digest run-due` on a real SQLite file."""

import asyncio
import datetime as dt

import pytest
from typer.testing import CliRunner

from adapters.cli import digest as digest_cli
from bot.config import Settings
from bot.core import Core
from bot.digest import store
from bot.digest.schedule import Schedule
from bot.llm import NoModelBackend
from profiles.db import Database
from profiles.engine import PersonKey
from profiles.models import DigestRun
from tests.bot.digest.conftest import NOW, Clock, consenting, interests
from tests.support.helpers import count, person


@pytest.fixture
def config(tmp_path, sqlite_url):
    path = tmp_path / "tailorbot.toml"
    path.write_text(f'database_url = "{sqlite_url}"\nllm = "none"\n', encoding="utf-8")
    return path, sqlite_url


def seed(url: str) -> int:
    async def main() -> int:
        settings = Settings(database_url=url, auto_migrate=False, _env_file=None)
        core = Core(settings, Database(url), NoModelBackend(), clock=Clock())
        alice = person("alice", workspace="local", platform="terminal")
        pid = await consenting(core, alice)
        writer = await consenting(core, person("writer", workspace="local", platform="terminal"))
        await interests(core, pid, "event sourcing")
        async with core.services.db.session() as session:  # someone the bot met who never consented
            await core.services.engine.person(session, PersonKey("terminal", "local", "bystander"))
        async with core.services.db.session() as session:
            await store.save_subscription(
                session,
                pid,
                Schedule("daily", "08:00", "UTC"),
                platform="terminal",
                channel_id="",
                now=NOW,
            )
        async with core.services.db.session() as session:  # a conversation alice missed
            await store.record_activity(
                session,
                person_id=writer,
                platform="terminal",
                workspace="local",
                channel_id="C1",
                private=False,
                message_id="m1",
                thread_id=None,
                excerpt="We moved billing to event sourcing",
                topics=["event sourcing"],
                at=NOW - dt.timedelta(hours=3),
            )
        await core.services.db.dispose()
        return pid

    return asyncio.run(main())


def test_preview_prints_a_digest_and_marks_nothing(config):
    path, url = config
    seed(url)
    result = CliRunner().invoke(
        digest_cli.app,
        [
            "preview", "--user", "alice", "--now", NOW.isoformat(), "-c", str(path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Preview of your digest" in result.output
    assert "We moved billing to event sourcing" in result.output
    assert "why: matches your interest in event sourcing" in result.output

    async def runs() -> int:
        core = Core(
            Settings(database_url=url, auto_migrate=False, _env_file=None),
            Database(url),
            NoModelBackend(),
        )
        n = await count(core, DigestRun)
        await core.services.db.dispose()
        return n

    assert asyncio.run(runs()) == 0


def test_preview_of_someone_without_consent_says_why(config):
    path, url = config
    seed(url)
    result = CliRunner().invoke(digest_cli.app, ["preview", "--user", "bystander", "-c", str(path)])
    assert result.exit_code == 1 and "consent" in result.output
    unknown = CliRunner().invoke(digest_cli.app, ["preview", "--user", "nobody", "-c", str(path)])
    assert unknown.exit_code == 1 and "No person matches" in unknown.output


def test_run_due_sends_once_and_shows_progress(config):
    path, url = config
    seed(url)
    args = ["run-due", "--now", "2026-11-26T08:05:00Z", "-c", str(path)]
    first = CliRunner().invoke(digest_cli.app, args)
    assert first.exit_code == 0, first.output
    assert "digest for Alice" in first.output and "[More like this]" in first.output
    assert "1 subscribed, 1 due: 1 sent" in first.output
    assert "1/1" in first.output  # the progress bar
    again = CliRunner().invoke(digest_cli.app, args)
    assert "1 subscribed, 0 due: nothing to do" in again.output
