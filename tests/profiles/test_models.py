"""The tables' indexes: each one earns its writes."""

from sqlalchemy import Table

from profiles.models import SQLModel


def _keys(table: Table) -> list[tuple[str, tuple[str, ...]]]:
    """Every index a table has, explicit or made by its primary key and unique constraints,
    as (name, columns)."""
    keys = [(str(index.name), tuple(c.name for c in index.columns)) for index in table.indexes]
    for constraint in table.constraints:
        columns = tuple(c.name for c in constraint.columns)  # type: ignore[attr-defined]
        if columns and constraint.__visit_name__ in {"primary_key_constraint", "unique_constraint"}:
            keys.append((str(constraint.name or constraint.__visit_name__), columns))
    return keys


def test_no_index_is_a_leading_part_of_another():
    """An index on (a) beside one on (a, b) is only written, never needed: the longer one
    finds rows by a alone on both databases. Interest and trait rows, the learner's hottest
    inserts, each paid for one until migration 0012."""
    redundant = []
    for table in SQLModel.metadata.sorted_tables:
        keys = _keys(table)
        for name, columns in keys:
            if any(
                other != name and len(longer) > len(columns) and longer[: len(columns)] == columns
                for other, longer in keys
            ):
                redundant.append(f"{table.name}.{name}{columns}")
    assert redundant == []


def test_the_check_sees_an_index_made_by_a_column_flag():
    """The check above reads the indexes ``index=True`` makes, not only declared ones."""
    interest = SQLModel.metadata.tables["interest"]
    assert ("ix_interest_topic", ("topic",)) in _keys(interest)
    assert ("uq_interest", ("person_id", "topic")) in _keys(interest)
