"""`tailorbot slack …`: the manifest in both modes, from the settings `--config` names."""

import json

import pytest
from typer.testing import CliRunner

from adapters.cli.slack import app as cli_app
from adapters.slack import manifest as slack_manifest


def test_cli_prints_manifest_for_both_modes(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env / tailorbot.toml
    monkeypatch.delenv("TAILORBOT_BOT_NAME", raising=False)
    socket = json.loads(CliRunner().invoke(cli_app, ["manifest"]).output)
    assert socket["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in socket["settings"]["event_subscriptions"]
    assert set(socket["oauth_config"]["scopes"]["bot"]) == set(slack_manifest.SCOPES)
    assert socket["settings"]["event_subscriptions"]["bot_events"] == list(
        slack_manifest.BOT_EVENTS)
    url = "https://bot.example.com/slack/events"
    http = json.loads(CliRunner().invoke(cli_app, ["manifest", "--request-url", url]).output)
    assert http["settings"]["socket_mode_enabled"] is False
    assert http["settings"]["event_subscriptions"]["request_url"] == url
    assert http["settings"]["interactivity"]["request_url"] == url
    assert {c["url"] for c in http["features"]["slash_commands"]} == {url}


def test_manifest_reads_the_config_file_it_is_given(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TAILORBOT_BOT_NAME", raising=False)
    config = tmp_path / "elsewhere.toml"
    config.write_text('bot_name = "Marvin"\n', encoding="utf-8")
    result = CliRunner().invoke(cli_app, ["manifest", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["display_information"]["name"] == "Marvin"


def test_a_bad_config_file_is_named_with_exit_code_2(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "bad.toml"
    config.write_text('consent_mode = "sometimes"\n', encoding="utf-8")
    result = CliRunner().invoke(cli_app, ["check", "-c", str(config)])
    assert result.exit_code == 2
    assert "consent_mode" in result.output


def test_token_key_prints_a_usable_key() -> None:
    from adapters.slack.installations import TokenCipher

    key = CliRunner().invoke(cli_app, ["token-key"]).output.strip()
    cipher = TokenCipher(key)
    assert cipher.decrypt(cipher.encrypt("xoxb-1")) == "xoxb-1"
