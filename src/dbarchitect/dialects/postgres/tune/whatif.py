"""What-if costing: the plan's cost of a query as if some indexes existed, nothing built.

B-tree, BRIN and hash candidates become HypoPG hypothetical indexes in the backend of the
session we were given (a read-only session on the user's database is enough:
`SELECT hypopg_create_index(…)` is a read). Hypothetical indexes live in that backend's memory,
survive the rollback the read-only session does after every statement, and are seen by plain
EXPLAIN only. HypoPG 1.3.1 cannot hide an index, so a configuration is reached incrementally:
we keep a map Candidate.key → HypoPG oid, drop the ones the next call does not want and create
the ones it lacks; successive calls of a greedy search differ by one index, so most calls cost
one or two round trips besides the EXPLAIN. A candidate HypoPG refuses (an expression the
server rejects, a method it does not know) is recorded in `skipped` with the server's reason
and left out of every later configuration — it never aborts the run.

GIN (HypoPG cannot simulate it) is judged by a real build on a sampled scratch copy: on the
first GIN candidate we create a scratch database in our own cluster and copy into it, per
table the query reads, the table's structure (columns, keys, existing indexes — no foreign
keys, triggers or policies) and a sample of its rows: up to SAMPLE_ROWS rows read through the
read-only session with TABLESAMPLE SYSTEM … REPEATABLE (block sampling with a fixed seed, so
two runs agree), each column cast to text, and written with COPY FROM. After ANALYZE every
GIN candidate is built there once. The query's cost on the copy is taken twice, inside
transactions that are rolled back: with only the wanted GIN indexes (the others dropped in the
transaction) and with none. Their ratio is the relative gain, applied to the HypoPG cost on
the real database. The sample changes absolute costs (and join selectivities when several
tables are sampled) but keeps the proportion a GIN index saves on a scan of the same data;
the ratio is cached per query and GIN set.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import replace
from typing import Any

import pglast
import psycopg
from psycopg import sql as pgsql

from dbarchitect.dialects.postgres import ddl
from dbarchitect.dialects.postgres.quoting import qname, quote
from dbarchitect.engines.base import Session
from dbarchitect.engines.postgres import PostgresEngine, conninfo
from dbarchitect.errors import DbarchError, InputError
from dbarchitect.model import Schema, Table
from dbarchitect.tune.model import Candidate

HYPO_METHODS = frozenset({"btree", "brin", "hash"})
SAMPLE_ROWS = 100_000
Key = tuple[str, tuple[str, ...], tuple[str, ...], str, str]


def find_table(schema: Schema, qualified: str) -> Table | None:
    """The table whose `Table.qualified` is `qualified`, if the schema has it."""
    return next((t for t in schema.tables if t.qualified == qualified), None)


def table_sql(schema: Schema, qualified: str) -> str:
    """The quoted, schema-qualified name of a table given as `schema.table`."""
    table = find_table(schema, qualified)
    if table is not None:
        return qname(table.schema, table.name)
    ns, _, name = qualified.rpartition(".")
    return qname(ns or None, name)


def split_entry(entry: str, table: Table | None) -> tuple[str, bool, str]:
    """A candidate column entry → (column or expression, is_expression, suffix).

    Entries are a column name, or a parenthesized expression, optionally followed by an
    operator class or ordering (`payload jsonb_path_ops`, `created_at DESC`).
    """
    text = entry.strip()
    if table is not None and table.column(text) is not None:
        return text, False, ""
    if text.startswith("("):
        end = _closing_paren(text)
        return text[: end + 1], True, text[end + 1 :].strip()
    if table is not None:  # the longest column name followed by a suffix ("Created At DESC")
        cut = len(text)
        while (cut := text.rfind(" ", 0, cut)) > 0:
            if table.column(text[:cut]) is not None:
                return text[:cut], False, text[cut + 1 :].strip()
        return text, False, ""
    head, _, rest = text.partition(" ")
    return head, False, rest.strip()


def _closing_paren(text: str) -> int:
    depth, quote_char = 0, ""
    for i, ch in enumerate(text):
        if quote_char:
            if ch == quote_char:
                quote_char = ""
        elif ch in "'\"":
            quote_char = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
    return len(text) - 1


def index_ddl(
    schema: Schema, candidate: Candidate, name: str | None = None, *, concurrently: bool = False
) -> str:
    """CREATE INDEX for a candidate: keys, INCLUDE, WHERE and USING method, names quoted."""
    table = find_table(schema, candidate.table)
    keys = []
    for entry in candidate.columns:
        column, expression, suffix = split_entry(entry, table)
        text = column if expression else quote(column)
        keys.append(f"{text} {suffix}" if suffix else text)
    conc = "CONCURRENTLY " if concurrently else ""
    named = f"{quote(name)} " if name else ""
    sql = f"CREATE INDEX {conc}{named}ON {table_sql(schema, candidate.table)}"
    sql += f" USING {candidate.method} ({', '.join(keys)})"
    if candidate.include:
        sql += f" INCLUDE ({', '.join(quote(c) for c in candidate.include)})"
    if candidate.where:
        sql += f" WHERE {candidate.where}"
    return sql


def plan_cost(rows: list[dict[str, Any]]) -> float:
    """The top Total Cost of an EXPLAIN (FORMAT JSON) result."""
    doc = rows[0]["QUERY PLAN"]
    if isinstance(doc, str):
        doc = json.loads(doc)
    return float(doc[0]["Plan"]["Total Cost"])


def _reason(exc: BaseException) -> str:
    if isinstance(exc, psycopg.Error) and exc.diag.message_primary:
        return exc.diag.message_primary
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class WhatIf:
    """Costs queries under hypothetical index configurations on one database.

    `calls` counts cost() evaluations (each one EXPLAIN of the query on the user's database);
    `builds` counts real GIN builds on the sampled copy; `skipped` maps a candidate key to the
    reason it could not be simulated.
    """

    def __init__(self, session: Session, schema: Schema) -> None:
        rows = session.fetch(
            "SELECT current_database() AS db,"
            " (SELECT extversion FROM pg_extension WHERE extname = 'hypopg') AS hypopg"
        )
        if not rows or rows[0]["hypopg"] is None:
            db = rows[0]["db"] if rows else "?"
            raise InputError(
                f"database {db}: the HypoPG extension is not installed; run CREATE EXTENSION"
                " hypopg in it (package postgresql-<version>-hypopg) to cost indexes"
            )
        self.session = session
        self.schema = schema
        self.calls = 0
        self.builds = 0
        self.skipped: dict[Key, str] = {}
        self.notes: list[str] = []
        self._oids: dict[Key, int] = {}
        self._gin: _SampleCopy | None = None
        self._ratios: dict[tuple[str, frozenset[Key]], float] = {}

    def cost(self, sql: str, indexes: Sequence[Candidate]) -> float:
        """Total cost of `sql`'s plan with `indexes` added to the real ones."""
        wanted = {c.key: c for c in indexes if c.key not in self.skipped}
        hypo = {k: c for k, c in wanted.items() if c.method in HYPO_METHODS}
        self._configure(hypo)
        try:
            cost = plan_cost(self.session.fetch("EXPLAIN (FORMAT JSON) " + sql))
        except (psycopg.Error, DbarchError) as exc:
            raise InputError(f"cannot plan the query: {_reason(exc)}") from None
        self.calls += 1
        gin = {k: c for k, c in wanted.items() if c.method not in HYPO_METHODS}
        if gin:
            cost *= self._gin_ratio(sql, gin)
        return cost

    def _configure(self, wanted: dict[Key, Candidate]) -> None:
        """Drop the hypothetical indexes `wanted` lacks and create those it adds: in one
        round trip when HypoPG takes them all (a search asks for thousands of
        configurations, each differing from the last by a few indexes), else one by one so
        that the index it refuses is known."""
        drop = sorted(set(self._oids) - set(wanted))
        create = sorted(set(wanted) - set(self._oids))
        if not drop and not create:
            return
        statements = [index_ddl(self.schema, wanted[key]) for key in create]
        try:
            rows = self.session.fetch(
                "SELECT (SELECT count(hypopg_drop_index(o)) FROM unnest(%s::oid[]) AS o) AS n,"
                " ARRAY(SELECT h.indexrelid FROM unnest(%s::text[]) WITH ORDINALITY AS d(s, i),"
                " LATERAL hypopg_create_index(d.s) AS h ORDER BY d.i) AS oids",
                [[self._oids[key] for key in drop], statements],
            )
        except (psycopg.Error, DbarchError):
            rows = []
        oids = [int(o) for o in rows[0]["oids"]] if rows else []
        if rows and len(oids) == len(create):
            for key in drop:
                del self._oids[key]
            self._oids.update(zip(create, oids, strict=True))
            return
        # HypoPG refused one of them. Its hypothetical indexes are not transactional: drop
        # whatever the failed statement left behind, then go one index at a time.
        self.session.fetch(
            "SELECT hypopg_drop_index(indexrelid) FROM hypopg_list_indexes"
            " WHERE indexrelid <> ALL (%s::oid[])",
            [[self._oids[key] for key in sorted(set(self._oids) - set(drop))]],
        )
        for key in drop:
            del self._oids[key]
        for key in sorted(set(wanted) - set(self._oids)):
            statement = index_ddl(self.schema, wanted[key])
            try:
                rows = self.session.fetch(
                    "SELECT indexrelid FROM hypopg_create_index(%s)", [statement]
                )
            except (psycopg.Error, DbarchError) as exc:
                self.skipped[key] = f"HypoPG refused {statement}: {_reason(exc)}"
                continue
            if rows:
                self._oids[key] = int(rows[0]["indexrelid"])
            else:
                self.skipped[key] = f"HypoPG created nothing for {statement}"

    def _gin_ratio(self, sql: str, gin: dict[Key, Candidate]) -> float:
        cache_key = (sql, frozenset(gin))
        if cache_key in self._ratios:
            return self._ratios[cache_key]
        if self._gin is None:
            try:
                self._gin = _SampleCopy(self.session, self.schema)
            except (psycopg.Error, DbarchError, OSError) as exc:
                for key in gin:  # no scratch server here: GIN cannot be judged at all
                    self.skipped[key] = f"no scratch copy to judge GIN on: {_reason(exc)}"
                return 1.0
        copy = self._gin
        for key in sorted(gin):
            if key not in copy.built:
                error = copy.build(gin[key])
                if error is not None:
                    self.skipped[key] = error
                else:
                    self.builds += 1
        usable = sorted(k for k in gin if k in copy.built)
        ratio = 1.0
        if usable:
            try:
                ratio = copy.ratio(sql, usable)
            except (psycopg.Error, DbarchError) as exc:
                self.notes.append(f"GIN judged on the sample failed for a query: {_reason(exc)}")
        self._ratios[cache_key] = ratio
        return ratio

    def close(self) -> None:
        """Drop every hypothetical index we made and the sampled scratch copy."""
        try:
            for key in sorted(self._oids):
                self.session.fetch("SELECT hypopg_drop_index(%s)", [self._oids[key]])
        finally:
            self._oids.clear()
            if self._gin is not None:
                self._gin.close()
                self._gin = None


class _SampleCopy:
    """A scratch database holding samples of the user's tables, for real GIN builds."""

    def __init__(self, source: Session, schema: Schema) -> None:
        self.source = source
        self.schema = schema
        self.built: dict[Key, str] = {}  # candidate key → index name in the copy
        self.copied: dict[str, str | None] = {}  # table → None when copied, else the error
        self._stack = ExitStack()
        url = self._stack.enter_context(PostgresEngine().scratch())
        self.conn = self._stack.enter_context(psycopg.connect(conninfo(url), autocommit=True))
        self._prepare()

    def _prepare(self) -> None:
        for ext in self.schema.extensions:
            # Not installed here: candidates needing it are skipped with the build's reason.
            with contextlib.suppress(psycopg.Error):
                self.conn.execute(
                    pgsql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(
                        pgsql.Identifier(ext.name)
                    )
                )
        for ns in self.schema.namespaces:
            self.conn.execute(
                pgsql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(pgsql.Identifier(ns.name))
            )

    def ensure(self, qualified: str) -> str | None:
        """Copy a table's structure and a row sample once; None when done, else the error."""
        if qualified not in self.copied:
            try:
                self._copy(qualified)
                self.copied[qualified] = None
            except (psycopg.Error, DbarchError) as exc:
                self.copied[qualified] = f"cannot copy {qualified} to the sample: {_reason(exc)}"
        return self.copied[qualified]

    def _copy(self, qualified: str) -> None:
        table = find_table(self.schema, qualified)
        if table is None:
            raise InputError(f"{qualified} is not in the schema")
        plain = replace(
            table,
            columns=tuple(
                replace(c, default=None, identity=None, generated=None, inherited=False)
                for c in table.columns
            ),
            foreign_keys=(),
            checks=(),
            exclusions=(),
            triggers=(),
            policies=(),
            rls_enabled=False,
            rls_forced=False,
            partitioning=None,
            partition_of=None,
            partition_bound=None,
            inherits=(),
            depends_on=(),
            comment=None,
            indexes=tuple(i for i in table.indexes if i.parent is None),
        )
        script = ddl.render(
            Schema(
                dialect="postgres",
                enums=self.schema.enums,
                domains=self.schema.domains,
                collations=self.schema.collations,
                tables=(plain,),
            )
        )
        self.conn.execute(script.encode())
        columns = [c.name for c in table.columns]
        name = qname(table.schema, table.name)
        rows = self.source.fetch(
            "SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", [name]
        )
        total = float(rows[0]["reltuples"]) if rows and rows[0]["reltuples"] else 0.0
        sample = ""
        if total > SAMPLE_ROWS:
            pct = min(100.0, 150.0 * SAMPLE_ROWS / total)
            sample = f" TABLESAMPLE SYSTEM ({pct:.6f}) REPEATABLE (0)"
        select = ", ".join(f"{quote(c)}::text AS c{i}" for i, c in enumerate(columns))
        data = self.source.fetch(f"SELECT {select} FROM {name}{sample} LIMIT {SAMPLE_ROWS}")
        target = ", ".join(quote(c) for c in columns)
        with self.conn.cursor().copy(f"COPY {name} ({target}) FROM STDIN".encode()) as cp:
            for row in data:
                cp.write_row([row[f"c{i}"] for i in range(len(columns))])
        # A statistics target of 1,000 makes ANALYZE read up to 300,000 rows: the whole sample,
        # so the copy's statistics (and every cost taken on it) are the same on every run.
        self.conn.execute("SET default_statistics_target = 1000")
        self.conn.execute(f"ANALYZE {name}".encode())

    def build(self, candidate: Candidate) -> str | None:
        """Build a GIN candidate on the copy; None when built, else the reason."""
        error = self.ensure(candidate.table)
        if error is not None:
            return error
        name = f"dbarch_gin_{len(self.built)}"
        statement = index_ddl(self.schema, candidate, name)
        try:
            self.conn.execute(statement.encode())
        except psycopg.Error as exc:
            return f"cannot build {statement} on the sample: {_reason(exc)}"
        self.built[candidate.key] = name
        return None

    def ratio(self, sql: str, keep: Sequence[Key]) -> float:
        """cost(with only `keep` of our GIN indexes) / cost(with none of them)."""
        for qualified in self.tables_of(sql):
            error = self.ensure(qualified)
            if error is not None:
                raise InputError(error)
        with_gin = self._cost_without(sql, [k for k in self.built if k not in keep])
        without = self._cost_without(sql, list(self.built))
        return with_gin / without if without > 0 else 1.0

    def _cost_without(self, sql: str, drop: Sequence[Key]) -> float:
        with self.conn.transaction(force_rollback=True):
            for key in sorted(drop):
                schema_name = self._schema_of(key[0])
                self.conn.execute(
                    pgsql.SQL("DROP INDEX {}").format(
                        pgsql.Identifier(schema_name, self.built[key])
                    )
                )
            cur = self.conn.execute(("EXPLAIN (FORMAT JSON) " + sql).encode())
            row = cur.fetchone()
        if row is None:
            raise InputError("EXPLAIN returned nothing")
        return plan_cost([{"QUERY PLAN": row[0]}])

    def _schema_of(self, qualified: str) -> str:
        table = find_table(self.schema, qualified)
        return table.schema if table is not None else qualified.rpartition(".")[0] or "public"

    def tables_of(self, sql: str) -> list[str]:
        """The schema tables a statement names (unqualified names resolved to public first)."""
        try:
            tree = json.loads(pglast.parser.parse_sql_json(sql))
        except pglast.parser.ParseError:
            return []
        names: set[str] = set()
        _range_vars(tree, names)
        out = []
        for name in sorted(names):
            if "." in name:
                if find_table(self.schema, name) is not None:
                    out.append(name)
                continue
            matches = [t for t in self.schema.tables if t.name == name]
            matches.sort(key=lambda t: (t.schema != "public", t.schema))
            if matches:
                out.append(matches[0].qualified)
        return out

    def close(self) -> None:
        self._stack.close()


def _range_vars(node: object, out: set[str]) -> None:
    if isinstance(node, dict):
        rv = node.get("RangeVar")
        if isinstance(rv, dict) and "relname" in rv:
            out.add(
                f"{rv['schemaname']}.{rv['relname']}" if rv.get("schemaname") else rv["relname"]
            )
        for value in node.values():
            _range_vars(value, out)
    elif isinstance(node, list):
        for item in node:
            _range_vars(item, out)
