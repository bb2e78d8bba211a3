"""Hostile SQL through the MCP query tool on a real MariaDB: refused or bounded, unchanged."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pymysql
import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.mysql import connect_args
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import InputError, ReadOnlyViolation
from dbarchitect.mcp.query import QueryResult, run_query

TIMEOUT_MS = 1000

SETUP = [
    "CREATE TABLE canary (id int AUTO_INCREMENT PRIMARY KEY, v varchar(10)) ENGINE=InnoDB",
    "INSERT INTO canary (v) VALUES ('a'), ('b'), ('c')",
    "CREATE FUNCTION evil_writer() RETURNS int MODIFIES SQL DATA"
    " BEGIN DELETE FROM canary; RETURN 1; END",
    "CREATE FUNCTION liar() RETURNS int READS SQL DATA BEGIN DO GET_LOCK('m2', 0); RETURN 1; END",
]

CASES: list[tuple[str, str, bool]] = [  # (id, sql, refused)
    ("multi-statement", "SELECT 1; DELETE FROM canary", True),
    ("delete", "DELETE FROM canary", True),
    ("into-outfile", "SELECT * FROM canary INTO OUTFILE '/tmp/dbarch_m2_my'", True),
    ("set-rw", "SET SESSION TRANSACTION READ WRITE", True),
    ("commit-insert", "COMMIT; INSERT INTO canary (v) VALUES ('x')", True),
    ("executable-comment", "SELECT 1 /*! ; DELETE FROM canary */", True),
    ("for-update", "SELECT * FROM canary FOR UPDATE", True),
    ("lock-tables", "LOCK TABLES canary WRITE", True),
    ("sleep", "SELECT SLEEP(3600)", True),
    ("benchmark", "SELECT BENCHMARK(1000000000, MD5('x'))", True),
    ("get-lock", "SELECT GET_LOCK('m2', 0)", True),
    ("load-file", "SELECT LOAD_FILE('/etc/passwd')", True),
    ("stored-writer", "SELECT evil_writer()", True),
    ("stored-writer-quoted", "SELECT `evil_writer`()", True),
    ("stored-liar", "SELECT liar()", True),
    ("endless-rows", "SELECT seq FROM seq_1_to_1000000000", False),
    ("huge-rows", "SELECT REPEAT('x', 400000) FROM seq_1_to_100", False),
]


@pytest.fixture(scope="module")
def maria() -> Iterator[DatabaseURL]:
    with get_dialect("mysql").engine().scratch() as url:
        conn = pymysql.connect(**connect_args(url), autocommit=True)
        with conn.cursor() as cur:
            for sql in SETUP:
                cur.execute(sql)
        conn.close()
        yield url


def _state(url: DatabaseURL) -> Any:
    conn = pymysql.connect(**connect_args(url), autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT MD5(GROUP_CONCAT(id, v ORDER BY id)) AS h, IS_USED_LOCK('m2') AS l,"
                " (SELECT AUTO_INCREMENT FROM information_schema.TABLES"
                "  WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'canary') AS ai FROM canary"
            )
            return cur.fetchone()
    finally:
        conn.close()


@pytest.mark.parametrize(("case", "sql", "refused"), CASES, ids=[c[0] for c in CASES])
def test_hostile_mariadb(maria: DatabaseURL, case: str, sql: str, refused: bool) -> None:
    before = _state(maria)
    start = time.monotonic()
    try:
        outcome: QueryResult | Exception = run_query(maria, sql, timeout_ms=TIMEOUT_MS)
    except (ReadOnlyViolation, InputError) as exc:
        outcome = exc
    assert time.monotonic() - start < 5, case
    if refused:
        assert isinstance(outcome, ReadOnlyViolation | InputError), outcome
    else:
        assert isinstance(outcome, QueryResult) and outcome.truncated, outcome
        assert outcome.row_count <= 500 and len(outcome.model_dump_json()) < 1_100_000
    assert _state(maria) == before
    assert before["l"] is None


def test_mariadb_values(maria: DatabaseURL) -> None:
    result = run_query(
        maria, "SELECT id, v, CAST(1.50 AS DECIMAL(4,2)) AS d FROM canary", max_rows=2
    )
    assert result.columns == ["id", "v", "d"]
    assert result.rows == [[1, "a", "1.50"], [2, "b", "1.50"]] and result.truncated
