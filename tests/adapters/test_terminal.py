"""The terminal adapter end to end: the real console script in a subprocess, scripted mode
through the real core and a real SQLite file, and the interactive loop's consent question."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from adapters.terminal import TerminalSession, chat, flatten, run_interactive, run_scripted
from profiles.models import Interest, Signal
from tests.support.helpers import count

ROOT = Path(__file__).resolve().parents[2]


def run_cli(args, stdin, cwd, **env):
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    environment.pop("ANTHROPIC_API_KEY", None)
    environment.pop("TAILORBOT_OPENAI_BASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=120,
    )


def test_console_script_scripted_session_learns_and_exports(tmp_path):
    lines = [
        "hello",
        "/consent grant",
        "I love Rust async programming and distributed systems",
        "/react 👍",
        "/prefs set tone pirate",
        "",
        "/export",
        "/profile",
    ]
    result = run_cli(["chat", "--user", "dana"], "\n".join(lines) + "\n", tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert len(out) == len(lines), result.stdout  # one line out per line in
    assert "without a language model" in out[0]
    assert "learn from your messages" in out[1]
    assert "noted your 👍" in out[3]
    assert "tone must be one of" in out[4] and "\\n" in out[4]
    assert "empty message" in out[5]
    export = tmp_path / "tailorbot-export-terminal-dana.json"
    assert export.exists() and oct(export.stat().st_mode & 0o777) == "0o600"
    data = json.loads(export.read_text())
    assert any(row["topic"] == "distributed systems" for row in data["tables"]["interest"])
    assert "distributed systems" in out[7]
    assert "learning is off until consent" in result.stderr
    assert (tmp_path / "tailorbot.db").exists()  # the default database, created on first run


def test_console_script_users_admin_commands(tmp_path):
    run_cli(
        ["chat", "--user", "erin", "--consent"],
        "Kubernetes operators and Helm charts in production\n",
        tmp_path,
    )
    listing = run_cli(["users", "list"], "", tmp_path)
    assert "erin" in listing.stdout and "granted" in listing.stdout
    shown = run_cli(["users", "show", "erin"], "", tmp_path)
    assert "helm charts" in shown.stdout.lower()
    exported = run_cli(["users", "export", "erin"], "", tmp_path)
    assert json.loads(exported.stdout)["person"]["user_id"] == "erin"
    refused = run_cli(["users", "forget", "erin"], "n\n", tmp_path)
    assert refused.returncode == 1
    forgotten = run_cli(["users", "forget", "erin", "--yes"], "", tmp_path)
    assert json.loads(forgotten.stdout)["total"] > 0
    assert "erin" not in run_cli(["users", "list"], "", tmp_path).stdout
    missing = run_cli(["users", "show", "nobody"], "", tmp_path)
    assert missing.returncode == 1 and "No person matches" in missing.stderr


def test_db_upgrade_command_and_bad_config(tmp_path):
    upgraded = run_cli(["db", "upgrade"], "", tmp_path)
    from profiles.migrate import head_revision

    assert f"revision {head_revision()}" in upgraded.stdout
    (tmp_path / "tailorbot.toml").write_text('consent_mode = "sometimes"\n')
    bad = run_cli(["chat"], "hi\n", tmp_path)
    assert bad.returncode == 2 and "consent_mode" in bad.stderr


def test_toml_and_env_settings(tmp_path):
    (tmp_path / "tailorbot.toml").write_text(
        'bot_name = "buddy"\ndatabase_url = "sqlite:///x.db"\n'
    )
    result = run_cli(["config"], "", tmp_path, TAILORBOT_BOT_NAME="envbuddy")
    assert "envbuddy" in result.stdout and "sqlite:///x.db" in result.stdout


async def test_scripted_jsonl_and_reactions(core):
    session = TerminalSession(core, "frank")
    stdin = io.StringIO("/consent grant\nTell me about sourdough bread baking at home\n/react 👎\n")
    stdout = io.StringIO()
    assert await run_scripted(session, stdin, stdout, jsonl=True, stderr=io.StringIO()) == 3
    records = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert records[1][0]["purpose"] == "chat" and records[1][0]["reply_id"].startswith("turn:")
    assert "noted your 👎" in records[2][0]["text"]
    assert await count(core, Interest) > 0 and await count(core, Signal) > 0


async def test_interactive_consent_question_and_quit(core):
    from rich.console import Console

    session = TerminalSession(core, "gina")
    answers = iter(["Tell me about mechanical keyboards and switches", "/quit"])
    questions = []

    def confirm(prompt):
        questions.append(prompt)
        return True

    console = Console(file=io.StringIO(), width=200)
    await run_interactive(session, console=console, ask=lambda _: next(answers), confirm=confirm)
    assert questions == ["Allow?"]
    output = console.file.getvalue()
    assert "learn from your messages from now on" in output
    replies = await core.handle(session.action("consent.grant"))
    assert "learn" in replies[0].text


async def test_chat_grant_flag_non_tty(core):
    stdout = io.StringIO()
    await chat(
        core,
        user="hank",
        grant_consent=True,
        stdin=io.StringIO("I like tea\n"),
        stdout=stdout,
        interactive=False,
    )
    assert stdout.getvalue().count("\n") == 1


def test_flatten_is_reversible_for_newlines():
    assert flatten("a\nb\\n") == "a\\nb\\\\n"


def test_prompt_preview_prints_the_exact_prompt(tmp_path):
    run_cli(
        ["chat", "--user", "ivy", "--consent"],
        "I'm into urban gardening and bird watching\n",
        tmp_path,
    )
    shown = run_cli(["prompt", "preview", "--user", "ivy", "-m", "any tips?"], "", tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "=== system (" in shown.stdout and '"urban gardening"' in shown.stdout
    assert "=== user ===\nany tips?" in shown.stdout
    summarize = run_cli(["profiles", "summarize"], "", tmp_path)
    assert summarize.returncode == 1 and "No model configured" in summarize.stderr
