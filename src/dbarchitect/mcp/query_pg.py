"""The MCP query tool on PostgreSQL: one guarded statement, bounded, always rolled back.

Layers, each of which alone has been escaped somewhere:
1. query_pg_guard: one statement of a reading kind, no denied or VOLATILE function, printed
   back from its parse tree so that comments and quoting cannot smuggle anything.
2. The extended protocol: the text is sent as one unnamed prepared statement, which the
   server refuses to hold more than one command.
3. The session: opened by engines/postgres with default_transaction_read_only, inside
   BEGIN READ ONLY with SET LOCAL statement_timeout, lock_timeout and
   idle_in_transaction_session_timeout, as pg_read_all_data when the user is a superuser;
   always rolled back; then DISCARD ALL (which also
   drops advisory locks and prepared statements) and the connection is closed: a fresh one
   per call, so no state reaches the next call.
4. Bounds: a SELECT is wrapped so that the server stops after max_rows + 1 rows and never
   sends a value longer than max_bytes; rows are streamed one at a time and the stream is
   abandoned (the server query cancelled) once max_rows or max_bytes is reached.
"""

from __future__ import annotations

from typing import Any

import psycopg
from pglast import ast
from psycopg import pq
from psycopg.rows import tuple_row

from dbarchitect.engines import postgres
from dbarchitect.engines.url import DatabaseURL, redact
from dbarchitect.errors import InputError, ReadOnlyViolation
from dbarchitect.mcp.query_pg_guard import (
    RESOLVE_SQL,
    called_names,
    canonical_text,
    check_resolved,
    parse_statement,
)
from dbarchitect.mcp.query_values import Collector, QueryResult


def run_postgres(
    url: DatabaseURL, sql: str, *, max_rows: int, timeout_ms: int, max_bytes: int
) -> QueryResult:
    """Run one guarded read on PostgreSQL (see the module docstring for the layers)."""
    stmt = parse_statement(sql)
    functions, operators = called_names(stmt)
    text = canonical_text(stmt)
    session = postgres.connect(url, read_only=True)
    # Streaming and describing need psycopg itself.
    conn: psycopg.Connection[Any] = session.raw
    try:
        cur = conn.cursor(row_factory=tuple_row)
        # Integers only (validated by the caller): SET takes no bind parameters.
        cur.execute(f"SET LOCAL statement_timeout = {timeout_ms}".encode())
        cur.execute(f"SET LOCAL lock_timeout = {timeout_ms}".encode())
        cur.execute(f"SET LOCAL idle_in_transaction_session_timeout = {timeout_ms * 2}".encode())
        _drop_superuser(cur)
        if functions or operators:
            cur.execute(
                RESOLVE_SQL, {"functions": sorted(functions), "operators": sorted(operators)}
            )
            check_resolved(cur.fetchall())
        collector = Collector(max_rows=max_rows, max_bytes=max_bytes)
        names = _describe(conn, text, url) if isinstance(stmt, ast.SelectStmt) else []
        if names:
            collector.columns = names
            query = _bounded(text, len(names), max_rows=max_rows, max_bytes=max_bytes)
            for row in cur.stream(query.encode()):
                if not collector.add_sized(row):
                    break
        else:
            for row in cur.stream(text.encode()):
                if not collector.columns and cur.description:
                    collector.columns = [d.name for d in cur.description]
                if not collector.add(row):
                    break
            if not collector.columns and cur.description:
                collector.columns = [d.name for d in cur.description]
        return collector.result()
    except psycopg.errors.QueryCanceled:
        raise InputError(
            f"query cancelled on {url}: longer than {timeout_ms} ms (statement_timeout)"
        ) from None
    except psycopg.errors.LockNotAvailable:
        raise InputError(f"query cancelled on {url}: waited {timeout_ms} ms for a lock") from None
    except (psycopg.errors.ReadOnlySqlTransaction, psycopg.errors.InsufficientPrivilege) as exc:
        raise ReadOnlyViolation(f"refused on {url}: {_first_line(exc, url)}") from None
    except psycopg.Error as exc:
        raise InputError(f"query failed on {url}: {_first_line(exc, url)}") from None
    finally:
        _reset_and_close(conn)


def _drop_superuser(cur: psycopg.Cursor[Any]) -> None:
    """On a superuser session, run the statement as pg_read_all_data (PostgreSQL 14+).

    A function the guard cannot see into (a STABLE wrapper around a VOLATILE one, a view)
    would otherwise run with the superuser's powers: COPY … TO PROGRAM, server files,
    dblink without a password. The predefined role reads every table and nothing more. It is
    not a wall: the session user stays a superuser, so a function that itself runs SET ROLE
    gets the powers back; only connecting as a least-privilege role closes that
    (docs/mcp-security.md). SET LOCAL ends with the transaction, which is always rolled back.
    """
    cur.execute(
        b"SELECT current_setting('is_superuser') = 'on',"
        b" current_setting('server_version_num')::int >= 140000"
    )
    row = cur.fetchone()
    if row is not None and row[0] and row[1]:
        cur.execute(b"SET LOCAL ROLE pg_read_all_data")


def _describe(conn: psycopg.Connection[Any], text: str, url: DatabaseURL) -> list[str]:
    """The result's column names, from the server parsing (not running) the statement."""
    pgconn = conn.pgconn
    res = pgconn.prepare(b"", text.encode())
    if res.status != pq.ExecStatus.COMMAND_OK:
        message = (res.error_message or b"cannot prepare").decode(errors="replace")
        raise InputError(
            f"query failed on {url}: {redact(message.strip().splitlines()[0], url.password)}"
        )
    desc = pgconn.describe_prepared(b"")
    return [(desc.fname(i) or b"?column?").decode() for i in range(desc.nfields)]


def _bounded(text: str, ncols: int, *, max_rows: int, max_bytes: int) -> str:
    """`text` wrapped so the server sends at most max_rows + 1 rows and no value whose text
    form is longer than max_bytes (NULL instead, its length beside it). The positional alias
    list renames the columns, so duplicate or odd names do not matter; `text` is one statement
    printed from its parse tree, so it cannot close the parenthesis early."""
    cols = []
    for i in range(ncols):
        length = f"octet_length(_q.c{i}::text)"
        cols.append(f"CASE WHEN {length} > {max_bytes} THEN NULL ELSE _q.c{i} END, {length}")
    aliases = ", ".join(f"c{i}" for i in range(ncols))
    # OFFSET 0 keeps the statement a subquery of its own (a planner fence): otherwise it is
    # flattened and each of its expressions computed three times, once per mention above.
    inner = f"SELECT * FROM ({text}) AS _i OFFSET 0"
    return f"SELECT {', '.join(cols)} FROM ({inner}) AS _q({aliases}) LIMIT {max_rows + 1}"


def _reset_and_close(conn: psycopg.Connection[Any]) -> None:
    # Rollback ends the read-only transaction; DISCARD ALL (not allowed inside a transaction
    # block) releases session-level advisory locks, prepared statements, LISTENs, temporary
    # state and settings before the backend goes away, so nothing outlives the call even for
    # a moment; then the connection is closed.
    try:
        if not conn.closed:
            conn.rollback()
            conn.autocommit = True
            conn.execute(b"DISCARD ALL")
    except psycopg.Error:
        pass  # a broken connection holds nothing once closed
    finally:
        conn.close()


def _first_line(exc: psycopg.Error, url: DatabaseURL) -> str:
    message = exc.diag.message_primary or str(exc) or type(exc).__name__
    return redact(message.strip().splitlines()[0], url.password)
