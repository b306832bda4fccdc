"""The fault campaign's key scenarios at small sizes (``python -m bench --faults`` runs them at
full size): goals 0 crashes, 0 lost, 0 false "database unavailable", one reply per message."""

from __future__ import annotations

import pytest

from bench.faults import Tally, run_burst, run_fuzz, run_model, run_postgres


def assert_goals(tally: Tally) -> None:
    assert tally.messages > 0
    assert (tally.crashes, tally.lost, tally.false_unavailable) == (0, 0, 0), tally.line()
    assert tally.replies_per_message == 1.0, tally.line()


@pytest.mark.postgres
async def test_postgres_cut_three_times_during_a_stream():
    from tests.support.databases import postgres_or_skip

    assert_goals(await run_postgres(postgres_or_skip(), messages=24, outage_messages=2))


async def test_people_bursting_on_sqlite_through_slack_http():
    assert_goals(await run_burst(people=12, per_person=2))


async def test_the_model_failing_in_every_way():
    assert_goals(await run_model())


def test_fuzzed_command_lines():
    assert_goals(run_fuzz(examples=150))
