"""adapters/slack/check.py: what `tailorbot slack check` makes of Slack's answer to auth.test,
against a local server that speaks the Web API (tests/support/fake_slack_api.py)."""

from __future__ import annotations

from adapters.slack.check import TokenCheck, check_token
from bot.config import Settings
from tests.support.fake_slack_api import FakeSlackAPI
from tests.support.ports import free_port


def settings_at(url: str) -> Settings:
    return Settings(_env_file=None, slack_bot_token="xoxb-test",  # type: ignore[call-arg]
                    slack_api_url=url)


async def answered(slack: FakeSlackAPI, **failure: object) -> TokenCheck:
    slack.fail_next("auth.test", **failure)  # type: ignore[arg-type]
    return await check_token(settings_at(slack.base_url))


async def test_a_refused_token_is_told_from_errors_that_are_no_verdict_on_it() -> None:
    """Every error Slack answered was reported as "Slack refused the bot token", a rate
    limit or a proxy's error page too (operations audit). Only the errors about the token
    blame it; others say their code; a page that is not the Web API's says so."""
    async with FakeSlackAPI() as slack:
        refused = {code: await answered(slack, status=200, error=code)
                   for code in ("invalid_auth", "not_authed", "account_inactive")}
        limited = await answered(slack, status=429, error="ratelimited")
        broken = await answered(slack, status=200, error="fatal_error")
        page = await answered(slack, status=502, page="<html>502 Bad Gateway</html>")
        lying = await answered(slack, status=502, page="<html>502</html>",
                               page_type="application/json")
        fine = await check_token(settings_at(slack.base_url))
    for code, found in refused.items():
        assert (found.ok, found.failure, found.error) == (False, "token", code)
    assert (limited.failure, limited.error, limited.status) == ("api", "ratelimited", 429)
    assert (broken.failure, broken.error, broken.status) == ("api", "fatal_error", 200)
    for not_slack in (page, lying):
        assert (not_slack.failure, not_slack.error, not_slack.status) == ("api", "", 502)
    assert (fine.failure, fine.team, fine.bot_user) == (None, "Fake", "tailorbot")


async def test_no_answer_is_told_from_an_answer() -> None:
    url = f"http://127.0.0.1:{free_port()}/api/"
    found = await check_token(settings_at(url))
    assert (found.ok, found.failure) == (False, "unreachable")
    assert found.error  # aiohttp's reason, said to the operator

