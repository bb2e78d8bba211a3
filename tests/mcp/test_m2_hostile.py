"""Hostile SQL through the MCP query tool: refused or bounded, and the database unchanged.

Real PostgreSQL and SQLite. After every case the canary table's checksum and sequence are the
same, no advisory lock, large object or backend of ours is left, and the next call sees a
default session.
"""

from __future__ import annotations

import dataclasses
import hashlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.postgres import conninfo
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import InputError, ReadOnlyViolation
from dbarchitect.mcp.query import QueryResult, least_privilege_role_sql, run_query

TIMEOUT_MS = 1000
LIMIT_S = 6.0  # a case that is not refused at once must end within a few timeouts
PWNED = Path("/tmp/dbarch_m2_pwned")

SETUP = """
CREATE TABLE canary (id serial PRIMARY KEY, v text NOT NULL);
INSERT INTO canary (v) VALUES ('a'), ('b'), ('c');
CREATE FUNCTION evil_writer() RETURNS int VOLATILE LANGUAGE plpgsql
  AS $$ BEGIN INSERT INTO canary (v) VALUES ('pwned'); RETURN 1; END $$;
CREATE FUNCTION evil_definer() RETURNS int VOLATILE SECURITY DEFINER LANGUAGE plpgsql
  AS $$ BEGIN DELETE FROM canary; RETURN 1; END $$;
CREATE FUNCTION evil_op(int, int) RETURNS int VOLATILE LANGUAGE plpgsql
  AS $$ BEGIN DELETE FROM canary; RETURN 1; END $$;
CREATE OPERATOR #~# (LEFTARG = int, RIGHTARG = int, FUNCTION = evil_op);
-- Declared STABLE, yet takes a session advisory lock: the guard cannot see through the lie,
-- the reset after the call must release it.
CREATE FUNCTION stable_liar() RETURNS int STABLE LANGUAGE plpgsql
  AS $$ BEGIN PERFORM pg_advisory_lock(77); RETURN 1; END $$;
CREATE FUNCTION evil_step(int, int) RETURNS int VOLATILE LANGUAGE plpgsql
  AS $$ BEGIN DELETE FROM canary; RETURN 1; END $$;
CREATE AGGREGATE evil_agg(int) (SFUNC = evil_step, STYPE = int, INITCOND = '0');
-- A STABLE wrapper hides a VOLATILE function that runs a program on the server.
CREATE FUNCTION volatile_copy() RETURNS int VOLATILE LANGUAGE plpgsql AS $$ BEGIN
  EXECUTE 'COPY (SELECT 1) TO PROGRAM ''touch /tmp/dbarch_m2_pwned'''; RETURN 1; END $$;
CREATE FUNCTION stable_wrapper() RETURNS int STABLE LANGUAGE plpgsql
  AS $$ BEGIN RETURN volatile_copy(); END $$;
-- The same, but the hidden function takes the superuser's powers back first.
CREATE FUNCTION volatile_setrole_copy() RETURNS int VOLATILE LANGUAGE plpgsql AS $$ BEGIN
  SET LOCAL ROLE postgres;
  EXECUTE 'COPY (SELECT 1) TO PROGRAM ''touch /tmp/dbarch_m2_escape'''; RETURN 1; END $$;
CREATE FUNCTION stable_setrole_wrapper() RETURNS int STABLE LANGUAGE plpgsql
  AS $$ BEGIN RETURN volatile_setrole_copy(); END $$;
CREATE VIEW evil_view AS SELECT evil_writer() AS x;
CREATE PROCEDURE p() LANGUAGE sql AS $$ INSERT INTO canary (v) VALUES ('proc') $$;
"""

REFUSED = "refused"
BOUNDED = "bounded"  # returns, truncated
EITHER = "either"  # refused, or returns; either way unchanged and in time

PG_CASES: list[tuple[str, str, str]] = [
    ("commit-insert", "COMMIT; INSERT INTO canary (v) VALUES ('x')", REFUSED),
    (
        "rollback-begin-rw",
        "ROLLBACK; BEGIN READ WRITE; INSERT INTO canary (v) VALUES ('x'); COMMIT",
        REFUSED,
    ),
    ("set-dtro-off", "SET default_transaction_read_only = off", REFUSED),
    ("set-tx-rw", "SET TRANSACTION READ WRITE", REFUSED),
    ("set-config", "SELECT set_config('default_transaction_read_only', 'off', false)", REFUSED),
    ("writable-cte", "WITH d AS (DELETE FROM canary RETURNING *) SELECT * FROM d", REFUSED),
    (
        "explain-writable-cte",
        "EXPLAIN WITH d AS (DELETE FROM canary RETURNING *) SELECT 1",
        REFUSED,
    ),
    ("volatile-writer", "SELECT evil_writer()", REFUSED),
    ("volatile-writer-qualified", 'SELECT public."evil_writer"()', REFUSED),
    ("security-definer", "SELECT evil_definer()", REFUSED),
    ("writer-in-from", "SELECT * FROM evil_writer()", REFUSED),
    ("writer-operator", "SELECT 1 #~# 2", REFUSED),
    ("writer-aggregate", "SELECT evil_agg(id) FROM canary", REFUSED),
    ("writer-in-view", "SELECT * FROM evil_view", REFUSED),
    ("stable-liar", "SELECT stable_liar()", EITHER),
    ("stable-wrapper-copy-program", "SELECT stable_wrapper()", REFUSED),
    ("do-block", "DO $$ BEGIN DELETE FROM canary; END $$", REFUSED),
    ("call", "CALL p()", REFUSED),
    ("explain-analyze-insert", "EXPLAIN ANALYZE INSERT INTO canary (v) VALUES ('x')", REFUSED),
    ("explain-insert", "EXPLAIN INSERT INTO canary (v) VALUES ('x')", REFUSED),
    ("copy-to-program", f"COPY canary TO PROGRAM 'touch {PWNED}'", REFUSED),
    ("copy-from-program", "COPY canary (v) FROM PROGRAM 'echo pwned'", REFUSED),
    ("copy-select-to-program", f"COPY (SELECT 1) TO PROGRAM 'touch {PWNED}'", REFUSED),
    ("pg-read-file", "SELECT pg_read_file('/etc/passwd')", REFUSED),
    ("pg-ls-dir", "SELECT * FROM pg_ls_dir('.')", REFUSED),
    ("lo-import", "SELECT lo_import('/etc/passwd')", REFUSED),
    ("lo-export", f"SELECT lo_export(lo_from_bytea(0, 'x'), '{PWNED}')", REFUSED),
    ("terminate-backend", "SELECT pg_terminate_backend(pg_backend_pid())", REFUSED),
    ("cancel-backend", "SELECT pg_cancel_backend(pg_backend_pid())", REFUSED),
    ("reload-conf", "SELECT pg_reload_conf()", REFUSED),
    ("lock-table", "LOCK TABLE canary", REFUSED),
    ("for-update", "SELECT * FROM canary FOR UPDATE", REFUSED),
    ("select-into", "SELECT * INTO canary2 FROM canary", REFUSED),
    ("advisory-lock", "SELECT pg_advisory_lock(1)", REFUSED),
    ("advisory-lock-qualified", "SELECT pg_catalog.pg_try_advisory_lock(1)", REFUSED),
    ("pg-sleep", "SELECT pg_sleep(3600)", REFUSED),
    ("count-billion", "SELECT count(*) FROM generate_series(1, 1e9)", REFUSED),
    ("from-billion", "SELECT * FROM generate_series(1, 1e9)", EITHER),
    ("srf-billion", "SELECT generate_series(1, 1000000000)", BOUNDED),
    ("listen", "LISTEN x", REFUSED),
    ("notify", "NOTIFY x", REFUSED),
    ("pg-notify", "SELECT pg_notify('x', 'y')", REFUSED),
    ("analyze", "ANALYZE canary", REFUSED),
    ("reindex", "REINDEX TABLE canary", REFUSED),
    ("cluster", "CLUSTER canary USING canary_pkey", REFUSED),
    ("vacuum", "VACUUM canary", REFUSED),
    ("prepare-execute", "PREPARE x AS SELECT 1; EXECUTE x", REFUSED),
    ("prepare", "PREPARE x AS SELECT 1", REFUSED),
    ("execute", "EXECUTE x", REFUSED),
    ("comment-block", "SELECT 1 /* ; DELETE FROM canary */", EITHER),
    ("comment-line", "SELECT 1 -- \n; DELETE FROM canary", REFUSED),
    ("comment-first", "-- SELECT 1\nDELETE FROM canary", REFUSED),
    ("dollar-quote", "SELECT $$;$$; DELETE FROM canary", REFUSED),
    ("dollar-quote-nested", "SELECT $a$ $$; DELETE FROM canary; $$ $a$", EITHER),
    ("nextval", "SELECT nextval('canary_id_seq')", REFUSED),
    ("setval", "SELECT setval('canary_id_seq', 1000)", REFUSED),
    ("currval", "SELECT currval('canary_id_seq')", REFUSED),
    ("txid-current", "SELECT txid_current()", REFUSED),
    (
        "query-to-xml",
        "SELECT query_to_xml('DELETE FROM canary RETURNING 1', true, false, '')",
        REFUSED,
    ),
    ("ts-stat", "SELECT * FROM ts_stat('SELECT to_tsvector(evil_writer()::text)')", REFUSED),
    ("dblink-exec", "SELECT dblink_exec('dbname=postgres', 'DELETE FROM canary')", REFUSED),
    ("create-table", "CREATE TABLE t3 (a int)", REFUSED),
    # repeat() of 50 MB alone takes the server ~0.6 s here: 20 MB stays inside the timeout.
    ("huge-row", "SELECT repeat('x', 20000000)", BOUNDED),
    ("huge-rows", "SELECT repeat('x', 400000) FROM generate_series(1, 100)", BOUNDED),
]


@pytest.fixture(scope="module")
def canary_db() -> Iterator[DatabaseURL]:
    """One scratch database for the whole suite (the cases never change it: that is the test)."""
    with get_dialect("postgres").engine().scratch() as url:
        with psycopg.connect(conninfo(url), autocommit=True) as conn:
            conn.execute(SETUP.encode())
        yield url


def _state(url: DatabaseURL) -> dict[str, Any]:
    with psycopg.connect(conninfo(url), autocommit=True) as conn:

        def one(sql: str) -> Any:
            row = conn.execute(sql.encode()).fetchone()
            return row[0] if row else None

        # A closed connection's backend exits a moment later: wait for it, briefly.
        deadline = time.monotonic() + 3
        others = -1
        while time.monotonic() < deadline:
            others = one(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            if others == 0:
                break
            time.sleep(0.02)
        return {
            "canary": one("SELECT md5(string_agg(c::text, ',' ORDER BY id)) FROM canary c"),
            "sequence": one("SELECT last_value || '/' || is_called FROM canary_id_seq"),
            "advisory_locks": one("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"),
            "large_objects": one("SELECT count(*) FROM pg_largeobject_metadata"),
            "other_backends": others,
            "tables": one("SELECT count(*) FROM pg_class WHERE relname LIKE 'canary%'"),
        }


def _attempt(url: DatabaseURL, sql: str) -> tuple[QueryResult | Exception, float]:
    start = time.monotonic()
    try:
        outcome: QueryResult | Exception = run_query(url, sql, timeout_ms=TIMEOUT_MS)
    except (ReadOnlyViolation, InputError) as exc:
        outcome = exc
    return outcome, time.monotonic() - start


@pytest.mark.parametrize(("case", "sql", "expect"), PG_CASES, ids=[c[0] for c in PG_CASES])
def test_hostile_postgres(canary_db: DatabaseURL, case: str, sql: str, expect: str) -> None:
    before = _state(canary_db)
    assert before["advisory_locks"] == 0 and before["other_backends"] == 0
    outcome, elapsed = _attempt(canary_db, sql)

    assert elapsed < LIMIT_S, f"{case} took {elapsed:.1f}s"
    if expect == REFUSED:
        assert isinstance(outcome, ReadOnlyViolation | InputError), outcome
        assert "\n" not in str(outcome)
    elif expect == BOUNDED:
        assert isinstance(outcome, QueryResult), outcome
        assert outcome.truncated and outcome.note
        assert outcome.row_count <= 500
        assert len(outcome.model_dump_json()) <= 1_100_000  # max_bytes plus JSON overhead
    assert before == _state(canary_db), f"{case} changed the database or left state behind"
    assert not PWNED.exists()

    # The next call is a fresh, default, read-only session with nothing prepared.
    after = run_query(
        canary_db,
        "SELECT current_setting('default_transaction_read_only'),"
        " (SELECT count(*) FROM pg_prepared_statements),"
        " current_setting('search_path')",
        timeout_ms=TIMEOUT_MS,
    )
    assert after.rows == [["on", 0, '"$user", public']]


def test_srf_billion_is_fast_and_truncated(canary_db: DatabaseURL) -> None:
    start = time.monotonic()
    result = run_query(canary_db, "SELECT generate_series(1, 1000000000) AS n", max_rows=10)
    assert time.monotonic() - start < 2.0
    assert result.truncated and result.rows == [[n] for n in range(1, 11)]
    assert result.columns == ["n"] and result.row_count == 10


def test_huge_value_is_withheld_by_the_server(canary_db: DatabaseURL) -> None:
    result = run_query(canary_db, "SELECT 1 AS small, repeat('x', 50000000) AS big")
    assert result.truncated and result.rows == []
    assert result.note is not None and "big" in result.note


def test_comment_trick_runs_only_the_read(canary_db: DatabaseURL) -> None:
    result = run_query(canary_db, "SELECT count(*) AS n FROM canary /* ; DELETE FROM canary */")
    assert result.rows == [[3]]


# --- SQLite ------------------------------------------------------------------------------------

SQLITE_CASES: list[tuple[str, str, str]] = [
    ("attach", f"ATTACH DATABASE '{PWNED}' AS x", REFUSED),
    ("writable-schema", "PRAGMA writable_schema = 1", REFUSED),
    ("query-only-off", "PRAGMA query_only = 0", REFUSED),
    ("insert-via-cte", "WITH x AS (SELECT 'p') INSERT INTO canary (v) SELECT * FROM x", REFUSED),
    ("multi-statement", "SELECT 1; DELETE FROM canary", REFUSED),
    ("delete", "DELETE FROM canary", REFUSED),
    ("comment-first", "/* SELECT */ DELETE FROM canary", REFUSED),
    ("load-extension", "SELECT load_extension('/tmp/evil')", REFUSED),
    ("vacuum-into", f"VACUUM INTO '{PWNED}'", REFUSED),
    ("begin", "BEGIN IMMEDIATE", REFUSED),
    (
        "endless-recursion",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
        REFUSED,
    ),
    (
        "endless-rows",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c",
        BOUNDED,
    ),
    ("huge-blob", "SELECT zeroblob(100000000)", REFUSED),
]


@pytest.fixture
def sqlite_canary(tmp_path: Path) -> DatabaseURL:
    path = tmp_path / "canary.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE canary (id INTEGER PRIMARY KEY, v TEXT NOT NULL);"
        "INSERT INTO canary (v) VALUES ('a'), ('b'), ('c');"
    )
    conn.close()
    return DatabaseURL(dialect="sqlite", scheme="sqlite", database=str(path))


@pytest.mark.parametrize(("case", "sql", "expect"), SQLITE_CASES, ids=[c[0] for c in SQLITE_CASES])
def test_hostile_sqlite(sqlite_canary: DatabaseURL, case: str, sql: str, expect: str) -> None:
    path = Path(str(sqlite_canary.database))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    outcome, elapsed = _attempt(sqlite_canary, sql)
    assert elapsed < LIMIT_S, f"{case} took {elapsed:.1f}s"
    if expect == REFUSED:
        assert isinstance(outcome, ReadOnlyViolation | InputError), outcome
    else:
        assert isinstance(outcome, QueryResult) and outcome.truncated, outcome
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["canary.db"]  # no -wal, no new file
    assert not PWNED.exists()


ESCAPED = Path("/tmp/dbarch_m2_escape")


def test_superuser_limit_only_a_least_privilege_role_closes(canary_db: DatabaseURL) -> None:
    """The documented limit (docs/mcp-security.md): connected as a superuser, a STABLE function
    that calls a VOLATILE one which runs SET ROLE back to a superuser reaches COPY … PROGRAM.
    Connected as the least-privilege role the same call is refused."""
    ESCAPED.unlink(missing_ok=True)
    try:
        run_query(canary_db, "SELECT stable_setrole_wrapper()", timeout_ms=TIMEOUT_MS)
        assert ESCAPED.exists(), "the guard now stops this: update docs/mcp-security.md"
    finally:
        ESCAPED.unlink(missing_ok=True)

    name = "m2_reader_limit"
    with psycopg.connect(conninfo(canary_db), autocommit=True) as conn:
        conn.execute(least_privilege_role_sql(name, ["public"]).encode())
        conn.execute(f"ALTER ROLE {name} PASSWORD 'pw-m2'".encode())
    try:
        reader = dataclasses.replace(canary_db, user=name, password="pw-m2")
        with pytest.raises(ReadOnlyViolation, match="permission denied"):
            run_query(reader, "SELECT stable_setrole_wrapper()", timeout_ms=TIMEOUT_MS)
        assert not ESCAPED.exists()
        assert run_query(reader, "SELECT count(*) FROM canary").rows == [[3]]
    finally:
        with psycopg.connect(conninfo(canary_db), autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {name}; DROP ROLE {name}".encode())
