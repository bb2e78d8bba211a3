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

import hashlib
import re
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote as urlquote

from dbarchitect.dialects.sqlite.ddl import quote
from dbarchitect.engines.sqlite import connect
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import ConnectionFailed, InputError
from dbarchitect.model import Schema
from dbarchitect.model.stats import Stats, TableStats
from dbarchitect.review.finding import Finding, Severity
from dbarchitect.tune import sqlglot_shape, sqlglot_text
from dbarchitect.tune.model import Candidate, IndexMethod, Query, Shape, Timing
from dbarchitect.tune.tuner import Plan, Tuner

SQLGLOT = "sqlite"  # sqlglot's name for the dialect
LARGE_ROWS = 10_000  # a full scan of a table this large under a filter is worth a finding
ROW_CAP = 10_000  # rows fetched per timed run
RUNS = 3  # timed runs after one warm-up; the median is the cost
TIME_LIMIT_S = 5.0  # a run is interrupted after this; its time is then a lower bound
SAMPLE_ROWS = 10_000  # rows looked at for a column's most common values
_SCAN = re.compile(r"^SCAN (?P<name>\S+)(?: AS \S+)?(?P<index> USING (?:COVERING )?INDEX .*)?$")
_AUTO = re.compile(
    r"^SEARCH (?P<name>\S+) USING AUTOMATIC (?:PARTIAL )?COVERING INDEX \((?P<cols>.*)\)"
)
_TEMP = re.compile(r"^USE TEMP B-TREE FOR (?P<what>.+)$")
Key = tuple[str, tuple[str, ...], tuple[str, ...], str, str]  # Candidate.key
_CORRELATED = re.compile(r"^CORRELATED (?P<what>\w+) SUBQUERY")


class SqliteTuner(Tuner):
    """Tuning primitives on one SQLite database file (read-only; builds go to a copy)."""

    methods: ClassVar[frozenset[IndexMethod]] = frozenset({"btree"})  # what it can build
    built_methods: ClassVar[frozenset[IndexMethod]] = methods  # every cost is a real build

    def __init__(self, url: DatabaseURL, schema: Schema, *, allow_writes: bool = False) -> None:
        if not url.database or url.database == ":memory:":
            raise InputError(f"{url}: tuning needs a database file, not an in-memory database")
        self.url, self.schema, self.allow_writes = url, schema, allow_writes
        self.path = Path(url.database).expanduser().resolve()
        self._session = connect(url, read_only=True)
        self.stats = Stats(
            server_version=self._session.server_version,
            window_seconds=0.0,
            tables={t.qualified: TableStats(rows=self._count(t.name)) for t in schema.tables},
        )
        self.whatif_calls = 0
        self.failed: dict[Key, str] = {}  # candidates SQLite refused to build
        self._copy: _Copy | None = None
        self._shapes: dict[str, Shape | str] = {}  # shape, or why there is none
        self._timed: dict[tuple[object, ...], float] = {}
        self._sizes: dict[tuple[object, ...], int] = {}

    # --- the statement --------------------------------------------------------------------

    def fingerprint(self, sql: str) -> str:
        return sqlglot_text.fingerprint(sql, SQLGLOT)

    def shape(self, sql: str) -> Shape:
        return sqlglot_shape.shape(sql, self.schema, SQLGLOT)

    def _shape(self, sql: str) -> Shape | None:
        """The shape, or None when the statement cannot be analysed (cached either way)."""
        if sql not in self._shapes:
            try:
                self._shapes[sql] = self.shape(sql)
            except InputError as exc:
                self._shapes[sql] = str(exc)
        got = self._shapes[sql]
        return got if isinstance(got, Shape) else None

    def _checked(self, sql: str) -> Shape:
        """The shape of a statement about to run on the copy: what cannot be analysed (DDL,
        anything unparsable) is never run there."""
        shape = self._shape(sql)
        if shape is None:
            raise InputError(f"not run on the copy: {self._shapes[sql]}")
        return shape

    def plannable(self, sql: str) -> str:
        return sqlglot_shape.bind(sql, self.schema, SQLGLOT, self._sample)

    def _sample(self, table: str, column: str) -> list[str]:
        """The column's most common non-null values among its first SAMPLE_ROWS rows."""
        c, t = quote(column), quote(table)
        rows = self._session.fetch(
            f"SELECT v, count(*) AS n FROM (SELECT {c} AS v FROM {t} WHERE {c} IS NOT NULL "
            f"LIMIT {SAMPLE_ROWS}) GROUP BY v ORDER BY n DESC, v LIMIT 8"
        )
        return [literal(r["v"]) for r in rows]

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
            shape = self._checked(sql)
            copy = self._scratch()
            copy.configure([], shape.tables if shape else None, self.index_ddl)
            out["ms"] = copy.time(sql, write=bool(shape and shape.writes))
        return out

    def copy_plan(self, sql: str, indexes: Sequence[Candidate]) -> Plan:
        """The plan on the scratch copy with `indexes` built (to show how a candidate is used)."""
        shape = self._checked(sql)
        copy = self._scratch()
        copy.configure(
            self._buildable(indexes, shape), shape.tables if shape else None, self.index_ddl
        )
        return {"plan": copy.plan(sql), "aliases": self._aliases(sql)}

    def _aliases(self, sql: str) -> dict[str, str]:
        try:
            return sqlglot_shape.table_aliases(sql, self.schema, SQLGLOT)
        except InputError:
            return {}

    def plan_findings(self, query: Query, plan: Plan, *, analyzed: bool) -> list[Finding]:
        """Full scans under a filter, temporary B-trees for sorting, correlated subqueries run
        per row, and automatic indexes SQLite builds for every execution."""
        shape = self._shape(query.text)
        aliases: dict[str, str] = plan.get("aliases", {})
        where = query.source or query.fingerprint[:12]
        ms = f" ({plan['ms']:.1f} ms)" if analyzed and "ms" in plan else ""
        out: list[Finding] = []

        def add(rule: str, severity: Severity, message: str, fix: str) -> None:
            out.append(
                Finding(
                    rule=f"tune/{rule}", severity=severity, kind="query", object=where,
                    message=message + ms, fix=fix,
                )
            )  # fmt: skip

        for row in plan.get("plan", []):
            detail = str(row.get("detail", ""))
            if (m := _SCAN.match(detail)) and not m.group("index"):
                table = aliases.get(m.group("name"), m.group("name"))
                rows = self.stats.tables.get(table, TableStats()).rows if self.stats else 0
                cols = sqlglot_shape.key_columns(shape, table, sort=False)
                if rows >= LARGE_ROWS and cols:
                    add(
                        "seq-scan-selective", "warning",
                        f"full scan of {table} ({rows:,} rows) to filter on {', '.join(cols)}",
                        self._fix(table, sqlglot_shape.key_columns(shape, table, sort=True)),
                    )  # fmt: skip
            elif m := _TEMP.match(detail):
                sorts = (*shape.order_by, *shape.group_by) if shape else ()
                table = sorts[0].table if sorts else ""
                cols = sqlglot_shape.key_columns(shape, table, sort=True)
                fix = self._fix(table, cols) if cols else "index the columns it sorts by"
                add("temp-sort", "info", f"a temporary B-tree sorts rows for {m['what']}", fix)
            elif m := _CORRELATED.match(detail):
                joins = shape.joins if shape else ()
                keys = [
                    f"{j.left_table}.{j.left_column} = {j.right_table}.{j.right_column}"
                    for j in joins
                ]
                add(
                    "correlated-subplan", "warning",
                    f"a correlated {m['what'].lower()} subquery runs once per outer row",
                    "rewrite it as a JOIN (with GROUP BY for aggregates)"
                    + (f", or index the correlation columns: {'; '.join(keys)}" if keys else ""),
                )  # fmt: skip
            elif m := _AUTO.match(detail):
                table = aliases.get(m.group("name"), m.group("name"))
                cols = re.findall(r"(\w+)\s*[=<>]", m.group("cols"))
                add(
                    "automatic-index", "warning",
                    f"SQLite builds a temporary index on {table}({', '.join(cols)}) at every run",
                    self._fix(table, cols),
                )  # fmt: skip
        return out

    def _fix(self, table: str, columns: Sequence[str]) -> str:
        name = re.sub(r"\W+", "_", f"{table}_{'_'.join(columns)}_idx").lower()
        return self.index_ddl(Candidate(table=table, columns=tuple(columns)), name) + ";"

    # --- costs on the copy ----------------------------------------------------------------

    def _scratch(self) -> _Copy:
        if self._copy is None:
            self._copy = _Copy(self.path)
        return self._copy

    def _buildable(self, indexes: Sequence[Candidate], shape: Shape | None) -> list[Candidate]:
        tables = set(shape.tables) if shape else None
        return [
            c
            for c in indexes
            if c.method == "btree"
            and c.key not in self.failed
            and (tables is None or c.table in tables)
        ]

    def cost(self, sql: str, indexes: Sequence[Candidate]) -> float:
        """Milliseconds on the copy with `indexes` built beside the real ones (see module doc)."""
        shape = self._checked(sql)
        copy = self._scratch()
        wanted = self._buildable(indexes, shape)
        for key, reason in copy.configure(wanted, shape.tables if shape else None, self.index_ddl):
            self.failed[key] = reason
        writes = shape.writes if shape else None
        maintained = tuple(
            sorted(c.key for c in wanted if c.table == writes and c.key not in self.failed)
        )
        timing = (sql, tuple(r["detail"] for r in copy.plan(sql)), maintained)
        if timing not in self._timed:
            self._timed[timing] = copy.time(sql, write=writes is not None)
            self.whatif_calls += 1
        return self._timed[timing]

    def size(self, candidate: Candidate) -> int:
        """Bytes of the index built on the copy (dbstat), else rows × average key width."""
        if candidate.key in self._sizes:
            return self._sizes[candidate.key]
        measured = None
        if candidate.method == "btree" and candidate.key not in self.failed:
            copy = self._scratch()
            for key, reason in copy.configure([candidate], (), self.index_ddl):
                self.failed[key] = reason
            if candidate.key in copy.built:
                measured = copy.index_bytes(copy.built[candidate.key])
        size = measured if measured is not None else self._estimate(candidate)
        self._sizes[candidate.key] = size
        return size

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

    # --- verification ---------------------------------------------------------------------

    def verify(
        self,
        queries: Sequence[tuple[Query, str]],
        indexes: Sequence[Candidate],
        *,
        on_target: bool = False,
    ) -> list[Timing]:
        """Time each query without and with `indexes`: on the copy, or on the user's file when
        `on_target` (allowed writes only; the indexes are dropped afterwards)."""
        estimates = [(self.cost(sql, []), self.cost(sql, indexes)) for _, sql in queries]
        if on_target:
            before, after = self._verify_on_target(queries, indexes)
        else:
            copy = self._scratch()
            copy.configure([], None, self.index_ddl)
            before = [copy.time(sql, write=self._writes(sql)) for _, sql in queries]
            copy.configure(self._buildable(indexes, None), None, self.index_ddl)
            after = [copy.time(sql, write=self._writes(sql)) for _, sql in queries]
        return [
            Timing(
                fingerprint=q.fingerprint, ms_before=b, ms_after=a, cost_before=cb,
                cost_after=ca, disagrees=_disagree(cb, ca, b, a),
            )
            for (q, _), b, a, (cb, ca) in zip(queries, before, after, estimates, strict=True)
        ]  # fmt: skip

    def _writes(self, sql: str) -> bool:
        shape = self._checked(sql)
        return bool(shape and shape.writes)

    def _verify_on_target(
        self, queries: Sequence[tuple[Query, str]], indexes: Sequence[Candidate]
    ) -> tuple[list[float], list[float]]:
        if not self.allow_writes:
            raise InputError(
                f"{self.url}: building indexes on the target needs permission to write"
            )
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=5.0, cached_statements=0)
        names = [f"dbarch_verify_{_digest(c.key)}" for c in indexes]
        try:
            before = [_time(conn, sql, write=self._writes(sql)) for _, sql in queries]
            for c, name in zip(indexes, names, strict=True):
                conn.execute(self.index_ddl(c, name))
            after = [_time(conn, sql, write=self._writes(sql)) for _, sql in queries]
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
        self._tables: dict[str, str] = {}  # index name → table
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
            if key not in keep and (tables is None or self._tables[name] in tables):
                self.conn.execute(f"DROP INDEX {quote(name)}")
                del self.built[key]
                del self._tables[name]
        failed = []
        for c in wanted:
            if c.key in self.built:
                continue
            name = f"dbarch_tune_{_digest(c.key)}"
            try:
                self.conn.execute(ddl(c, name))
                self.conn.execute(f"ANALYZE {quote(name)}")
            except (sqlite3.Error, InputError) as exc:
                failed.append((c.key, str(exc).splitlines()[0]))
                continue
            self.built[c.key] = name
            self._tables[name] = c.table
        return failed

    def plan(self, sql: str) -> list[dict[str, Any]]:
        cur = self.conn.execute(f"EXPLAIN QUERY PLAN {sql}")
        names = [d[0] for d in cur.description]
        return [_row(dict(zip(names, r, strict=True))) for r in cur.fetchall()]

    def time(self, sql: str, *, write: bool) -> float:
        """Median milliseconds of RUNS runs after a warm-up (one run if the warm-up timed out)."""
        first = _time(self.conn, sql, write=write)
        if first >= TIME_LIMIT_S * 1000:
            return first
        return statistics.median(_time(self.conn, sql, write=write) for _ in range(RUNS))

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


def _digest(key: object) -> str:
    return hashlib.sha256(repr(key).encode()).hexdigest()[:12]


def _disagree(cost_before: float, cost_after: float, ms_before: float, ms_after: float) -> bool:
    """The estimate and the clock point opposite ways, each by more than 10%."""
    est = (cost_after - cost_before) / cost_before if cost_before else 0.0
    real = (ms_after - ms_before) / ms_before if ms_before else 0.0
    return (est < -0.1 and real > 0.1) or (est > 0.1 and real < -0.1)


__all__ = ["SqliteTuner", "literal"]
