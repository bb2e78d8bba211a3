"""CREATE INDEX text for a Candidate: names quoted, expressions and literals as written."""

from __future__ import annotations

import hashlib

from dbarchitect.dialects.postgres.quoting import quote
from dbarchitect.errors import InputError
from dbarchitect.model import Schema, Table
from dbarchitect.tune.model import Candidate


def index_sql(schema: Schema, candidate: Candidate, name: str, *, concurrently: bool = True) -> str:
    """`CREATE INDEX [CONCURRENTLY] name ON schema.table USING method (…) INCLUDE (…) WHERE …`.

    A partitioned table cannot be indexed CONCURRENTLY (PostgreSQL 15), so its online form is
    the documented sequence, one statement per line: the parent's index ON ONLY (invalid until
    every partition has one), each partition's built CONCURRENTLY, then attached."""
    table = _table(schema, candidate)
    if not (concurrently and table.partitioning is not None):
        return _create(table, candidate, name, concurrently=concurrently)
    return ";\n".join(_online_tree(schema, table, candidate, name))


def _online_tree(schema: Schema, table: Table, candidate: Candidate, name: str) -> list[str]:
    if table.partitioning is None:
        return [_create(table, candidate, name, concurrently=True)]
    steps = [_create(table, candidate, name, concurrently=False, only=True)]
    for part in partitions(schema, table):
        part_name = _part_name(name, part)
        steps += _online_tree(schema, part, candidate, part_name)
        steps.append(
            f"ALTER INDEX {quote(table.schema)}.{quote(name)} "
            f"ATTACH PARTITION {quote(part.schema)}.{quote(part_name)}"
        )
    return steps


def _create(
    table: Table, candidate: Candidate, name: str, *, concurrently: bool, only: bool = False
) -> str:
    keys = ", ".join(key_sql(table, k) for k in candidate.columns)
    sql = "CREATE INDEX " + ("CONCURRENTLY " if concurrently else "")
    sql += f"{quote(name)} ON {'ONLY ' if only else ''}{quote(table.schema)}.{quote(table.name)}"
    if candidate.method != "btree":
        sql += f" USING {candidate.method}"
    sql += f" ({keys})"
    if candidate.include:
        sql += " INCLUDE (" + ", ".join(quote(c) for c in candidate.include) + ")"
    if candidate.where:
        sql += f" WHERE {candidate.where}"
    return sql


def key_sql(table: Table, key: str) -> str:
    """A key column as SQL: a parenthesized expression as it is, a column quoted, and an
    operator class after the last space when the whole text is not a column's name."""
    if key.startswith("("):
        return key
    if table.column(key) is not None:
        return quote(key)
    name, _, opclass = key.rpartition(" ")
    if name and table.column(name) is not None:
        return f"{quote(name)} {opclass}"
    raise InputError(f"{table.qualified}: no column {key!r} for an index key")


def partitions(schema: Schema, parent: Table) -> list[Table]:
    """The direct partitions of `parent`, in name order."""
    return sorted(
        (t for t in schema.tables if t.partition_of == parent.qualified),
        key=lambda t: t.qualified,
    )


def _part_name(name: str, part: Table) -> str:
    """The partition's index name: the partition's name and the parent index's, ≤ 63 bytes."""
    full = f"{part.name}_{name}"
    if len(full.encode()) <= 63:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:8]
    return full.encode()[:54].decode(errors="ignore") + "_" + digest


def _table(schema: Schema, candidate: Candidate) -> Table:
    table = schema.table(candidate.table)
    if table is None:
        raise InputError(f"no table {candidate.table} for an index candidate")
    return table
