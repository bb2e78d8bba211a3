"""The MCP query tool's ordinary work: typed JSON-safe values, limits, reads that must pass,
and the least-privilege role it offers, checked on a real PostgreSQL cluster."""

from __future__ import annotations

import dataclasses
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dbarchitect.engines.postgres import conninfo
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import InputError, ReadOnlyViolation
from dbarchitect.mcp.query import least_privilege_role_sql, run_query


@pytest.fixture
def typed_pg(pg_url: DatabaseURL) -> DatabaseURL:
    with psycopg.connect(conninfo(pg_url), autocommit=True) as conn:
        conn.execute(
            b"CREATE TABLE t (id int PRIMARY KEY, price numeric(10,2), born date,"
            b" at timestamptz, raw bytea, doc jsonb, tags text[], big bigint, f float8);"
            b"INSERT INTO t VALUES (1, 12.50, '2024-02-29', '2024-01-01 10:00+00', '\\x00ff',"
            b" '{\"a\": [1, 2]}', '{x,y}', 9007199254740993, 'NaN');"
            b"CREATE SCHEMA shop; CREATE TABLE shop.orders (id int); INSERT INTO shop.orders"
            b" VALUES (1), (2)"
        )
    return pg_url


def test_values_are_json_safe(typed_pg: DatabaseURL) -> None:
    result = run_query(typed_pg, "SELECT price, born, raw, doc, tags, big, f, id FROM t")
    assert result.columns == ["price", "born", "raw", "doc", "tags", "big", "f", "id"]
    assert result.rows == [
        ["12.50", "2024-02-29", "\\x00ff", {"a": [1, 2]}, ["x", "y"], 9007199254740993, "nan", 1]
    ]
    assert (result.row_count, result.truncated, result.note) == (1, False, None)
    result.model_dump_json()  # serialisable as it stands


def test_duplicate_and_unnamed_columns_keep_their_names(typed_pg: DatabaseURL) -> None:
    result = run_query(typed_pg, "SELECT 1 AS a, 2 AS a, 3, NULL")
    assert result.columns == ["a", "a", "?column?", "?column?"]
    assert result.rows == [[1, 2, 3, None]]


def test_order_and_row_limit(typed_pg: DatabaseURL) -> None:
    result = run_query(
        typed_pg, "SELECT g FROM generate_series(1, 20) g ORDER BY g DESC", max_rows=5
    )
    assert result.rows == [[20], [19], [18], [17], [16]]
    assert result.truncated and result.note == "truncated: more than 5 rows (max_rows)"


def test_byte_limit_cuts_between_rows(typed_pg: DatabaseURL) -> None:
    result = run_query(
        typed_pg, "SELECT repeat('y', 300) FROM generate_series(1, 10)", max_bytes=1000
    )
    assert result.row_count == 3 and result.truncated
    assert result.note is not None and "max_bytes" in result.note


def test_reads_that_must_pass(typed_pg: DatabaseURL) -> None:
    assert run_query(typed_pg, "SHOW default_transaction_read_only").rows == [["on"]]
    plan = run_query(typed_pg, "EXPLAIN SELECT * FROM t WHERE id = 1")
    assert plan.columns == ["QUERY PLAN"] and "t_pkey" in str(plan.rows)
    assert run_query(typed_pg, "TABLE shop.orders").rows == [[1], [2]]
    assert run_query(typed_pg, "VALUES (1, 'a')").rows == [[1, "a"]]
    with_cte = run_query(
        typed_pg, "WITH x AS (SELECT count(*) AS n FROM t) SELECT n, now() IS NOT NULL FROM x"
    )
    assert with_cte.rows == [[1, True]]
    allowed = run_query(typed_pg, "SELECT random() < 2, pg_relation_size('t') >= 0, lower('A')")
    assert allowed.rows == [[True, True, "a"]]
    # psycopg placeholders mean nothing here: percent signs reach the server as written.
    assert run_query(typed_pg, "SELECT '100%', 'a%%s', 'b%s'").rows == [["100%", "a%%s", "b%s"]]


def test_errors_are_one_line(typed_pg: DatabaseURL) -> None:
    with pytest.raises(InputError, match=r"query failed on .*no_such"):
        run_query(typed_pg, "SELECT * FROM no_such")
    with pytest.raises(ReadOnlyViolation):
        run_query(typed_pg, "SELECT 1 FROM (SELECT 1) x WHERE (")  # does not parse
    for bad in ({"max_rows": 0}, {"timeout_ms": 10**9}, {"max_bytes": True}):
        with pytest.raises(InputError, match="must be an integer"):
            run_query(typed_pg, "SELECT 1", **bad)
    with pytest.raises(InputError, match="empty"):
        run_query(typed_pg, "  ")


def test_sqlite_reads(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB); INSERT INTO t VALUES (1, x'0a');"
    )
    conn.close()
    url = DatabaseURL(dialect="sqlite", scheme="sqlite", database=str(path))
    assert run_query(url, "SELECT id, b FROM t -- trailing comment").rows == [[1, "\\x0a"]]
    assert run_query(url, "PRAGMA table_info(t)").row_count == 2
    assert run_query(url, "select * from t;").columns == ["id", "b"]


@pytest.fixture
def role_name(pg_url: DatabaseURL) -> Iterator[str]:
    name = f"mcp_reader_{uuid.uuid4().hex[:8]}"
    yield name
    with psycopg.connect(conninfo(pg_url), autocommit=True) as conn:
        conn.execute(f'DROP OWNED BY "{name}"; DROP ROLE IF EXISTS "{name}"'.encode())


def test_least_privilege_role_holds_as_documented(typed_pg: DatabaseURL, role_name: str) -> None:
    script = least_privilege_role_sql(role_name, ["public", "shop"], database=typed_pg.database)
    with psycopg.connect(conninfo(typed_pg), autocommit=True) as conn:
        conn.execute(script.encode())
        conn.execute(f"ALTER ROLE \"{role_name}\" PASSWORD 'pw-m2'".encode())
    url = dataclasses.replace(typed_pg, user=role_name, password="pw-m2")
    assert run_query(url, "SELECT count(*) FROM shop.orders").rows == [[2]]

    # What the query tool's guard refuses by name, the role cannot do even when the guard is
    # bypassed: a plain connection as the role, outside dbarchitect.
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        settings = conn.execute(
            b"SELECT current_setting('default_transaction_read_only'),"
            b" current_setting('statement_timeout'), rolconnlimit, rolsuper"
            b" FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert settings == ("on", "5s", 5, False)
        for sql in (
            "COPY t TO PROGRAM 'true'",
            "SELECT pg_read_file('/etc/passwd')",
            "SELECT pg_reload_conf()",
            "SELECT lo_import('/etc/passwd')",
            "SELECT pg_ls_dir('.')",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'postgres'",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(sql.encode())
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute(b"INSERT INTO t (id) VALUES (2)")
        # Switching read-only off is possible for the role, but it still holds no write grant.
        conn.execute(b"SET default_transaction_read_only = off")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(b"INSERT INTO t (id) VALUES (2)")
