"""`tailorbot slack …`: the manifest in both modes, from the settings `--config` names;
`check` in this process against a local Slack served from a thread of its own
(tests/support/cli_runner.py)."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapters.cli.slack import app as cli_app
from adapters.slack import manifest as slack_manifest
from tests.support.cli_runner import Run, served, tailorbot, write_config
from tests.support.fake_slack_api import FakeSlackAPI
from tests.support.ports import free_port


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


def check(cwd: Path, url: str) -> Run:
    """`tailorbot slack check` in Socket Mode, its tokens and Slack's address (what
    TAILORBOT_SLACK_API_URL sets) in ./tailorbot.toml."""
    write_config(cwd / "tailorbot.toml", slack_bot_token="xoxb-test",
                 slack_app_token="xapp-1-test", slack_api_url=url)
    return tailorbot(["slack", "check"], cwd=cwd)


def test_check_says_which_scopes_are_missing(tmp_path) -> None:
    wanted = sorted(slack_manifest.SCOPES)
    with served(FakeSlackAPI()) as slack:
        slack.granted_scopes = [*wanted, "admin"]
        complete = check(tmp_path, slack.base_url)
        slack.granted_scopes = [s for s in wanted if s not in ("im:history", "reactions:read")]
        partial = check(tmp_path, slack.base_url)
        slack.revoked.add("xoxb-test")
        revoked = check(tmp_path, slack.base_url)
    assert complete.exit_code == 0, complete.output
    assert "Socket Mode" in complete.output and "Token OK: bot @tailorbot" in complete.output
    assert "Every scope the manifest asks for is granted." in complete.output
    assert "Granted but unused: admin." in complete.output
    assert partial.exit_code == 1
    assert "Missing scopes: im:history, reactions:read." in partial.output
    assert revoked.exit_code == 1 and "token_revoked" in revoked.output
    assert any(call.method == "auth.test" for call in slack.calls)


def test_check_says_when_oauth_has_no_token_key(tmp_path, monkeypatch) -> None:
    """It printed "HTTP mode …, installable in any workspace" and exit 0; `tailorbot run`
    then stopped on the missing key."""
    monkeypatch.chdir(tmp_path)
    for name, value in (("SLACK_CLIENT_ID", "1.2"), ("SLACK_CLIENT_SECRET", "s"),
                        ("SLACK_SIGNING_SECRET", "x")):
        monkeypatch.setenv(name, value)
    for name in ("TAILORBOT_SLACK_TOKEN_KEY", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(cli_app, ["check"])
    assert result.exit_code == 1
    assert "Slack OAuth cannot start:" in result.output
    assert "TAILORBOT_SLACK_TOKEN_KEY" in result.output
    assert "installable in any workspace" not in result.output


def test_check_says_slack_could_not_be_reached_not_that_it_refused(tmp_path) -> None:
    """A closed port was reported as "Slack refused the bot token: could not reach Slack",
    and a typo'd scheme ended in aiohttp's traceback (operations audit)."""
    url = f"http://127.0.0.1:{free_port()}/api/"
    away = check(tmp_path, url)
    assert away.exit_code == 1, away.output
    assert f"Could not reach the Slack API at {url} (TAILORBOT_SLACK_API_URL)" in away.output
    assert "The token was not checked." in away.output and "refused" not in away.output
    typo = check(tmp_path, "htp://x")
    assert typo.exit_code == 2, typo.output
    assert "slack_api_url" in typo.output and "not an http:// or https:// URL" in typo.output
    assert "Traceback" not in typo.output


def test_check_blames_the_token_only_when_slack_refused_it(tmp_path) -> None:
    """A rate limit and a proxy's error page were reported as "Slack refused the bot token"
    (operations audit). A refused token is said with how to fix it; another error with its
    code; a page that is not the Web API's as such; none of them as unreachable."""
    with served(FakeSlackAPI()) as slack:
        slack.fail_next("auth.test", status=200, error="invalid_auth")
        invalid = check(tmp_path, slack.base_url)
        slack.fail_next("auth.test", status=429, error="ratelimited")
        limited = check(tmp_path, slack.base_url)
        slack.fail_next("auth.test", status=502, page="<html>502 Bad Gateway</html>")
        page = check(tmp_path, slack.base_url)
        # said to be JSON: this one ended in an AttributeError's traceback
        slack.fail_next("auth.test", status=502, page="<html>502</html>",
                        page_type="application/json")
        mislabelled = check(tmp_path, slack.base_url)
    where = f"{slack.base_url} (TAILORBOT_SLACK_API_URL)"
    for run in (invalid, limited, page, mislabelled):
        assert run.exit_code == 1, run.output
        assert "Could not reach" not in run.output and "Traceback" not in run.output
    said = {name: " ".join(run.output.split())
            for name, run in (("invalid", invalid), ("limited", limited), ("page", page),
                              ("mislabelled", mislabelled))}
    assert ("Slack refused the bot token (invalid_auth). Copy the Bot User OAuth Token "
            "(xoxb-...) again") in said["invalid"]
    assert "set SLACK_BOT_TOKEN" in said["invalid"]
    assert (f"The Slack API at {where} answered auth.test with the error 'ratelimited' "
            "(HTTP 429). The token was not checked.") in said["limited"]
    for not_slack in ("page", "mislabelled"):
        assert (f"The server at {where} did not answer as the Slack Web API does (HTTP 502, "
                "no Slack error code). The token was not checked.") in said[not_slack]
    assert "refused" not in said["limited"] + said["page"] + said["mislabelled"]
