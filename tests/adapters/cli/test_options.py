"""How every command loads settings (adapters/cli/options.py): a configuration error is one
plain line and exit code 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from adapters.cli.main import app


def test_a_misspelt_key_stops_the_command_naming_it(tmp_path, monkeypatch) -> None:
    """Found in the operations audit: the misspelt key was ignored and `tailorbot config`
    showed the defaults."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tailorbot.toml").write_text('databse_url = "sqlite:///a.db"\n',
                                             encoding="utf-8")
    result = CliRunner().invoke(app, ["config"])
    assert result.exit_code == 2
    assert ("Configuration error: tailorbot.toml: unknown setting 'databse_url'; did you mean "
            "'database_url'?") in result.output


def test_a_misspelt_environment_variable_stops_the_command(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TAILORBOT_HTTP_PROT", "8080")
    result = CliRunner().invoke(app, ["config"])
    assert result.exit_code == 2
    assert "TAILORBOT_HTTP_PROT is not a setting; did you mean TAILORBOT_HTTP_PORT?" in (
        result.output)


def test_a_misspelt_dotenv_name_stops_the_command_naming_its_file(tmp_path, monkeypatch) -> None:
    """Found in the operations audit: ``.env``'s misspelt name was ignored and `tailorbot
    config` showed the defaults."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("TAILORBOT_HTTP_PROT=8080\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["config"])
    assert result.exit_code == 2
    assert result.output == ("Configuration error: .env: TAILORBOT_HTTP_PROT is not a setting; "
                             "did you mean TAILORBOT_HTTP_PORT?\n")


def test_the_error_text_is_not_taken_for_markup(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """rich read pydantic's "[type=literal_error]" as markup and dropped it."""
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "bad.toml"
    config.write_text('consent_mode = "sometimes"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["config", "-c", str(config)])
    assert result.exit_code == 2
    assert "[type=literal_error]" in result.output


def test_an_unbounded_purge_interval_stops_the_command(tmp_path, monkeypatch) -> None:
    """1e300 passed `tailorbot config` and `tailorbot run` ended in an OverflowError
    (operations audit); refused like every bounded setting, naming it (exit code 2)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TAILORBOT_RETENTION_PURGE_HOURS", "1e300")
    result = CliRunner().invoke(app, ["config"])
    assert result.exit_code == 2
    assert result.output.startswith("Configuration error: 1 validation error for Settings\n"
                                    "retention_purge_hours\n  Input should be less than or "
                                    "equal to 8760 [type=less_than_equal]\n")


def test_a_gateway_url_that_is_no_websocket_url_stops_the_command(tmp_path, monkeypatch) -> None:
    """It was not checked at all (operations audit)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TAILORBOT_DISCORD_GATEWAY_URL", "https://gateway.discord.gg")
    result = CliRunner().invoke(app, ["config"])
    assert result.exit_code == 2
    assert result.output.startswith("Configuration error: 1 validation error for Settings\n"
                                    "discord_gateway_url\n  Value error, not a ws:// or wss:// "
                                    "URL (scheme 'https') [type=value_error]\n")
