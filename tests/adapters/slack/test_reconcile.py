"""Who Slack deactivated, and which workspaces removed the app, while the bot was not told:
found at start and every ``slack_account_check_hours`` (adapters/slack/reconcile.py), with
forget_on_leave only, and never on doubt.

The real slack_sdk client asks the fake Slack Web API (tests/support/fake_slack_api.py), which
answers ``users.info``, ``users.list`` and ``auth.test`` as Slack does; an account is
deactivated there by hand, as it was while the bot was stopped (Slack never sends the missed
``user_change`` again). The database is the test's, SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from adapters.slack import runner
from adapters.slack.accounts import AccountCheckOptions
from adapters.slack.app import SlackOptions
from adapters.slack.reconcile import AccountCheck
from bot.core import Core
from bot.events import PersonRef
from profiles.db import DatabaseUnavailable
from profiles.models import Person
from tests.adapters.slack.conftest import (
    ONE,
    OTHER,
    TWO,
    USER,
    Distributed,
    MakeWorld,
    SlackWorld,
    fast_options,
    raw_rows,
    rows,
)
from tests.conftest import MakeCore
from tests.support.fake_slack_api import TEAM_ID, FakeSlackAPI
from tests.support.helpers import grant, message, person_id
from tests.support.stepped_sleep import SteppedSleep

APP_TOKEN = "xapp-1-A0APP-1-test"
WAIT = 10.0  # seconds; a check takes well under one
NO_WAIT = FixedValueRetryIntervalCalculator(0.0)  # tries again at once (no seconds of backoff)
# Failures queued to outlast every try of one call: slack_sdk's retries (one each, below), and
# aiohttp's own second try of a request whose kept-alive connection was dropped.
RETRIES = 4


def ref(user_id: str, team: str = TEAM_ID) -> PersonRef:
    return PersonRef("slack", team, user_id)


async def known(core: Core, *who: PersonRef) -> list[bool]:
    return [await person_id(core, one) is not None for one in who]


def checking(**accounts: Any) -> SlackOptions:
    """The test options, with account checks as asked (no pauses, no backoff)."""
    values: dict[str, Any] = {"info_pace": 0.0, "list_pace": 0.0, "retry_interval": NO_WAIT}
    values.update(accounts)
    return fast_options(accounts=AccountCheckOptions(**values))


def deactivate(slack: FakeSlackAPI, user_id: str) -> None:
    """Deactivated in Slack while the bot was not told: Slack keeps the account, marked."""
    slack.users[user_id]["deleted"] = True


@pytest.fixture
async def forgetting(make_world: MakeWorld) -> SlackWorld:
    """A single-token workspace (SLACK_BOT_TOKEN) with forget_on_leave, where USER and OTHER
    told the bot something."""
    world = await make_world(forget_on_leave=True, options=checking())
    await world.grant()
    await world.grant(OTHER)
    return world


# At start -----------------------------------------------------------------------------------
async def test_a_person_deleted_while_the_bot_was_stopped_is_forgotten_at_start(
    make_core: MakeCore,
) -> None:
    """`tailorbot run` (Socket Mode): once connected, the accounts known are checked; the one
    Slack deactivated meanwhile is forgotten, the other kept."""
    async with FakeSlackAPI() as slack:
        slack.add_user(USER, "Ada")
        slack.add_user(OTHER, "Grace")
        core = await make_core(
            slack_bot_token="xoxb-test",
            slack_app_token=APP_TOKEN,
            slack_api_url=slack.base_url,
            forget_on_leave=True,
        )
        for user_id in (USER, OTHER):
            await grant(core, ref(user_id))
        deactivate(slack, USER)  # while the bot was stopped

        clock = SteppedSleep()
        options = checking()
        options.sleep = clock.sleep
        task = asyncio.create_task(runner.serve(core, core.services.settings, options=options))
        try:
            await asyncio.wait_for(clock.asleep.wait(), WAIT)  # the first check is done
            assert await known(core, ref(USER), ref(OTHER)) == [False, True]
            asked = sorted(c.params["user"] for c in slack.calls_to("users.info"))
            assert asked == sorted([USER, OTHER])
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_each_known_person_is_asked_about_and_only_the_deleted_forgotten(
    forgetting: SlackWorld,
) -> None:
    """Few people known: users.info for each. Someone Slack does not know (user_not_found:
    a token of another workspace would say the same of everyone) is kept."""
    world = forgetting
    await grant(world.core, ref("U0NOBODY"))  # known here, unknown to Slack
    deactivate(world.slack, USER)
    before = len(world.slack.calls_to("users.info"))

    outcome = await world.adapter.accounts.check()

    assert outcome == AccountCheck(forgotten={TEAM_ID: 1})
    assert await known(world.core, ref(USER), ref(OTHER), ref("U0NOBODY")) == [False, True, True]
    asked = [c.params["user"] for c in world.slack.calls_to("users.info", ok_only=False)]
    assert sorted(asked[before:]) == sorted([USER, OTHER, "U0NOBODY"])
    assert world.slack.calls_to("users.list") == []


async def test_many_people_are_checked_page_by_page_with_users_list(
    make_world: MakeWorld,
) -> None:
    """More people known than are worth a users.info each: users.list, every page followed
    by its cursor; the deleted one is on the last page. Someone known but not listed (a
    person of another organisation met in a shared channel) is kept."""
    world = await make_world(forget_on_leave=True, options=checking(info_up_to=2, page_size=2))
    for user_id in ("U1", "U2", "U3", "U4"):
        world.slack.add_user(user_id, user_id)
    for user_id in (USER, OTHER, "U1", "U4", "U0EXTERNAL"):
        await grant(world.core, ref(user_id))
    deactivate(world.slack, "U4")  # sorted last of six: the third page

    outcome = await world.adapter.accounts.check()

    assert outcome.forgotten == {TEAM_ID: 1}
    assert await known(
        world.core, ref("U4"), ref(USER), ref(OTHER), ref("U1"), ref("U0EXTERNAL")
    ) == [False, True, True, True, True]
    pages = world.slack.calls_to("users.list")
    assert len(pages) == 3
    assert [bool(p.params.get("cursor")) for p in pages] == [False, True, True]
    assert {p.params["limit"] for p in pages} == {"2"}


async def test_a_person_known_only_by_waiting_events_is_asked_about_too(
    forgetting: SlackWorld,
) -> None:
    """Their events, kept while the database was away, would make them a row at the replay."""
    world = forgetting
    world.slack.add_user("U0WAITING", "Waiting")
    deactivate(world.slack, "U0WAITING")
    journal = world.core.services.journal
    journal.keep(message(ref("U0WAITING"), "written during an outage"))

    await world.adapter.accounts.check()

    assert journal.users("slack", TEAM_ID) == set()


# Never on doubt ---------------------------------------------------------------------------
async def test_rate_limits_are_waited_out_and_the_check_completes(
    forgetting: SlackWorld,
) -> None:
    """A 429 waits for Retry-After (slack_sdk's handler), then the same call again."""
    world = forgetting
    deactivate(world.slack, USER)
    world.slack.fail_next("users.info", status=429, retry_after=0)

    outcome = await world.adapter.accounts.check()

    assert outcome.forgotten == {TEAM_ID: 1}
    statuses = [c.status for c in world.slack.calls_to("users.info", ok_only=False)]
    assert 429 in statuses and statuses[-1] == 200


@pytest.mark.parametrize(
    "failure",
    [
        {"drop": True},
        {"status": 500, "error": "fatal_error"},
        {"status": 503, "page": "<html>503</html>"},
    ],
)
async def test_a_network_error_or_a_server_error_is_tried_again(
    forgetting: SlackWorld, failure: dict[str, Any]
) -> None:
    """slack_sdk's retry handlers on the check's client try the call again (a connection
    dropped twice: aiohttp itself tries once more on a kept-alive connection)."""
    world = forgetting
    deactivate(world.slack, USER)
    for _ in range(2 if failure.get("drop") else 1):
        world.slack.fail_next("users.info", **failure)

    assert (await world.adapter.accounts.check()).forgotten == {TEAM_ID: 1}


@pytest.mark.parametrize(
    "failure",
    [
        {"drop": True},
        {"status": 500, "error": "fatal_error"},
        {"status": 502, "page": "<html>502 Bad Gateway</html>"},
        {"status": 200, "error": "internal_error"},
        {"status": 429, "retry_after": 0},
    ],
)
async def test_a_check_that_did_not_complete_forgets_nobody_until_one_does(
    make_world: MakeWorld, failure: dict[str, Any]
) -> None:
    """users.info: the deleted person's own answer came, but a later one did not (past every
    retry): nobody is forgotten. The next check, answered whole, forgets them."""
    world = await make_world(
        forget_on_leave=True,
        options=checking(rate_limit_retries=0, connection_retries=1, server_error_retries=1),
    )
    await world.grant()
    await world.grant(OTHER)
    deactivate(world.slack, USER)  # asked first (sorted): its answer comes
    world.slack.fail_next("users.info", after=1, **failure)  # the first try at OTHER
    for _ in range(RETRIES):  # and every retry
        world.slack.fail_next("users.info", **failure)

    outcome = await world.adapter.accounts.check()

    assert outcome.forgotten == {} and set(outcome.skipped) == {TEAM_ID}
    assert await known(world.core, ref(USER), ref(OTHER)) == [True, True]
    world.slack.recover()
    assert (await world.adapter.accounts.check()).forgotten == {TEAM_ID: 1}
    assert await known(world.core, ref(USER), ref(OTHER)) == [False, True]


async def test_a_page_that_did_not_come_forgets_nobody_until_a_whole_list_does(
    make_world: MakeWorld,
) -> None:
    """users.list: the deleted person is on the first page, the second page fails past every
    retry. A partial list is no answer: nobody is forgotten until the whole list comes."""
    world = await make_world(
        forget_on_leave=True, options=checking(info_up_to=0, page_size=1, server_error_retries=1)
    )
    await world.grant()
    await world.grant(OTHER)
    deactivate(world.slack, USER)  # U0ADA, the first page
    world.slack.fail_next("users.list", status=500, after=1)  # page two
    for _ in range(RETRIES):  # and every retry
        world.slack.fail_next("users.list", status=500)

    outcome = await world.adapter.accounts.check()

    assert outcome.forgotten == {} and set(outcome.skipped) == {TEAM_ID}
    assert await known(world.core, ref(USER)) == [True]
    world.slack.recover()
    assert (await world.adapter.accounts.check()).forgotten == {TEAM_ID: 1}
    assert await known(world.core, ref(USER), ref(OTHER)) == [False, True]


async def test_a_cursor_given_twice_is_no_whole_list(
    make_world: MakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A list that points back at a page it gave would never end, nor be the whole list."""
    world = await make_world(forget_on_leave=True, options=checking(info_up_to=0, page_size=1))
    await world.grant()
    deactivate(world.slack, USER)
    listed = world.slack._m_users_list

    def stuck(params: dict[str, Any], request: Any) -> dict[str, Any]:
        answer = listed(params, request)
        answer["response_metadata"] = {"next_cursor": "dXNlcjpVMEdSQUNF"}  # user:U0GRACE
        return answer

    monkeypatch.setattr(world.slack, "_m_users_list", stuck)

    outcome = await world.adapter.accounts.check()

    assert set(outcome.skipped) == {TEAM_ID} and "same cursor" in outcome.skipped[TEAM_ID]
    assert await known(world.core, ref(USER)) == [True]


@pytest.mark.parametrize(
    "error", ["invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"]
)
async def test_a_refused_single_token_forgets_nothing(forgetting: SlackWorld, error: str) -> None:
    """SLACK_BOT_TOKEN refused, whatever the reason (a mistyped or replaced token; one from
    before a reinstall is refused as a removed app's): which workspace it was is unknowable,
    and nothing is forgotten, nobody asked about."""
    world = forgetting
    deactivate(world.slack, USER)
    world.slack.refused["xoxb-test-token"] = error
    asked = len(world.slack.calls_to("users.info", ok_only=False))

    outcome = await world.adapter.accounts.check()

    assert outcome.forgotten == {} and outcome.removed == {}
    assert set(outcome.skipped) == {TEAM_ID}
    assert await known(world.core, ref(USER), ref(OTHER)) == [True, True]
    assert len(world.slack.calls_to("users.info", ok_only=False)) == asked


async def test_another_workspaces_token_asks_nothing_of_this_one(
    forgetting: SlackWorld,
) -> None:
    """SLACK_BOT_TOKEN replaced by another workspace's: auth.test says whose it is, and the
    people met with the former token are not asked about with it (everyone would be
    user_not_found there)."""
    world = forgetting
    deactivate(world.slack, USER)
    world.slack.tokens["xoxb-test-token"] = "T0ELSEWHERE"
    asked = len(world.slack.calls_to("users.info", ok_only=False))

    outcome = await world.adapter.accounts.check()

    assert outcome.skipped == {TEAM_ID: "SLACK_BOT_TOKEN is workspace T0ELSEWHERE's"}
    assert len(world.slack.calls_to("users.info", ok_only=False)) == asked
    assert await known(world.core, ref(USER), ref(OTHER)) == [True, True]


async def test_forget_on_leave_off_asks_nothing_and_forgets_nobody(
    make_world: MakeWorld,
) -> None:
    world = await make_world(options=checking())  # forget_on_leave defaults to false
    await world.grant()
    deactivate(world.slack, USER)
    calls = len(world.slack.calls)

    world.adapter.start_account_checks()
    assert await world.adapter.accounts.check() == AccountCheck()

    assert world.slack.methods()[calls:] == []
    assert await known(world.core, ref(USER)) == [True]


# Periodically, on the injected clock ---------------------------------------------------------
async def test_checks_again_every_slack_account_check_hours(make_world: MakeWorld) -> None:
    """At start, then after each interval on the adapter's clock: someone deactivated
    between two checks is forgotten at the next."""
    clock = SteppedSleep()
    options = checking()
    options.sleep = clock.sleep
    world = await make_world(forget_on_leave=True, slack_account_check_hours=2, options=options)
    await world.grant()
    await world.grant(OTHER)
    checks = world.adapter.accounts

    world.adapter.start_account_checks()
    first = await asyncio.wait_for(checks.wait(1), WAIT)
    assert first is not None and first.forgotten == {TEAM_ID: 0}
    deactivate(world.slack, OTHER)
    await asyncio.sleep(0)
    assert clock.slept == [2 * 3600.0] and checks.runs == 1  # waiting for the interval

    clock.tick()
    second = await asyncio.wait_for(checks.wait(2), WAIT)
    assert second is not None and second.forgotten == {TEAM_ID: 1}
    assert await known(world.core, ref(USER), ref(OTHER)) == [True, False]


async def test_a_check_slack_did_not_let_finish_is_tried_again_soon(
    make_world: MakeWorld,
) -> None:
    """A check left unfinished by Slack (a server error past the retries) is tried again
    after a minute, then two, not after the whole interval; once one completes, the next
    waits the interval again."""
    clock = SteppedSleep()
    options = checking(server_error_retries=0)
    options.sleep = clock.sleep
    world = await make_world(forget_on_leave=True, slack_account_check_hours=2, options=options)
    await world.grant()
    await world.grant(OTHER)
    deactivate(world.slack, OTHER)
    checks = world.adapter.accounts
    for _ in range(2):  # the first two checks' first call
        world.slack.fail_next("users.info", status=500)

    world.adapter.start_account_checks()
    for runs, slept in ((1, [60.0]), (2, [60.0, 120.0])):
        outcome = await asyncio.wait_for(checks.wait(runs), WAIT)
        assert outcome is not None and outcome.unfinished == {TEAM_ID}
        await asyncio.wait_for(clock.asleep.wait(), WAIT)
        clock.asleep.clear()
        assert clock.slept == slept
        clock.tick()
    third = await asyncio.wait_for(checks.wait(3), WAIT)
    assert third is not None and third.forgotten == {TEAM_ID: 1} and not third.unfinished
    await asyncio.wait_for(clock.asleep.wait(), WAIT)
    assert clock.slept == [60.0, 120.0, 2 * 3600.0]
    assert await known(world.core, ref(USER), ref(OTHER)) == [True, False]


async def test_a_check_the_database_did_not_let_finish_is_tried_again_soon(
    make_world: MakeWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bot started while its database was away: the check, which cannot read whom to
    ask about, runs again after a minute (it waited the whole interval, 6 hours)."""
    clock = SteppedSleep()
    options = checking()
    options.sleep = clock.sleep
    world = await make_world(forget_on_leave=True, options=options)
    await world.grant()
    deactivate(world.slack, USER)
    core = world.core
    reads = core.known_workspaces

    async def away(platform: str) -> set[str]:
        raise DatabaseUnavailable("the database is away")

    monkeypatch.setattr(core, "known_workspaces", away)
    world.adapter.start_account_checks()
    await asyncio.wait_for(clock.asleep.wait(), WAIT)
    clock.asleep.clear()
    assert clock.slept == [60.0] and world.adapter.accounts.runs == 1

    monkeypatch.setattr(core, "known_workspaces", reads)  # it is back
    clock.tick()
    second = await asyncio.wait_for(world.adapter.accounts.wait(2), WAIT)
    assert second is not None and second.forgotten == {TEAM_ID: 1}
    await asyncio.wait_for(clock.asleep.wait(), WAIT)
    assert clock.slept == [60.0, 6 * 3600.0]


async def test_calls_are_paced_on_the_clock(make_world: MakeWorld) -> None:
    """A check leaves most of each method's rate budget to replies: a pause between two
    calls (users.info here), waited on the adapter's clock."""
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    options = checking(info_pace=0.75)
    options.sleep = sleep
    world = await make_world(forget_on_leave=True, options=options)
    for user_id in (USER, OTHER, "U0THIRD"):
        await grant(world.core, ref(user_id))

    await world.adapter.accounts.check()

    assert slept == [0.75, 0.75]


# Distribution ("Add to Slack") -------------------------------------------------------------
@pytest.fixture
async def installed(distributed: Any) -> Distributed:
    """Workspaces ONE and TWO installed the app; one person of each told the bot something."""
    world: Distributed = await distributed(forget_on_leave=True, options=checking())
    for team in (ONE, TWO):
        await world.install(team)
        await world.dm(team, f"U{team}", "hi")
    return world


async def test_each_workspace_is_checked_with_its_own_token(installed: Distributed) -> None:
    world = installed
    deactivate(world.slack, f"U{TWO}")

    outcome = await world.adapter.accounts.check()

    assert outcome == AccountCheck(forgotten={ONE: 0, TWO: 1})
    assert await known(world.adapter.core, ref(f"U{ONE}", ONE), ref(f"U{TWO}", TWO)) == [
        True,
        False,
    ]
    asked = {
        c.params["user"]: c.token
        for c in world.slack.calls_to("users.info")
        if c.params.get("user") in (f"U{ONE}", f"U{TWO}")
    }
    assert asked[f"U{TWO}"] == world.slack.token_of(TWO)


async def test_a_workspace_that_removed_the_app_meanwhile_is_forgotten(
    installed: Distributed,
) -> None:
    """Its stored bot token is refused as account_inactive — Slack's answer for a removed
    app's bot token: forgotten as app_uninstalled does (installation and people)."""
    world = installed
    world.slack.uninstall(ONE)  # the app_uninstalled event went unheard

    outcome = await world.adapter.accounts.check()

    assert outcome.removed == {ONE: 1} and outcome.forgotten == {TWO: 0}
    people = sorted(p.workspace for p in await rows(world.adapter.core, Person))
    assert people == [TWO]
    assert [r["team_id"] for r in await raw_rows(world.adapter, "slack_installations")] == [TWO]


@pytest.mark.parametrize("error", ["invalid_auth", "token_revoked", "not_authed", "token_expired"])
async def test_a_refused_stored_token_forgets_nothing_but_on_account_inactive(
    installed: Distributed, error: str
) -> None:
    """invalid_auth (a token Slack cannot validate, an IP allowlist), token_revoked (a bot
    token revoked does not uninstall the app): the workspace, its installation and its people
    stay."""
    world = installed
    deactivate(world.slack, f"U{ONE}")
    world.slack.refused[world.slack.token_of(ONE)] = error

    outcome = await world.adapter.accounts.check()

    assert outcome.removed == {} and set(outcome.skipped) == {ONE}
    assert await known(world.adapter.core, ref(f"U{ONE}", ONE)) == [True]
    teams = sorted(r["team_id"] for r in await raw_rows(world.adapter, "slack_installations"))
    assert teams == [ONE, TWO]


async def test_a_workspace_reinstalled_while_its_old_token_was_refused_is_kept(
    installed: Distributed,
) -> None:
    """The app was removed and installed again (by another replica) while this check asked
    with the token it had read: the refusal is of a token no longer the workspace's, and
    the new installation and the people stay."""
    world = installed
    old = world.slack.token_of(ONE)
    world.slack.uninstall(ONE)
    world.slack.before_next("auth.test", lambda: world.install(ONE))

    outcome = await world.adapter.accounts.check()

    assert outcome.removed == {} and set(outcome.skipped) == {ONE}
    assert await known(world.adapter.core, ref(f"U{ONE}", ONE)) == [True]
    bot = await world.adapter.installations.async_find_bot(enterprise_id=None, team_id=ONE)
    assert bot is not None and bot.bot_token not in (None, old)


async def test_a_workspace_without_an_installation_is_kept(installed: Distributed) -> None:
    """People of a workspace with no installation (uninstalled while forget_on_leave was off,
    or another app's installations): nothing says which; they stay."""
    world = installed
    await grant(world.adapter.core, ref("U0SOMEONE", "T0NEVER"))

    outcome = await world.adapter.accounts.check()

    assert "T0NEVER" in outcome.skipped and outcome.removed == {}
    assert await known(world.adapter.core, ref("U0SOMEONE", "T0NEVER")) == [True]


async def test_an_installation_left_after_its_people_were_forgotten_is_deleted(
    installed: Distributed,
) -> None:
    """The workspace removed the app and its people were forgotten, but the deletion of its
    installation — tried again in the process that heard app_uninstalled — was cut short by a
    restart: no person leads the check there any more, its installation does."""
    world = installed
    await world.adapter.core.forget_workspace("slack", ONE)
    world.slack.uninstall(ONE)

    outcome = await world.adapter.accounts.check()

    assert outcome.removed == {ONE: 0} and outcome.forgotten == {TWO: 0}
    assert [r["team_id"] for r in await raw_rows(world.adapter, "slack_bots")] == [TWO]
    assert [r["team_id"] for r in await raw_rows(world.adapter, "slack_installations")] == [TWO]


async def test_without_forget_on_leave_only_a_removed_app_s_installation_goes(
    distributed: Any,
) -> None:
    """forget_on_leave off: the people stay and nobody is asked about, but an installation
    whose bot token Slack refuses as a removed app's is deleted, as app_uninstalled would
    have deleted it."""
    world: Distributed = await distributed(forget_on_leave=False, options=checking())
    for team in (ONE, TWO):
        await world.install(team)
        await world.dm(team, f"U{team}", "hi")
    world.slack.uninstall(ONE)
    deactivate(world.slack, f"U{TWO}")
    def asked() -> int:
        return len(world.slack.calls_to("users.info")) + len(world.slack.calls_to("users.list"))

    before = asked()

    outcome = await world.adapter.accounts.check()

    assert outcome.removed == {ONE: 0} and outcome.forgotten == {} and outcome.skipped == {}
    assert outcome.verified == {TWO}  # its installation in place, checked
    assert [r["team_id"] for r in await raw_rows(world.adapter, "slack_installations")] == [TWO]
    assert await known(world.adapter.core, ref(f"U{ONE}", ONE), ref(f"U{TWO}", TWO)) == [
        True,
        True,
    ]
    assert asked() == before
