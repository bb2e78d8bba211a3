"""CREATE INDEX text for a Candidate: names quoted, expressions and literals as written."""

from __future__ import annotations

from dbarchitect.dialects.postgres.quoting import quote
from dbarchitect.errors import InputError
from dbarchitect.model import Schema, Table
from dbarchitect.tune.model import Candidate


def index_sql(schema: Schema, candidate: Candidate, name: str, *, concurrently: bool = True) -> str:
    """`CREATE INDEX [CONCURRENTLY] name ON schema.table USING method (…) INCLUDE (…) WHERE …`."""
    table = _table(schema, candidate)
    keys = ", ".join(key_sql(table, k) for k in candidate.columns)
    sql = "CREATE INDEX " + ("CONCURRENTLY " if concurrently else "")
    sql += f"{quote(name)} ON {quote(table.schema)}.{quote(table.name)}"
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


def _table(schema: Schema, candidate: Candidate) -> Table:
    table = schema.table(candidate.table)
    if table is None:
        raise InputError(f"no table {candidate.table} for an index candidate")
    return table
