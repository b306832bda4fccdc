"""`tailorbot discord …` commands that need no gateway (sync is in
tests/adapters/discord/test_endpoints.py, against simcord)."""

from __future__ import annotations

import base64

import pytest
from typer.testing import CliRunner

from adapters.cli.discord import app
from adapters.discord.invite import required_permissions


def test_invite_url_command_reads_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    first = base64.b64encode(b"42424242424242").decode().rstrip("=")
    monkeypatch.setenv("DISCORD_BOT_TOKEN", f"{first}.x.y")

    result = CliRunner().invoke(app, ["invite-url"])

    assert result.exit_code == 0, result.output
    assert "client_id=42424242424242" in result.output
    assert f"permissions={required_permissions().value}" in result.output
