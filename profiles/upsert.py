"""Portable INSERT … ON CONFLICT for the two supported databases."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import JSON, Text, bindparam, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession


def dialect_of(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


def insert_of(dialect: str, table: Any) -> Any:
    """``sqlite.insert`` or ``postgresql.insert`` for a dialect name."""
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table)


def insert_for(session: AsyncSession, table: Any) -> Any:
    """``sqlite.insert`` or ``postgresql.insert`` for the session's dialect; both offer
    ``on_conflict_do_update``/``on_conflict_do_nothing`` with the same arguments."""
    return insert_of(dialect_of(session), table)


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
            *[bindparam(n, type_=postgresql.ARRAY(k)) for n, k in zip(names, kinds, strict=True)]
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


_ARRAY_TEXT = Text()


def _is_json(column: Any) -> bool:
    return isinstance(column.type, JSON)
