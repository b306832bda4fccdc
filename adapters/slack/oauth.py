"""Distribution ("Add to Slack"): Bolt's OAuth flow on the project's database.

With ``SLACK_CLIENT_ID`` and ``SLACK_CLIENT_SECRET`` set (and a token key, see
``installations.py``) the HTTP server also serves

* ``GET /slack/install`` — an "Add to Slack" page whose link carries a one-time ``state``
  (stored in ``slack_oauth_states`` and in a browser cookie), and
* ``GET /slack/oauth_redirect`` — where Slack sends the browser back: Bolt checks the state,
  exchanges the code with ``oauth.v2.access`` and saves the installation (bot token encrypted)
  in ``slack_installations``/``slack_bots``.

Each incoming request is then authorised with the token of the workspace it came from (Bolt's
``AsyncInstallationStoreAuthorize``). Without a client id the single-token mode
(``SLACK_BOT_TOKEN``) is used exactly as before.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings

from adapters.slack.installations import InstallationStore, StateStore, TokenCipher
from adapters.slack.manifest import SCOPES
from bot.config import Settings
from bot.core import Core

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
PLATFORM = "slack"


def configured(settings: Settings) -> bool:
    """OAuth mode: the app has a client id and secret (it can be installed anywhere)."""
    return bool(settings.slack_client_id and settings.slack_client_secret)


def installation_store(settings: Settings, core: Core) -> InstallationStore:
    """The encrypted installation store on the core's database (raises
    :class:`~adapters.slack.installations.TokenKeyError` with a clear message when the key is
    missing or malformed, so a misconfiguration stops the start instead of a first install)."""
    assert settings.slack_client_id is not None
    return InstallationStore(settings.slack_client_id, core.services.db.engine,
                             TokenCipher(settings.slack_token_key))


def app_options(settings: Settings, store: InstallationStore | None, core: Core
                ) -> dict[str, Any]:
    """Keyword arguments for ``AsyncApp``: nothing in single-token mode; the installation
    store and OAuth settings in OAuth mode."""
    if store is None:
        return {}
    return {
        "installation_store": store,
        "oauth_settings": AsyncOAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            scopes=sorted(SCOPES),
            installation_store=store,
            state_store=StateStore(core.services.db.engine),
            redirect_uri=settings.slack_redirect_uri,
            install_path=INSTALL_PATH,
            redirect_uri_path=REDIRECT_PATH,
        ),
    }


def add_routes(web_app: web.Application, flow: AsyncOAuthFlow) -> None:
    """The two browser-facing OAuth endpoints on the aiohttp server."""

    async def install(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await flow.handle_installation(
            await to_bolt_request(request)))

    async def redirect(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await flow.handle_callback(
            await to_bolt_request(request)))

    web_app.router.add_get(flow.install_path, install)
    web_app.router.add_get(flow.redirect_uri_path, redirect)
