"""--verify: build the advised indexes for real and time the workload before and after.

By default on a scratch copy of the database: when the URL points into our own scratch cluster
and nobody is connected to it, `CREATE DATABASE … TEMPLATE` copies it at file level; otherwise
pg_dump (schema and data, no owners or grants) is piped into psql on a new scratch database.
The copy is ANALYZEd, each query is timed, the DDL is run (CONCURRENTLY works: the session is
in autocommit), the copy is ANALYZEd again and the queries are timed again.

With `on_target` (explicit permission) the indexes are built on the user's database itself,
the reads timed before and after, and every index we built — a failed CONCURRENTLY build
leaves an invalid one behind — dropped with DROP INDEX CONCURRENTLY in a `finally`. There,
statements that write are not run at all (their triggers and sequences would have effects a
rollback does not undo), so they get no Timing; a DDL whose index name already exists is
refused before anything is built; only tables that got an expression index are ANALYZEd.

A query's time is the median Execution Time of three EXPLAIN (ANALYZE, FORMAT JSON) runs after
one warm-up run, each inside a transaction that is rolled back (so DML leaves the copy as it
was). A query that fails or exceeds the session's statement timeout gets no Timing. The planner
and the clock disagree when the cost dropped but the time rose by more than 10%, or the cost
rose and the time fell by more than 10%.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import pglast
import psycopg
from pglast import ast
from psycopg import sql as pgsql

from dbarchitect.dialects.postgres.quoting import qname
from dbarchitect.engines import pgcluster
from dbarchitect.engines.base import Session
from dbarchitect.engines.postgres import PostgresEngine, connect, conninfo
from dbarchitect.engines.readonly import check_read_only_pg
from dbarchitect.engines.url import DatabaseURL, redact
from dbarchitect.errors import DbarchError, EngineUnavailable, InputError, ReadOnlyViolation
from dbarchitect.tune.model import Query, Timing

RUNS = 3
DISAGREE = 0.10  # the clock must move by more than 10% against the cost to count


@dataclass(frozen=True, slots=True, kw_only=True)
class Measurement:
    """One query timed: median execution ms, the plan's total cost, its node types."""

    ms: float
    cost: float
    nodes: tuple[str, ...]  # every plan node's type, depth first


def measure(session: Session, sql: str, *, runs: int = RUNS) -> Measurement:
    """Time `sql` with EXPLAIN ANALYZE: one warm-up, then the median of `runs` runs, each in
    a transaction that is rolled back."""
    times: list[float] = []
    plan: dict[str, Any] = {}
    for attempt in range(runs + 1):
        with session.transaction():
            rows = session.fetch("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        doc = rows[0]["QUERY PLAN"]
        top = (json.loads(doc) if isinstance(doc, str) else doc)[0]
        plan = top["Plan"]
        if attempt:
            times.append(float(top["Execution Time"]))
    return Measurement(
        ms=statistics.median(times), cost=float(plan["Total Cost"]), nodes=tuple(_nodes(plan))
    )


def _nodes(plan: dict[str, Any]) -> Iterator[str]:
    yield str(plan["Node Type"])
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def verify(
    url: DatabaseURL,
    queries: Sequence[tuple[Query, str]],
    ddls: Sequence[str],
    *,
    on_target: bool,
) -> list[Timing]:
    """Time each (query, plannable sql) before and after building `ddls` (see the module
    docstring for where they are built)."""
    if on_target:
        return _on_target(url, queries, ddls)
    with PostgresEngine().scratch() as scratch, _copy_of(url, scratch) as copy_url:
        session = connect(copy_url, read_only=False)
        try:
            session.execute("SET statement_timeout = 0")
            session.execute("ANALYZE")
            session.execute("RESET statement_timeout")
            before = _measure_all(session, queries)
            session.execute("SET statement_timeout = 0")
            for ddl in ddls:
                try:
                    session.execute(ddl)
                except psycopg.Error as exc:
                    raise InputError(f"{ddl}: {_first_line(exc)}") from None
            session.execute("ANALYZE")
            session.execute("RESET statement_timeout")
            after = _measure_all(session, queries)
        finally:
            session.close()
    return _timings(queries, before, after)


def _measure_all(session: Session, queries: Sequence[tuple[Query, str]]) -> dict[int, Measurement]:
    out: dict[int, Measurement] = {}
    for i, (_, sql) in enumerate(queries):
        try:
            out[i] = measure(session, sql)
        except (psycopg.Error, DbarchError):
            continue  # it failed or timed out: no Timing for it
    return out


def _timings(
    queries: Sequence[tuple[Query, str]],
    before: dict[int, Measurement],
    after: dict[int, Measurement],
) -> list[Timing]:
    out = []
    for i, (query, _) in enumerate(queries):
        if i not in before or i not in after:
            continue
        b, a = before[i], after[i]
        disagrees = (a.cost < b.cost and a.ms > b.ms * (1 + DISAGREE)) or (
            a.cost > b.cost and a.ms < b.ms * (1 - DISAGREE)
        )
        out.append(
            Timing(
                fingerprint=query.fingerprint,
                ms_before=b.ms,
                ms_after=a.ms,
                cost_before=b.cost,
                cost_after=a.cost,
                disagrees=disagrees,
            )
        )
    return out


@contextmanager
def _copy_of(url: DatabaseURL, scratch: DatabaseURL) -> Iterator[DatabaseURL]:
    """A copy of the database at `url`: a file-level clone when it lives in our scratch
    cluster and is idle, else pg_dump piped into psql on `scratch`."""
    cluster = pgcluster.get_cluster().url
    ours = url.host == cluster.host and (url.port or 5432) == (cluster.port or 5432)
    clone = _clone(cluster, url.database) if ours and url.database else None
    if clone is None:
        _dump_into(url, scratch)
        yield scratch
        return
    try:
        yield cluster.with_database(clone)
    finally:
        with psycopg.connect(conninfo(cluster), autocommit=True) as admin:
            admin.execute(
                pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(clone))
            )


def _clone(cluster: DatabaseURL, database: str) -> str | None:
    """CREATE DATABASE … TEMPLATE `database`; None when it is in use (or the clone fails)."""
    name = f"dbarch_copy_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo(cluster), autocommit=True) as admin:
        # CREATE DATABASE waits 5 s for other sessions to leave the template: look first.
        busy = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [database]
        ).fetchone()
        if busy and busy[0]:
            return None
        try:
            admin.execute(
                pgsql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    pgsql.Identifier(name), pgsql.Identifier(database)
                )
            )
        except psycopg.Error:
            return None  # someone connected meanwhile: fall back to a dump
    return name


def _dump_into(source: DatabaseURL, target: DatabaseURL) -> None:
    pg_dump, psql = pgcluster.find_binary("pg_dump"), pgcluster.find_binary("psql")
    if pg_dump is None or psql is None:
        raise EngineUnavailable("--verify needs pg_dump and psql to copy the database")
    env = pgcluster.client_env()
    if source.password is not None:
        env["PGPASSWORD"] = source.password  # not on the command line, where ps shows it
    src = conninfo(replace(source, password=None))
    _copy_roles(source, target)
    with tempfile.TemporaryFile() as dump_err:
        # Privileges are kept (the roles they name now exist), owners are not: the copy belongs
        # to the scratch cluster's superuser.
        dump = subprocess.Popen(
            [str(pg_dump), "--no-owner", "-d", src],
            stdout=subprocess.PIPE,
            stderr=dump_err,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        load = subprocess.run(
            [str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", conninfo(target)],
            stdin=dump.stdout,
            capture_output=True,
            text=True,
            env=pgcluster.client_env(),
            check=False,
        )
        if dump.stdout is not None:
            dump.stdout.close()
        dump_status = dump.wait()
        dump_err.seek(0)
        dump_message = dump_err.read().decode("utf-8", "replace")
    if dump_status != 0:
        detail = _last_line(dump_message) or f"exit status {dump_status}"
        raise DbarchError(redact(f"{source}: pg_dump failed: {detail}", source.password))
    if load.returncode != 0:
        detail = _last_line(load.stderr) or f"exit status {load.returncode}"
        raise DbarchError(redact(f"{source}: loading the copy failed: {detail}", source.password))


def _copy_roles(source: DatabaseURL, target: DatabaseURL) -> None:
    """Create in the scratch cluster, NOLOGIN, the roles of the source's cluster it lacks, so
    that policies `TO authenticated` and grants load. Roles are cluster-wide: the target is
    always our own scratch cluster, never the user's."""
    try:
        with psycopg.connect(conninfo(source), autocommit=True) as conn:
            conn.read_only = True
            rows = conn.execute("SELECT rolname, rolbypassrls FROM pg_roles").fetchall()
    except psycopg.Error:
        return  # no catalog access: the load reports what is missing
    with psycopg.connect(conninfo(target), autocommit=True) as admin:
        have = {r[0] for r in admin.execute("SELECT rolname FROM pg_roles").fetchall()}
        for name, bypass in sorted(rows):
            if name in have or name.startswith("pg_"):
                continue
            # BYPASSRLS is kept: which roles policies bind is what a copy is used to judge.
            attrs = "NOLOGIN BYPASSRLS" if bypass else "NOLOGIN"
            admin.execute(pgsql.SQL("CREATE ROLE {} " + attrs).format(pgsql.Identifier(name)))


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def _first_line(exc: BaseException) -> str:
    if isinstance(exc, psycopg.Error) and exc.diag.message_primary:
        return exc.diag.message_primary
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _is_read(sql: str) -> bool:
    try:
        check_read_only_pg(sql)
    except ReadOnlyViolation:
        return False
    return True


def _parse_index(ddl: str) -> ast.IndexStmt:
    try:
        stmts = pglast.parse_sql(ddl)
    except pglast.parser.ParseError as exc:
        raise InputError(f"{ddl}: {exc}") from None
    stmt = stmts[0].stmt if len(stmts) == 1 else None
    if not isinstance(stmt, ast.IndexStmt):
        raise InputError(f"{ddl}: not one CREATE INDEX statement")
    return stmt


def _relation(stmt: ast.IndexStmt) -> tuple[str | None, str]:
    rel = stmt.relation
    if rel is None or not rel.relname:
        raise InputError("CREATE INDEX without a table")
    return (str(rel.schemaname) if rel.schemaname else None), str(rel.relname)


def _index_target(session: Session, ddl: str) -> str:
    """The schema-qualified, quoted name of the index `ddl` creates."""
    stmt = _parse_index(ddl)
    if not stmt.idxname:
        raise InputError(f"{ddl}: building on the target needs a named index")
    schema, table = _relation(stmt)
    if schema:
        return qname(schema, stmt.idxname)
    rows = session.fetch(
        "SELECT n.nspname AS ns FROM pg_catalog.pg_class c"
        " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.oid = to_regclass(%s)",
        [qname(None, table)],
    )
    if not rows:
        raise InputError(f"{ddl}: no table {table}")
    return qname(str(rows[0]["ns"]), stmt.idxname)


def _expression_table(ddl: str) -> str | None:
    """The quoted table of an index with an expression key (it needs ANALYZE), else None."""
    stmt = _parse_index(ddl)
    if any(getattr(e, "expr", None) is not None for e in stmt.indexParams or ()):
        return qname(*_relation(stmt))
    return None


def _exists(session: Session, qualified: str) -> bool:
    rows = session.fetch("SELECT to_regclass(%s) IS NOT NULL AS found", [qualified])
    return bool(rows and rows[0]["found"])


def _build(session: Session, url: DatabaseURL, ddl: str, target: str, built: list[str]) -> None:
    """Run one CREATE INDEX, recording in `built` any index it left behind (valid or not)."""
    ours = True
    try:
        session.execute(ddl)
    except psycopg.errors.DuplicateTable:
        ours = False  # someone made that name since we checked: not ours to drop
        raise InputError(f"{url}: {target} appeared meanwhile; not built") from None
    except psycopg.Error as exc:
        raise InputError(f"{ddl}: {_first_line(exc)}") from None
    finally:
        if ours and _exists(session, target):
            built.append(target)


def _on_target(
    url: DatabaseURL, queries: Sequence[tuple[Query, str]], ddls: Sequence[str]
) -> list[Timing]:
    reads = [(q, sql) for q, sql in queries if _is_read(sql)]
    session = connect(url, read_only=False)
    try:
        targets = [_index_target(session, ddl) for ddl in ddls]
        for ddl, target in zip(ddls, targets, strict=True):
            if _exists(session, target):
                raise InputError(f"{url}: {target} already exists; refusing to build {ddl}")
        before = _measure_all(session, reads)
        built: list[str] = []
        try:
            session.execute("SET statement_timeout = 0")
            for ddl, target in zip(ddls, targets, strict=True):
                _build(session, url, ddl, target, built)
            for table in sorted({t for ddl in ddls if (t := _expression_table(ddl))}):
                session.execute(f"ANALYZE {table}")
            session.execute("RESET statement_timeout")
            after = _measure_all(session, reads)
        finally:
            session.execute("SET statement_timeout = 0")
            for target in reversed(built):
                session.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {target}")
            session.execute("RESET statement_timeout")
    finally:
        session.close()
    return _timings(reads, before, after)
