"""What Slack says of the accounts tailorbot knows in one workspace: deleted, unknown to it,
or nothing certain (when to ask: adapters/slack/reconcile.py; what to forget: the core,
:func:`bot.lifecycle.accounts_reported`).

Two ways to ask, chosen by how many people are known there, since Slack's rate limits are per
method and per workspace:

* ``users.info`` per known person (Tier 4, 100+ calls a minute): for a few people, whatever
  the size of the workspace. ``user_not_found`` is reported as unknown, not deleted.
* ``users.list`` (Tier 2, 20+ calls a minute, up to 200 members a page, deactivated members
  included with ``"deleted": true``): for many people, when a call per 200 members costs less
  than a call per person. Someone known who is not listed is not reported at all (people of
  other organisations met in shared channels are not members of this workspace).

Calls are paced (:class:`AccountCheckOptions`) so that a check leaves most of each method's
budget to replies, which look people up with ``users.info`` too; a 429 waits for Slack's
``Retry-After`` (slack_sdk's retry handlers, on the client the caller gives).

Anything short of a whole answer — a network failure, an HTTP error, a page that did not come,
an answer of an unexpected shape, any Slack error but a person's ``user_not_found`` — ends the
check with :class:`Unanswered`, and nothing it had found is used: the next check asks again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.handler import default_interval_calculator
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.errors import CALL_ERRORS, PASSING_ERRORS, slack_error
from bot.lifecycle import AccountReport

Sleep = Callable[[float], Awaitable[None]]

NOT_FOUND = "user_not_found"
# A person the token may not see: nothing said of their account either way.
NOT_SEEN = frozenset({"user_not_visible"})


@dataclass(frozen=True, slots=True)
class AccountCheckOptions:
    """How the accounts are asked about: Slack mechanics, not product (tests remove the
    pauses)."""

    # Known people up to this many are asked about one by one (users.info), more with
    # users.list: 100 calls at Tier 4 take about as long as a 20,000-member workspace's
    # pages at Tier 2.
    info_up_to: int = 100
    page_size: int = 200  # Slack's advice for users.list
    info_pace: float = 1.0  # seconds between two users.info calls: 60 a minute of Tier 4's 100+
    list_pace: float = 3.0  # seconds between two users.list pages: 20 a minute, Tier 2's base
    rate_limit_retries: int = 5  # 429s answered after Retry-After, then the check gives up
    connection_retries: int = 2
    server_error_retries: int = 2  # HTTP 500 and 503
    # Between two tries after a dropped connection or a 500 (slack_sdk's: exponential, with
    # up to a second of jitter).
    retry_interval: RetryIntervalCalculator = field(default=default_interval_calculator)
    # A check the database or Slack did not let finish is tried again after this many
    # seconds, doubling up to ``slack_account_check_hours``: a bot started while its
    # database was away did not check for a whole interval.
    retry_unfinished: float = 60.0


class Unanswered(Exception):
    """Slack did not answer the whole question; ``error`` is Slack's error code, if any."""

    def __init__(self, why: str, error: str | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.error = error

    @property
    def passing(self) -> bool:
        """No answer, a malformed one or a passing error (not a refusal such as
        ``missing_scope``, which asking again soon would only repeat)."""
        return self.error is None or self.error in PASSING_ERRORS


@dataclass(frozen=True, slots=True)
class Answer:
    report: AccountReport
    method: str  # users.info or users.list
    calls: int


def failure(exc: BaseException) -> Unanswered:
    """A failed call, said for the log (a Slack error code, an HTTP status, a network
    error's type); never a person's id."""
    if isinstance(exc, SlackApiError):
        error = slack_error(exc)
        status = getattr(exc.response, "status_code", None)
        return Unanswered(f"Slack answered {error or 'no Web API answer'} (HTTP {status})", error)
    return Unanswered(f"no answer from Slack ({type(exc).__name__})")


async def ask(
    client: AsyncWebClient,
    known: Collection[str],
    options: AccountCheckOptions,
    sleep: Sleep = asyncio.sleep,
) -> Answer:
    """Which of ``known`` (accounts of the client's workspace) Slack says are deleted, or
    does not know; raises :class:`Unanswered` unless Slack answered for all of them."""
    if len(known) <= options.info_up_to:
        return await _one_by_one(client, sorted(known), options, sleep)
    return await _listed(client, frozenset(known), options, sleep)


async def _one_by_one(
    client: AsyncWebClient, known: list[str], options: AccountCheckOptions, sleep: Sleep
) -> Answer:
    deleted: set[str] = set()
    unknown: set[str] = set()
    for calls, user_id in enumerate(known):
        if calls and options.info_pace:
            await sleep(options.info_pace)
        try:
            response = await client.users_info(user=user_id)
        except SlackApiError as exc:
            error = slack_error(exc)
            if error == NOT_FOUND:
                unknown.add(user_id)
                continue
            if error in NOT_SEEN:
                continue
            raise failure(exc) from exc
        except CALL_ERRORS as exc:
            raise failure(exc) from exc
        user = response.get("user")
        if not isinstance(user, dict) or user.get("id") != user_id:
            raise Unanswered("users.info answered about someone else, or nobody")
        if user.get("deleted") is True:
            deleted.add(user_id)
    return Answer(AccountReport(frozenset(deleted), frozenset(unknown)), "users.info", len(known))


async def _listed(
    client: AsyncWebClient, known: frozenset[str], options: AccountCheckOptions, sleep: Sleep
) -> Answer:
    deleted: set[str] = set()
    cursors: set[str] = set()
    cursor = ""
    calls = 0
    while True:
        if calls and options.list_pace:
            await sleep(options.list_pace)
        calls += 1
        try:
            response = await client.users_list(limit=options.page_size, cursor=cursor or None)
        except CALL_ERRORS as exc:
            raise failure(exc) from exc
        members: Any = response.get("members")
        if not isinstance(members, list):
            raise Unanswered("users.list answered a page without members")
        for member in members:
            if (
                isinstance(member, dict)
                and member.get("id") in known
                and member.get("deleted") is True
            ):
                deleted.add(str(member["id"]))
        metadata = response.get("response_metadata")
        cursor = str(metadata.get("next_cursor") or "") if isinstance(metadata, dict) else ""
        if not cursor:
            break
        if cursor in cursors:  # a loop would never end, nor be the whole list
            raise Unanswered("users.list gave the same cursor twice")
        cursors.add(cursor)
    return Answer(AccountReport(frozenset(deleted)), "users.list", calls)
