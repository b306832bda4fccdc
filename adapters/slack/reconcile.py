"""At start, and every ``slack_account_check_hours``: with ``forget_on_leave`` forget the
people Slack deactivated, and the workspaces that removed the app, while the bot was not told;
with "Add to Slack" (whatever the setting) delete the installations of workspaces that removed
the app unheard.

Why: Slack tells the app that an account was deactivated (``user_change`` with ``deleted``) or
that a workspace removed it (``app_uninstalled``) once, as an event. Events sent while the bot
was not receiving them — the process stopped, the Socket Mode connection down, the HTTP
endpoint unreachable until Slack gave up retrying — are never sent again, and those people's
data stayed for good, against the operator's setting.

What: each workspace tailorbot knows people of (rows, or events waiting in the outage journal;
with ``forget_on_leave``) and each with an installation stored is checked with its own token
— the installation's bot token ("Add to Slack"), or ``SLACK_BOT_TOKEN``, which speaks for one
workspace only:

1. ``auth.test`` says which workspace the token is for. Another workspace's token (a token
   replaced by another app's or another workspace's) checks nothing there.
2. With ``forget_on_leave``, Slack is asked about the accounts known there
   (adapters/slack/accounts.py); the core
   forgets those Slack says are deleted (:func:`bot.lifecycle.accounts_reported`). Nobody is
   forgotten for being unknown to Slack or missing from its list, and nobody at all on a
   check that did not complete (a network failure, an HTTP error, a page missing, rate
   limits past the retries): the next check asks again.

A workspace is forgotten whole (as ``app_uninstalled`` does: installation, and people with
``forget_on_leave``) only on
an answer that cannot come from a misconfiguration: its stored bot token, still the one
stored, refused as ``account_inactive`` — Slack's answer to the bot token of an app removed
from a workspace, or of a deleted workspace. Never on ``invalid_auth`` or ``not_authed`` (a
mistyped, foreign or wrong token; an IP allowlist), nor ``token_revoked`` (Slack: "Revoking a
bot user token will not uninstall the bot user or the app"), nor ``token_expired`` (a refresh
that did not happen), nor with ``SLACK_BOT_TOKEN`` (which workspace a refused token was is
unknowable, and a token left over from before a reinstall is refused the same way): the log
says so, and `tailorbot users forget` remains.

The log has a line per workspace that lost someone or was not checked, and a summary per
check; counts and workspace ids, never a person.

Limits: a check runs in each process that serves Slack (with several HTTP replicas, each
checks); ``users.info`` and ``users.list`` need the ``users:read`` scope, which the manifest
asks for; an Enterprise Grid organisation-wide install is not covered (nor served).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import accounts
from adapters.slack.accounts import AccountCheckOptions, Sleep, Unanswered
from adapters.slack.installations import InstallationStore, TokenKeyError
from adapters.slack.translate import PLATFORM
from bot.config import Settings
from bot.core import Core

log = logging.getLogger(__name__)

# The only refusal of a stored bot token taken for the app's removal (see the module's text).
REMOVED = "account_inactive"
SECONDS_PER_HOUR = 3600.0


@dataclass
class AccountCheck:
    """What one check did, as the log says it: for the caller that waits for it (tests)."""

    forgotten: dict[str, int] = field(default_factory=dict)  # checked workspace: people
    removed: dict[str, int] = field(default_factory=dict)  # workspace that removed the app
    skipped: dict[str, str] = field(default_factory=dict)  # workspace: why not checked
    # workspaces skipped for a passing failure (Skip.passing): checked again soon
    unfinished: set[str] = field(default_factory=set)
    # installations whose bot token Slack accepted, nobody asked about (no forget_on_leave)
    verified: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Skip:
    """Why a workspace was not checked; ``worrying``: worth an operator's look; ``passing``:
    a failure that may be gone in a minute (the database, the network, Slack's answers), so
    the workspace is checked again soon rather than after a whole interval."""

    why: str
    worrying: bool = False
    passing: bool = False


class AccountChecker:
    """One per adapter. ``uninstalled(team_id)`` does what ``app_uninstalled`` does and
    returns the people forgotten; ``sleep`` is the clock the periodic checks and the pacing
    wait on (tests drive it)."""

    def __init__(
        self,
        core: Core,
        settings: Settings,
        *,
        session: aiohttp.ClientSession,
        store: InstallationStore | None,
        uninstalled: Callable[[str], Awaitable[int]],
        options: AccountCheckOptions | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.core = core
        self.settings = settings
        self.session = session
        self.store = store
        self.uninstalled = uninstalled
        self.options = options or AccountCheckOptions()
        self.sleep = sleep
        self.runs = 0
        self.last: AccountCheck | None = None
        self._lock = asyncio.Lock()
        self._finished = asyncio.Condition()

    @property
    def interval(self) -> float:
        return self.settings.slack_account_check_hours * SECONDS_PER_HOUR

    async def wait(self, runs: int) -> AccountCheck | None:
        """Once ``runs`` checks have finished since the adapter started: the latest's
        outcome."""
        async with self._finished:
            await self._finished.wait_for(lambda: self.runs >= runs)
        return self.last

    async def run(self) -> None:
        """At start, then every ``slack_account_check_hours``, until cancelled. A check that
        could not finish (the database away, Slack not answering for a workspace) is tried
        again after ``retry_unfinished`` seconds, doubling up to the interval."""
        retry = self.options.retry_unfinished
        while True:
            try:
                unfinished = bool((await self.check()).unfinished)
            except Exception:
                log.exception("Slack account check failed; tried again in %.0f s",
                              min(retry, self.interval))
                unfinished = True
            if unfinished:
                await self.sleep(min(retry, self.interval))
                retry *= 2
            else:
                retry = self.options.retry_unfinished
                await self.sleep(self.interval)

    async def check(self) -> AccountCheck:
        """Check every workspace tailorbot knows people of (with ``forget_on_leave``) and
        every one with an installation stored, one at a time."""
        async with self._lock:
            outcome = AccountCheck()
            try:
                await self._check_all(outcome)
            finally:
                async with self._finished:
                    self.runs += 1
                    self.last = outcome
                    self._finished.notify_all()
            return outcome

    async def _check_all(self, outcome: AccountCheck) -> None:
        own_team: str | Skip | None = None  # SLACK_BOT_TOKEN's workspace, asked once
        for team_id in sorted(await self._workspaces()):
            try:
                if self.store is None:
                    if own_team is None:
                        own_team = await self._team_of_single_token()
                    skip = await self._check_single(team_id, own_team, outcome)
                else:
                    skip = await self._check_installed(team_id, self.store, outcome)
            except Exception:
                log.exception(
                    "Slack workspace %s: could not check who was deleted; the "
                    "next check tries again",
                    team_id,
                )
                skip = Skip("failed", worrying=True, passing=True)
            if skip is not None:
                outcome.skipped[team_id] = skip.why
                if skip.passing:
                    outcome.unfinished.add(team_id)
                log.log(
                    logging.WARNING if skip.worrying else logging.INFO,
                    "Slack workspace %s: accounts deleted while the bot was not told "
                    "not checked: %s",
                    team_id,
                    skip.why,
                )
        self._summary(outcome)

    async def _workspaces(self) -> set[str]:
        """Those tailorbot knows people of, with ``forget_on_leave``; and with "Add to
        Slack" those with an installation stored, whatever the setting: the rows of a
        workspace that removed the app unheard — or whose deletion a restart cut short
        (SlackAdapter._delete_installation) — would stay for good, its people gone or not."""
        teams: set[str] = set()
        if self.settings.forget_on_leave:
            teams |= set(await self.core.known_workspaces(PLATFORM))
        if self.store is not None:
            teams |= await self.store.installed_teams()
        return teams

    # ----------------------------------------------------------------------------------------
    async def _team_of_single_token(self) -> str | Skip:
        token = self.settings.slack_bot_token
        if not token:
            return Skip("no SLACK_BOT_TOKEN", worrying=True)
        try:
            response = await self._client(token).auth_test()
        except accounts.CALL_ERRORS as exc:
            refused = accounts.failure(exc)
            # Whichever the refusal, nothing tells which workspace this token was (a token
            # from before a reinstall is refused as a removed app's is): nothing is forgotten.
            return Skip(
                f"SLACK_BOT_TOKEN was refused: {refused.why}; nothing is forgotten "
                "on a refused SLACK_BOT_TOKEN (if the app was removed from a "
                "workspace, forget its people with `tailorbot users forget`)",
                worrying=True, passing=refused.passing,
            )
        team = response.get("team_id")
        return str(team) if team else Skip("auth.test named no workspace", worrying=True)

    async def _check_single(
        self, team_id: str, own_team: str | Skip, outcome: AccountCheck
    ) -> Skip | None:
        if isinstance(own_team, Skip):
            return own_team
        if own_team != team_id:
            return Skip(f"SLACK_BOT_TOKEN is workspace {own_team}'s")
        assert self.settings.slack_bot_token is not None
        return await self._ask(team_id, self.settings.slack_bot_token, outcome)

    async def _check_installed(
        self, team_id: str, store: InstallationStore, outcome: AccountCheck
    ) -> Skip | None:
        token = await self._stored_token(team_id, store)
        if isinstance(token, Skip):
            return token
        try:
            response = await self._client(token).auth_test()
        except accounts.CALL_ERRORS as exc:
            refused = accounts.failure(exc)
            if refused.error == REMOVED and await self._still_stored(team_id, store, token):
                await self._removed(team_id, outcome)
                return None
            return Skip(
                f"its bot token was refused: {refused.why}; nothing is forgotten but "
                f"on {REMOVED} (the app removed)",
                worrying=True, passing=refused.passing,
            )
        if response.get("team_id") != team_id:
            return Skip("its stored bot token is another workspace's", worrying=True)
        if not self.settings.forget_on_leave:
            outcome.verified.add(team_id)  # the app is there; who was deleted is not asked
            return None
        return await self._ask(team_id, token, outcome)

    async def _stored_token(self, team_id: str, store: InstallationStore) -> str | Skip:
        try:
            bot = await store.async_find_bot(enterprise_id=None, team_id=team_id)
        except TokenKeyError as exc:
            return Skip(str(exc), worrying=True)
        if bot is None or not bot.bot_token:
            # Uninstalled while forget_on_leave was off, its bot token revoked, or another
            # app's installations (SLACK_CLIENT_ID changed): nothing here says which.
            return Skip("no installation of the app (with a bot token) for it")
        return str(bot.bot_token)

    async def _still_stored(self, team_id: str, store: InstallationStore, token: str) -> bool:
        """The refused token is still the workspace's: no reinstall since it was read
        (another replica's install would give a new one)."""
        again = await self._stored_token(team_id, store)
        return again == token

    async def _removed(self, team_id: str, outcome: AccountCheck) -> None:
        forgotten = await self.uninstalled(team_id)
        outcome.removed[team_id] = forgotten
        log.warning(
            "Slack workspace %s removed the app while the bot was not told (its bot "
            "token is %s): forgot %d people",
            team_id,
            REMOVED,
            forgotten,
        )

    async def _ask(self, team_id: str, token: str, outcome: AccountCheck) -> Skip | None:
        known = await self.core.known_accounts(PLATFORM, team_id)
        if not known:
            return None
        try:
            answer = await accounts.ask(self._client(token), known, self.options, self.sleep)
        except Unanswered as exc:
            return Skip(
                f"Slack did not answer for everyone ({exc.why}); nothing forgotten",
                worrying=True, passing=exc.passing,
            )
        forgotten = await self.core.accounts_reported(PLATFORM, team_id, answer.report)
        outcome.forgotten[team_id] = forgotten
        log.log(
            logging.INFO if forgotten else logging.DEBUG,
            "Slack workspace %s: forgot %d people Slack says were deleted (%d known, "
            "asked with %d %s calls)",
            team_id,
            forgotten,
            len(known),
            answer.calls,
            answer.method,
        )
        return None

    def _client(self, token: str) -> AsyncWebClient:
        return AsyncWebClient(
            token=token,
            base_url=self.settings.slack_api_url,
            session=self.session,
            retry_handlers=self._retry_handlers(),
        )

    def _retry_handlers(self) -> list[AsyncRetryHandler]:
        """Only reads: every call can be tried again; a 429 waits for ``Retry-After``."""
        o = self.options
        return [
            AsyncRateLimitErrorRetryHandler(max_retry_count=o.rate_limit_retries),
            AsyncConnectionErrorRetryHandler(
                max_retry_count=o.connection_retries, interval_calculator=o.retry_interval
            ),
            AsyncServerErrorRetryHandler(
                max_retry_count=o.server_error_retries, interval_calculator=o.retry_interval
            ),
        ]

    @staticmethod
    def _summary(outcome: AccountCheck) -> None:
        log.info(
            "Slack account check: %d workspaces checked, %d deleted people forgotten; %d "
            "installations found in place, nobody asked about (forget_on_leave off); %d "
            "workspaces not checked; %d workspaces that removed the app forgotten (%d "
            "people)",
            len(outcome.forgotten),
            sum(outcome.forgotten.values()),
            len(outcome.verified),
            len(outcome.skipped),
            len(outcome.removed),
            sum(outcome.removed.values()),
        )
