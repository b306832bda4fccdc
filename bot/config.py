"""Settings, read (highest precedence first) from keyword arguments, environment variables,
a ``.env`` file and ``tailorbot.toml`` in the working directory.

Every key is documented in README.md ("Configuration"); keep the two in step.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Iterable, Iterator
from importlib.abc import Traversable
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from platformdirs import user_data_dir
from pydantic import AliasChoices, Field, SecretBytes, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.event_loop import EventLoopChoice

ConsentMode = Literal["opt_in", "opt_out"]
# A hundred years: the longest retention limit, the deployment's as a workspace's (/admin set
# retention, bot/retention.py). Found in the operations audit: 800000 days went back before
# year 1, and `db purge` (and the scheduled purge, every time) ended in an OverflowError.
MAX_RETENTION_DAYS = 36_500
# A retention limit in days (0: keep), bounded as above.
RetentionDays = Annotated[int, Field(ge=0, le=MAX_RETENTION_DAYS)]
# A year: the longest interval between two scheduled purges. Found in the operations audit:
# 1e300 and inf were accepted and `tailorbot run` ended in APScheduler's OverflowError; a
# purge rarer than that would keep records long past any limit anyway. Finite, so that "nan"
# is refused as not a number rather than as "greater than 0" or "at most 8760".
MAX_PURGE_HOURS = 8_760
# How often the scheduled purge runs, in hours, bounded as above.
PurgeHours = Annotated[float, Field(gt=0, le=MAX_PURGE_HOURS, allow_inf_nan=False)]
# How often, with forget_on_leave, the Slack adapter asks Slack which of the people it knows
# were deleted (adapters/slack/reconcile.py), in hours. At least an hour: a large workspace's
# users.list takes tens of minutes at Slack's Tier 2 rate, and a check more often would spend
# the rate budget that replies share. At most a week: longer keeps people deleted meanwhile
# for longer against the operator's setting. Finite, as PurgeHours.
MIN_SLACK_ACCOUNT_CHECK_HOURS = 1.0
MAX_SLACK_ACCOUNT_CHECK_HOURS = 168.0
SlackAccountCheckHours = Annotated[float, Field(
    ge=MIN_SLACK_ACCOUNT_CHECK_HOURS, le=MAX_SLACK_ACCOUNT_CHECK_HOURS, allow_inf_nan=False)]
MAX_PORT = 65_535
# Five minutes: past that a person has long given up on the answer the bound is there for.
MAX_DATABASE_TIMEOUT_SECONDS = 300.0
ENV_PREFIX = "TAILORBOT_"
DATABASE_BACKENDS = frozenset({"sqlite", "postgresql"})  # profiles/db.py's _normalise
DATABASE_URL_HINT = "use sqlite:///file.db or postgresql://user@host:5432/db"
# Top-level tables of tailorbot.toml read by something other than Settings.
OTHER_TABLES = frozenset({"experiments"})  # bot/experiments/config.py
# How close a TAILORBOT_* variable must be to a setting's name to count as its misspelling:
# other TAILORBOT_* variables (TAILORBOT_TEST_POSTGRES_URL, TAILORBOT_EXPERIMENTS_FILE, ...)
# are far below it.
ENV_TYPO_CUTOFF = 0.85
# In a file only Settings reads (.env, tailorbot.toml) every unknown name is an error; the
# closest setting is suggested at difflib's default closeness.
FILE_TYPO_CUTOFF = 0.6
# TAILORBOT_* variables read from the process environment by something other than Settings,
# which a .env file cannot set (Settings alone reads it).
ENVIRONMENT_ONLY = frozenset({"TAILORBOT_EXPERIMENTS_FILE"})  # bot/experiments/config.py
# The developer tools' own variables (the test suite's and the benchmarks' PostgreSQL, the
# bench's concurrency): a .env that direnv also exports may hold them for the tools; the bot
# does not read them, and they are no misspelling (review).
TOOL_VARIABLES = frozenset(
    {"TAILORBOT_TEST_POSTGRES_URL", "TAILORBOT_BENCH_POSTGRES_URL", "TAILORBOT_BENCH_CONCURRENCY"}
)


class ConfigurationError(ValueError):
    """A configuration the bot cannot run as its operator meant (a misspelt key, a file that
    is not TOML): said at load, where pydantic-settings' ``extra="ignore"`` dropped it."""


def _known_keys(settings_cls: type[BaseSettings]) -> dict[str, str]:
    """Every key a setting is read under, lower-cased (TOML and environment keys are matched
    case-insensitively), to the name to show: field names and their aliases."""
    known: dict[str, str] = {}
    for name, field in settings_cls.model_fields.items():
        known[name.lower()] = name
        alias = field.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
        for choice in choices:
            if isinstance(choice, str):
                known[choice.lower()] = choice
    return known


def _unknown_prefixed(
    variables: Iterable[str], settings_cls: type[BaseSettings], cutoff: float
) -> Iterator[tuple[str, str | None]]:
    """Each ``TAILORBOT_*`` name among ``variables`` that is no setting, with the variable of
    the closest setting (within ``cutoff``), if any. Names without the prefix are not ours
    to judge (``SLACK_BOT_TOKEN`` is an alias, ``PATH`` is not a setting at all)."""
    known = _known_keys(settings_cls)
    names = list(settings_cls.model_fields)
    for variable in variables:
        if not variable.upper().startswith(ENV_PREFIX) or variable.lower() in known:
            continue
        key = variable[len(ENV_PREFIX):].lower()
        if key in known:
            continue
        close = difflib.get_close_matches(key, names, n=1, cutoff=cutoff)
        yield variable, f"{ENV_PREFIX}{close[0].upper()}" if close else None


def _check_environment(settings_cls: type[BaseSettings]) -> None:
    """A ``TAILORBOT_*`` variable that is nearly a setting's name is a misspelling of it.

    Found in the operations audit: ``TAILORBOT_DATABSE_URL`` was ignored (``extra="ignore"``)
    and the bot ran on the default database. Variables far from every setting are left alone:
    tests and tools read their own (``TAILORBOT_TEST_POSTGRES_URL``,
    ``TAILORBOT_EXPERIMENTS_FILE``)."""
    for variable, close in _unknown_prefixed(os.environ, settings_cls, ENV_TYPO_CUTOFF):
        if close:
            raise ConfigurationError(
                f"environment variable {variable} is not a setting; did you mean {close}?"
            )


def _check_dotenv(source: PydanticBaseSettingsSource) -> None:
    """Every ``TAILORBOT_*`` name in the ``.env`` file is a setting.

    Found in the operations audit: ``TAILORBOT_DATABSE_URL=...`` in ``.env`` was ignored like
    the environment's (``extra="ignore"``) and the bot ran on the default database. Stricter
    than the environment: only Settings reads ``.env``, so a ``TAILORBOT_*`` name there that
    is no setting is read by nothing, near miss or not. Names without the prefix are left
    alone (the platforms' ``SLACK_BOT_TOKEN``, a compose file's own variables)."""
    if not isinstance(source, DotEnvSettingsSource) or source.env_file is None:
        return
    files = source.env_file
    where = str(files) if isinstance(files, str | os.PathLike) else ", ".join(map(str, files))
    # env_vars: every name the file(s) hold, lower-cased (matching is case-insensitive)
    for variable, close in _unknown_prefixed(
        source.env_vars, source.settings_cls, FILE_TYPO_CUTOFF
    ):
        shown = variable.upper()
        if shown in TOOL_VARIABLES:
            continue
        if shown in ENVIRONMENT_ONLY:
            raise ConfigurationError(
                f"{where}: {shown} is read from the environment only; export it instead"
            )
        hint = f"; did you mean {close}?" if close else " (see README, Configuration)"
        raise ConfigurationError(f"{where}: {shown} is not a setting{hint}")


class CheckedTomlSource(TomlConfigSettingsSource):
    """``tailorbot.toml`` with every top-level key checked.

    Found in the operations audit: ``databse_url = ...`` was silently ignored and the bot ran
    on the defaults, and a syntax error did not say which file it was in. An unknown key is a
    :class:`ConfigurationError` naming the closest setting; ``[experiments]`` is read by
    bot/experiments and allowed."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        known = _known_keys(settings_cls)
        for key in self.toml_data:
            if key.lower() in known or key in OTHER_TABLES:
                continue
            close = difflib.get_close_matches(
                key.lower(), [*settings_cls.model_fields, *OTHER_TABLES], n=1,
                cutoff=FILE_TYPO_CUTOFF,
            )
            hint = f"; did you mean {close[0]!r}?" if close else " (see README, Configuration)"
            raise ConfigurationError(f"{self.toml_file_path}: unknown setting {key!r}{hint}")

    def _read_file(self, file_path: Path | Traversable) -> dict[str, Any]:
        try:
            return super()._read_file(file_path)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"{file_path}: not valid TOML: {exc}") from exc


def _url_of(value: str | None, schemes: tuple[str, ...], named: str) -> str | None:
    """``value`` if unset or a URL with a host and one of ``schemes``; else a ValueError that
    quotes only the scheme (the rest of a URL may hold credentials)."""
    if value is None:
        return value
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.netloc:
        raise ValueError(f"not {named} URL (scheme {parts.scheme!r})")
    return value


LLMChoice = Literal["auto", "anthropic", "openai", "none"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TAILORBOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        toml_file="tailorbot.toml",
        populate_by_name=True,
        # A bad value is not echoed in the error: a database URL holds its password, and
        # the error is printed and logged (operations audit).
        hide_input_in_errors=True,
    )

    # Storage -------------------------------------------------------------------------------
    database_url: str = Field(
        default="sqlite:///tailorbot.db",
        description="SQLAlchemy URL. sqlite:///file.db (default) or postgresql://user@host/db.",
    )

    auto_migrate: bool = Field(
        default=True,
        description="Create/upgrade the schema at start (serialised by a lock on PostgreSQL).",
    )

    data_dir: Path | None = Field(
        default=None,
        description="Where files the bot writes for people live (terminal /export files); "
        "default: the user data directory (platformdirs), never the working directory.",
    )

    outage_journal: str | None = Field(
        default=None,
        description="File where events wait, durably, while the database is unreachable. "
        "Default: beside a SQLite database (<file>.journal), else ./tailorbot-outage.journal. "
        "':memory:' keeps them in memory only (lost on restart).",
    )
    outage_journal_limit: int = Field(
        default=10_000, ge=1, description="Events the outage journal holds at most."
    )
    database_timeout_seconds: float = Field(
        default=5.0,  # profiles/db_timeout.py DEFAULT_TIMEOUT_SECONDS
        ge=1.0,
        le=MAX_DATABASE_TIMEOUT_SECONDS,
        description="PostgreSQL: how long one round trip (a statement, a commit, opening a "
        "connection) may wait for the server before the database counts as unavailable, so "
        "a database that hangs is met as one that refuses (the outage journal). Per round "
        "trip, never around the model's answer; scans nobody waits for are not bounded. "
        "SQLite: not used.",
    )

    # Privacy -------------------------------------------------------------------------------
    retention_conversation_days: RetentionDays = Field(
        default=90,
        description="Conversation turns older than this are deleted (0: keep).",
    )
    retention_signal_evidence_days: RetentionDays = Field(
        default=180,
        description="Signal evidence (message excerpts behind interests).",
    )
    retention_channel_excerpt_days: RetentionDays = Field(
        default=14,
        description="Channel message excerpts kept for digests.",
    )
    retention_digest_item_days: RetentionDays = Field(
        default=180,
        description="Digest items (what was sent, and reactions to it).",
    )
    retention_model_call_days: RetentionDays = Field(
        default=30,
        description="Model-call records (usage, latency, errors).",
    )
    retention_memory_days: RetentionDays = Field(
        default=0,
        description="Explicit memories (/memory, 'remember that ...'). 0: kept until the person "
        "removes them, since each one was asked for and is listed in /profile.",
    )
    retention_purge_hours: PurgeHours = Field(
        default=24.0, description="How often `tailorbot run` purges expired records."
    )

    consent_mode: ConsentMode = Field(
        default="opt_in",
        description="opt_in: learn nothing until a person grants consent. opt_out: learn from "
        "everyone who has not revoked (only for private deployments where people agreed).",
    )

    workspace_opt_out_allowed: bool = Field(
        default=False,
        description="Let workspace admins choose opt_out for their own workspace (/admin set "
        "consent opt_out) while consent_mode is opt_in. Off: admins may only ask first.",
    )

    event_loop: EventLoopChoice = Field(
        default="uvloop",
        description="The event loop: uvloop (faster turns under load; asyncio's own where it "
        "is not installed, e.g. on Windows) or asyncio.",
    )
    forget_on_leave: bool = Field(
        default=False,
        description="Delete a person's data when the platform says they left or were deleted "
        "(Slack user deactivated, Discord member removed or user deletion request).",
    )

    # Learning ------------------------------------------------------------------------------
    interest_half_life_days: float = Field(default=14.0, gt=0)
    interest_lasting_half_life_days: float = Field(default=365.0, gt=0)
    max_interests_per_person: int = Field(default=200, ge=10)
    keyphrases_per_message: int = Field(default=5, ge=1, le=20)
    max_signal_chars: int = Field(
        default=4000, ge=100, description="Only this much of a message feeds signal extraction."
    )
    extract_workers: int | None = Field(
        default=None,
        ge=0,
        description="Processes that extract signals (keyphrases, language) beside the event "
        "loop, started on first use. Unset: one per core; 0: a thread of this process.",
    )
    extract_worker_nice: int = Field(
        default=5,
        ge=0,
        le=19,
        description="How much lower the extraction workers' CPU priority is than the bot's "
        "(a Unix nice increment): on a busy machine the event loop (replies, heartbeats) "
        "goes first and extraction takes what is left. 0: the same priority.",
    )
    reply_work_at_once: int = Field(
        default=2,
        ge=0,
        description="Replies whose database and CPU stages (claim, learning, assembly; on "
        "PostgreSQL the record too) run at once in this process; the rest wait their turn in "
        "arrival order. Never held while the model answers. 0: no limit.",
    )
    observe_yield_ms: int = Field(
        default=20,
        ge=0,
        le=1_000,
        description="How long, at most, an observed channel message or reaction waits while "
        "replies work, so that under load the CPU goes to the people waiting for an answer "
        "first. 0: never waits.",
    )
    learning_batch_max: int | None = Field(
        default=None,
        ge=1,
        le=10_000,
        description="Most events a learning batch applies in one transaction. Unset: 32 on "
        "SQLite, whose one writer every reply needs too (a shorter hold: DM p99 at maximum "
        "ingest about halved), 500 on PostgreSQL (fewer round trips a batch).",
    )
    history_turns: int = Field(default=20, ge=0, description="Turns of history kept in context.")
    last_seen_resolution_seconds: float = Field(
        default=300.0,
        ge=0,
        description="A person's last-seen time is written at most this often (0: every "
        "message): only the people listing shows it, and one UPDATE a message was waste.",
    )
    prompt_system_tokens: int = Field(
        default=900, ge=200, description="Budget of the system prompt (profile and context)."
    )
    prompt_history_tokens: int = Field(
        default=2000, ge=0, description="Budget of the conversation history sent to the model."
    )
    max_message_chars: int = Field(
        default=40_000, ge=1000, description="Longer messages are cut (and the person is told)."
    )

    # Localisation --------------------------------------------------------------------------
    default_timezone: str = "UTC"
    default_locale: str = "en"

    # Model ---------------------------------------------------------------------------------
    llm: LLMChoice = "auto"
    llm_model: str | None = None
    llm_max_tokens: int = Field(default=1024, ge=16)
    llm_timeout_seconds: float = Field(default=60.0, gt=0)
    anthropic_api_key: str | None = Field(
        default=None,
        validation_alias=AliasChoices("ANTHROPIC_API_KEY", "TAILORBOT_ANTHROPIC_API_KEY"),
    )
    openai_base_url: str | None = None
    openai_api_key: str | None = None
    llm_tools: bool = Field(
        default=True, description="Let the model look things up and remember through tools."
    )
    llm_tool_rounds: int = Field(default=3, ge=1, le=8, description="Tool rounds per answer.")
    llm_tool_result_chars: int = Field(default=2000, ge=200, description="Per tool result.")

    # Memories and linked identities ---------------------------------------------------------
    memory_max_per_person: int = Field(default=50, ge=1, le=1000)
    memory_max_chars: int = Field(default=300, ge=20, le=500)
    link_code_ttl_seconds: int = Field(default=600, ge=60, le=86_400)
    link_codes_per_hour: int = Field(default=5, ge=1)
    link_attempts_per_hour: int = Field(default=10, ge=1)

    # Slack (Bolt's usual variable names) ---------------------------------------------------
    slack_bot_token: str | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "TAILORBOT_SLACK_BOT_TOKEN")
    )
    slack_app_token: str | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "TAILORBOT_SLACK_APP_TOKEN")
    )
    slack_signing_secret: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "TAILORBOT_SLACK_SIGNING_SECRET"),
    )
    slack_api_url: str = "https://slack.com/api/"
    # Distribution ("Add to Slack", HTTP mode): with a client id and secret the app serves
    # /slack/install and /slack/oauth_redirect and keeps one bot token per workspace.
    slack_client_id: str | None = Field(
        default=None, validation_alias=AliasChoices("SLACK_CLIENT_ID", "TAILORBOT_SLACK_CLIENT_ID")
    )
    slack_client_secret: str | None = Field(
        default=None,
        validation_alias=AliasChoices("SLACK_CLIENT_SECRET", "TAILORBOT_SLACK_CLIENT_SECRET"),
    )
    slack_token_key: str | None = Field(
        default=None,
        description="Fernet key(s) encrypting stored Slack tokens, comma-separated, newest "
        "first (older keys still decrypt, so keys can be rotated). Required with OAuth.",
    )
    slack_account_check_hours: SlackAccountCheckHours = Field(
        default=6.0,
        description="With forget_on_leave: how often the Slack adapter asks Slack whether the "
        "people it knows were deleted (besides once at start), since a deactivation while the "
        "bot was disconnected is never told again. Only accounts Slack says are deleted are "
        "forgotten, and a workspace whose stored token Slack calls account_inactive (the app "
        "removed). With Add to Slack, whatever forget_on_leave, also how often each stored "
        "installation's token is checked, to delete those of an app removed unheard; at "
        "least 1, at most 168 (a week).",
    )
    slack_redirect_uri: str | None = Field(
        default=None,
        description="Public https://…/slack/oauth_redirect URL, when Slack must be told it.",
    )
    http_port: int = Field(
        default=3000,
        ge=0,
        le=MAX_PORT,
        description="0 picks a free port (tests). 99999 was accepted (operations audit).",
    )

    # Discord -------------------------------------------------------------------------------
    discord_bot_token: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DISCORD_BOT_TOKEN", "TAILORBOT_DISCORD_BOT_TOKEN"),
    )
    discord_api_url: str | None = None
    discord_gateway_url: str | None = None
    discord_intents: list[str] | None = Field(
        default=None,
        description="Privileged intents to request (message_content, members, presences); "
        "unset: message_content, plus members when forget_on_leave is on.",
    )
    discord_sharded: bool = Field(default=False, description="Run an auto-sharded client.")
    discord_shard_count: int | None = Field(default=None, ge=1)

    # Misc ----------------------------------------------------------------------------------
    prompt_templates_dir: Path | None = Field(
        default=None, description="Folder whose *.j2 files override the built-in templates."
    )
    bot_name: str = "tailorbot"
    log_level: str = "WARNING"
    log_library_level: str = Field(
        default="INFO",
        description=(
            "The least level libraries log at, whatever log_level says: below INFO the "
            "database driver and the model and Slack SDKs log what people wrote."
        ),
    )

    # Operations ----------------------------------------------------------------------------
    log_format: Literal["text", "json"] = Field(
        default="text", description="json: one JSON object per log line (for log shippers)."
    )
    http_enabled: bool = Field(
        default=True,
        description="`tailorbot run` serves /healthz, /readyz, /metrics and the operator page "
        "on http_port (with Slack in HTTP mode, /slack/events too).",
    )
    http_host: str = "0.0.0.0"
    admin_token: str | None = Field(
        default=None,
        description="Bearer token for the operator page (/admin); without it the page is off.",
    )
    llm_price_input_per_mtok: float = Field(
        default=0.0, description="USD per million input tokens, for the page's cost estimate."
    )
    llm_price_output_per_mtok: float = Field(
        default=0.0, description="USD per million output tokens, for the page's cost estimate."
    )

    # Digests -------------------------------------------------------------------------------
    digest_scheduler_enabled: bool = Field(
        default=True,
        description="Run the digest scheduler in this worker (several workers may: a digest "
        "is still sent once per person and period).",
    )
    digest_misfire_grace_seconds: int = Field(
        default=3600,
        ge=0,
        description="A digest missed while no worker ran is sent late, once, if a worker is "
        "back within this many seconds of its time; later, that period is skipped.",
    )
    digest_batch_size: int = Field(
        default=200,
        ge=1,
        description="People loaded and run together by `digest run-due`, and at most in one "
        "page of digests that fire at the same instant.",
    )
    digest_fire_window_ms: int = Field(
        default=50,
        ge=0,
        le=5000,
        description="How long a scheduled digest waits for others firing at the same instant, "
        "so they run as one page (a handful of statements instead of a few per person).",
    )
    digest_max_concurrency: int = Field(
        default=8,
        ge=1,
        description="Digests built and delivered at once (platform rate limits, DB pool).",
    )
    digest_items: int = Field(default=6, ge=1, le=20, description="Items in one digest.")
    digest_also_new_items: int = Field(
        default=0,
        ge=0,
        le=10,
        description="Unrelated new items allowed in a labelled 'also new' tail (0: none).",
    )
    digest_send_empty: bool = Field(
        default=False, description="Send a short note when a period has nothing to show."
    )
    digest_cold_start_interests: int = Field(
        default=3,
        ge=0,
        description="People with fewer learned interests than this also get the "
        "collaborative signal from similar people in their workspace.",
    )
    digest_stale_claim_seconds: int = Field(
        default=900,
        ge=60,
        description="A run that crashed while building (nothing delivered yet) may be taken "
        "over by another worker after this long.",
    )
    digest_activity_days: int = Field(
        default=30,
        ge=1,
        description="Channel activity kept for digests (and as evidence of who is in which "
        "private channel); older rows are pruned.",
    )
    digest_feed_timeout_seconds: float = Field(default=10.0, gt=0)
    digest_feed_max_bytes: int = Field(default=2_000_000, ge=10_000)
    digest_feed_cache_seconds: float = Field(
        default=900.0, ge=0, description="How long a fetched RSS/Atom feed is reused."
    )
    digest_max_personal_feeds: int = Field(default=10, ge=0)
    digest_feeds_allow_private_hosts: bool = Field(
        default=False,
        description="Let people add feeds on private/loopback addresses (off: a person could "
        "otherwise make the bot read internal services). Workspace feeds are trusted.",
    )

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        """Only the backends profiles/db.py accepts (any driver suffix: it picks its own).

        Found in the operations audit: ``postgresl://...`` passed ``tailorbot config`` and
        every database command ended in a 47-line traceback; checked here it is a
        configuration error (exit 2). Only the scheme is quoted: the rest may hold a password.
        """
        scheme, sep, _ = value.partition("://")
        if not sep:
            raise ValueError("not a database URL (scheme://...): " + DATABASE_URL_HINT)
        if scheme.partition("+")[0] not in DATABASE_BACKENDS:
            raise ValueError(f"unsupported database {scheme!r}: {DATABASE_URL_HINT}")
        return value

    @field_validator("slack_api_url", "discord_api_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        """Found in the operations audit: ``TAILORBOT_SLACK_API_URL=htp://x`` ended `slack
        check` (and the bot's first call) in aiohttp's traceback; said at load instead."""
        return _url_of(value, ("http", "https"), "an http:// or https://")

    @field_validator("discord_gateway_url")
    @classmethod
    def _websocket_url(cls, value: str | None) -> str | None:
        """Found in the operations audit: the gateway URL was not checked, and a mistyped one
        (``https://…``, no scheme at all) was only found when the Discord adapter dialled it
        (adapters/discord/endpoints.py). Discord's gateways are ``wss://``; ``ws://`` for a
        local one."""
        return _url_of(value, ("ws", "wss"), "a ws:// or wss://")

    @field_validator("log_level", "log_library_level")
    @classmethod
    def _logging_level(cls, value: str) -> str:
        names = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
        if value.upper() not in names:
            raise ValueError(f"{value!r} is not a logging level; one of {', '.join(names)}")
        return value.upper()

    @field_validator("default_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA timezone {value!r}") from exc
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        _check_environment(settings_cls)
        _check_dotenv(dotenv_settings)
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            CheckedTomlSource(settings_cls),
        )


def load_settings(config_file: Path | None = None, **overrides: object) -> Settings:
    """Load settings; ``config_file`` replaces ``tailorbot.toml`` when given (and must exist:
    pydantic-settings skips a TOML file it cannot find, so a mistyped ``--config`` ran on
    the defaults without a word)."""
    if config_file is not None:
        if not config_file.is_file():
            raise FileNotFoundError(f"no configuration file at {config_file}")

        class _FileSettings(Settings):
            model_config = SettingsConfigDict(toml_file=str(config_file))

        return _FileSettings(**overrides)  # type: ignore[arg-type]
    return Settings(**overrides)  # type: ignore[arg-type]


MASK = "********"
# A secret is a field typed SecretStr, or named like one by its last word: ``slack_bot_token``
# is a secret, ``llm_max_tokens`` (a number) is not. Substring matching got both wrong.
SECRET_SUFFIXES = ("_key", "_token", "_secret", "_password", "_dsn")


def is_secret_field(name: str, annotation: Any) -> bool:
    if annotation in (SecretStr, SecretBytes) or annotation in (
        SecretStr | None,
        SecretBytes | None,
    ):
        return True
    return name.endswith(SECRET_SUFFIXES)


def _mask_url_password(value: str) -> str:
    """``postgresql://bot:hunter2@db/x`` → ``postgresql://bot:***@db/x``; anything that is not
    a URL with a password is returned unchanged. (urllib, not SQLAlchemy: ``tailorbot config``
    must not load the database layer.)"""
    if "://" not in value or "@" not in value:
        return value
    try:
        parts = urlsplit(value)
        password = parts.password
    except ValueError:
        return value
    if not password:
        return value
    userinfo, _, hostinfo = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostinfo}"))


APP_NAME = "tailorbot"


def data_dir(settings: Settings) -> Path:
    """Where files the bot writes for people live (bot/exports.py)."""
    return settings.data_dir or Path(user_data_dir(APP_NAME, appauthor=False))


def journal_path(database_url: str, configured: str | None) -> str:
    """Where a process's journal lives unless configured: beside a SQLite database file (so
    it moves with it), ``:memory:`` for an in-memory database, else the working directory."""
    if configured:
        return configured
    if database_url.startswith("sqlite"):
        name = database_url.split("///", 1)[1] if "///" in database_url else ""
        name = name.split("?", 1)[0]
        return f"{name}.journal" if name and name != ":memory:" else ":memory:"
    return "tailorbot-outage.journal"


def display_settings(settings: Settings) -> dict[str, str]:
    """The effective settings as an operator may see them (``tailorbot config``): secrets
    masked by field, passwords inside URLs masked, every other value shown as is. An unset
    setting whose value is worked out at start (the data directory, the outage journal's
    file) is shown as what it comes to, ``<value> (default)``: "None" told a newcomer
    looking for their exports nothing."""
    worked_out = {
        "data_dir": str(data_dir(settings)),
        "outage_journal": journal_path(str(settings.database_url), None),
    }
    shown: dict[str, str] = {}
    for name, field in type(settings).model_fields.items():
        value = getattr(settings, name)
        if value is None and name in worked_out:
            shown[name] = f"{_mask_url_password(worked_out[name])} (default)"
        elif value is None:
            shown[name] = "None"
        elif is_secret_field(name, field.annotation):
            shown[name] = MASK if value else ""
        elif isinstance(value, str):
            shown[name] = _mask_url_password(value)
        else:
            shown[name] = str(value)
    return shown
