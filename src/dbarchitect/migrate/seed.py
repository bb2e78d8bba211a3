"""Generated rows for `migrate test`: every table of a scratch database gets some, so that a
down migration that loses them shows.

A dialect may have a type-aware filler of its own (PostgreSQL's reads pg_catalog); the others
get a small generic one driven by the introspected schema: values from each column's
logical type, foreign key columns taken from rows already in the parent, parents first. A
table that cannot be filled is left empty and noted — the run goes on.
"""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from dbarchitect.dialects import get_dialect
from dbarchitect.dialects.base import Dialect
from dbarchitect.engines.base import Session
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import DbarchError
from dbarchitect.model import Column, Schema, Table

_CHUNK = 200  # SQLite caps a VALUES list like a compound SELECT (500 terms)


def seed_tables(url: DatabaseURL, schema: Schema, rows: int) -> list[str]:
    """Insert `rows` generated rows into every table of the database at `url`; notes about
    tables left empty."""
    d = get_dialect(url.dialect)
    notes = d.fill_tables(url, rows)
    if notes is not None:
        return notes
    notes = []
    with d.engine().connect(url, read_only=False) as session:
        for table in _parents_first(schema):
            why = _fill(session, d, schema, table, rows)
            if why:
                notes.append(f"{table.qualified} left empty: {why}")
    return notes


def _parents_first(schema: Schema) -> list[Table]:
    by_name = {t.qualified: t for t in schema.tables}
    order: list[Table] = []
    state: dict[str, int] = {}

    def visit(table: Table) -> None:
        if state.get(table.qualified):  # done, or on the stack: an FK cycle is broken here
            return
        state[table.qualified] = 1
        for fk in table.foreign_keys:
            parent = by_name.get(fk.ref_qualified)
            if parent is not None:
                visit(parent)
        state[table.qualified] = 2
        order.append(table)

    for table in schema.tables:
        visit(table)
    return order


def _name(d: Dialect, table: Table) -> str:
    return ".".join(d.quote(p) for p in (table.schema, table.name) if p)


def _fill(session: Session, d: Dialect, schema: Schema, table: Table, rows: int) -> str:
    """Insert the rows; the reason when the table had to be left empty."""
    picked: dict[str, list[Any]] = {}
    for fk in table.foreign_keys:
        ref = fk.ref_qualified
        parent = schema.table(ref)
        if parent is None or parent.qualified == table.qualified:
            continue  # self-references stay NULL
        cols = ", ".join(d.quote(c) for c in fk.ref_columns)
        found = session.fetch(f"SELECT {cols} FROM {_name(d, parent)}")
        for name, ref_col in zip(fk.columns, fk.ref_columns, strict=True):
            picked[name] = [r[ref_col] for r in found]
    # Columns without a value of ours are left to their default (or NULL) where they can be.
    columns = [
        c
        for c in table.columns
        if c.generated is None
        and (c.name in picked or _value(c, 1) is not None or not (c.nullable or c.default))
    ]
    names = ", ".join(d.quote(c.name) for c in columns)
    values: list[str] = []
    for i in range(1, rows + 1):
        row: list[str] = []
        for col in columns:
            if col.name in picked:
                pool = picked[col.name]
                if not pool and not col.nullable:
                    return f"no rows in the table {col.name} references"
                row.append(_literal(pool[(i - 1) % len(pool)]) if pool else "NULL")
                continue
            value = _value(col, i)
            if value is None:
                return f"no value for NOT NULL column {col.name} ({col.type})"
            row.append(value)
        values.append(f"({', '.join(row)})")
    if not columns:
        return "no columns to fill"
    try:
        for start in range(0, len(values), _CHUNK):
            chunk = ", ".join(values[start : start + _CHUNK])
            session.execute(f"INSERT INTO {_name(d, table)} ({names}) VALUES {chunk}")
    except DbarchError as exc:
        return str(exc).splitlines()[0]
    return ""


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


_LENGTH = re.compile(r"\((\d+)")
_FIRST_QUOTED = re.compile(r"'((?:[^']|'')*)'")


def _value(col: Column, i: int) -> str | None:
    """A literal of row `i` for the column's logical type (None when there is none)."""
    logical = col.logical
    if logical == "boolean":
        return str(i % 2)
    if logical in ("smallint", "integer", "bigint", "decimal", "real", "double", "money"):
        return str(i % 30000 if logical == "smallint" else i)
    if logical == "year":
        return str(1901 + i % 250)
    if logical in ("char", "varchar", "text", "binary", "fulltext", "other"):
        m = _LENGTH.search(col.type)
        text = f"v{i}"
        if m and int(m.group(1)) < len(text):
            text = text[-int(m.group(1)) :]
        return "'" + text + "'"
    if logical in ("enum", "set"):
        m = _FIRST_QUOTED.search(col.type)
        return f"'{m.group(1)}'" if m else None
    if logical == "date":
        return f"'{date(2020, 1, 1) + timedelta(days=i)}'"
    if logical in ("time", "timetz"):
        return f"'{(datetime(2020, 1, 1) + timedelta(seconds=i)):%H:%M:%S}'"
    if logical in ("timestamp", "timestamptz"):
        return f"'{(datetime(2020, 1, 1) + timedelta(minutes=i)):%Y-%m-%d %H:%M:%S}'"
    if logical == "uuid":
        return f"'{uuid.UUID(int=i)}'"
    if logical in ("json", "jsonb"):
        return f"'{{\"g\": {i}}}'"
    if logical == "bit":
        return "0"
    return None


__all__ = ["seed_tables"]
