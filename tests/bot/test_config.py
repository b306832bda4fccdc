"""What `tailorbot config` may show an operator."""

import pytest
from pydantic import ValidationError

from bot.config import MASK, Settings, display_settings


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_database_password_is_masked_and_numbers_are_not():
    shown = display_settings(
        settings(
            database_url="postgresql://bot:hunter2@db.internal:5432/tailor",
            llm_max_tokens=2048,
            prompt_history_tokens=900,
            slack_bot_token="xoxb-very-secret",
            slack_signing_secret="s3cr3t",
            anthropic_api_key="sk-ant-xyz",
            openai_base_url="https://user:pa55@llm.example/v1",
        )
    )
    assert "hunter2" not in shown["database_url"]
    assert shown["database_url"].startswith("postgresql://bot:***@db.internal:5432/tailor")
    assert "pa55" not in shown["openai_base_url"]
    assert shown["llm_max_tokens"] == "2048"
    assert shown["prompt_history_tokens"] == "900"
    for secret in ("slack_bot_token", "slack_signing_secret", "anthropic_api_key"):
        assert shown[secret] == MASK
    joined = " ".join(shown.values())
    for leaked in ("hunter2", "xoxb-very-secret", "s3cr3t", "sk-ant-xyz", "pa55"):
        assert leaked not in joined


def test_plain_values_and_unset_secrets_are_shown_as_they_are():
    shown = display_settings(settings(database_url="sqlite:///x.db"))
    assert shown["database_url"] == "sqlite:///x.db"
    assert shown["discord_bot_token"] == "None"


def test_unset_settings_worked_out_at_start_show_what_they_come_to():
    """`tailorbot config` said ``data_dir None`` to a newcomer looking for their exports."""
    unset = display_settings(settings(database_url="sqlite:///x.db", data_dir=None,
                                      outage_journal=None))
    assert unset["data_dir"].endswith("tailorbot (default)")  # the user's data directory
    assert unset["outage_journal"] == "x.db.journal (default)"
    assert unset["discord_shard_count"] == "None"  # nothing worked out for it: as it is
    on_postgres = display_settings(settings(database_url="postgresql://bot:hunter2@db/x"))
    assert on_postgres["outage_journal"] == "tailorbot-outage.journal (default)"
    chosen = display_settings(settings(data_dir="/srv/bot", outage_journal="/var/j"))
    assert (chosen["data_dir"], chosen["outage_journal"]) == ("/srv/bot", "/var/j")


def test_a_logging_level_is_checked_when_read() -> None:
    """A misspelt level stopped the bot with logging's traceback at start."""
    with pytest.raises(ValidationError, match="'loud' is not a logging level"):
        settings(log_level="loud")
    checked = settings(log_level="debug", log_library_level="warning")
    assert (checked.log_level, checked.log_library_level) == ("DEBUG", "WARNING")
