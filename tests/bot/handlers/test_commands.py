"""The command handler (bot/handlers/commands.py): one transaction per command, run again
when PostgreSQL aborts it over a conflict with another transaction
(bot.services.Services.in_transaction)."""

import asyncio
import logging

import psycopg
import pytest

from tests.support.helpers import command, grant, person, person_id, until_one_waits_for_a_lock


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_a_forget_the_database_aborts_to_break_a_deadlock_runs_again(
    make_core, database_url, caplog
):
    """Another transaction (here a plain connection, standing for anything that locks a
    person's rows in another order) holds Alice's consent row; her /forget holds her person
    row and waits for it; then the other asks for her person row: a deadlock. PostgreSQL
    aborts the forget (its deadlock check runs first: the other's is set later), the other
    commits, and the forget, run again, deletes everything and says so."""
    caplog.set_level(logging.INFO, logger="profiles.db")
    core = await make_core()
    alice = person()
    await grant(core, alice)
    pid = await person_id(core, alice)
    other = await psycopg.AsyncConnection.connect(database_url)
    try:
        await other.execute("SET deadlock_timeout = '10s'")  # the forget's check goes first
        await other.execute("SELECT 1 FROM consent WHERE person_id = %s FOR UPDATE", (pid,))
        forget = asyncio.ensure_future(core.handle(command(alice, "forget", "confirm")))
        await until_one_waits_for_a_lock(core)  # the forget, for her consent row
        await other.execute("SELECT 1 FROM person WHERE id = %s FOR UPDATE", (pid,))
        await other.commit()
    finally:
        await other.close()

    replies = await forget
    assert "Done." in replies[0].text
    assert "conflicted with another" in caplog.text
    assert await person_id(core, alice) is None
