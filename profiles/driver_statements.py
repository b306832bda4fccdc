"""Statements SQLAlchemy writes once and the database driver runs: for the few statements
every reply makes, whose cost through SQLAlchemy's session and execution machinery was
several times the database's own work.

Why (issue 16): a reply's record is one ``INSERT`` of its two history turns (two statements
when a model is configured: its call's row first). Through a session that cost 438–499 µs of
the event loop's CPU on SQLite and ~545 µs on PostgreSQL, one reply at a time; the same
``INSERT``, its transaction included, sent straight to the driver 167 µs on SQLite — SQLite's
own work is ~50 µs (docs/measurement.md, "A reply's record straight to the driver"). The cost
is the session and the connection around the statement (a transaction object, greenlet
switches for every call, execution context, result objects), not the statement: sending
only the statement directly, inside a session, saved ~100 µs of it.

What SQLAlchemy still does: it compiles the statement for the engine's dialect (the SQL, its
parameters' order) and converts each value with the bind processor of its column's type
(JSON, timestamps, PostgreSQL's casts), so the rows are exactly what the ORM would store
(tests/profiles/test_driver_statements.py); a ``SELECT``'s values are read back by each
column type's result processor. :meth:`profiles.db.Database.write_each` (a reply's record),
:meth:`~profiles.db.Database.read_one` / ``read_all`` (a reply's profile:
profiles/profile_rows.py; a preview's sender) and ``read_then_write`` (a steady sender's read
and claim: bot/pipeline/identify.py) run them; the engine's ``before_cursor_execute``
listeners still hear of every statement.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util import await_


def insert_of(dialect: str, table: Any) -> Any:
    """``sqlite.insert`` or ``postgresql.insert`` for a dialect name."""
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table)


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A statement compiled for one dialect: its SQL in the driver's parameter style, and
    how to turn named values into the driver's parameters."""

    sql: str
    # The parameters' names in their order for a positional style (SQLite's ``?``); None
    # for a named one (psycopg's ``%(name)s``)
    positions: tuple[str, ...] | None
    processors: Mapping[str, Callable[[Any], Any]]
    # For a SELECT, the types of its columns, which say how each value the driver gives
    # becomes what the type returns (by the driver's own type code for the column)
    result_types: tuple[Any, ...] = ()
    # The values the statement carries itself (literals SQLAlchemy sends as parameters)
    own: Mapping[str, Any] = field(default_factory=dict)
    dialect: Dialect | None = None
    # Result processors by the driver's type codes of the columns (computed once each)
    _readers: dict[tuple[Any, ...], tuple[Callable[[Any], Any] | None, ...]] = field(
        default_factory=dict, compare=False
    )

    @classmethod
    def compile(cls, statement: ClauseElement, dialect: Dialect) -> DriverStatement:
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect))
        # Parameters rendered when executed (an expanding IN, a literal LIMIT on some
        # dialects) are SQLAlchemy's execution-time work: not for the driver alone.
        assert "POSTCOMPILE" not in compiled.string, "a parameter rendered at execution"
        processors: dict[str, Callable[[Any], Any]] = {}
        own: dict[str, Any] = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[name] = processor
            if not bind.required:
                own[name] = bind.effective_value
        # A column the statement leaves to its default (an INSERT's, an UPDATE's onupdate)
        # is a value SQLAlchemy computes as it executes: a constant one is carried here.
        for column, default in [
            *((c, c.default) for c in compiled.insert_prefetch),
            *((c, c.onupdate) for c in compiled.update_prefetch),
        ]:
            assert default is not None and default.is_scalar, f"{column} computed per row"
            own[column.key] = default.arg  # type: ignore[attr-defined]
        positions = compiled.positiontup
        # The columns it returns: a SELECT's, or an INSERT's or UPDATE's RETURNING
        selected = (
            statement.selected_columns
            if isinstance(statement, Select)
            else compiled.effective_returning or ()
        )
        return cls(
            compiled.string,
            tuple(positions) if compiled.positional and positions is not None else None,
            processors,
            tuple(c.type.dialect_impl(dialect) for c in selected),
            own,
            dialect,
        )

    def row(self, values: Sequence[Any], type_codes: tuple[Any, ...]) -> tuple[Any, ...]:
        """A row the driver returned for this SELECT, each value as its column's type reads
        it, as SQLAlchemy's result would give it (``type_codes``: the cursor description's,
        which some types' processors depend on: PostgreSQL's numbers)."""
        readers = self._readers.get(type_codes)
        if readers is None:
            readers = tuple(
                kind.result_processor(self.dialect, code)
                for kind, code in zip(self.result_types, type_codes, strict=True)
            )
            self._readers[type_codes] = readers
        return tuple(
            value if read is None or value is None else read(value)
            for value, read in zip(values, readers, strict=True)
        )

    def parameters(self, values: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        """The driver's parameters for ``values`` (by bind name), each converted as
        SQLAlchemy would convert it."""
        processors = self.processors
        converted = {
            name: processor(value) if (processor := processors.get(name)) else value
            for name, value in ({**self.own, **values} if self.own else values).items()
        }
        if self.positions is None:
            return converted
        return [converted[name] for name in self.positions]


@dataclass(frozen=True, slots=True)
class RowsInsert:
    """``INSERT`` of ``rows`` rows of ``columns`` into ``table`` in one statement (returning
    ``returning``), built with a typed parameter per value: ``{column}_{row}``. With
    ``unless_exists`` (the columns of a unique key), a row whose key is taken is skipped (``ON
    CONFLICT … DO NOTHING``), and returns nothing: a reply's claim of its event id."""

    table: Table
    columns: tuple[str, ...]
    rows: int
    returning: tuple[str, ...] = ()
    unless_exists: tuple[str, ...] = ()

    def statement(self, dialect: str) -> ClauseElement:
        table = self.table
        values = [
            {c: bindparam(f"{c}_{i}", type_=table.c[c].type) for c in self.columns}
            for i in range(self.rows)
        ]
        built = insert_of(dialect, table).values(values if self.rows > 1 else values[0])
        if self.unless_exists:
            built = built.on_conflict_do_nothing(index_elements=list(self.unless_exists))
        if self.returning:
            built = built.returning(*(table.c[c] for c in self.returning))
        return built

    def values(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """``rows`` (each a mapping of every column) as the statement's named values."""
        assert len(rows) == self.rows, f"{len(rows)} rows for an insert of {self.rows}"
        return {f"{c}_{i}": row[c] for i, row in enumerate(rows) for c in self.columns}


@dataclass(frozen=True, slots=True)
class RowUpdate:
    """``UPDATE`` of ``columns`` of the one row of ``table`` whose ``key`` column holds the
    value bound as ``key``; each column's value bound as ``{column}_0``."""

    table: Table
    columns: tuple[str, ...]
    key: str = "id"

    def statement(self, dialect: str) -> ClauseElement:
        table = self.table
        return (
            update(table)
            .where(table.c[self.key] == bindparam("key", type_=table.c[self.key].type))
            .values({c: bindparam(f"{c}_0", type_=table.c[c].type) for c in self.columns})
        )

    def values(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """``row`` (the key's column and every updated one) as the statement's named values."""
        return {"key": row[self.key], **{f"{c}_0": row[c] for c in self.columns}}


WriteShape = RowsInsert | RowUpdate
# A write and its named values, as Database.write_each and read_then_write take them
Write = tuple[WriteShape, Mapping[str, Any]]


@functools.cache
def compiled_write(shape: WriteShape, dialect: Dialect) -> DriverStatement:
    """Compiled once per shape and dialect (an engine keeps one dialect object)."""
    return DriverStatement.compile(shape.statement(dialect.name), dialect)


@functools.lru_cache(maxsize=64)
def compiled_select(statement: Select[Any], dialect: Dialect) -> DriverStatement:
    """Compiled once per statement object (built once by its module) and dialect."""
    return DriverStatement.compile(statement, dialect)


@functools.lru_cache(maxsize=64)
def compiled_statement(statement: ClauseElement, dialect: Dialect) -> DriverStatement:
    """Any statement built once by its module (an INSERT, an UPDATE), compiled once per
    dialect, as :func:`compiled_select` compiles a SELECT."""
    return DriverStatement.compile(statement, dialect)


Ran = tuple[list[tuple[Any, ...]], tuple[Any, ...]]  # a statement's rows, its type codes


def run_on_driver(conn: Connection, prepared: list[tuple[DriverStatement, Any]]) -> list[Ran]:
    """Each statement on ``conn``'s driver connection, in SQLAlchemy's greenlet: told to the
    engine's ``before_cursor_execute`` listeners, each value read as its column's type reads
    it by the caller (:meth:`DriverStatement.row`, with the type codes returned here); a
    driver error handled as SQLAlchemy handles a statement's (wrapped, a lost connection
    invalidated)."""
    results: list[Ran] = []
    driver = conn.connection.driver_connection
    assert driver is not None
    for statement, parameters in prepared:
        conn.dispatch.before_cursor_execute(conn, None, statement.sql, parameters, None, False)
        try:
            cursor = await_(driver.execute(statement.sql, parameters))
            description = cursor.description
            rows = await_(cursor.fetchall()) if description else []
            await_(cursor.close())
        except Exception as exc:
            conn._handle_dbapi_exception(exc, statement.sql, parameters, None, None)
            raise  # not reached: the call above raises
        codes = tuple(column[1] for column in description) if description else ()
        results.append(([tuple(row) for row in rows], codes))
    return results


__all__ = [
    "DriverStatement",
    "Ran",
    "RowUpdate",
    "RowsInsert",
    "Write",
    "WriteShape",
    "compiled_select",
    "compiled_statement",
    "compiled_write",
    "insert_of",
    "run_on_driver",
]
