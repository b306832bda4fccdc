"""`tailorbot discord …` commands that need no gateway (sync is in
tests/adapters/discord/test_endpoints.py); `check` runs against a local Discord-compatible
server (tests/support/fake_discord_api.py) through discord.py's own HTTP client, in this
process with the server in a thread of its own (tests/support/cli_runner.py); `discord run`
as a separate `tailorbot` process."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import discord
import pytest
from typer.testing import CliRunner

from adapters.cli.discord import app
from adapters.discord.invite import required_permissions
from bot.command_catalog import CATALOG
from tests.support.cli_runner import Run, served, tailorbot, write_config
from tests.support.fake_discord_api import BOT, PRIVILEGED_BITS, TOKEN, FakeDiscord, overwrite
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[3]


def test_invite_url_command_reads_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    first = base64.b64encode(b"42424242424242").decode().rstrip("=")
    monkeypatch.setenv("DISCORD_BOT_TOKEN", f"{first}.x.y")

    result = CliRunner().invoke(app, ["invite-url"])

    assert result.exit_code == 0, result.output
    assert "client_id=42424242424242" in result.output
    assert f"permissions={required_permissions().value}" in result.output


# `tailorbot discord check` against a local Discord-compatible server --------------------

APP = discord.ApplicationFlags


def check(cwd: Path, url: str, token: str = TOKEN, **settings: str | bool) -> Run:
    """`tailorbot discord check`, the token and Discord's address (what
    TAILORBOT_DISCORD_API_URL sets) in ./tailorbot.toml."""
    write_config(cwd / "tailorbot.toml", discord_bot_token=token, discord_api_url=url,
                 **settings)
    return tailorbot(["discord", "check"], cwd=cwd)


def all_commands_synced(api: FakeDiscord, *, but: tuple[str, ...] = ()) -> None:
    api.synced = [{"name": name, "description": "x"} for name in CATALOG if name not in but]


def test_check_passes_when_everything_is_in_place(tmp_path) -> None:
    flags = APP(gateway_message_content=True).value
    with served(FakeDiscord(flags=flags)) as api:
        all_commands_synced(api)
        makers = api.add_guild("Makers", everyone=discord.Permissions(view_channel=True))
        makers.add_role("tailorbot", required_permissions())
        makers.add_channel("general")
        makers.add_channel("voice", kind=2)
        makers.add_channel(
            "staff",
            overwrites=[overwrite(makers.id, deny=discord.Permissions(view_channel=True))],
        )
        admin = api.add_guild("Admins")
        role = admin.add_role("boss", discord.Permissions(administrator=True))
        admin.add_channel(  # an administrator ignores channel overrides
            "locked", overwrites=[overwrite(role, deny=discord.Permissions.all())]
        )
        result = check(tmp_path, api.api_url)

    assert result.exit_code == 0, result.output
    assert "Token OK: bot @tailorbot" in result.output
    assert "Privileged intents enabled: message_content." in result.output
    assert f"Server Makers ({makers.id}): every permission the bot needs." in result.output
    assert "cannot see #staff" in result.output and "#voice" not in result.output
    assert f"Server Admins ({admin.id}): every permission the bot needs." in result.output
    assert "Everything the Discord adapter needs is in place." in result.output
    assert "GET /api/v10/applications/@me" in api.requests


def test_check_names_each_missing_intent_permission_and_command(tmp_path) -> None:
    flags = APP(gateway_message_content_limited=True).value  # members not enabled
    with served(FakeDiscord(flags=flags)) as api:
        all_commands_synced(api, but=("link",))
        guild = api.add_guild("Makers", everyone=discord.Permissions(view_channel=True))
        role = guild.add_role(
            "tailorbot",
            discord.Permissions(required_permissions().value)
            & ~discord.Permissions(embed_links=True, attach_files=True),
        )
        guild.add_channel("general")
        guild.add_channel(
            "news",
            kind=5,
            overwrites=[overwrite(role, deny=discord.Permissions(send_messages=True))],
        )
        guild.add_channel(  # the bot's own member override wins over its role's allow
            "quiet",
            overwrites=[
                overwrite(role, allow=discord.Permissions(read_message_history=True)),
                overwrite(BOT["id"], member=True,
                          deny=discord.Permissions(read_message_history=True)),
            ],
        )
        locked = api.add_guild("Locked")
        locked.refuse = True  # one unreadable server does not stop the others' checks
        result = check(tmp_path, api.api_url, forget_on_leave=True)

    assert result.exit_code == 1, result.output
    out = result.output
    assert "Privileged intent 'members' is requested but not enabled" in out
    assert "SERVER MEMBERS INTENT" in out and "'message_content'" not in out
    assert "Slash commands not registered: /link. Fix: tailorbot discord sync" in out
    assert f"Server Makers ({guild.id}): missing Embed Links, Attach Files." in out
    assert "#news: the bot sees the channel but lacks Send Messages. Fix: Edit Channel" in out
    assert "#quiet: the bot sees the channel but lacks Read Message History. Fix" in out
    assert "#general" not in out  # server-wide gaps are said once, for the server
    assert f"Server Locked ({locked.id}): Discord refused to show" in out
    assert "Missing Access" in out
    assert "Everything the Discord adapter needs" not in out


def test_check_says_when_the_token_is_refused(tmp_path) -> None:
    with served(FakeDiscord()) as api:
        result = check(tmp_path, api.api_url, token="MTIz.not.valid")
    assert result.exit_code == 1
    assert "Discord refused the bot token (401 Unauthorized)" in result.output
    assert "Reset Token" in result.output


async def test_discord_run_serves_what_tailorbot_run_serves(tmp_path) -> None:
    """`tailorbot discord run` (the docs' way to choose intents and shards) built the core and
    connected, and nothing else: no /healthz, /readyz, /metrics, no digests, no purge. It
    now runs `tailorbot run`'s process (adapters/cli/run.py serve) with Discord alone."""
    port = free_port()
    async with FakeDiscord() as api:
        environment = {
            **os.environ, "PYTHONPATH": str(ROOT), "DISCORD_BOT_TOKEN": TOKEN,
            "TAILORBOT_DISCORD_API_URL": api.api_url, "TAILORBOT_HTTP_PORT": str(port),
            "TAILORBOT_HTTP_HOST": "127.0.0.1", "TAILORBOT_EXTRACT_WORKERS": "0",
        }
        bot = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "adapters.cli", "discord", "run", "--intents", "",
            cwd=tmp_path, env=environment, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        report: dict[str, Any] = {}
        try:
            await asyncio.wait_for(api.identified.wait(), timeout=60)
            for _ in range(300):
                with contextlib.suppress(OSError):
                    report = await asyncio.to_thread(read_json, port, "/readyz")
                    break
                await asyncio.sleep(0.1)
        finally:
            bot.terminate()
            _, err = await bot.communicate()
    # The fake gateway never says READY: the adapter is still starting, and /readyz says so.
    assert report.get("adapters", {}).get("discord") == {"state": "starting"}, err.decode()
    assert report["ready"] is False
    assert api.identifies[0]["intents"] & PRIVILEGED_BITS == 0  # its own option still applies


def read_json(port: int, path: str) -> dict[str, Any]:
    """The JSON body, whatever the status (/readyz answers 503 until ready)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return dict(json.load(response))
    except urllib.error.HTTPError as refused:
        return dict(json.load(refused))


def test_check_says_discord_could_not_be_reached_not_to_reset_the_token(tmp_path) -> None:
    """A network error was answered "Copy the token again: … Reset Token", and a typo'd
    scheme ended in aiohttp's traceback (operations audit)."""
    url = f"http://127.0.0.1:{free_port()}/api/v10"
    away = check(tmp_path, url)
    assert away.exit_code == 1, away.output
    assert f"Could not reach the Discord API at {url} (TAILORBOT_DISCORD_API_URL)" in (
        away.output)
    assert "The token was not checked." in away.output and "Reset Token" not in away.output
    typo = check(tmp_path, "htp://x")
    assert typo.exit_code == 2, typo.output
    assert "discord_api_url" in typo.output and "not an http:// or https:// URL" in typo.output
    assert "Traceback" not in typo.output
