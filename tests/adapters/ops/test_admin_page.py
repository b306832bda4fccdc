"""The operator page in a real headless browser (Debian's chromium driven by Playwright),
served by the real aiohttp host over a seeded SQLite database: what an operator sees, that
it needs the admin token, and that no person's data appears. A screenshot is kept in
test-artefacts/ (git-ignored) for a human to look at."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from adapters.ops.server import start_ops
from bot import metrics
from bot.config import Settings
from bot.core import Core
from bot.llm import ScriptedBackend
from profiles.db import Database
from profiles.engine import PersonKey
from profiles.experiment_models import ExperimentAssignment
from profiles.models import (
    ConsentStatus,
    ConversationTurn,
    DigestRun,
    DigestSubscription,
    Feedback,
    LLMCall,
    ProcessedEvent,
)
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[3]
ARTEFACTS = ROOT / "test-artefacts"
NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
TOKEN = "s3cret-admin-token"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SECRET_NAMES = ("Zelda Quartermain", "Yusuf Oakenshield")


async def seed(core: Core) -> None:
    async with core.services.db.session() as session:
        people = []
        for i, status in enumerate(
            [ConsentStatus.GRANTED] * 5 + [ConsentStatus.REVOKED] + [ConsentStatus.UNKNOWN]
        ):
            name = SECRET_NAMES[i] if i < len(SECRET_NAMES) else None
            person = await core.services.engine.person(
                session, PersonKey("slack", "T1", f"U{i}"), display_name=name
            )
            if status is not ConsentStatus.UNKNOWN:
                since = NOW - dt.timedelta(days=9)
                await core.services.engine.set_consent(session, person.id, status, since)
            people.append(person)
        for days_ago, calls, errors in ((2, 3, 0), (1, 2, 1)):
            for n in range(calls):
                session.add(
                    LLMCall(
                        person_id=people[0].id, purpose="chat", backend="anthropic",
                        model="claude-test", input_tokens=1000, output_tokens=200,
                        latency_ms=400.0 + 100 * days_ago, ok=n >= errors,
                        error="overloaded" if n < errors else None,
                        created_at=NOW - dt.timedelta(days=days_ago, hours=n),
                    )
                )
        for hours_ago in (1, 1, 3, 30, 47, 80):  # the last is outside the 48 h window
            session.add(
                ProcessedEvent(
                    person_id=people[1].id, platform="slack", workspace="T1",
                    event_id=f"ev-{hours_ago}-{len(session.new)}",
                    processed_at=NOW - dt.timedelta(hours=hours_ago),
                )
            )
        session.add(
            DigestSubscription(
                person_id=people[0].id, cadence="daily", time="08:00", timezone="UTC",
                platform="slack",
            )
        )
        for i, status in enumerate(("sent", "sent", "failed")):
            session.add(
                DigestRun(
                    person_id=people[i].id, period_key="2026-11-25", status=status,
                    scheduled_for=NOW - dt.timedelta(days=1), claimed_at=NOW - dt.timedelta(days=1),
                    sent_at=NOW - dt.timedelta(hours=28) if status == "sent" else None,
                )
            )
        start = NOW - dt.timedelta(days=8)
        for person, variant in zip(people[:5], ["control", "control", "control", "brief", "brief"],
                                   strict=True):
            session.add(ExperimentAssignment(person_id=person.id, experiment="short_replies",
                                             variant=variant, assigned_at=start))
        await session.flush()
        for person, liked in [(people[0], 1), (people[1], 0), (people[2], 0), (people[3], 1),
                              (people[4], 1)]:
            turn = ConversationTurn(person_id=person.id, role="assistant",
                                    text="a private answer about sailing",
                                    created_at=start + dt.timedelta(days=1))
            session.add(turn)
            await session.flush()
            if liked:
                session.add(Feedback(person_id=person.id, turn_id=turn.id, value=1,
                                     source="reaction"))


@pytest.fixture
async def page_url(sqlite_url: str) -> AsyncIterator[str]:
    settings = Settings(  # type: ignore[call-arg]
        database_url=sqlite_url, auto_migrate=False, admin_token=TOKEN,
        llm_price_input_per_mtok=3.0, llm_price_output_per_mtok=15.0, _env_file=None,
    )
    core = Core(settings, Database(sqlite_url), ScriptedBackend(), clock=lambda: NOW)
    await seed(core)
    host = await start_ops(core, settings, port=0)
    try:
        yield f"http://127.0.0.1:{host.port}"
    finally:
        await host.stop()
        await core.services.db.dispose()


async def test_the_page_needs_the_admin_token(page_url: str) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{page_url}/admin") as response:
            assert response.status == 401
        async with http.get(f"{page_url}/admin",
                            headers={"Authorization": "Bearer wrong"}) as response:
            assert response.status == 401
        async with http.get(f"{page_url}/admin?token=wrong") as response:
            assert response.status == 401
        async with http.get(f"{page_url}/admin",
                            headers={"Authorization": f"Bearer {TOKEN}"}) as response:
            assert response.status == 200
            assert response.headers["Cache-Control"] == "no-store"


async def test_the_page_is_off_without_a_token(sqlite_url: str) -> None:
    settings = Settings(database_url=sqlite_url, auto_migrate=False, _env_file=None)  # type: ignore[call-arg]
    core = Core(settings, Database(sqlite_url), ScriptedBackend())
    host = await start_ops(core, settings, port=0)
    try:
        async with aiohttp.ClientSession() as http, http.get(
            f"http://127.0.0.1:{host.port}/admin"
        ) as response:
            assert response.status == 404
            assert "TAILORBOT_ADMIN_TOKEN" in await response.text()
    finally:
        await host.stop()
        await core.services.db.dispose()


async def test_a_browser_sees_aggregates_charts_and_p_values_but_no_person(
    page_url: str,
) -> None:
    from playwright.async_api import async_playwright

    if not shutil.which(CHROMIUM):
        pytest.fail("needs Debian's chromium: apt-get install chromium (.ci/run installs it)")
    erasures = int(metrics.value("tailorbot_erasures_total"))
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 900})
            await page.goto(f"{page_url}/admin?token={TOKEN}")  # sets the cookie, redirects
            assert page.url.endswith("/admin")  # the token left the address bar
            text = await page.inner_text("body")

            async def card(selector: str) -> str:
                return (await page.inner_text(f"{selector} b")).strip()

            assert await card('[data-consent="granted"]') == "5"
            assert await card('[data-consent="revoked"]') == "1"
            assert await card('[data-consent="unknown"]') == "1"
            assert await card('[data-metric="erasures"]') == str(erasures)
            assert "5 events in the last 48 hours" in text
            assert (await page.inner_text('[data-metric="model-calls"]')) == "5"
            assert (await page.inner_text('[data-metric="model-errors"]')) == "1"
            # 5 calls × (1000 in × $3 + 200 out × $15) per million tokens
            assert (await page.inner_text('[data-metric="model-cost"]')) == "$0.03"
            assert await card('[data-digest="sent"]') == "2"
            assert await card('[data-digest="failed"]') == "1"
            assert (await page.inner_text('[data-metric="digest-subscriptions"]')) == "1"

            experiment = page.locator('[data-experiment="short_replies"]')
            brief = await experiment.locator('[data-variant="brief"]').inner_text()
            assert "100%" in brief  # both brief replies liked
            p_value = await experiment.locator('[data-variant="brief"] .p').inner_text()
            assert 0.0 < float(p_value) <= 1.0
            warning = await experiment.locator(".warn").first.inner_text()
            assert "brief has 2 people" in warning
            bars = experiment.locator("svg rect.bar")
            assert await bars.count() == 2
            assert await page.locator("svg").count() >= 5  # ingest, calls, cost, latency, exp.

            for private in (*SECRET_NAMES, "sailing", "U0", "T1", "overloaded"):
                assert private not in await page.content()

            ARTEFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTEFACTS / "operator-page.png"), full_page=True)
        finally:
            await browser.close()
    assert (ARTEFACTS / "operator-page.png").stat().st_size > 10_000


async def test_the_page_says_the_database_is_away_with_503(sqlite_url: str) -> None:
    """A database that cannot be reached made the page a 500 (operations audit); /readyz
    already said 503. A port nobody listens on: the connection is refused at once."""
    settings = Settings(  # type: ignore[call-arg]
        database_url=sqlite_url, auto_migrate=False, admin_token=TOKEN, _env_file=None
    )
    core = Core(settings, Database(f"postgresql://postgres@127.0.0.1:{free_port()}/none"),
                ScriptedBackend())
    host = await start_ops(core, settings, port=0)
    try:
        async with aiohttp.ClientSession() as http, http.get(
            f"http://127.0.0.1:{host.port}/admin", headers={"Authorization": f"Bearer {TOKEN}"}
        ) as response:
            status, body = response.status, await response.text()
            assert response.headers["Cache-Control"] == "no-store"
    finally:
        await host.stop()
        await core.services.db.dispose()
    assert status == 503, body
    assert "database cannot be reached" in body
