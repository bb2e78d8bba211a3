"""Rehearsal measures what PostgreSQL 15 really does; these are well-known facts."""

from __future__ import annotations

import psycopg
import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.postgres import conninfo
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.migrate.safety.rehearse import (
    Measured,
    fill_tables,
    rehearse,
    split_statements,
    summarize,
)

SCHEMA = """
CREATE TYPE mood AS ENUM ('ok', 'sad');
CREATE TABLE parent (id bigint PRIMARY KEY, name varchar(20) NOT NULL, m mood NOT NULL,
                     u uuid NOT NULL, at timestamptz NOT NULL, ok boolean NOT NULL,
                     n numeric(6,2) NOT NULL, j jsonb NOT NULL, d date NOT NULL);
CREATE TABLE child (id serial PRIMARY KEY, parent_id bigint NOT NULL, hits integer NOT NULL,
                    note varchar(10));
"""


def _one(migration: str) -> Measured:
    measured = rehearse(SCHEMA, migration, rows=300)
    assert len(measured) == 1
    assert measured[0].error is None
    return measured[0]


def test_create_index_takes_share_lock() -> None:
    m = _one("CREATE INDEX child_hits ON child (hits)")
    assert m.effect.locks == {"public.child": "ShareLock"}
    assert m.effect.rewrites == frozenset()
    assert "public.child" in m.effect.scans  # the build reads the whole table


def test_create_index_concurrently_takes_share_update_exclusive() -> None:
    m = _one("CREATE INDEX CONCURRENTLY child_hits ON child (hits)")
    assert m.effect.locks == {"public.child": "ShareUpdateExclusiveLock"}
    assert m.effect.in_transaction is False


def test_drop_index_concurrently_is_watched_from_outside() -> None:
    measured = rehearse(
        SCHEMA, "CREATE INDEX child_hits ON child (hits);\nDROP INDEX CONCURRENTLY child_hits;"
    )
    assert [m.effect.locks for m in measured] == [
        {"public.child": "ShareLock"},
        {"public.child": "ShareUpdateExclusiveLock"},
    ]
    assert measured[1].line == 2


def test_add_foreign_key_locks_both_tables() -> None:
    m = _one(
        "ALTER TABLE child ADD CONSTRAINT child_parent_fk FOREIGN KEY (parent_id)"
        " REFERENCES parent (id)"
    )
    assert m.effect.locks == {
        "public.child": "ShareRowExclusiveLock",
        "public.parent": "ShareRowExclusiveLock",
    }
    assert m.effect.scans >= {"public.child"}  # the validation query read the rows


def test_int_to_bigint_rewrites() -> None:
    m = _one("ALTER TABLE child ALTER COLUMN hits TYPE bigint")
    assert m.effect.locks == {"public.child": "AccessExclusiveLock"}
    assert m.effect.rewrites == frozenset({"public.child"})


def test_varchar_widening_does_not_rewrite() -> None:
    m = _one("ALTER TABLE child ALTER COLUMN note TYPE varchar(200)")
    assert m.effect.locks == {"public.child": "AccessExclusiveLock"}
    assert m.effect.rewrites == frozenset()
    assert m.effect.scans == frozenset()


@pytest.mark.parametrize(
    ("default", "rewrites"),
    [("now()", False), ("42", False), ("gen_random_uuid()::text", True), ("random()", True)],
)
def test_add_column_default_rewrites_only_when_volatile(default: str, rewrites: bool) -> None:
    m = _one(f"ALTER TABLE parent ADD COLUMN extra text DEFAULT {default}")
    assert m.effect.rewrites == (frozenset({"public.parent"}) if rewrites else frozenset())


def test_transaction_block_keeps_locks_and_stops_at_first_error() -> None:
    measured = rehearse(
        SCHEMA,
        "BEGIN;\nALTER TABLE parent ADD COLUMN x text;\nUPDATE child SET hits = 1 WHERE id = 1;\n"
        "CREATE INDEX CONCURRENTLY c ON child (hits);\nCOMMIT;\nSELECT 1;",
        rows=50,
    )
    assert [m.sql.split()[0] for m in measured] == ["BEGIN", "ALTER", "UPDATE", "CREATE"]
    update = measured[2]
    assert update.effect.locks == {"public.child": "RowExclusiveLock"}
    # the earlier ALTER's lock is still held while the UPDATE runs
    assert update.held == {
        "public.child": "RowExclusiveLock",
        "public.parent": "AccessExclusiveLock",
    }
    assert measured[3].error == "CREATE INDEX CONCURRENTLY cannot run inside a transaction block"
    assert summarize(measured)["locks"] == {
        "public.child": "RowExclusiveLock",
        "public.parent": "AccessExclusiveLock",
    }


def test_tables_are_filled_with_generated_rows(pg_url: DatabaseURL) -> None:
    get_dialect("postgres").engine().run_script(pg_url, SCHEMA)
    with psycopg.connect(conninfo(pg_url), autocommit=True) as conn:
        conn.execute("CREATE TABLE odd (id bigint PRIMARY KEY, shape circle NOT NULL)")
        notes = fill_tables(conn, 123)
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM parent), (SELECT count(*) FROM child),"
            " (SELECT count(*) FROM child c JOIN parent p ON p.id = c.parent_id)"
        ).fetchone()
    assert counts == (123, 123, 123)
    assert notes == ["public.odd left empty: no value for NOT NULL column shape (circle)"]


def test_split_statements_reports_lines() -> None:
    parts = split_statements("SELECT 1;\n\n-- note\nSELECT 'a;b';\n")
    assert [(text, line) for text, line, _ in parts] == [("SELECT 1", 1), ("SELECT 'a;b'", 4)]
