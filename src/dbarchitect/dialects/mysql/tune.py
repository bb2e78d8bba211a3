"""MariaDB tuning: shapes through sqlglot, EXPLAIN FORMAT=JSON findings, and index candidates
judged by building them on a scratch copy and timing the query there.

MariaDB has no hypothetical indexes, and its EXPLAIN FORMAT=JSON prints no cost (checked on
10.11: row estimates and access paths only; the session's `Last_query_cost` holds one number,
which plan() reports as "optimizer_cost" for information). So, as for SQLite, the cost of a
query is its measured wall time on the copy, in milliseconds: the median of three runs after a
warm-up, at most ROW_CAP rows returned (sql_select_limit), each run stopped after TIME_LIMIT_S
(max_statement_time); writes run in a transaction that is rolled back. Timings are cached by
the plan they ran with, so a configuration that leaves the plan alone costs no new timing.

The copy lives in a database made by the engine's scratch(); tune_copy.py makes it, fills it
(inside the server, or through the client) and times statements on it. A table is copied the
first time a query reads it; a query naming another database (`db.table`) is refused, since it
would run outside the copy.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import json
import re
from collections.abc import Collection, Sequence
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from dbarchitect.dialects.mysql.quoting import quote_ident as quote
from dbarchitect.dialects.mysql.tune_copy import (
    CopyMode,
    copy_table,
    create_views,
    index_length,
    open_scratch,
    time_ms,
)
from dbarchitect.engines.base import Session
from dbarchitect.engines.mysql import MysqlEngine
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import InputError
from dbarchitect.model import Schema
from dbarchitect.model.stats import Stats, TableStats
from dbarchitect.review.finding import Finding, Severity
from dbarchitect.tune import sqlglot_shape
from dbarchitect.tune.copy_tuner import LARGE_ROWS, ROW_CAP, CopyTuner, Key, digest
from dbarchitect.tune.model import Candidate, Query, Shape
from dbarchitect.tune.tuner import Plan

SQLGLOT = "mysql"  # sqlglot's name for the dialect (MariaDB reads as MySQL)
_LOB = re.compile(r"(?i)^(tiny|medium|long)?(text|blob)\b|^json\b")
_NOISE = frozenset({"rows", "filtered", "cost", "r_rows", "r_filtered", "r_total_time_ms"})


class MysqlTuner(CopyTuner):
    """Tuning primitives on one MariaDB database (read-only; builds go to a scratch copy)."""

    sqlglot_dialect = SQLGLOT
    implicit_casts = True  # MariaDB compares a string column with a number as numbers
    sample_alias = " AS s"  # every derived table needs a name
    fix_name_chars = 64  # MariaDB's longest identifier

    def __init__(
        self,
        url: DatabaseURL,
        schema: Schema,
        *,
        allow_writes: bool = False,
        copy: CopyMode = "auto",
    ) -> None:
        if not url.database:
            raise InputError(f"{url}: tuning needs a database name in the URL")
        super().__init__(url, schema, allow_writes=allow_writes)
        self._copy_mode = copy
        self._engine = MysqlEngine()
        self._session = self._engine.connect(url)
        rows = self._session.fetch(
            "SELECT TABLE_NAME AS t, TABLE_ROWS AS n FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'"
        )
        self.stats = Stats(
            server_version=self._session.server_version,
            window_seconds=0.0,
            tables={str(r["t"]): TableStats(rows=int(r["n"] or 0)) for r in rows},
        )
        self.copied_by: str = ""  # "server" or "client", once the copy exists
        self._scratch_cm: contextlib.ExitStack | None = None
        self._copy: Session | None = None
        self._built: dict[Key, tuple[str, str]] = {}  # candidate key → (index name, table)
        self._copied: set[str] = set()  # tables copied so far
        self._grew: dict[Key, int] = {}  # INDEX_LENGTH growth when each candidate was built

    def _quote(self, name: str) -> str:
        return quote(name)

    def _literal(self, value: object) -> str:
        return literal(value)

    # --- plans ----------------------------------------------------------------------------

    def plan(self, sql: str, *, analyze: bool = False) -> Plan:
        """{"plan": EXPLAIN FORMAT=JSON's object, "optimizer_cost": Last_query_cost,
        "aliases": {name in the plan: table}}; writes are explained on the copy (the read-only
        session refuses them). With `analyze`, "ms": the query's time on the copy."""
        shape = self._shape(sql)
        if shape is not None and shape.writes is not None:
            self._configure([], shape)
            out: Plan = {"plan": self._explain_copy(sql), "on": "copy"}
        else:
            out = {"plan": _explain(self._session, sql)}
            got = self._session.fetch("SHOW SESSION STATUS LIKE 'Last_query_cost'")
            out["optimizer_cost"] = float(got[0]["Value"]) if got else None
        out["aliases"] = self._aliases(sql)
        if analyze:
            out["ms"] = self._copy_ms(sql, shape)
        return out

    def copy_plan(self, sql: str, indexes: Sequence[Candidate]) -> Plan:
        return {**super().copy_plan(sql, indexes), "on": "copy"}

    def plan_findings(self, query: Query, plan: Plan, *, analyzed: bool) -> list[Finding]:
        """Full scans under a filter on large tables, filesorts and temporary tables, and
        correlated subqueries (MariaDB wraps those in an expression cache)."""
        shape = self._shape(query.text)
        aliases: dict[str, str] = plan.get("aliases", {})
        make = self._finder(query, plan, analyzed=analyzed)
        found: dict[tuple[str, str], Finding] = {}

        def add(about: str, rule: str, severity: Severity, message: str, fix: str) -> None:
            found.setdefault((rule, about), make(rule, severity, message, fix))

        for node in _nodes(plan.get("plan", {})):
            table = node.get("table")
            if isinstance(table, dict) and table.get("access_type") in ("ALL", "index"):
                name = str(table.get("table_name", ""))
                real = aliases.get(name, name)
                rows = int(table.get("rows") or 0)
                cols = sqlglot_shape.key_columns(shape, real, sort=False)
                if rows >= LARGE_ROWS and cols and table.get("attached_condition"):
                    add(
                        real, "seq-scan-selective", "warning",
                        f"full scan of {real} (~{rows:,} rows) to filter on {', '.join(cols)}",
                        self._fix(real, sqlglot_shape.key_columns(shape, real, sort=True)),
                    )  # fmt: skip
            for key, what in (("filesort", "a filesort"), ("temporary_table", "a temporary table")):
                if key in node or node.get(f"using_{key}"):
                    fix = self._sort_fix(shape)
                    add(key, "temp-sort", "info", f"{what} sorts or groups the rows", fix)
            if "expression_cache" in node or node.get("dependent"):
                add(
                    "", "correlated-subplan", "warning",
                    "a correlated subquery runs once per outer row (behind an expression cache)",
                    self._correlated_fix(shape),
                )  # fmt: skip
        return [found[k] for k in sorted(found)]

    # --- the scratch copy -----------------------------------------------------------------

    def _scratch(self, tables: Collection[str] | None = None) -> Session:
        """The scratch copy, with `tables` (None: every table) copied into it by now."""
        if self._copy is None:
            self._scratch_cm, self._copy, self.copied_by = open_scratch(
                self._engine, self._session, self.url, self._copy_mode
            )
        missing = [
            t
            for t in self.schema.tables
            if t.name not in self._copied and (tables is None or t.qualified in tables)
        ]
        if missing:
            with self._session.transaction():  # one snapshot of the tables copied together
                for table in missing:
                    copy_table(
                        self._session, self._copy, table,
                        by=self.copied_by, database=self.url.database or "",
                    )  # fmt: skip
                    self._copied.add(table.name)
            self._copy.fetch(f"ANALYZE TABLE {', '.join(quote(t.name) for t in missing)}")
            create_views(self._copy, self.schema)
        return self._copy

    def _configure(self, indexes: Sequence[Candidate], shape: Shape | None) -> None:
        tables: Collection[str] | None = shape.tables if shape else None
        copy = self._scratch(tables)
        wanted = self._buildable(indexes, shape)
        keep = {c.key for c in wanted}
        for key, (name, table) in sorted(self._built.items()):
            if key not in keep and (tables is None or table in tables):
                copy.execute(f"DROP INDEX {quote(name)} ON {quote(table)}")
                del self._built[key]
        for c in wanted:
            if c.key not in self._built:
                self._build(copy, c)

    def _build(self, copy: Session, c: Candidate) -> None:
        """Build one candidate on the copy and measure what the table's indexes grew by
        (information_schema INDEX_LENGTH after ANALYZE TABLE: every engine reports it)."""
        name = f"dbarch_tune_{digest(c.key)}"
        try:
            before = index_length(copy, c.table)
            copy.execute(self.index_ddl(c, name))
            copy.fetch(f"ANALYZE TABLE {quote(c.table)}")
        except InputError as exc:
            self.failed[c.key] = str(exc)
            return
        self._built[c.key] = (name, c.table)
        self._grew[c.key] = index_length(copy, c.table) - before

    def _maintained(self, table: str) -> tuple[Key, ...]:
        return tuple(sorted(k for k, (_, t) in self._built.items() if t == table))

    def _explain_copy(self, sql: str) -> dict[str, Any]:
        return _explain(self._scratch(()), sql)

    def _plan_signature(self, sql: str) -> object:
        return _signature(self._explain_copy(sql))

    def _time(self, sql: str, *, write: bool) -> float:
        return time_ms(self._scratch(()), sql, write=write)

    # --- costs, sizes, DDL ----------------------------------------------------------------

    def cost(self, sql: str, indexes: Sequence[Candidate]) -> float:
        _refuse_other_databases(sql)
        return super().cost(sql, indexes)

    def _measure(self, candidate: Candidate) -> int | None:
        """InnoDB's page count for the index after ANALYZE TABLE × page size (other engines:
        the growth of the table's INDEX_LENGTH)."""
        copy = self._scratch([candidate.table])
        if candidate.key not in self._built:
            self._build(copy, candidate)
        if candidate.key not in self._built:
            return None
        name, table = self._built[candidate.key]
        # InnoDB counts each index's pages; other engines only the table's total.
        got = copy.fetch(
            "SELECT s.stat_value * @@innodb_page_size AS b FROM mysql.innodb_index_stats s "
            "WHERE s.database_name = DATABASE() AND s.table_name = %s "
            "AND s.index_name = %s AND s.stat_name = 'size'",
            (table, name),
        )
        grew = self._grew.get(candidate.key, 0)
        return int(got[0]["b"]) if got else (grew if grew > 0 else None)

    def _estimate(self, candidate: Candidate) -> int:
        rows = self.stats.tables.get(candidate.table, TableStats()).rows if self.stats else 0
        return rows * (16 + 8 * len((*candidate.columns, *candidate.include)))

    def index_ddl(self, candidate: Candidate, name: str) -> str:
        """CREATE INDEX … ALGORITHM=INPLACE LOCK=NONE (online); INCLUDE columns become
        trailing keys; TEXT/BLOB keys get a 255-character prefix. MariaDB has no partial or
        expression indexes and no GIN/BRIN: those raise InputError."""
        if candidate.method != "btree":
            raise InputError(f"{candidate.table}: MariaDB has no {candidate.method} indexes")
        if candidate.where:
            raise InputError(f"{candidate.table}: MariaDB has no partial indexes (WHERE …)")
        table = self.schema.table(candidate.table)
        keys = []
        for col in (*candidate.columns, *candidate.include):
            name_part, _, rest = col.partition(" ")
            column = table.column(name_part) if table else None
            if column is None:
                raise InputError(f"{candidate.table}: MariaDB cannot index the expression {col}")
            prefix = "(255)" if _LOB.match(column.type) else ""
            order = " DESC" if rest.strip().upper() == "DESC" else ""
            keys.append(f"{quote(column.name)}{prefix}{order}")
        return (
            f"CREATE INDEX {quote(name)} ON {quote(candidate.table)} ({', '.join(keys)}) "
            "ALGORITHM=INPLACE LOCK=NONE"
        )

    # --- verification on the user's database ---------------------------------------------

    def _time_on_target(
        self, runs: Sequence[tuple[str, bool]], indexes: Sequence[Candidate]
    ) -> tuple[list[float], list[float]]:
        built: list[tuple[str, str]] = []
        with self._engine.connect(self.url, read_only=False) as target:
            target.execute(f"SET SESSION sql_select_limit = {ROW_CAP}, max_statement_time = 0")
            try:
                before = [time_ms(target, sql, write=w) for sql, w in runs]
                for c in indexes:
                    name = f"dbarch_verify_{digest(c.key)}"
                    target.execute(self.index_ddl(c, name))
                    built.append((name, c.table))
                after = [time_ms(target, sql, write=w) for sql, w in runs]
            finally:
                for name, table in built:
                    target.execute(f"DROP INDEX {quote(name)} ON {quote(table)}")
        return before, after

    def close(self) -> None:
        self._session.close()
        if self._scratch_cm is not None:
            self._scratch_cm.close()  # closes the session, then drops the scratch database
            self._scratch_cm, self._copy = None, None


def _explain(session: Session, sql: str) -> dict[str, Any]:
    rows = session.fetch(f"EXPLAIN FORMAT=JSON {sql}")
    data: dict[str, Any] = json.loads(str(next(iter(rows[0].values()))))
    return data


def _nodes(value: object) -> list[dict[str, Any]]:
    """Every object of a JSON plan, depth first."""
    out: list[dict[str, Any]] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            out.append(item)
            stack.extend(reversed(list(item.values())))
        elif isinstance(item, list):
            stack.extend(reversed(item))
    return out


def _signature(plan: dict[str, Any]) -> str:
    """The plan without its estimates: same access paths → same signature."""

    def strip(value: object) -> object:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in _NOISE}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return json.dumps(strip(plan), sort_keys=True)


def _refuse_other_databases(sql: str) -> None:
    """A table qualified by a database name would be read (or written) outside the copy."""
    try:
        tree = sqlglot.parse_one(sql, read=SQLGLOT)
    except SqlglotError:
        return  # unparsable text fails when it runs, with the server's own message
    for table in tree.find_all(exp.Table):
        if table.args.get("db") is not None:
            raise InputError(f"{table.sql()}: a query naming a database is not run on the copy")


def literal(value: object) -> str:
    """A Python value from PyMySQL as a MariaDB literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float, decimal.Decimal)):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return f"X'{bytes(value).hex()}'"
    if isinstance(value, datetime.timedelta):
        total = int(value.total_seconds())
        sign, total = ("-" if total < 0 else ""), abs(total)
        return f"'{sign}{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}'"
    text = str(value).replace("\\", "\\\\").replace("'", "''")
    return f"'{text}'"


__all__ = ["MysqlTuner", "literal"]
