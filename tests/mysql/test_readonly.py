"""Read-only sessions through a mysql:// URL: writes fail and change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pymysql
import pytest

from dbarchitect.engines.mysql import MysqlEngine, connect, connect_args
from dbarchitect.engines.mysql_guard import check_read_only_mysql
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import ReadOnlyViolation

SETUP = """
CREATE TABLE canary (id INT PRIMARY KEY, note VARCHAR(20)) ENGINE=InnoDB;
CREATE TABLE canary_aria (id INT PRIMARY KEY) ENGINE=Aria;
INSERT INTO canary VALUES (1, 'one'), (2, 'two');
INSERT INTO canary_aria VALUES (1);
CREATE SEQUENCE canary_seq;
DELIMITER //
CREATE FUNCTION sneaky_write() RETURNS INT MODIFIES SQL DATA
BEGIN
  INSERT INTO canary VALUES (100, 'sneaky');
  RETURN 1;
END//
CREATE FUNCTION sneaky_aria() RETURNS INT MODIFIES SQL DATA
BEGIN
  INSERT INTO canary_aria VALUES (100);
  RETURN 1;
END//
DELIMITER ;
"""

ATTEMPTS = [
    "INSERT INTO canary VALUES (9, 'nine')",
    "CREATE TABLE intruder (a INT)",
    "COMMIT; INSERT INTO canary VALUES (9, 'nine')",
    "ROLLBACK; START TRANSACTION READ WRITE; DELETE FROM canary",
    "SET SESSION TRANSACTION READ WRITE",
    "SET SESSION tx_read_only = 0",
    "SELECT 1; DELETE FROM canary",
    "SELECT 1;\nUPDATE canary SET note = 'x'",
    "DELETE FROM canary",
    "DROP TABLE canary",
    "TRUNCATE canary",
    "CALL nothing()",
    "SELECT 1 /*! ; DELETE FROM canary */",
    "SELECT 1 /*M!100000 , (SELECT 1) */",
    "SELECT * FROM canary INTO OUTFILE '/tmp/dbarch-leak.txt'",
    "SELECT id --id INTO @x FROM canary",
    "SELECT * FROM canary FOR UPDATE",
    "SELECT * FROM canary LOCK IN SHARE MODE",
    "SELECT NEXTVAL(canary_seq)",
    "EXPLAIN DELETE FROM canary",
    "ANALYZE UPDATE canary SET note = 'x'",
    "REPLACE INTO canary VALUES (1, 'r')",
    "WITH x AS (SELECT 1) UPDATE canary SET note = 'w'",
    "SELECT 'unterminated",
    "",
]


def _state(url: DatabaseURL) -> tuple[Any, ...]:
    with connect(url, read_only=False) as s:
        checksum = s.fetch("CHECKSUM TABLE canary, canary_aria")
        tables = s.fetch(
            "SELECT TABLE_NAME AS t FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1"
        )
        seq = s.fetch("SELECT next_not_cached_value AS n FROM canary_seq")
    return (tuple(r["Checksum"] for r in checksum), tuple(r["t"] for r in tables), seq[0]["n"])


@pytest.fixture(scope="module")
def canary_url() -> Iterator[DatabaseURL]:
    engine = MysqlEngine()
    with engine.scratch() as url:
        engine.run_script(url, SETUP, where="setup")
        yield url


@pytest.mark.parametrize("sql", ATTEMPTS)
def test_write_attempts_fail_and_change_nothing(canary_url: DatabaseURL, sql: str) -> None:
    before = _state(canary_url)
    with connect(canary_url) as s:
        with pytest.raises(ReadOnlyViolation) as err:
            s.fetch(sql)
        assert "\n" not in str(err.value)
        with pytest.raises(ReadOnlyViolation):
            s.execute(sql)
        # The session still works and still refuses afterwards.
        assert s.fetch("SELECT COUNT(*) AS n FROM canary")[0]["n"] == 2
        with pytest.raises(ReadOnlyViolation):
            s.fetch("INSERT INTO canary VALUES (3, 'three')")
    assert _state(canary_url) == before


@pytest.mark.parametrize("function", ["sneaky_write", "sneaky_aria"])
def test_server_refuses_writes_the_guard_lets_through(
    canary_url: DatabaseURL, function: str
) -> None:
    # A SELECT that calls a writing function passes the statement guard; the READ ONLY
    # transaction (the second layer) must stop it, for InnoDB and non-transactional Aria.
    check_read_only_mysql(f"SELECT {function}()")
    before = _state(canary_url)
    with connect(canary_url) as s:
        with pytest.raises(ReadOnlyViolation, match="READ ONLY transaction"):
            s.fetch(f"SELECT {function}()")
        with s.transaction(), pytest.raises(ReadOnlyViolation):
            s.fetch(f"SELECT {function}()")
    assert _state(canary_url) == before


def test_client_never_sends_several_statements(canary_url: DatabaseURL) -> None:
    # The third line of defence: the connection is opened without CLIENT_MULTI_STATEMENTS,
    # so the server itself rejects stacked statements.
    conn = pymysql.connect(**connect_args(canary_url))
    try:
        with conn.cursor() as cur, pytest.raises(pymysql.err.ProgrammingError):
            cur.execute("SELECT 1; DELETE FROM canary")
    finally:
        conn.close()
    with connect(canary_url) as s:
        assert s.fetch("SELECT COUNT(*) AS n FROM canary")[0]["n"] == 2


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id, note FROM canary WHERE note <> 'it''s; INSERT' ORDER BY id",
        "  select * from canary -- trailing comment\n",
        "SELECT `update`.id FROM canary AS `update`;",
        "(SELECT id FROM canary) UNION (SELECT 7)",
        "WITH c AS (SELECT id FROM canary) SELECT * FROM c",
        "SHOW TABLES",
        "SHOW CREATE TABLE canary",
        "DESCRIBE canary",
        "EXPLAIN SELECT * FROM canary WHERE id = 1",
        "EXPLAIN FORMAT=JSON SELECT * FROM canary",
        "SELECT \"double; quoted\" AS s, 'back\\\\slash' AS b # hash comment",
    ],
)
def test_reads_pass(canary_url: DatabaseURL, sql: str) -> None:
    with connect(canary_url) as s:
        rows = s.fetch(sql)
    assert rows


def test_params_are_guarded_after_interpolation(canary_url: DatabaseURL) -> None:
    with connect(canary_url) as s:
        rows = s.fetch("SELECT note FROM canary WHERE note = %s", ("'; DELETE FROM canary; --",))
        assert rows == []
        assert s.fetch("SELECT note FROM canary WHERE id = %(id)s", {"id": 2}) == [{"note": "two"}]


def test_session_settings_hold(canary_url: DatabaseURL) -> None:
    with connect(canary_url) as s:
        row = s.fetch(
            "SELECT @@SESSION.tx_read_only AS ro, @@SESSION.max_statement_time AS t,"
            " @@SESSION.lock_wait_timeout AS l, @@SESSION.sql_mode AS m"
        )[0]
    assert row["ro"] == 1
    assert float(row["t"]) == 60
    assert int(row["l"]) == 5
    assert "ANSI_QUOTES" not in row["m"] and "NO_BACKSLASH_ESCAPES" not in row["m"]


def test_transaction_is_one_read_only_snapshot(canary_url: DatabaseURL) -> None:
    with connect(canary_url) as reader, connect(canary_url, read_only=False) as writer:
        with reader.transaction():
            first = reader.fetch("SELECT COUNT(*) AS n FROM canary")[0]["n"]
            writer.execute("INSERT INTO canary VALUES (50, 'later')")
            again = reader.fetch("SELECT COUNT(*) AS n FROM canary")[0]["n"]
        after = reader.fetch("SELECT COUNT(*) AS n FROM canary")[0]["n"]
        writer.execute("DELETE FROM canary WHERE id = 50")
    assert first == again == 2
    assert after == 3
