"""Model objects made from rows read straight on the driver (profiles/driver_statements.py).

Why not the models' constructors: SQLModel's ``__init__`` validates every field (~32 µs a row
against ~2 µs); the rows come from the database, already of their columns' types. Objects
are made as SQLAlchemy's loader makes them: an instance of the mapped class whose column
values are set, outside any session. With ``identity`` they are *detached* as the ORM means
it — the primary key known and every value its committed state — so a later session can take
one in (``session.add``) as a clean row it holds, without an ``INSERT`` or any other SQL
(profiles/preload.py hands a reply's consent row to its assembly's transaction that way).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy.orm import class_mapper, make_transient_to_detached

M = TypeVar("M")


def detached(
    model: type[M], table: Any, values: Sequence[Any], *, identity: bool = False
) -> M | None:
    """``values`` (``table``'s columns, in order) as a ``model`` object; None when the row is
    absent — every primary key column None, as an outer join reads a missing row. Mappers
    must be configured (any query has done it). ``identity`` only for an object a session
    will take in: it costs more than making the object."""
    keys, key_positions = _layout(table)
    if all(values[i] is None for i in key_positions):
        return None
    made: M = _manager(model).new_instance()
    made.__dict__.update(zip(keys, values, strict=True))
    if identity:
        make_transient_to_detached(made)
    return made


@functools.cache
def _layout(table: Any) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """``table``'s column keys, and where its primary key's columns are among them."""
    keys = tuple(table.c.keys())
    return keys, tuple(keys.index(column.key) for column in table.primary_key.columns)


_MANAGERS: dict[type[Any], Any] = {}


def _manager(model: type[Any]) -> Any:
    """The model's class manager, which makes its instances (looked up once per model)."""
    manager = _MANAGERS.get(model)
    if manager is None:
        manager = _MANAGERS[model] = class_mapper(model).class_manager
    return manager


__all__ = ["detached"]
