"""Where "Add to Slack" installations live: slack_sdk's SQLAlchemy installation and OAuth state
stores, on the project's own database (SQLite or PostgreSQL, the same async engine as the
core), with every token encrypted at rest.

Why slack_sdk's stores: Bolt's OAuth flow, its per-request authorisation and its
``app_uninstalled``/``tokens_revoked`` handling all speak the ``AsyncInstallationStore``
protocol; these stores implement it and are maintained with it. Two things are ours:

* **Encryption.** Token columns use :class:`EncryptedToken`, a SQLAlchemy type that encrypts on
  write and decrypts on read with Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``).
  The key comes from settings (``slack_token_key``); several comma-separated keys form a
  ``MultiFernet`` (newest first) so a key can be rotated without losing installations. A
  database dump alone therefore never yields a usable token. Token columns are wider than
  slack_sdk's 200 characters because ciphertext is longer than the token.
* **Schema ownership.** The tables are created by the project's Alembic migrations
  (``profiles/migrations``), never by ``create_tables()``; a test checks that the migrated
  tables match :func:`slack_tables`.

The tables hold workspace data (which workspace installed the app, its bot token and the
installer's Slack user id), not a person's profile: they are removed when the workspace
uninstalls the app (see docs/slack.md).
"""

from __future__ import annotations

import logging
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy import MetaData, String, Table, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

INSTALLATIONS_TABLE = "slack_installations"
BOTS_TABLE = "slack_bots"
STATES_TABLE = "slack_oauth_states"
TABLES = (INSTALLATIONS_TABLE, BOTS_TABLE, STATES_TABLE)
TOKEN_COLUMNS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
TOKEN_COLUMN_LENGTH = 1000
STATE_SECONDS = 600  # an install link is valid this long

NO_KEY = (
    "Slack OAuth needs TAILORBOT_SLACK_TOKEN_KEY to encrypt the tokens it stores; create one "
    "with `tailorbot slack token-key` and keep it secret (losing it means reinstalling)."
)
BAD_KEY = (
    "TAILORBOT_SLACK_TOKEN_KEY is not a valid Fernet key (32 url-safe base64-encoded bytes); "
    "create one with `tailorbot slack token-key`."
)
UNREADABLE = (
    "A stored Slack token cannot be decrypted with TAILORBOT_SLACK_TOKEN_KEY: was the key "
    "replaced? List the new key first and keep the old one after it (comma-separated)."
)


class TokenKeyError(ValueError):
    """The token key is missing, malformed, or does not open a stored token."""


class TokenCipher:
    """Fernet encryption of tokens with one or more keys (newest first)."""

    def __init__(self, keys: str | None) -> None:
        parts = [k.strip() for k in (keys or "").split(",") if k.strip()]
        if not parts:
            raise TokenKeyError(NO_KEY)
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])
        except (ValueError, TypeError) as exc:
            raise TokenKeyError(BAD_KEY) from exc

    def encrypt(self, token: str) -> str:
        return self._fernet.encrypt(token.encode()).decode("ascii")

    def decrypt(self, stored: str) -> str:
        try:
            return self._fernet.decrypt(stored.encode("ascii")).decode()
        except (InvalidToken, ValueError) as exc:
            raise TokenKeyError(UNREADABLE) from exc


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


class EncryptedToken(TypeDecorator[str]):
    """A string column whose values are stored Fernet-encrypted."""

    impl = String(TOKEN_COLUMN_LENGTH)
    cache_ok = True

    def __init__(self, cipher: TokenCipher) -> None:
        super().__init__()
        self.cipher = cipher

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.cipher.encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.cipher.decrypt(value)


def slack_tables(metadata: MetaData, cipher: TokenCipher | None = None) -> dict[str, Table]:
    """slack_sdk's own table definitions, with token columns widened (and encrypted when a
    cipher is given). Without a cipher: the plain schema, for comparing with migrations."""
    tables = {
        INSTALLATIONS_TABLE: AsyncSQLAlchemyInstallationStore.build_installations_table(
            metadata, INSTALLATIONS_TABLE
        ),
        BOTS_TABLE: AsyncSQLAlchemyInstallationStore.build_bots_table(metadata, BOTS_TABLE),
        STATES_TABLE: AsyncSQLAlchemyOAuthStateStore.build_oauth_states_table(
            metadata, STATES_TABLE
        ),
    }
    for table in (tables[INSTALLATIONS_TABLE], tables[BOTS_TABLE]):
        for name in TOKEN_COLUMNS:
            if name in table.c:
                column: Any = table.c[name]
                column.type = (
                    EncryptedToken(cipher) if cipher else String(TOKEN_COLUMN_LENGTH)
                )
    return tables


class InstallationStore(AsyncSQLAlchemyInstallationStore):
    """slack_sdk's async SQLAlchemy installation store, on our tables, tokens encrypted."""

    def __init__(self, client_id: str, engine: AsyncEngine, cipher: TokenCipher) -> None:
        super().__init__(client_id=client_id, engine=engine)
        self.metadata = MetaData()
        tables = slack_tables(self.metadata, cipher)
        self.installations = tables[INSTALLATIONS_TABLE]
        self.bots = tables[BOTS_TABLE]

    async def create_tables(self) -> None:
        raise RuntimeError("Slack tables are created by `tailorbot db upgrade` (Alembic)")

    async def installed_teams(self) -> set[str]:
        """The workspaces with a bot installation of this app (``client_id``) stored. Why:
        the account check (adapters/slack/reconcile.py) visits them to find the ones that
        removed the app unheard, and whose rows a deletion interrupted by a restart left."""
        bots = self.bots
        statement = (
            select(bots.c.team_id)
            .where(bots.c.client_id == self.client_id, bots.c.enterprise_id.is_(None),
                   bots.c.team_id.is_not(None))
            .distinct()
        )
        async with self.engine.connect() as connection:
            return {str(team) for team in (await connection.execute(statement)).scalars()}


class StateStore(AsyncSQLAlchemyOAuthStateStore):
    """slack_sdk's async SQLAlchemy OAuth state store (one-time ``state`` values that tie the
    OAuth redirect to the browser that started the install), on our table."""

    def __init__(self, engine: AsyncEngine, expiration_seconds: int = STATE_SECONDS) -> None:
        super().__init__(expiration_seconds=expiration_seconds, engine=engine,
                         table_name=STATES_TABLE)

    async def create_tables(self) -> None:
        raise RuntimeError("Slack tables are created by `tailorbot db upgrade` (Alembic)")
