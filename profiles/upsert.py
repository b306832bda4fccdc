"""Portable INSERT … ON CONFLICT for the two supported databases."""

from __future__ import annotations

from typing import Any

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
