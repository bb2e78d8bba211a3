"""SQLite tuning: shapes through sqlglot, EXPLAIN QUERY PLAN findings, and index candidates
judged by building them on a scratch copy of the database file and timing the query there.

SQLite's planner exposes no cost: EXPLAIN QUERY PLAN names the access paths and nothing else.
So the cost of a query here is its measured wall time on the copy, in milliseconds (the median
of three runs after a warm-up, fetching at most ROW_CAP rows, each run stopped after
TIME_LIMIT_S). Timings are cached by the plan they ran with (and, for writes, the indexes on the
written table), so a configuration that leaves the plan unchanged costs what it cost before —
no new timing, no clock noise read as a gain. The user's file is only ever read: the copy is
made with the backup API through a read-only connection, and every index is built on the copy
(verify's `on_target` builds on the user's file only when the caller allowed writes, and drops
what it built).
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote as urlquote

from dbarchitect.dialects.sqlite.ddl import quote
from dbarchitect.engines.sqlite import connect
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import ConnectionFailed, InputError
from dbarchitect.model import Schema
from dbarchitect.model.stats import Stats, TableStats
from dbarchitect.review.finding import Finding
from dbarchitect.tune import sqlglot_shape
from dbarchitect.tune.copy_tuner import (
    LARGE_ROWS,
    ROW_CAP,
    SAMPLE_ROWS,
    TIME_LIMIT_S,
    CopyTuner,
    Key,
    digest,
    median_ms,
)
from dbarchitect.tune.model import Candidate, Query, Shape
from dbarchitect.tune.tuner import Plan

_SCAN = re.compile(r"^SCAN (?P<name>\S+)(?: AS \S+)?(?P<index> USING (?:COVERING )?INDEX .*)?$")
_AUTO = re.compile(
    r"^SEARCH (?P<name>\S+) USING AUTOMATIC (?:PARTIAL )?COVERING INDEX \((?P<cols>.*)\)"
)
_TEMP = re.compile(r"^USE TEMP B-TREE FOR (?P<what>.+)$")
_CORRELATED = re.compile(r"^CORRELATED (?P<what>\w+) SUBQUERY")


class SqliteTuner(CopyTuner):
    """Tuning primitives on one SQLite database file (read-only; builds go to a copy)."""

    sqlglot_dialect = "sqlite"

    def __init__(self, url: DatabaseURL, schema: Schema, *, allow_writes: bool = False) -> None:
        if not url.database or url.database == ":memory:":
            raise InputError(f"{url}: tuning needs a database file, not an in-memory database")
        super().__init__(url, schema, allow_writes=allow_writes)
        self.path = Path(url.database).expanduser().resolve()
        self._session = connect(url, read_only=True)
        self.stats = Stats(
            server_version=self._session.server_version,
            window_seconds=0.0,
            tables={t.qualified: TableStats(rows=self._count(t.name)) for t in schema.tables},
        )
        self._copy: _Copy | None = None

    def _quote(self, name: str) -> str:
        return quote(name)

    def _literal(self, value: object) -> str:
        return literal(value)

    def _count(self, table: str) -> int:
        try:
            return int(self._session.fetch(f"SELECT count(*) AS n FROM {quote(table)}")[0]["n"])
        except InputError:  # a virtual table whose module is not loaded here
            return 0

    # --- plans ----------------------------------------------------------------------------

    def plan(self, sql: str, *, analyze: bool = False) -> Plan:
        """EXPLAIN QUERY PLAN on the user's file: {"plan": [{id, parent, detail}…],
        "aliases": {name in the plan: table}}; with `analyze`, "ms": the query's time on the
        copy (without any candidate index)."""
        rows = self._session.fetch(f"EXPLAIN QUERY PLAN {sql}")
        out: Plan = {"plan": [_row(r) for r in rows], "aliases": self._aliases(sql)}
        if analyze:
            out["ms"] = self._copy_ms(sql, self._checked(sql))
        return out

    def plan_findings(self, query: Query, plan: Plan, *, analyzed: bool) -> list[Finding]:
        """Full scans under a filter, temporary B-trees for sorting, correlated subqueries run
        per row, and automatic indexes SQLite builds for every execution."""
        shape = self._shape(query.text)
        aliases: dict[str, str] = plan.get("aliases", {})
        make = self._finder(query, plan, analyzed=analyzed)
        out: list[Finding] = []
        for row in plan.get("plan", []):
            detail = str(row.get("detail", ""))
            if (m := _SCAN.match(detail)) and not m.group("index"):
                table = aliases.get(m.group("name"), m.group("name"))
                rows = self.stats.tables.get(table, TableStats()).rows if self.stats else 0
                cols = sqlglot_shape.key_columns(shape, table, sort=False)
                if rows >= LARGE_ROWS and cols:
                    out.append(make(
                        "seq-scan-selective", "warning",
                        f"full scan of {table} ({rows:,} rows) to filter on {', '.join(cols)}",
                        self._fix(table, sqlglot_shape.key_columns(shape, table, sort=True)),
                    ))  # fmt: skip
            elif m := _TEMP.match(detail):
                out.append(make(
                    "temp-sort", "info", f"a temporary B-tree sorts rows for {m['what']}",
                    self._sort_fix(shape),
                ))  # fmt: skip
            elif m := _CORRELATED.match(detail):
                out.append(make(
                    "correlated-subplan", "warning",
                    f"a correlated {m['what'].lower()} subquery runs once per outer row",
                    self._correlated_fix(shape),
                ))  # fmt: skip
            elif m := _AUTO.match(detail):
                table = aliases.get(m.group("name"), m.group("name"))
                cols = re.findall(r"(\w+)\s*[=<>]", m.group("cols"))
                out.append(make(
                    "automatic-index", "warning",
                    f"SQLite builds a temporary index on {table}({', '.join(cols)}) at every run",
                    self._fix(table, cols),
                ))  # fmt: skip
        return out

    # --- the copy -------------------------------------------------------------------------

    def _scratch(self) -> _Copy:
        if self._copy is None:
            self._copy = _Copy(self.path)
        return self._copy

    def _configure(self, indexes: Sequence[Candidate], shape: Shape | None) -> None:
        copy = self._scratch()
        wanted = self._buildable(indexes, shape)
        for key, reason in copy.configure(wanted, shape.tables if shape else None, self.index_ddl):
            self.failed[key] = reason

    def _maintained(self, table: str) -> tuple[Key, ...]:
        copy = self._scratch()
        return tuple(sorted(k for k, name in copy.built.items() if copy.tables[name] == table))

    def _explain_copy(self, sql: str) -> list[dict[str, Any]]:
        return self._scratch().plan(sql)

    def _plan_signature(self, sql: str) -> object:
        return tuple(r["detail"] for r in self._scratch().plan(sql))

    def _time(self, sql: str, *, write: bool) -> float:
        return self._scratch().time(sql, write=write)

    def _measure(self, candidate: Candidate) -> int | None:
        """Bytes of the index built on the copy, from the dbstat table."""
        copy = self._scratch()
        for key, reason in copy.configure([candidate], (), self.index_ddl):
            self.failed[key] = reason
        return copy.index_bytes(copy.built[candidate.key]) if candidate.key in copy.built else None

    def _estimate(self, candidate: Candidate) -> int:
        rows = self.stats.tables.get(candidate.table, TableStats()).rows if self.stats else 0
        width = 9  # rowid and cell header
        for col in (*candidate.columns, *candidate.include):
            if col.startswith("("):
                width += 8
                continue
            c = quote(col.split(" ")[0])
            got = self._session.fetch(
                f"SELECT avg(length({c})) AS w FROM (SELECT {c} FROM {quote(candidate.table)} "
                f"LIMIT {SAMPLE_ROWS})"
            )
            width += int(got[0]["w"] or 8) + 1
        return int(rows * width * 1.25)  # pages are about 80% full after a build

    def index_ddl(self, candidate: Candidate, name: str) -> str:
        """CREATE INDEX IF NOT EXISTS …; INCLUDE columns become trailing keys (SQLite has no
        INCLUDE), operator classes are dropped; only B-tree indexes exist."""
        if candidate.method != "btree":
            raise InputError(f"{candidate.table}: SQLite has no {candidate.method} indexes")
        table = self.schema.table(candidate.table)
        names = [c.name for c in table.columns] if table else []
        keys = ", ".join(_key(c, names) for c in (*candidate.columns, *candidate.include))
        where = f" WHERE {candidate.where}" if candidate.where else ""
        return (
            f"CREATE INDEX IF NOT EXISTS {quote(name)} ON {quote(candidate.table)} ({keys}){where}"
        )

    # --- verification on the user's file -------------------------------------------------

    def _time_on_target(
        self, runs: Sequence[tuple[str, bool]], indexes: Sequence[Candidate]
    ) -> tuple[list[float], list[float]]:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=5.0, cached_statements=0)
        names = [f"dbarch_verify_{digest(c.key)}" for c in indexes]
        try:
            before = [_time(conn, sql, write=w) for sql, w in runs]
            for c, name in zip(indexes, names, strict=True):
                conn.execute(self.index_ddl(c, name))
            after = [_time(conn, sql, write=w) for sql, w in runs]
        finally:
            for name in names:
                conn.execute(f"DROP INDEX IF EXISTS {quote(name)}")
            conn.close()
        return before, after

    def close(self) -> None:
        self._session.close()
        if self._copy is not None:
            self._copy.close()
            self._copy = None


class _Copy:
    """A scratch copy of the database file with candidate indexes built on demand."""

    def __init__(self, source: Path) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="dbarch-tune-"))
        self.built: dict[Key, str] = {}  # candidate key → index name
        self.tables: dict[str, str] = {}  # index name → table
        src = None
        try:
            src = sqlite3.connect(f"file:{urlquote(str(source))}?mode=ro", uri=True)
            # No statement cache: a cached EXPLAIN QUERY PLAN keeps showing an index dropped since.
            self.conn = sqlite3.connect(
                self.dir / "copy.db", isolation_level=None, cached_statements=0
            )
            src.backup(self.conn)
            # The copy is thrown away: no waiting for the disk; a journal in memory still
            # lets timed writes roll back.
            self.conn.execute("PRAGMA journal_mode = MEMORY")
            self.conn.execute("PRAGMA synchronous = OFF")
            self.conn.execute("PRAGMA analysis_limit = 10000")
            self.conn.execute("ANALYZE")
        except sqlite3.Error as exc:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise ConnectionFailed(f"cannot copy {source} for tuning: {exc}") from None
        finally:
            if src is not None:
                src.close()

    def configure(
        self,
        wanted: Sequence[Candidate],
        tables: Collection[str] | None,
        ddl: Callable[[Candidate, str], str],
    ) -> list[tuple[Key, str]]:
        """Build `wanted`; drop the other built indexes on `tables` (None: on every table).
        Returns the candidates SQLite refused to build, with its reason."""
        keep = {c.key for c in wanted}
        for key, name in sorted(self.built.items()):
            if key not in keep and (tables is None or self.tables[name] in tables):
                self.conn.execute(f"DROP INDEX {quote(name)}")
                del self.built[key]
                del self.tables[name]
        failed = []
        for c in wanted:
            if c.key in self.built:
                continue
            name = f"dbarch_tune_{digest(c.key)}"
            try:
                self.conn.execute(ddl(c, name))
                self.conn.execute(f"ANALYZE {quote(name)}")
            except (sqlite3.Error, InputError) as exc:
                failed.append((c.key, str(exc).splitlines()[0]))
                continue
            self.built[c.key] = name
            self.tables[name] = c.table
        return failed

    def plan(self, sql: str) -> list[dict[str, Any]]:
        cur = self.conn.execute(f"EXPLAIN QUERY PLAN {sql}")
        names = [d[0] for d in cur.description]
        return [_row(dict(zip(names, r, strict=True))) for r in cur.fetchall()]

    def time(self, sql: str, *, write: bool) -> float:
        """Median milliseconds on the copy (see copy_tuner.median_ms)."""
        return median_ms(lambda: _time(self.conn, sql, write=write))

    def index_bytes(self, name: str) -> int | None:
        try:
            row = self.conn.execute(
                "SELECT sum(pgsize) FROM dbstat WHERE name = ?", (name,)
            ).fetchone()
        except sqlite3.Error:  # SQLite compiled without the dbstat table
            return None
        return int(row[0]) if row and row[0] is not None else None

    def close(self) -> None:
        self.conn.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def _time(conn: sqlite3.Connection, sql: str, *, write: bool) -> float:
    """Wall milliseconds of one run (at most ROW_CAP rows fetched; writes rolled back)."""
    deadline = time.perf_counter() + TIME_LIMIT_S
    conn.set_progress_handler(lambda: int(time.perf_counter() > deadline), 10_000)
    start = time.perf_counter()
    try:
        if write:
            conn.execute("BEGIN")
        cur = conn.execute(sql)
        fetched = 0
        while fetched < ROW_CAP and (rows := cur.fetchmany(1_000)):
            fetched += len(rows)
        cur.close()
    except sqlite3.OperationalError as exc:
        if "interrupted" not in str(exc):
            raise InputError(f"cannot run the query on the copy: {exc}") from None
    finally:
        elapsed = (time.perf_counter() - start) * 1000
        if write and conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.set_progress_handler(None, 0)
    return elapsed


def _row(r: dict[str, Any]) -> dict[str, Any]:
    return {"id": r.get("id"), "parent": r.get("parent"), "detail": r.get("detail")}


def _key(column: str, names: Sequence[str]) -> str:
    """One key of CREATE INDEX: a quoted column with ASC/DESC/COLLATE kept, or an expression."""
    if column.startswith("("):
        return column
    for name in sorted(names, key=len, reverse=True):
        if column == name or column.startswith(name + " "):
            rest = column[len(name) :].strip()
            keep = re.fullmatch(r"(?i)(COLLATE \w+ ?)?(ASC|DESC)?", rest)
            return quote(name) + (f" {rest}" if rest and keep else "")
    return column


def literal(value: object) -> str:
    """A Python value from sqlite3 as an SQLite literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bytes):
        return f"X'{value.hex()}'"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


__all__ = ["SqliteTuner", "literal"]
