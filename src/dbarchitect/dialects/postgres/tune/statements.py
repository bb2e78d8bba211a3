"""The workload a live PostgreSQL database recorded in pg_stat_statements.

Only the current database's rows are read (dbid), and only statements worth tuning are kept:
utility statements (SET, BEGIN, DDL, EXPLAIN), statements that read nothing but the system
catalogs or no table at all (the introspection and what-if queries of tools like this one,
`SELECT $1`), and HypoPG calls are left out. pg_stat_statements' own queryid groups by the
server's query jumble; the rows are regrouped by our fingerprint so that every source of a
workload (files, logs, this view) agrees on what one query is.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from dbarchitect.dialects.postgres.quoting import quote
from dbarchitect.dialects.postgres.tune.fingerprint import functions, relations, statement_kind
from dbarchitect.engines.base import Session
from dbarchitect.errors import InputError
from dbarchitect.tune.model import Query, Skipped, Workload
from dbarchitect.tune.workload import group

SOURCE = "pg_stat_statements"
_FIX = (
    "run CREATE EXTENSION pg_stat_statements in it; the server needs "
    "shared_preload_libraries = 'pg_stat_statements' (restart after setting it)"
)
_CATALOG_SCHEMAS = frozenset({"pg_catalog", "information_schema"})
_HIDDEN = "<insufficient privilege>"


def read_pg_stat_statements(session: Session, fingerprint: Callable[[str], str]) -> Workload:
    """The current database's statements from pg_stat_statements, grouped by `fingerprint`,
    with their calls and total execution time. InputError naming the fix when the extension
    is not installed in this database or not loaded by the server."""
    database = session.fetch("SELECT current_database() AS db")[0]["db"]
    ext = session.fetch(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'pg_stat_statements'"
    )
    if not ext:
        raise InputError(f"pg_stat_statements is not installed in database {database}: {_FIX}")
    view = f"{quote(ext[0]['nspname'])}.pg_stat_statements"
    total = "total_exec_time" if session.server_version >= 130000 else "total_time"
    sql = (
        f"SELECT s.queryid::text AS queryid, s.query, s.calls, s.{total} AS total_ms"
        f" FROM {view} s"
        " WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND s.calls > 0"
        f" ORDER BY s.{total} DESC, s.calls DESC, s.queryid"
    )
    try:
        rows = session.fetch(sql)
    except psycopg.errors.ObjectNotInPrerequisiteState:
        raise InputError(
            f"pg_stat_statements is installed in database {database} but the server did not "
            "load it: add pg_stat_statements to shared_preload_libraries and restart"
        ) from None
    except psycopg.errors.InsufficientPrivilege:
        raise InputError(
            f"cannot read {view} in database {database}: grant pg_read_all_stats to this role"
        ) from None
    queries: list[Query] = []
    skipped: list[Skipped] = []
    hidden = 0
    for row in rows:
        text = str(row["query"])
        if text == _HIDDEN:
            hidden += 1
            continue
        source = f"{SOURCE}:{row['queryid']}"
        try:
            if not _worth_tuning(text):
                continue
            fp = fingerprint(text)
        except InputError as exc:
            skipped.append(Skipped(source=source, reason=str(exc), text=text))
            continue
        queries.append(
            Query(
                fingerprint=fp,
                text=text,
                calls=int(row["calls"]),
                total_ms=float(row["total_ms"]),
                source=source,
            )
        )
    if hidden:
        skipped.append(
            Skipped(
                source=SOURCE,
                reason=f"{hidden} statements of other roles are hidden: "
                "grant pg_read_all_stats to this role to see them",
            )
        )
    return group(queries, skipped)


def _worth_tuning(text: str) -> bool:
    """DML that reads at least one table outside the system catalogs, not a HypoPG call.
    Names starting with pg_ are the system's (PostgreSQL reserves the prefix) wherever they
    live: pg_stat_statements itself sits in the schema it was installed in."""
    if statement_kind(text) is None:
        return False
    if any(name.startswith("hypopg") for name in functions(text)):
        return False
    rels = relations(text)
    return any(
        schema not in _CATALOG_SCHEMAS and not name.startswith("pg_") for schema, name in rels
    )
