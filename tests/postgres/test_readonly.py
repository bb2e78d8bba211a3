"""A read-only session on a user's database cannot write, however the SQL is dressed up."""

from __future__ import annotations

import psycopg
import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.postgres import PgSession, connect, conninfo
from dbarchitect.engines.readonly import check_read_only_pg
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import ReadOnlyViolation

ATTACKS = [
    "INSERT INTO canary VALUES (99)",
    "CREATE TABLE intruder (id int)",
    "COMMIT; INSERT INTO canary VALUES (99)",
    "ROLLBACK; BEGIN READ WRITE; INSERT INTO canary VALUES (99)",
    "SET default_transaction_read_only = off; INSERT INTO canary VALUES (99)",
    "SET default_transaction_read_only = off",
    "SET TRANSACTION READ WRITE",
    "WITH x AS (DELETE FROM canary RETURNING *) SELECT * FROM x",
    "SELECT * INTO intruder FROM canary",
    "SELECT * FROM canary FOR UPDATE",
    "EXPLAIN ANALYZE DELETE FROM canary",
    "DO $$ BEGIN DELETE FROM canary; END $$",
    "TRUNCATE canary",
]

# Tuning may EXPLAIN writes and PREPARE reads, which only ever plan; these forms would run.
REFUSED = [
    "EXPLAIN (ANALYZE) INSERT INTO canary VALUES (99)",
    "EXPLAIN (ANALYZE false, FORMAT JSON) DELETE FROM canary",
    "EXPLAIN (analyze, buffers) UPDATE canary SET id = 99",
    "EXPLAIN (ANALYSE) DELETE FROM canary",
    "EXPLAIN ANALYSE VERBOSE DELETE FROM canary",
    "EXPLAIN ANALYZE MERGE INTO canary c USING (VALUES (1)) v(a) ON c.id = v.a"
    " WHEN MATCHED THEN DELETE",
    "EXPLAIN ANALYZE WITH x AS (DELETE FROM canary RETURNING *) SELECT * FROM x",
    "EXPLAIN ANALYZE SELECT * FROM canary FOR UPDATE",
    "EXPLAIN ANALYZE SELECT * INTO intruder FROM canary",
    "EXPLAIN SELECT * INTO intruder FROM canary",
    "EXPLAIN ANALYZE CREATE TABLE intruder AS SELECT * FROM canary",
    "EXPLAIN CREATE TABLE intruder AS SELECT * FROM canary",
    "PREPARE p AS DELETE FROM canary",
    "PREPARE p (int) AS INSERT INTO canary VALUES ($1)",
    "PREPARE p AS WITH x AS (DELETE FROM canary RETURNING *) SELECT * FROM x",
    "PREPARE p AS SELECT * FROM canary FOR UPDATE",
    "EXECUTE p",
    "EXPLAIN ANALYZE EXECUTE p",
    "DEALLOCATE ALL",
    "DEALLOCATE p",
    "SELECT 1 UNION SELECT id FROM canary FOR UPDATE",
    "WITH a AS (SELECT 1) SELECT 1 UNION (WITH b AS (DELETE FROM canary RETURNING 1) SELECT 1)",
]

# Planned and never executed (ExecutorStart with EXEC_FLAG_EXPLAIN_ONLY skips the read-only
# check), or prepared from a read: accepted by the guard and by the read-only transaction.
PLANS = [
    "EXPLAIN DELETE FROM canary",
    "EXPLAIN (FORMAT JSON) INSERT INTO canary VALUES (99)",
    "EXPLAIN (COSTS off, VERBOSE) UPDATE canary SET id = id + 1 WHERE id = 1",
    "EXPLAIN MERGE INTO canary c USING (VALUES (1)) v(a) ON c.id = v.a WHEN MATCHED THEN DELETE",
    "EXPLAIN WITH x AS (DELETE FROM canary RETURNING *) SELECT * FROM x",
    "EXPLAIN WITH x AS (DELETE FROM canary RETURNING *) INSERT INTO canary SELECT id + 9 FROM x",
    "EXPLAIN SELECT * FROM canary FOR UPDATE SKIP LOCKED",
    "EXPLAIN ANALYZE SELECT count(*) FROM canary",
    "PREPARE p AS SELECT * FROM canary WHERE id = $1",
]


def _checksum(url: DatabaseURL) -> tuple[object, ...]:
    with psycopg.connect(conninfo(url)) as conn:
        row = conn.execute(
            "SELECT count(*), coalesce(sum(id), 0),"
            " (SELECT count(*) FROM pg_class WHERE relname = 'intruder') FROM canary"
        ).fetchone()
    assert row is not None
    return tuple(row)


@pytest.fixture
def canary(pg_url: DatabaseURL) -> DatabaseURL:
    engine = get_dialect("postgres").engine()
    engine.run_script(pg_url, "CREATE TABLE canary (id int); INSERT INTO canary VALUES (1), (2);")
    return pg_url


@pytest.mark.parametrize("sql", ATTACKS)
def test_writes_are_refused_and_change_nothing(canary: DatabaseURL, sql: str) -> None:
    before = _checksum(canary)
    with connect(canary, read_only=True) as session:
        with pytest.raises((ReadOnlyViolation, psycopg.Error)):
            session.fetch(sql)
        assert session.fetch("SELECT count(*) AS n FROM canary") == [{"n": 2}]
    assert _checksum(canary) == before


def test_engine_layer_holds_without_the_statement_guard(canary: DatabaseURL) -> None:
    # The second layer: even text that reached the server runs in a read-only transaction.
    with connect(canary, read_only=True) as session:
        assert isinstance(session, PgSession)
        conn = session._conn
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO canary VALUES (99)")
        conn.rollback()
        with pytest.raises(psycopg.errors.SyntaxError):
            # one prepared statement: libpq refuses the smuggled second statement
            conn.execute("SELECT 1; INSERT INTO canary VALUES (99)", prepare=True)
        conn.rollback()
    assert _checksum(canary)[0] == 2


def test_reads_work_and_settings_are_bounded(canary: DatabaseURL) -> None:
    with connect(canary, read_only=True) as session:
        rows = session.fetch(
            "SELECT current_setting('statement_timeout') AS st,"
            " current_setting('lock_timeout') AS lt,"
            " current_setting('transaction_read_only') AS ro"
        )
        assert rows == [{"st": "1min", "lt": "5s", "ro": "on"}]
        assert session.fetch("SHOW server_version_num")
        assert session.fetch("EXPLAIN SELECT * FROM canary")


@pytest.mark.parametrize("sql", ATTACKS + REFUSED)
def test_the_guard_itself_refuses(sql: str) -> None:
    # Refused before anything is sent, not only by the server's read-only transaction.
    with pytest.raises(ReadOnlyViolation):
        check_read_only_pg(sql)


def test_refused_tuning_forms_change_nothing(canary: DatabaseURL) -> None:
    before = _checksum(canary)
    with connect(canary, read_only=True) as session:
        session.fetch("PREPARE p AS SELECT * FROM canary")  # EXECUTE p has something to run
        for sql in REFUSED:
            with pytest.raises(ReadOnlyViolation):
                session.fetch(sql)
        assert session.fetch("SELECT count(*) AS n FROM canary") == [{"n": 2}]
    assert _checksum(canary) == before


def test_plans_of_writes_run_in_a_read_only_session(canary: DatabaseURL) -> None:
    before = _checksum(canary)
    with connect(canary, read_only=True) as session:
        for sql in PLANS:
            check_read_only_pg(sql)
            with session.transaction():
                # the server itself accepts them inside a read-only transaction
                ro = session.fetch("SHOW transaction_read_only")
                assert ro == [{"transaction_read_only": "on"}]
                rows = session.fetch(sql)
                assert rows or sql.startswith("PREPARE"), sql
        assert session.fetch("SELECT count(*) AS n FROM canary") == [{"n": 2}]
    assert _checksum(canary) == before


def test_a_generic_plan_through_prepare(canary: DatabaseURL) -> None:
    with connect(canary, read_only=True) as session:
        with session.transaction():
            session.fetch("SELECT set_config('plan_cache_mode', 'force_generic_plan', true)")
            session.fetch("PREPARE probe AS SELECT * FROM canary WHERE id = $1")
            rows = session.fetch("EXPLAIN (FORMAT JSON) EXECUTE probe(NULL)")
            assert rows[0]["QUERY PLAN"][0]["Plan"]["Filter"] == "(id = $1)"
        # the rollback took the prepared statement and the setting with it
        assert session.fetch("SELECT name FROM pg_prepared_statements WHERE name = 'probe'") == []
        assert session.fetch("SHOW plan_cache_mode") == [{"plan_cache_mode": "auto"}]
        with pytest.raises(ReadOnlyViolation):
            session.fetch("EXECUTE probe(1)")
