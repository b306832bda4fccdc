"""``tailorbot slack check``: does the bot token work, and does it have every scope the
manifest asks for? Slack lists a token's scopes in the ``X-OAuth-Scopes`` header of each Web
API response, so one ``auth.test`` call answers both."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.manifest import build_manifest
from bot.config import Settings


@dataclass(frozen=True)
class TokenCheck:
    ok: bool
    team: str = ""
    bot_user: str = ""
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    scopes_known: bool = True
    error: str = ""
    # Slack did not answer (network, DNS, TLS): the token was not checked. Found in the
    # operations audit: this was reported as "Slack refused the bot token".
    unreachable: bool = False


def wanted_scopes(settings: Settings) -> set[str]:
    return set(build_manifest(settings)["oauth_config"]["scopes"]["bot"])


async def check_token(settings: Settings) -> TokenCheck:
    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    try:
        response = await client.auth_test()
    except SlackApiError as exc:
        return TokenCheck(False, error=str(exc.response.get("error", exc)))
    except (SlackClientError, aiohttp.ClientError, OSError, TimeoutError) as exc:
        return TokenCheck(False, error=str(exc) or type(exc).__name__, unreachable=True)
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
