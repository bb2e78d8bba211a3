"""The MCP `query` tool's engine: one read-only statement, bounded in time, rows and bytes.

`run_query` is what the server's query tool calls. It never writes and never leaves state
behind; what it cannot stop when the user connects as a superuser (server files, COPY …
PROGRAM, dblink, functions hidden in views) is stopped by a least-privilege role, whose SQL
`least_privilege_role_sql` writes (docs/mcp-security.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from psycopg import sql as pgsql

from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import InputError
from dbarchitect.mcp.query_mysql import run_mysql
from dbarchitect.mcp.query_pg import run_postgres
from dbarchitect.mcp.query_sqlite import run_sqlite
from dbarchitect.mcp.query_values import QueryResult, json_safe

__all__ = ["QueryResult", "json_safe", "least_privilege_role_sql", "run_query"]

MAX_ROWS_LIMIT = 10_000
MAX_BYTES_LIMIT = 50_000_000
TIMEOUT_MS_LIMIT = 300_000


def run_query(
    url: DatabaseURL,
    sql: str,
    *,
    max_rows: int = 500,
    timeout_ms: int = 5000,
    max_bytes: int = 1_000_000,
) -> QueryResult:
    """Run one read-only statement on `url` and return at most `max_rows` rows and about
    `max_bytes` bytes of values, cancelled after `timeout_ms`.

    Raises ReadOnlyViolation when the statement could write or act outside its transaction,
    InputError when it is malformed, fails or runs out of time.
    """
    for name, value, high in (
        ("max_rows", max_rows, MAX_ROWS_LIMIT),
        ("timeout_ms", timeout_ms, TIMEOUT_MS_LIMIT),
        ("max_bytes", max_bytes, MAX_BYTES_LIMIT),
    ):
        # Exact ints only: timeout values are formatted into SET LOCAL, which takes no binds.
        if type(value) is not int or not 1 <= value <= high:
            raise InputError(f"query: {name} must be an integer from 1 to {high}, not {value!r}")
    if not sql.strip():
        raise InputError("query: empty SQL text")
    if url.dialect == "postgres":
        return run_postgres(url, sql, max_rows=max_rows, timeout_ms=timeout_ms, max_bytes=max_bytes)
    if url.dialect == "sqlite":
        return run_sqlite(url, sql, max_rows=max_rows, timeout_ms=timeout_ms, max_bytes=max_bytes)
    if url.dialect == "mysql":
        return run_mysql(url, sql, max_rows=max_rows, timeout_ms=timeout_ms, max_bytes=max_bytes)
    raise InputError(f"query: not supported on {url}")


def least_privilege_role_sql(
    name: str,
    schemas: Sequence[str],
    *,
    database: str | None = None,
    timeout_ms: int = 5000,
    connection_limit: int = 5,
) -> str:
    """PostgreSQL SQL that creates a login role which can read `schemas` and nothing more:
    not a superuser, no role memberships that reach files or programs, read-only transactions
    by default, a statement timeout and a connection limit. The password is left for the user
    to set (`\\password name`); run it as a superuser or a CREATEROLE role."""
    if not name:
        raise InputError("least_privilege_role_sql: empty role name")
    role = pgsql.Identifier(name)
    lines: list[pgsql.Composable] = [
        pgsql.SQL(
            "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION"
            " NOBYPASSRLS CONNECTION LIMIT {};"
        ).format(role, pgsql.Literal(connection_limit)),
        pgsql.SQL("ALTER ROLE {} SET default_transaction_read_only = on;").format(role),
        pgsql.SQL("ALTER ROLE {} SET statement_timeout = {};").format(
            role, pgsql.Literal(timeout_ms)
        ),
        pgsql.SQL("ALTER ROLE {} SET lock_timeout = {};").format(role, pgsql.Literal(timeout_ms)),
        pgsql.SQL("ALTER ROLE {} SET idle_in_transaction_session_timeout = {};").format(
            role, pgsql.Literal(timeout_ms * 2)
        ),
    ]
    if database:
        lines.append(
            pgsql.SQL("GRANT CONNECT ON DATABASE {} TO {};").format(
                pgsql.Identifier(database), role
            )
        )
    for schema in sorted(set(schemas)):
        sch = pgsql.Identifier(schema)
        lines += [
            pgsql.SQL("GRANT USAGE ON SCHEMA {} TO {};").format(sch, role),
            pgsql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {};").format(sch, role),
            pgsql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {};").format(
                sch, role
            ),
        ]
    # Functions are executable by PUBLIC by default; dblink and file access functions are
    # not, for a role that is neither superuser nor member of pg_read_server_files /
    # pg_execute_server_program / pg_signal_backend: no grant of those is made here.
    return "\n".join(line.as_string(None) for line in lines) + "\n"
