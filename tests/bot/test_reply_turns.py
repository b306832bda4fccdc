"""Replies first (bot/reply_turns.py): the turns replies take, and how long observed
messages wait behind them."""

from __future__ import annotations

import asyncio
import contextlib

from bot.reply_turns import ReplyTurns

LONG_MS = 60_000  # a bound no test reaches: what ends the wait is the replies leaving


async def test_nothing_waits_when_no_reply_works() -> None:
    turns = ReplyTurns(2, LONG_MS)
    await asyncio.wait_for(turns.behind_replies(), 1)


async def test_an_observed_message_waits_until_the_replies_leave() -> None:
    turns = ReplyTurns(1, LONG_MS)
    async with contextlib.AsyncExitStack() as first:
        await first.enter_async_context(turns.turn())
        # a second reply waits for the only turn: it works too, for the observed message
        second_in, second_out = asyncio.Event(), asyncio.Event()

        async def second() -> None:
            async with turns.turn():
                second_in.set()
                await second_out.wait()

        second_reply = asyncio.ensure_future(second())
        observed = asyncio.ensure_future(turns.behind_replies())
        await asyncio.sleep(0.05)
        assert not observed.done()
    await asyncio.wait_for(second_in.wait(), 1)  # the first left, the second took its turn
    await asyncio.sleep(0.05)
    assert not observed.done()
    second_out.set()
    await asyncio.wait_for(second_reply, 1)
    await asyncio.wait_for(observed, 1)


async def test_an_urgent_stage_without_a_turn_is_waited_for_too() -> None:
    """The record on SQLite takes no turn, but it is a reply's work all the same."""
    turns = ReplyTurns(1, LONG_MS)
    async with turns.urgent():
        observed = asyncio.ensure_future(turns.behind_replies())
        await asyncio.sleep(0.05)
        assert not observed.done()
    await asyncio.wait_for(observed, 1)


async def test_the_wait_is_bounded_when_replies_never_stop() -> None:
    turns = ReplyTurns(1, 50)
    async with turns.turn():
        await asyncio.wait_for(turns.behind_replies(), 5)  # returned with the turn still held


async def test_no_more_than_at_once_replies_hold_a_turn() -> None:
    turns = ReplyTurns(2, LONG_MS)
    inside, most = 0, 0
    gate = asyncio.Event()

    async def reply() -> None:
        nonlocal inside, most
        async with turns.turn():
            inside += 1
            most = max(most, inside)
            await gate.wait()
            inside -= 1

    replies = [asyncio.ensure_future(reply()) for _ in range(5)]
    await asyncio.sleep(0.05)
    assert most == 2
    gate.set()
    await asyncio.wait_for(asyncio.gather(*replies), 1)
    await asyncio.wait_for(turns.behind_replies(), 1)
