"""What `tailorbot config` may show an operator."""

import datetime as dt

import pytest
from apscheduler.triggers.interval import IntervalTrigger
from pydantic import ValidationError

from bot import retention
from bot.config import (
    MASK,
    MAX_DATABASE_TIMEOUT_SECONDS,
    MAX_PURGE_HOURS,
    MAX_RETENTION_DAYS,
    ConfigurationError,
    Settings,
    display_settings,
    load_settings,
)
from profiles.db_timeout import DEFAULT_TIMEOUT_SECONDS


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


def test_an_unknown_key_in_the_file_is_named_with_the_closest_setting(tmp_path, monkeypatch):
    """``databse_url = ...`` was ignored and the bot ran on the default database (operations
    audit)."""
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "bot.toml"
    config.write_text('databse_url = "postgresql://bot@db/x"\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"bot\.toml: unknown setting 'databse_url'; "
                       r"did you mean 'database_url'\?"):
        load_settings(config)
    (tmp_path / "tailorbot.toml").write_text("zzz_qqq = 1\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"tailorbot\.toml: unknown setting 'zzz_qqq'"):
        load_settings()


def test_the_experiments_table_and_aliases_are_known_keys(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("TAILORBOT_ANTHROPIC_API_KEY", raising=False)
    config = tmp_path / "bot.toml"
    config.write_text(
        'ANTHROPIC_API_KEY = "sk-ant-1"\nDatabase_URL = "sqlite:///a.db"\n'
        '[experiments.short]\nkind = "prompt"\n', encoding="utf-8")
    loaded = load_settings(config)
    assert (loaded.anthropic_api_key, loaded.database_url) == ("sk-ant-1", "sqlite:///a.db")


def test_a_toml_syntax_error_names_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "broken.toml"
    config.write_text('database_url = "sqlite:///a.db\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"broken\.toml: not valid TOML"):
        load_settings(config)


def test_a_misspelt_environment_variable_is_named_with_the_setting(tmp_path, monkeypatch):
    """``TAILORBOT_DATABSE_URL`` was ignored (operations audit); other ``TAILORBOT_*``
    variables, read by the tests and tools, are not settings and keep working."""
    monkeypatch.chdir(tmp_path)
    for other in ("TAILORBOT_TEST_POSTGRES_URL", "TAILORBOT_BENCH_POSTGRES_URL",
                  "TAILORBOT_EXPERIMENTS_FILE", "TAILORBOT_BENCH_CONCURRENCY",
                  "TAILORBOT_HARNESS_PROBE", "TAILORBOT_CONSENT_OPT_OUT"):
        monkeypatch.setenv(other, "x")
    monkeypatch.setenv("TAILORBOT_ANTHROPIC_API_KEY", "k")  # an alias: a setting
    assert load_settings().anthropic_api_key == "k"
    monkeypatch.setenv("TAILORBOT_DATABSE_URL", "sqlite:///a.db")
    with pytest.raises(ConfigurationError, match="TAILORBOT_DATABSE_URL is not a setting; "
                       "did you mean TAILORBOT_DATABASE_URL"):
        load_settings()


def test_a_dotenv_name_that_is_no_setting_is_named_with_its_file(tmp_path, monkeypatch):
    """``TAILORBOT_DATABSE_URL`` in ``.env`` was ignored and the bot ran on the default
    database (operations audit). Only Settings reads ``.env``, so any ``TAILORBOT_*`` name
    there that is no setting is an error; names without the prefix (the platforms' own, a
    compose file's) are not."""
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "TAILORBOT_SLACK_BOT_TOKEN", "ANTHROPIC_API_KEY",
                 "TAILORBOT_ANTHROPIC_API_KEY", "TAILORBOT_BOT_NAME"):
        monkeypatch.delenv(name, raising=False)
    # the developer tools' own variables too: a .env direnv exports may hold them (review)
    fine = ("SLACK_BOT_TOKEN=xoxb-1\nCOMPOSE_PROJECT_NAME=bot\nPGPASSWORD=x\n"
            "TAILORBOT_ANTHROPIC_API_KEY=k\ntailorbot_bot_name=zed\n"
            "TAILORBOT_TEST_POSTGRES_URL=postgresql://u@h/test\n")
    dotenv = tmp_path / ".env"
    dotenv.write_text(fine, encoding="utf-8")
    loaded = load_settings()
    assert (loaded.slack_bot_token, loaded.anthropic_api_key, loaded.bot_name) == (
        "xoxb-1", "k", "zed")
    refused = {
        "TAILORBOT_DATABSE_URL=sqlite:///a.db": r"^\.env: TAILORBOT_DATABSE_URL is not a "
        r"setting; did you mean TAILORBOT_DATABASE_URL\?$",
        "tailorbot_zzz_qqq=1": r"^\.env: TAILORBOT_ZZZ_QQQ is not a setting \(see README",
        "TAILORBOT_EXPERIMENTS_FILE=x.toml": r"^\.env: TAILORBOT_EXPERIMENTS_FILE is read from "
        "the environment only; export it instead$",
    }
    other = tmp_path / "other.toml"
    other.write_text("", encoding="utf-8")
    for line, said in refused.items():
        dotenv.write_text(fine + line + "\n", encoding="utf-8")
        with pytest.raises(ConfigurationError, match=said):
            load_settings()
        with pytest.raises(ConfigurationError, match=said):  # also with --config
            load_settings(other)


def test_a_database_url_is_checked_when_read() -> None:
    """``postgresl://`` passed ``tailorbot config`` and failed in every database command with
    a traceback (operations audit). Any driver suffix is accepted: profiles/db.py picks its
    own. The password never appears in the error."""
    for accepted in ("sqlite:///a.db", "sqlite://", "sqlite+aiosqlite:///a.db",
                     "postgresql://bot@db/x", "postgresql+psycopg2://bot@db/x"):
        assert settings(database_url=accepted).database_url == accepted
    with pytest.raises(ValidationError, match="unsupported database 'postgresl'") as refused:
        settings(database_url="postgresl://bot:hunter2@db/x")
    assert "hunter2" not in str(refused.value)
    with pytest.raises(ValidationError, match="not a database URL"):
        settings(database_url="tailorbot.db")


def test_the_discord_gateway_url_is_a_websocket_url() -> None:
    """The gateway URL was not checked: ``https://…`` or a bare host name was found only when
    the adapter dialled it (operations audit). Only the scheme is quoted in the error."""
    for accepted in (None, "wss://gateway.discord.gg", "ws://127.0.0.1:8765/gw"):
        assert settings(discord_gateway_url=accepted).discord_gateway_url == accepted
    for refused, scheme in (("https://bot:hunter2@gateway.discord.gg", "https"),
                            ("gateway.discord.gg", ""), ("wss://", "wss"), ("", "")):
        with pytest.raises(ValidationError, match=rf"discord_gateway_url\n  Value error, not "
                           rf"a ws:// or wss:// URL \(scheme '{scheme}'\)") as error:
            settings(discord_gateway_url=refused)
        assert "hunter2" not in str(error.value)


def test_retention_limits_and_the_port_are_bounded() -> None:
    """800000 days of retention went back before year 1: `db purge` and every scheduled purge
    ended in an OverflowError. Port 99999 was accepted (operations audit). 0 stays allowed:
    "keep" for retention, "pick a free port" for the HTTP port."""
    for kind in ("conversation", "signal_evidence", "channel_excerpt", "digest_item",
                 "model_call", "memory"):
        key = f"retention_{kind}_days"
        assert getattr(settings(**{key: MAX_RETENTION_DAYS}), key) == MAX_RETENTION_DAYS
        assert getattr(settings(**{key: 0}), key) == 0
        with pytest.raises(ValidationError, match=key):
            settings(**{key: MAX_RETENTION_DAYS + 1})
    assert MAX_RETENTION_DAYS == retention.MAX_RETENTION_DAYS  # what /admin set bounds
    assert (settings(http_port=0).http_port, settings(http_port=65535).http_port) == (0, 65535)
    for port in (-1, 65536, 99999):
        with pytest.raises(ValidationError, match="http_port"):
            settings(http_port=port)


def test_the_purge_interval_is_bounded_and_finite() -> None:
    """``retention_purge_hours = 1e300`` (or inf) was accepted and `tailorbot run` ended in
    APScheduler's OverflowError (operations audit); "nan" is said to be no number, not to be
    out of bounds. The longest interval is one the scheduler takes (bot/retention.py)."""
    key = "retention_purge_hours"
    assert settings(**{key: MAX_PURGE_HOURS}).retention_purge_hours == MAX_PURGE_HOURS
    assert settings(**{key: 0.25}).retention_purge_hours == 0.25
    start = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    longest = IntervalTrigger(hours=MAX_PURGE_HOURS, timezone=dt.UTC, start_date=start)
    assert longest.get_next_fire_time(start, start) == start + dt.timedelta(days=365)
    for refused, said in ((0, "greater than 0"), (-1, "greater than 0"),
                          (MAX_PURGE_HOURS + 1, f"less than or equal to {MAX_PURGE_HOURS}"),
                          (1e300, f"less than or equal to {MAX_PURGE_HOURS}"),
                          ("inf", "a finite number"), ("nan", "a finite number")):
        with pytest.raises(ValidationError, match=rf"{key}\n  Input should be {said}"):
            settings(**{key: refused})


def test_the_database_timeout_is_bounded() -> None:
    """Below a second a busy PostgreSQL would be called unavailable; past five minutes the
    bound no longer spares anyone a wait. The default is the database layer's own."""
    assert settings().database_timeout_seconds == DEFAULT_TIMEOUT_SECONDS
    for accepted in (1.0, 2.5, MAX_DATABASE_TIMEOUT_SECONDS):
        assert settings(database_timeout_seconds=accepted).database_timeout_seconds == accepted
    for refused in (0, 0.5, MAX_DATABASE_TIMEOUT_SECONDS + 1):
        with pytest.raises(ValidationError, match="database_timeout_seconds"):
            settings(database_timeout_seconds=refused)
