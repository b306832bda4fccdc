"""Portable statements over many rows or values for the two supported databases: INSERT …
ON CONFLICT, many-row inserts (:class:`ManyRows`), ``IN`` over a list (:class:`AnyOf`)."""

from __future__ import annotations

import functools
import json
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import adapters as psycopg_adapters
from psycopg.types.array import ListBinaryDumper
from sqlalchemy import JSON, Float, Text, any_, bindparam, cast, func, select, tuple_
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import UserDefinedType
from sqlmodel.ext.asyncio.session import AsyncSession

from profiles.driver_statements import insert_of
from profiles.write_queue import Later, queue_of


def dialect_of(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def insert_for(session: AsyncSession, table: Any) -> Any:
    """``sqlite.insert`` or ``postgresql.insert`` for the session's dialect; both offer
    ``on_conflict_do_update``/``on_conflict_do_nothing`` with the same arguments."""
    return insert_of(dialect_of(session), table)


class _BinaryList(list[Any]):
    """A list psycopg sends as a binary array (registered below): each element as its bytes,
    where the text form escapes every string with a regular expression — for a learning
    batch's ~1,700 evidence values 7.5 ms against 1.1 ms a statement."""


psycopg_adapters.register_dumper(_BinaryList, ListBinaryDumper)


class BinaryArray(UserDefinedType[Any]):
    """A PostgreSQL array parameter of ``item_type``, sent in binary (:class:`_BinaryList`)
    and cast to ``item_type[]`` in the statement. Not a subclass of ``ARRAY``, whose
    psycopg form copies every value into a plain list (a text array again). One element
    type per array: a float column's whole numbers (a weight of 1 beside 0.5) go as
    floats."""

    cache_ok = True
    render_bind_cast = True

    def __init__(self, item_type: Any) -> None:
        self.item_type = item_type
        self._spec = postgresql.dialect().type_compiler_instance.process(item_type) + "[]"

    def get_col_spec(self, **_kw: Any) -> str:
        return self._spec

    def bind_processor(self, dialect: Dialect) -> Any:
        item = self.item_type.dialect_impl(dialect).bind_processor(dialect)
        as_float = isinstance(self.item_type, Float)

        def process(value: Sequence[Any] | None) -> _BinaryList | None:
            if value is None:
                return None
            if item is not None:
                value = [item(x) for x in value]
            if as_float:
                return _BinaryList(None if x is None else float(x) for x in value)
            return _BinaryList(value)

        return process


def insert_from_arrays(table: Any, names: Sequence[str]) -> Any:
    """PostgreSQL's ``INSERT … SELECT … FROM unnest(one array parameter per column)``: one
    short statement for any number of rows, to take :func:`arrays_of` as its parameters.

    Why: a many-row insert with RETURNING goes out as one ``VALUES (…), (…)`` text per
    thousand rows (SQLAlchemy's insertmanyvalues), which psycopg re-parses in Python every
    time because texts that long are never cached — two thirds of recording a page of
    digests on PostgreSQL. This text is the same for every batch, so it is parsed once.
    JSON columns travel as text (an array of lists would be taken for a 2-D array)."""
    kinds = [_ARRAY_TEXT if _is_json(table.c[n]) else table.c[n].type for n in names]
    arrays = (
        func.unnest(
            *[bindparam(n, type_=BinaryArray(k)) for n, k in zip(names, kinds, strict=True)]
        )
        .table_valued(*names)
        .render_derived()
    )
    values = [
        cast(arrays.c[n], table.c[n].type) if _is_json(table.c[n]) else arrays.c[n] for n in names
    ]
    return postgresql.insert(table).from_select(list(names), select(*values))


def arrays_of(
    table: Any, rows: Sequence[Mapping[str, Any]], names: Sequence[str]
) -> dict[str, list[Any]]:
    """Rows as one list per column, the parameters of :func:`insert_from_arrays`."""
    return {
        name: [json.dumps(row[name]) for row in rows]
        if _is_json(table.c[name])
        else [row[name] for row in rows]
        for name in names
    }


@dataclass(frozen=True, slots=True)
class ManyRows:
    """A statement that takes any number of rows, and how they are sent: as executemany
    parameters on SQLite, as one array per column of ``columns`` on PostgreSQL
    (:func:`insert_from_arrays`). Why the arrays there: psycopg sends an executemany as one
    prepared execution per row, ~35 us of Python each (a learning batch of 40 messages sends
    ~520 rows: 18.5 ms of CPU, each statement one long step of the event loop; 6.8 ms as
    binary arrays); an array per column is one execution whatever the number of rows.
    SQLite's executemany is one call into its C loop already.

    ``key``: the columns of a conflict clause's unique key. On PostgreSQL the rows go in
    that key's order (Python's: numbers by value, text by code point), and the statement
    locks the rows it updates, and the keys it inserts, one after another in the order it
    is given them. Two transactions that each send the same rows in an order of their own
    (learning batches of two processes, a batch and a judgement of the same person) could
    each hold a row the other's statement waits for, a deadlock; in one order, the later
    one waits for the first row the earlier holds before it holds any of them. A statement
    that locks such rows otherwise must take them in the same order (for interests:
    :func:`profiles.learning_sql.interest_lock_order`). SQLite's one writer needs none."""

    statement: Any
    table: Any
    columns: tuple[str, ...]  # the rows' keys
    arrays: bool  # one array per column (PostgreSQL), else executemany
    key: tuple[str, ...] = ()  # the conflict clause's key: the order rows are sent in

    async def execute(self, session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> Any:
        """Run the statement for ``rows`` (each with exactly the statement's columns)."""
        if self.arrays:
            return await session.exec(self.statement, params=self._arrays(rows))
        bind = session.bind
        driver_sql = _driver_sql(self.statement, self.columns, bind.dialect) if bind else None
        if driver_sql is None:
            return await session.exec(self.statement, params=list(rows))
        connection = await session.connection()
        return await connection.exec_driver_sql(driver_sql.sql, driver_sql.tuples(rows))

    async def send_later(
        self, session: AsyncSession, rows: Sequence[Mapping[str, Any]], *, merges: bool = False
    ) -> Later:
        """As :meth:`execute`, queued where the session's transaction carries a queue
        (PostgreSQL's learning batch: profiles/write_queue.py), at once elsewhere; its rows
        (its ``RETURNING``) from the :class:`~profiles.write_queue.Later`. ``merges``: rows
        of this statement queued next join these (a plain insert: no conflict key, no
        ``RETURNING``)."""
        queue = queue_of(session)
        if queue is None or not self.arrays:
            result = await self.execute(session, rows)
            return Later([tuple(row) for row in result.all()] if result.returns_rows else [])
        assert not (merges and self.key), "rows merged into a statement with a conflict key"
        return queue.add(self.statement, self.table.name, rows, self._arrays, merges=merges)

    def _arrays(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
        if self.key:
            rows = sorted(rows, key=operator.itemgetter(*self.key))
        return arrays_of(self.table, rows, self.columns)


@dataclass(frozen=True, slots=True)
class _DriverSql:
    """A many-row statement compiled once, and how a row becomes the driver's parameters:
    each placeholder's column through its type's bind processor, or a constant of the
    statement (a literal in an ON CONFLICT clause)."""

    sql: str
    slots: tuple[tuple[str | None, Callable[[Any], Any] | None, Any], ...]

    def tuples(self, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        return [
            tuple(
                (process(row[key]) if process else row[key]) if key is not None else constant
                for key, process, constant in self.slots
            )
            for row in rows
        ]


@functools.lru_cache(maxsize=64)
def _driver_sql(statement: Any, columns: tuple[str, ...], dialect: Dialect) -> _DriverSql | None:
    """The executemany form of ``statement`` for SQLite's driver, or None where SQLAlchemy's
    own execution is needed (RETURNING, a column default to compute per row, any other
    database). Why: SQLAlchemy's executemany builds each row's parameters in Python
    (``construct_params`` and every bind processor, per row), ~7 us a row: in a learning
    batch of ~110 messages (~700 rows) a fifth of the time the batch holds SQLite's one
    writer, while every reply waiting for it waits too (docs/measurement.md, eighteenth
    session). Sent with ``exec_driver_sql``, the statement still passes SQLAlchemy's
    events and error handling; only the per-row parameter building is done here, once per
    column."""
    if dialect.name != "sqlite" or not columns:
        return None
    compiled = statement.compile(dialect=dialect, column_keys=list(columns))
    if compiled.effective_returning or compiled.insert_prefetch or compiled.positiontup is None:
        return None
    slots: list[tuple[str | None, Callable[[Any], Any] | None, Any]] = []
    for name in compiled.positiontup:
        bind = compiled.binds[name]
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if name in columns:
            slots.append((name, process, None))
        elif bind.callable is None and not bind.required:  # a literal of the statement
            value = bind.effective_value
            slots.append((None, None, process(value) if process else value))
        else:
            return None
    return _DriverSql(str(compiled), tuple(slots))


def many_rows(
    dialect: str,
    table: Any,
    names: Sequence[str],
    finish: Callable[[Any], Any] | None = None,
    *,
    key: Sequence[str] = (),
) -> ManyRows:
    """The :class:`ManyRows` inserting ``names`` into ``table`` on ``dialect``; ``finish``
    takes the INSERT and adds what applies to any (``on_conflict_…`` with its ``excluded``,
    ``returning``); ``key``: the columns of its conflict clause, the order its rows are sent
    in (see :class:`ManyRows`). The INSERT is ``INSERT … SELECT FROM unnest(…)`` on
    PostgreSQL (a conflict clause there must not meet the same key twice: callers send
    distinct keys), a plain INSERT for executemany on SQLite. Built here from the one
    ``names``, so the statement and the arrays sent to it cannot disagree on the columns."""
    arrays = dialect == "postgresql"
    insert = insert_from_arrays(table, names) if arrays else insert_of(dialect, table)
    statement = finish(insert) if finish is not None else insert
    return ManyRows(statement, table, tuple(names), arrays, tuple(key))


@dataclass(frozen=True, slots=True)
class AnyOf:
    """``(columns) IN (a list bound at execution)``, so that a statement using it is built
    once: an expanding ``IN`` on SQLite; on PostgreSQL one array parameter per column
    (``= ANY(:values)``, or ``IN (SELECT … FROM unnest(…))`` for several columns). Why the
    arrays there: an expanding ``IN`` renders a new text for every length of the list, one
    placeholder per value, which psycopg parses again in Python each time (texts that long
    are never in its cache); the array form is the same short text for any length. Several
    columns on SQLite are a row-value ``IN``, which SQLite answers by scanning the table,
    never by an index on those columns: for keys within a workspace see
    ``profiles.preload._keys_where``."""

    clause: Any
    name: str
    width: int
    arrays: bool

    def params(self, values: Iterable[Any]) -> dict[str, Any]:
        """The parameters for ``values``: scalars for one column, tuples for several."""
        listed = sorted(values)
        if not self.arrays:
            return {self.name: listed}
        if self.width == 1:
            return {f"{self.name}_0": listed}
        return {f"{self.name}_{i}": [value[i] for value in listed] for i in range(self.width)}


def any_of(dialect: str, name: str, *columns: Any) -> AnyOf:
    """The :class:`AnyOf` of ``columns`` on ``dialect``; ``name`` names its parameters."""
    if dialect != "postgresql":
        target = columns[0] if len(columns) == 1 else tuple_(*columns)
        return AnyOf(target.in_(bindparam(name, expanding=True)), name, len(columns), False)
    arrays = [
        bindparam(f"{name}_{i}", type_=BinaryArray(column.type))
        for i, column in enumerate(columns)
    ]
    if len(columns) == 1:
        return AnyOf(columns[0] == any_(arrays[0]), name, 1, True)
    rows = (
        func.unnest(*arrays)
        .table_valued(*[f"v{i}" for i in range(len(columns))])
        .render_derived()
    )
    return AnyOf(tuple_(*columns).in_(select(*rows.c)), name, len(columns), True)


_ARRAY_TEXT = Text()


def _is_json(column: Any) -> bool:
    return isinstance(column.type, JSON)
