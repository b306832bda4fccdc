"""`tailorbot db …` (adapters/cli/main.py) when the database URL or the revision is wrong, or
the server is away: one line and an exit code, never a traceback (operations audit). The
commands run in this process (tests/support/cli_runner.py: a traceback that escapes is in
their output as a terminal would show it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli_runner import Run, tailorbot
from tests.support.databases import pg_admin_url, postgres_or_skip
from tests.support.ports import free_port


def run_tailorbot(*args: str, env: dict[str, str], cwd: Path) -> Run:
    return tailorbot(list(args), cwd=cwd, env=env)


def one_line(output: str) -> bool:
    return "Traceback" not in output and len(output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "command",
    [
        ("db", "current"),
        ("db", "upgrade"),
        ("db", "purge"),
        ("users", "list"),
        ("digest", "run-due"),
    ],
)
def test_a_misspelt_database_scheme_is_a_configuration_error(tmp_path, command) -> None:
    """``postgresl://`` passed `tailorbot config` and ended each of these in a 47-line
    traceback; it is now refused when the settings load, without echoing the password."""
    found = run_tailorbot(
        *command,
        cwd=tmp_path,
        env={"TAILORBOT_DATABASE_URL": "postgresl://bot:hunter2@db.internal/tailor"},
    )
    assert found.exit_code == 2, found.output
    assert "Configuration error" in found.output
    assert "unsupported database 'postgresl'" in found.output
    assert "hunter2" not in found.output and "Traceback" not in found.output


@pytest.mark.parametrize("command", ["upgrade", "downgrade"])
def test_an_unknown_revision_is_one_line(tmp_path, command) -> None:
    found = run_tailorbot(
        "db",
        command,
        "garbage",
        cwd=tmp_path,
        env={"TAILORBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}"},
    )
    assert found.exit_code == 1, found.output
    assert one_line(found.output), found.output
    assert "Can't locate revision identified by 'garbage'" in found.output


def test_db_current_says_in_one_line_when_the_server_is_away(tmp_path) -> None:
    closed = run_tailorbot(
        "db",
        "current",
        cwd=tmp_path,
        env={"TAILORBOT_DATABASE_URL": f"postgresql://bot@127.0.0.1:{free_port()}/tailor"},
    )
    assert closed.exit_code == 1, closed.output
    assert one_line(closed.output), closed.output
    assert "Connection refused" in closed.output
    postgres_or_skip()
    base = pg_admin_url().rpartition("/")[0]
    missing = run_tailorbot(
        "db",
        "current",
        cwd=tmp_path,
        env={"TAILORBOT_DATABASE_URL": f"{base}/tailorbot_no_such_database"},
    )
    assert missing.exit_code == 1, missing.output
    assert one_line(missing.output), missing.output
    assert 'database "tailorbot_no_such_database" does not exist' in missing.output


def test_db_purge_refuses_a_retention_limit_past_a_hundred_years(tmp_path) -> None:
    """800000 days ended `db purge` in an OverflowError traceback (operations audit); the
    longest limit allowed purges."""
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    too_long = run_tailorbot(
        "db",
        "purge",
        cwd=tmp_path,
        env={"TAILORBOT_DATABASE_URL": url, "TAILORBOT_RETENTION_CONVERSATION_DAYS": "800000"},
    )
    assert too_long.exit_code == 2, too_long.output
    assert "retention_conversation_days" in too_long.output
    assert "less than or equal to 36500" in too_long.output
    longest = run_tailorbot(
        "db",
        "purge",
        cwd=tmp_path,
        env={"TAILORBOT_DATABASE_URL": url, "TAILORBOT_RETENTION_CONVERSATION_DAYS": "36500"},
    )
    assert longest.exit_code == 0, longest.output
    assert "Purged 0 record(s)" in longest.output


@pytest.mark.parametrize("command", [("users", "list"), ("db", "purge")])
def test_commands_that_build_the_bot_say_in_one_line_when_the_server_is_away(
    tmp_path, command
) -> None:
    """They printed a traceback (operations audit): now one line, exit 1."""
    closed = run_tailorbot(
        *command,
        cwd=tmp_path,
        env={"TAILORBOT_DATABASE_URL": f"postgresql://bot@127.0.0.1:{free_port()}/tailor"},
    )
    assert closed.exit_code == 1, closed.output
    assert one_line(closed.output), closed.output
    assert "Database not reachable" in closed.output and "Connection refused" in closed.output
