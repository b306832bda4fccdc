"""What a failed Slack Web API call says, for the code that decides what to do next.

A call can fail three ways, and they call for different things:

* Slack answered and refused for now: HTTP 429 (with ``Retry-After``), a 5xx, or an error code
  in :data:`PASSING_ERRORS`. The call did not take effect; the same call may work later.
* Slack answered and refused for good (``missing_scope``, ``msg_too_long``, ...). The call did
  not take effect; repeating it soon would only repeat the refusal.
* No Web API answer at all (a dropped connection, a timeout, a page from something in front of
  Slack): whether the call took effect is unknown.
"""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

# Slack's error codes that say "not now" rather than "never": asking again soon may work.
PASSING_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)

# What a call to Slack raises when it did not (or may not) take effect: slack_sdk's errors,
# and aiohttp's and the timeout once slack_sdk's connection retries gave up (it raises those
# unwrapped); OSError and ValueError for an answer that could not be read.
CALL_ERRORS = (
    SlackApiError,
    SlackClientError,
    aiohttp.ClientError,
    TimeoutError,
    OSError,
    ValueError,
)


def slack_error(exc: SlackApiError) -> str | None:
    """Slack's error code of a refused call (None for an answer that was no Web API answer,
    e.g. a proxy's error page)."""
    data = getattr(exc.response, "data", None)
    if isinstance(data, dict):
        error = data.get("error")
        return str(error) if error else None
    return None


def status_of(exc: SlackApiError) -> int | None:
    status = getattr(exc.response, "status_code", None)
    return status if isinstance(status, int) else None


def answered(exc: BaseException) -> bool:
    """Slack answered the call (refusing it): it did not take effect. False for a failure
    that leaves that unknown (no answer, or one that was not Slack's). A 429 is an answer
    whatever its body: a rate limiter refuses before anything is done."""
    return isinstance(exc, SlackApiError) and (
        slack_error(exc) is not None or status_of(exc) == 429)


def passing(exc: BaseException) -> bool:
    """Slack refused for now (rate limit, server trouble): the same call may work later."""
    if not answered(exc):
        return False
    assert isinstance(exc, SlackApiError)
    status = status_of(exc) or 200
    return status == 429 or status >= 500 or slack_error(exc) in PASSING_ERRORS


def retry_after(exc: BaseException, default: float = 1.0) -> float:
    """Seconds Slack asked to wait (its ``Retry-After`` header); ``default`` without one."""
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    value = next((v for k, v in headers.items() if str(k).lower() == "retry-after"), None)
    if isinstance(value, list):  # slack_sdk keeps each header as a list of values
        value = value[0] if value else None
    try:
        return max(0.0, float(value)) if value is not None else default
    except ValueError:
        return default
