"""bot.reply_bindings on real databases: a sent reply's platform id reaches its turn in one
statement, and ids the core never made bind nothing. (Outages — bindings kept, written once
the database is back or at stop, dropped by /forget — are in tests/bot/test_db_outage.py.)"""

from sqlalchemy import event
from sqlmodel import select

from bot.reply_bindings import turn_id_of
from profiles.models import ConversationTurn
from tests.support.helpers import grant, message, person

TOPIC_TEXT = "I'm learning Rust async programming and reading about distributed systems"


async def test_binding_a_reply_is_one_statement_and_ignores_ids_it_never_made(core):
    """Adapters bind every reply they send to its platform id: one UPDATE (on SQLite a
    transaction holding the one writer, so no read first), and an id the core never made —
    not a turn, not a number, too large for any row — binds nothing and raises nothing."""
    alice = person()
    await grant(core, alice)
    reply = (await core.handle(message(alice, TOPIC_TEXT)))[0]
    sent: list[str] = []
    sync = core.services.db.engine.sync_engine

    def record(conn, cursor, statement, *args):
        sent.append(statement.split()[0].upper())

    event.listen(sync, "before_cursor_execute", record)
    try:
        await core.bind_reply(reply.reply_id, "ts-77")
    finally:
        event.remove(sync, "before_cursor_execute", record)
    assert [s for s in sent if s not in ("BEGIN", "COMMIT")] == ["UPDATE"]
    for made_elsewhere in ("turn:", "turn:abc", "turn:\u0663", "turn:" + "9" * 40, "msg:1",
                           "turn:-1"):
        await core.bind_reply(made_elsewhere, "ts-other")
    async with core.services.db.session() as session:
        bound = (await session.exec(
            select(ConversationTurn.id, ConversationTurn.platform_message_id)
            .where(ConversationTurn.platform_message_id.is_not(None))  # type: ignore[union-attr]
        )).all()
    assert [(f"turn:{i}", m) for i, m in bound] == [(reply.reply_id, "ts-77")]


def test_only_ids_the_core_made_name_a_turn() -> None:
    assert turn_id_of("turn:42") == 42
    for other in ("turn:", "turn:abc", "turn:\u0663", "turn:" + "9" * 19, "msg:1", "turn:-1",
                  "42"):
        assert turn_id_of(other) is None, other
