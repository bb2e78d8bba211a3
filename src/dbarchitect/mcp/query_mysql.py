"""The MCP query tool on MySQL/MariaDB: one guarded read, bounded, never committed.

engines/mysql's read-only session and its lexing guard (engines/mysql_guard) come first: one
reading statement, multi-statement text off at the protocol level, READ ONLY transactions.
On top of them this layer refuses functions that act outside the transaction or wait
(SLEEP, BENCHMARK, GET_LOCK, LOAD_FILE, sequences, …) and every call to a stored function
(MySQL has no enforced volatility: a stored function's declared data access is a promise).
The statement runs in START TRANSACTION READ ONLY with the engine's statement time limit set
to the call's timeout; rows are read unbuffered in small batches. The connection is closed
after every call: the server then rolls back and releases any user lock.
"""

from __future__ import annotations

import contextlib
import itertools
from typing import Any

import pymysql
import pymysql.cursors

from dbarchitect.engines import mysql
from dbarchitect.engines.mysql_guard import check_read_only_mysql, tokenize
from dbarchitect.engines.url import DatabaseURL, redact
from dbarchitect.errors import InputError, ReadOnlyViolation
from dbarchitect.mcp.query_values import Collector, QueryResult

DENIED_FUNCTIONS = frozenset(
    {
        "SLEEP",
        "BENCHMARK",
        "GET_LOCK",
        "RELEASE_LOCK",
        "RELEASE_ALL_LOCKS",
        "IS_FREE_LOCK",
        "IS_USED_LOCK",
        "LOAD_FILE",
        "MASTER_POS_WAIT",
        "SOURCE_POS_WAIT",
        "MASTER_GTID_WAIT",
        "WAIT_FOR_EXECUTED_GTID_SET",
        "WAIT_UNTIL_SQL_THREAD_AFTER_GTIDS",
        "NEXTVAL",
        "SETVAL",
        "LASTVAL",
        "NEXT",  # NEXT VALUE FOR seq
        "SYS_EXEC",
        "SYS_EVAL",
    }
)
_TIMEOUT_ERRORS = frozenset({1969, 3024})  # MariaDB max_statement_time, MySQL max_execution_time
_BATCH = 100


def run_mysql(
    url: DatabaseURL, sql: str, *, max_rows: int, timeout_ms: int, max_bytes: int
) -> QueryResult:
    """Run one guarded read on MySQL or MariaDB."""
    check_read_only_mysql(sql)
    calls = _called(sql)
    session = mysql.connect(url, read_only=True)
    conn: Any = session.raw  # unbuffered reads need PyMySQL itself
    try:
        with conn.cursor() as cur:
            if calls:
                cur.execute(
                    "SELECT ROUTINE_SCHEMA, ROUTINE_NAME FROM information_schema.ROUTINES"
                    " WHERE ROUTINE_TYPE = 'FUNCTION' AND UPPER(ROUTINE_NAME) IN %s",
                    (sorted(calls),),
                )
                for row in cur.fetchall():
                    raise ReadOnlyViolation(
                        f"refused by the query tool: stored function"
                        f" {row['ROUTINE_SCHEMA']}.{row['ROUTINE_NAME']}() (it could act)"
                    )
            if session.is_mariadb:
                cur.execute(f"SET SESSION max_statement_time = {timeout_ms / 1000:.3f}")
            else:
                cur.execute(f"SET SESSION max_execution_time = {timeout_ms}")
            cur.execute("START TRANSACTION READ ONLY")
        collector = Collector(max_rows=max_rows, max_bytes=max_bytes)
        cur = conn.cursor(pymysql.cursors.SSCursor)
        cur.execute(sql)  # no arguments: the text is not %-formatted
        collector.columns = [d[0] for d in cur.description or ()]
        while batch := cur.fetchmany(_BATCH):
            if not all(collector.add(row) for row in batch):
                break
        return collector.result()
    except pymysql.MySQLError as exc:
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
        text = redact(str(exc.args[-1] if exc.args else exc).splitlines()[0], url.password)
        if code in _TIMEOUT_ERRORS:
            raise InputError(f"query cancelled on {url}: longer than {timeout_ms} ms") from None
        if code in (1792, 1227, 1142, 1044, 1045):  # read-only transaction, privileges
            raise ReadOnlyViolation(f"refused on {url}: {text}") from None
        raise InputError(f"query failed on {url}: {text}") from None
    finally:
        # Closing without draining an unfinished unbuffered result: the server rolls the
        # transaction back and releases user locks when the connection goes.
        with contextlib.suppress(Exception):
            pending = getattr(conn, "_result", None)
            if pending is not None:  # else its finaliser would read from the closed socket
                pending.unbuffered_active = False
            conn._force_close()


def _called(sql: str) -> set[str]:
    """Upper-cased names of the functions the text calls; a denied one raises at once."""
    tokens = tokenize(sql)
    names: set[str] = set()
    for tok, nxt in itertools.pairwise(tokens):
        if tok.kind in ("word", "ident") and nxt.text == "(":
            name = tok.text.strip("`").replace("``", "`").upper()
            if name in DENIED_FUNCTIONS:
                raise ReadOnlyViolation(f"refused by the query tool: function {name}()")
            names.add(name)
        elif tok.kind == "word" and tok.text.upper() == "NEXT" and nxt.text.upper() == "VALUE":
            raise ReadOnlyViolation("refused by the query tool: NEXT VALUE FOR a sequence")
    return names
