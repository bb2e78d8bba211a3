"""Declared types → affinity (checked against SQLite itself) → logical types; quoting."""

from __future__ import annotations

import sqlite3

import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.dialects.sqlite.types import affinity

DIALECT = get_dialect("sqlite")

DECLARED = [
    "INTEGER",
    "INT",
    "BIGINT",
    "UNSIGNED BIG INT",
    "TINYINT",
    "FLOATING POINT",
    "INTERVAL",
    "TEXT",
    "VARCHAR(255)",
    "NVARCHAR(10)",
    "CHARACTER(20)",
    "CLOB",
    "BLOB",
    "",
    "REAL",
    "DOUBLE PRECISION",
    "FLOAT",
    "NUMERIC",
    "DECIMAL(10,5)",
    "BOOLEAN",
    "DATE",
    "DATETIME",
    "JSON",
    "bytea",
    "ANY",
]


def _stored_class(declared: str, value: object) -> str:
    conn = sqlite3.connect(":memory:")
    conn.execute(f"CREATE TABLE t (c {declared})")
    conn.execute("INSERT INTO t VALUES (?)", (value,))
    row = conn.execute("SELECT typeof(c) FROM t").fetchone()
    conn.close()
    return str(row[0])


@pytest.mark.parametrize("declared", DECLARED)
def test_affinity_matches_what_sqlite_stores(declared: str) -> None:
    """Store text '12' and integer 7; how SQLite keeps them reveals the column's affinity."""
    text_as = _stored_class(declared, "12")
    int_as = _stored_class(declared, 7)
    observed = {
        ("integer", "integer"): "INTEGER or NUMERIC",
        ("text", "text"): "TEXT",
        ("text", "integer"): "BLOB",
        ("real", "real"): "REAL",
    }[(text_as, int_as)]
    ours = affinity(declared)
    if observed == "INTEGER or NUMERIC":
        assert ours in ("INTEGER", "NUMERIC")
    else:
        assert ours == observed


@pytest.mark.parametrize(
    ("declared", "logical"),
    [
        ("INTEGER", "integer"),
        ("INT", "integer"),
        ("BIGINT", "bigint"),
        ("UNSIGNED BIG INT", "bigint"),
        ("SMALLINT", "smallint"),
        ("FLOATING POINT", "integer"),  # contains INT: SQLite gives it INTEGER affinity
        ("TEXT", "text"),
        ("VARCHAR(255)", "varchar"),
        ("CHARACTER VARYING(5)", "varchar"),
        ("CHARACTER(20)", "char"),
        ("CLOB", "text"),
        ("BLOB", "binary"),
        ("", "other"),
        ("REAL", "double"),
        ("DOUBLE PRECISION", "double"),
        ("NUMERIC (10, 2)", "decimal"),
        ("DECIMAL(10,5)", "decimal"),
        ("BOOLEAN", "boolean"),
        ("DATE", "date"),
        ("DATETIME", "timestamp"),
        ("TIMESTAMP", "timestamp"),
        ("JSON", "json"),
        ("UUID", "uuid"),
        ("bytea", "binary"),
        ("ANY", "other"),
        ("GEOMETRY", "other"),
    ],
)
def test_logical_types(declared: str, logical: str) -> None:
    assert DIALECT.logical_type(declared) == logical


@pytest.mark.parametrize(
    ("name", "quoted"),
    [
        ("plain_name", "plain_name"),
        ("order", '"order"'),
        ("select", '"select"'),
        ("key", '"key"'),
        ("Album", '"Album"'),
        ("Größe", '"Größe"'),
        ("with space", '"with space"'),
        ('a"b', '"a""b"'),
        ("1st", '"1st"'),
        ("", '""'),
    ],
)
def test_quote(name: str, quoted: str) -> None:
    assert DIALECT.quote(name) == quoted
    # and SQLite reads the quoted form back as the same name
    conn = sqlite3.connect(":memory:")
    if name:
        conn.execute(f"CREATE TABLE {quoted} (x)")
        assert conn.execute("SELECT name FROM sqlite_master").fetchone() == (name,)
