"""profiles.upsert's statements over many rows or values, on real SQLite and PostgreSQL: the
same rows found and written on both, whatever the text inside, and on PostgreSQL the same
short statement for any number of values (the reason the arrays exist)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, insert, select

from profiles.db import Database
from profiles.models import Person, table_of
from profiles.upsert import any_of, many_rows
from tests.support.statements import statements_sent

ODD = ['say "hi"', "back\\slash", "{braces}", "a, b", "NULL", "", " padded ", "émoji 🎷 עברית"]


async def _people(db: Database, user_ids: list[str]) -> None:
    async with db.session() as session:
        await session.exec(
            insert(table_of(Person)),  # type: ignore[call-overload]
            params=[{"platform": "t", "workspace": "W", "user_id": u} for u in user_ids],
        )


async def test_any_of_finds_exactly_the_listed_values_and_keys(database_url: str) -> None:
    db = Database(database_url)
    try:
        await _people(db, [*ODD, "other"])
        dialect = db.engine.dialect.name
        person = table_of(Person)
        one = any_of(dialect, "ids", person.c.user_id)
        keys = any_of(dialect, "keys", person.c.platform, person.c.workspace, person.c.user_id)
        async with db.read() as session:
            with statements_sent(db) as texts:
                found = []
                for wanted in ([*ODD, "absent"], ["other"], ["absent"], []):
                    rows = await session.exec(
                        select(person.c.user_id).where(one.clause),  # type: ignore[call-overload]
                        params=one.params(wanted),
                    )
                    found.append(sorted(user for (user,) in rows))
                rows = await session.exec(
                    select(person.c.user_id).where(keys.clause),  # type: ignore[call-overload]
                    params=keys.params({("t", "W", "NULL"), ("t", "W", ""), ("t", "X", "other")}),
                )
                by_key = sorted(user for (user,) in rows)
                none = await session.exec(
                    select(person.c.user_id).where(keys.clause),  # type: ignore[call-overload]
                    params=keys.params(set()),
                )
                assert none.all() == []
        assert found == [sorted(ODD), ["other"], [], []]
        assert by_key == ["", "NULL"]
        if dialect == "postgresql":  # one text for any number of values
            assert len(set(texts[:4])) == 1 and "ANY" in texts[0]
    finally:
        await db.dispose()


async def test_many_rows_writes_every_row_as_given(database_url: str) -> None:
    db = Database(database_url)
    try:
        dialect = db.engine.dialect.name
        table = table_of(Person)
        names = ("platform", "workspace", "user_id", "display_name")
        stmt = many_rows(
            dialect, table, names,
            lambda insert: insert.on_conflict_do_nothing(
                index_elements=["platform", "workspace", "user_id"]
            ).returning(table.c.user_id),
        )
        rows = [
            {"platform": "t", "workspace": "W", "user_id": u, "display_name": u or None}
            for u in ODD
        ]
        async with db.session() as session:
            with statements_sent(db) as texts:
                first = await stmt.execute(session, rows)
                inserted = sorted(user for (user,) in first)
                again = await stmt.execute(session, [*rows[:2], {**rows[0], "user_id": "new"}])
                second = sorted(user for (user,) in again)
        async with db.read() as session:
            stored = (await session.exec(select(table.c.user_id, table.c.display_name))).all()  # type: ignore[call-overload]
        assert inserted == sorted(ODD)
        assert second == ["new"]  # the conflicting rows skipped, as their clause says
        assert sorted((u, n) for u, n in stored) == sorted(
            [(u, u or None) for u in ODD] + [("new", ODD[0])]
        )
        if dialect == "postgresql":
            assert texts[0] == texts[1] and "unnest" in texts[0]
    finally:
        await db.dispose()


async def test_whole_numbers_among_fractions_are_written_as_numbers(database_url: str) -> None:
    """A weight may come as 1 beside 0.5 (a feedback delta, a rating): PostgreSQL's arrays
    take one element type, so a float column's values go as floats."""
    from profiles.learning_sql import interest_row, interest_upsert
    from profiles.models import Interest
    from tests.profiles.test_ingest import T0

    db = Database(database_url)
    try:
        await _people(db, ["weights"])
        async with db.session() as session:
            pid = (await session.exec(select(Person.id))).scalar_one()  # type: ignore[call-overload]
            rows = [interest_row(pid, "jazz", 1, T0), interest_row(pid, "chess", 0.5, T0)]
            await interest_upsert(session, 86_400.0).execute(session, rows)
        async with db.read() as session:
            stored = (await session.exec(select(Interest.topic, Interest.weight))).all()  # type: ignore[call-overload]
        assert sorted(stored) == [("chess", 0.5), ("jazz", 1.0)]
    finally:
        await db.dispose()


async def test_on_sqlite_rows_go_to_the_driver_as_sqlalchemy_would_send_them(
    sqlite_url: str,
) -> None:
    """SQLite's executemany of a many-row statement goes as driver SQL, its parameters built
    here once per column (profiles/upsert.py says why): the rows stored — datetimes, floats
    and the statement's own constants in its ON CONFLICT clause included — are exactly what
    SQLAlchemy's own execution of the same statement stores, and still one statement."""
    import datetime as dt

    from profiles.learning_sql import interest_row, interest_upsert
    from profiles.models import Interest

    db = Database(sqlite_url)
    at = dt.datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=dt.UTC)
    try:
        await _people(db, ["driver", "orm"])
        async with db.session() as session:
            ids = dict((await session.exec(select(Person.user_id, Person.id))).all())  # type: ignore[call-overload]
        many: list[bool] = []

        def kind(_c: Any, _cur: Any, _s: str, _p: Any, context: Any, executemany: bool) -> None:
            many.append(executemany and context.compiled is None)

        for day in (0, 3):  # the second round meets every row: ON CONFLICT … DO UPDATE
            rows = {
                user: [interest_row(ids[user], t, w, at + dt.timedelta(days=day))
                       for t, w in (("jazz", 1), ("chess", 0.25))]
                for user in ids
            }
            many.clear()
            event.listen(db.engine.sync_engine, "before_cursor_execute", kind)
            async with db.session() as session:
                upsert = interest_upsert(session, 86_400.0, 864_000.0)
                await upsert.execute(session, rows["driver"])
            event.remove(db.engine.sync_engine, "before_cursor_execute", kind)
            assert many == [True]  # one statement, as driver SQL
            async with db.session() as session:
                await session.exec(upsert.statement, params=rows["orm"])  # type: ignore[call-overload]
        columns = [c for c in table_of(Interest).c if c.name not in ("id", "person_id")]
        async with db.read() as session:
            stored = {
                user: sorted(
                    (await session.exec(select(*columns).where(  # type: ignore[call-overload]
                        table_of(Interest).c.person_id == pid
                    ))).all()
                )
                for user, pid in ids.items()
            }
        assert stored["driver"] == stored["orm"] and len(stored["driver"]) == 2
    finally:
        await db.dispose()
