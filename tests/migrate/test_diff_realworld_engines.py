"""`dbarch diff` on the real SQLite and MariaDB schemas of ../shared/realworld.

Each set diffed against itself is empty; the migration from an empty database to the full
schema applies and reads back equal to the set (a second diff is empty); its down migration
leaves no table, view, trigger or routine behind.
"""

from __future__ import annotations

import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.migrate.apply import apply_statements
from dbarchitect.migrate.diff import diff
from dbarchitect.migrate.migration import make_migration
from dbarchitect.model import Schema
from dbarchitect.sources import introspect_url
from tests.conftest import realworld_schema

SETS = [
    ("chinook-sqlite", "sqlite"),
    ("synapse-sqlite", "sqlite"),
    ("chinook-mysql", "mysql"),
    ("sakila-mysql", "mysql"),
]


@pytest.mark.parametrize(("name", "dialect"), SETS, ids=[n for n, _ in SETS])
def test_real_schema_from_empty_and_back(name: str, dialect: str) -> None:
    schema = realworld_schema(name)
    assert not diff(schema, schema).operations
    empty = Schema(dialect=schema.dialect)
    migration = make_migration(empty, schema)
    assert len(migration.up) > len(schema.tables)
    engine = get_dialect(dialect).engine()
    with engine.scratch() as url:
        apply_statements(url, migration.up, label="up")
        built = introspect_url(url)
        left = [op.describe() for op in diff(built, schema).operations]
        assert not left, left[:10]
        assert built == schema
        apply_statements(url, migration.down, label="down")
        gone = introspect_url(url)
        assert not (gone.tables or gone.views or gone.functions or gone.sequences)
