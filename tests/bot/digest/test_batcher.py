"""FireBatcher: fires for one instant share a page, bounded in size and wait; a failing page
fails each of its fires, none hangs; closing runs what is waiting."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.digest.batcher import FireBatcher
from bot.digest.runner import Due, RunOutcome
from bot.digest.schedule import parse_preference

AT_8 = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)
AT_9 = AT_8 + dt.timedelta(hours=1)
DAILY = parse_preference("daily 08:00", "UTC")


class Pages:
    """Runs pages by answering "sent" for each due; keeps the pages it was given."""

    def __init__(self, *, fail: bool = False) -> None:
        self.pages: list[tuple[dt.datetime, list[int]]] = []
        self.fail = fail

    async def __call__(self, dues, fire):
        self.pages.append((fire, [d.person_id for d in dues]))
        await asyncio.sleep(0)
        if self.fail:
            raise ConnectionError("database went away")
        return [RunOutcome(d.person_id, "sent", d.period) for d in dues]


def due(pid: int, fire: dt.datetime = AT_8) -> Due:
    assert DAILY is not None
    return Due(pid, DAILY, fire)


async def test_fires_for_one_instant_share_a_page_and_others_do_not() -> None:
    pages = Pages()
    batcher = FireBatcher(pages, window=0.05, size=100)
    outcomes = await asyncio.gather(
        batcher.submit(due(1)), batcher.submit(due(2, AT_9)), batcher.submit(due(3))
    )
    assert [o.person_id for o in outcomes] == [1, 2, 3]
    assert sorted(pages.pages) == [(AT_8, [1, 3]), (AT_9, [2])]


async def test_a_full_page_goes_without_waiting_for_the_window() -> None:
    pages = Pages()
    batcher = FireBatcher(pages, window=3600, size=2)
    outcomes = await asyncio.wait_for(
        asyncio.gather(batcher.submit(due(1)), batcher.submit(due(2))), timeout=10
    )
    assert [o.status for o in outcomes] == ["sent", "sent"]
    assert pages.pages == [(AT_8, [1, 2])]


async def test_the_same_person_twice_never_shares_a_page() -> None:
    pages = Pages()
    batcher = FireBatcher(pages, window=0.05, size=100)
    await asyncio.gather(batcher.submit(due(1)), batcher.submit(due(1)))
    assert pages.pages == [(AT_8, [1]), (AT_8, [1])]


async def test_a_failing_page_fails_every_fire_in_it() -> None:
    batcher = FireBatcher(Pages(fail=True), window=0.01, size=100)
    results = await asyncio.gather(
        batcher.submit(due(1)), batcher.submit(due(2)), return_exceptions=True
    )
    assert all(isinstance(r, ConnectionError) for r in results)


async def test_closing_runs_what_is_waiting() -> None:
    pages = Pages()
    batcher = FireBatcher(pages, window=3600, size=100)
    waiting = asyncio.ensure_future(batcher.submit(due(1)))
    await asyncio.sleep(0)
    await asyncio.wait_for(batcher.aclose(), timeout=10)
    assert (await waiting).status == "sent"
    assert pages.pages == [(AT_8, [1])]


@pytest.mark.parametrize("size", [0, 1])
async def test_a_page_of_one_runs_at_once(size: int) -> None:
    pages = Pages()
    batcher = FireBatcher(pages, window=3600, size=size)
    outcome = await asyncio.wait_for(batcher.submit(due(7)), timeout=10)
    assert outcome.person_id == 7
