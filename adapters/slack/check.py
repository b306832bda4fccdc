"""``tailorbot slack check``: does the bot token work, and does it have every scope the
manifest asks for? Slack lists a token's scopes in the ``X-OAuth-Scopes`` header of each Web
API response, so one ``auth.test`` call answers both."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.manifest import build_manifest
from bot.config import Settings

# Slack's auth.test errors that say the token itself is wrong (mistyped, revoked, expired,
# its bot or workspace deactivated, or not a bot token). Any other error (ratelimited,
# internal_error, ...) says nothing about the token.
TOKEN_ERRORS = frozenset({
    "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
    "not_allowed_token_type",
})
# Why the token could not be confirmed: Slack did not answer (network, DNS, TLS); Slack
# refused this token; or an answer that is no verdict on the token (another API error, or a
# server at slack_api_url that does not speak the Web API).
Failure = Literal["unreachable", "token", "api"]


@dataclass(frozen=True)
class TokenCheck:
    ok: bool
    team: str = ""
    bot_user: str = ""
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    scopes_known: bool = True
    # Slack's error code (failure "token", or "api" with a code), else what went wrong.
    error: str = ""
    # Found in the operations audit: an unreachable API, then any answer that was not ok
    # (ratelimited, a proxy's 502 page), was reported as "Slack refused the bot token".
    failure: Failure | None = None
    status: int | None = None  # the HTTP status of an answer that was no verdict


def wanted_scopes(settings: Settings) -> set[str]:
    return set(build_manifest(settings)["oauth_config"]["scopes"]["bot"])


async def check_token(settings: Settings) -> TokenCheck:
    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    try:
        response = await client.auth_test()
    except SlackApiError as exc:
        return _answered(exc)
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        return TokenCheck(False, error=str(exc) or type(exc).__name__, failure="unreachable")
    except SlackClientError as exc:  # the SDK's own refusal, before or after the request
        return TokenCheck(False, error=str(exc) or type(exc).__name__, failure="api")
    header = next(
        (value for key, value in response.headers.items() if key.lower() == "x-oauth-scopes"),
        None,
    )
    wanted = wanted_scopes(settings)
    if header is None:
        return TokenCheck(
            True, str(response.get("team", "")), str(response.get("user", "")),
            scopes_known=False,
        )
    granted = {scope.strip() for scope in str(header).split(",") if scope.strip()}
    return TokenCheck(
        ok=not wanted - granted,
        team=str(response.get("team", "")),
        bot_user=str(response.get("user", "")),
        missing=tuple(sorted(wanted - granted)),
        extra=tuple(sorted(granted - wanted)),
    )


def _answered(exc: SlackApiError) -> TokenCheck:
    """An answer that was not ``ok``: Slack's verdict on the token, or not one. The SDK
    raises the same error for a page that is not the Web API's JSON (a proxy's 502, a wrong
    slack_api_url): then there is no error code, and the response is the SDK's (status_code)
    or, for a body that claimed to be JSON and was not, aiohttp's (status)."""
    data = getattr(exc.response, "data", None)
    code = data.get("error") if isinstance(data, dict) else None
    status = getattr(exc.response, "status_code", getattr(exc.response, "status", None))
    if code in TOKEN_ERRORS:
        return TokenCheck(False, error=str(code), failure="token")
    return TokenCheck(False, error=str(code or ""), failure="api",
                      status=status if isinstance(status, int) else None)


def failure_line(found: TokenCheck, where: str) -> str:
    """What ``slack check`` says when the token could not be confirmed, ``where`` being the
    API's URL as the operator knows it."""
    if found.failure == "unreachable":
        return (f"Could not reach the Slack API at {where}: {found.error}. The token was not "
                "checked.")
    if found.failure == "token":
        return (f"Slack refused the bot token ({found.error}). Copy the Bot User OAuth Token "
                "(xoxb-...) again from the app's OAuth & Permissions page at "
                "https://api.slack.com/apps and set SLACK_BOT_TOKEN; reinstall the app if it "
                "was removed from the workspace.")
    if found.status is None:  # the SDK refused before or after the request
        return f"The token could not be checked against {where}: {found.error}."
    if found.error:
        return (f"The Slack API at {where} answered auth.test with the error {found.error!r} "
                f"(HTTP {found.status}). The token was not checked.")
    return (f"The server at {where} did not answer as the Slack Web API does (HTTP "
            f"{found.status}, no Slack error code). The token was not checked.")
