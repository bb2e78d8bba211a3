"""A read-only session on a user's database cannot write, however the SQL is dressed up."""

from __future__ import annotations

import psycopg
import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.postgres import connect, conninfo
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
