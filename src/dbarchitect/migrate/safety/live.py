"""`dbarch check --url`: what the live database adds to the static verdict.

Two things, both over a read-only session and single SELECT statements only:

1. the size and row count of every touched relation, so each hazard says how much it affects
   and roughly how long its rewrite or scan holds the lock (the blast radius);
2. the migration's assumptions, checked against the catalog and the rows: the objects it
   alters or drops exist, the names it creates are free, and the rows already in a table
   satisfy the constraint it adds (counted with a bounded SELECT built from the parsed
   constraint; the migration itself is never run).

The walk follows what the migration creates, drops and renames, so a statement on an object
made earlier in the run is judged against that, not against the database. Row checks run only
where the live rows are what the constraint will meet: not when the migration has already
written to the table (a backfill before SET NOT NULL is the usual, correct pattern).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pglast import ast

from dbarchitect.dialects.postgres.locks import qualify, walk
from dbarchitect.dialects.postgres.quoting import qname
from dbarchitect.engines.base import Session
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.migrate.safety.check import lock_name
from dbarchitect.migrate.safety.effects import Effect
from dbarchitect.migrate.safety.parse import MigrationFile, Statement
from dbarchitect.model.schema import Schema
from dbarchitect.review.finding import Finding

# Rough sustained throughputs of a server with decent storage, for duration estimates only:
# a rewrite copies the heap and rebuilds every index (write-bound), a validating scan or an
# index build's read pass is read-bound. Real figures vary by hardware and load tenfold.
REWRITE_BYTES_PER_SECOND = 100 * 1024 * 1024
SCAN_BYTES_PER_SECOND = 300 * 1024 * 1024

_TABLE_KINDS = ("r", "p", "m")

_RELATIONS = """SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
       c.reltuples::float8 AS reltuples, pg_relation_size(c.oid) AS bytes,
       pg_total_relation_size(c.oid) AS total
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname || '.' || c.relname = ANY(%s)"""

_COLUMNS = """SELECT n.nspname || '.' || c.relname AS rel, a.attname AS name
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE a.attnum > 0 AND NOT a.attisdropped AND n.nspname || '.' || c.relname = ANY(%s)
 ORDER BY 1, a.attnum"""

_CONSTRAINTS = """SELECT n.nspname || '.' || c.relname AS rel, k.conname AS name,
       k.contype::text AS type,
       ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY AS u(num, ord)
               JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.num
              ORDER BY u.ord)::text[] AS columns
  FROM pg_constraint k
  JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname || '.' || c.relname = ANY(%s)"""


@dataclass(frozen=True, slots=True)
class Relation:
    """One live relation: kind (pg_class.relkind), estimated rows, heap and total bytes."""

    name: str
    kind: str
    rows: float | None
    bytes: int
    total_bytes: int


@dataclass(slots=True)
class Catalog:
    """What the live database holds of the relations a migration touches."""

    relations: dict[str, Relation] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)
    constraints: dict[str, dict[str, tuple[str, list[str]]]] = field(default_factory=dict)

    def primary_key(self, table: str) -> list[str]:
        """The columns of `table`'s primary key; [] when it has none."""
        for kind, columns in self.constraints.get(table, {}).values():
            if kind == "p":
                return columns
        return []


def touched_names(migrations: Sequence[MigrationFile]) -> list[str]:
    """Every `schema.name` a migration mentions (relations, indexes, constraint-made indexes)."""
    names: set[str] = set()
    for migration in migrations:
        for stmt in migration.statements:
            for node in [stmt.node, *walk(stmt.node)]:
                names.update(_names_in(node))
    return sorted(names)


def _names_in(node: Any) -> list[str]:
    if isinstance(node, ast.RangeVar):
        return [qualify(node)]
    if isinstance(node, ast.DropStmt):
        return [_object_name(obj) for obj in node.objects or ()]
    if isinstance(node, ast.IndexStmt) and node.idxname and node.relation is not None:
        return [f"{node.relation.schemaname or 'public'}.{node.idxname}"]
    if isinstance(node, ast.RenameStmt) and node.relation is not None and node.newname:
        return [f"{node.relation.schemaname or 'public'}.{node.newname}"]
    if isinstance(node, ast.AlterTableStmt) and node.relation is not None:
        schema = node.relation.schemaname or "public"
        return [
            f"{schema}.{cmd.def_.conname}"
            for cmd in node.cmds or ()
            if isinstance(cmd.def_, ast.Constraint) and cmd.def_.conname
        ]
    return []


def _object_name(obj: Any) -> str:
    parts = [str(p.sval) for p in (obj if isinstance(obj, tuple) else (obj,))]
    return ".".join(parts) if len(parts) > 1 else f"public.{parts[0]}"


def read_catalog(session: Session, names: Sequence[str]) -> Catalog:
    """The live relations among `names`, with their columns, constraints, sizes and rows."""
    catalog = Catalog()
    wanted = list(names)
    for row in session.fetch(_RELATIONS, [wanted]):
        key = f"{row['schema']}.{row['name']}"
        rows = float(row["reltuples"])
        if rows < 0 and row["kind"] in _TABLE_KINDS:
            rows = _planner_rows(session, row["schema"], row["name"])
        catalog.relations[key] = Relation(
            key, str(row["kind"]), rows if rows >= 0 else None, int(row["bytes"]), int(row["total"])
        )
    for row in session.fetch(_COLUMNS, [wanted]):
        catalog.columns.setdefault(str(row["rel"]), []).append(str(row["name"]))
    for row in session.fetch(_CONSTRAINTS, [wanted]):
        per_table = catalog.constraints.setdefault(str(row["rel"]), {})
        per_table[str(row["name"])] = (str(row["type"]), [str(c) for c in row["columns"]])
    return catalog


def _planner_rows(session: Session, schema: str, name: str) -> float:
    """A never-analyzed table has reltuples -1: ask the planner, which estimates from its pages."""
    plan = session.fetch(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {qname(schema, name)}")
    value: Any = plan[0]["QUERY PLAN"] if plan else None
    try:
        return float(value[0]["Plan"]["Plan Rows"])
    except (TypeError, KeyError, IndexError, ValueError):
        return -1.0


# --- blast radius -------------------------------------------------------------------------


def human_rows(rows: float) -> str:
    """1234567 → '1.2M', 3400 → '3.4k', 12 → '12'."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if rows >= size:
            return f"{rows / size:.1f}{unit}"
    return str(round(rows))


def human_bytes(n: int) -> str:
    """Bytes as PostgreSQL's pg_size_pretty rounds them (kB, MB, GB, TB)."""
    value = float(n)
    for unit in ("bytes", "kB", "MB", "GB"):
        if value < 10 * 1024:
            return f"{round(value)} {unit}"
        value /= 1024
    return f"{round(value)} TB"


def human_seconds(seconds: float) -> str:
    """A rough duration: '<1 s', '~4 s', '~3 min', '~2.5 h'."""
    if seconds < 1:
        return "<1 s"
    if seconds < 120:
        return f"~{round(seconds)} s"
    if seconds < 7200:
        return f"~{round(seconds / 60)} min"
    return f"~{seconds / 3600:.1f} h"


def blast_radius(rel: Relation, effect: Effect | None) -> str:
    """`public.orders: ~1.2M rows, 340 MB; a rewrite at ~100 MB/s takes ~4 s under …`."""
    rows = "rows unknown" if rel.rows is None else f"~{human_rows(rel.rows)} rows"
    text = f"{rel.name}: {rows}, {human_bytes(rel.bytes)}"
    if effect is None:
        return text
    lock = effect.locks.get(rel.name)
    under = f" under {lock_name(lock)}" if lock else ""
    if rel.name in effect.rewrites:
        extra = (
            ""
            if rel.total_bytes == rel.bytes
            else f" ({human_bytes(rel.total_bytes)} with indexes)"
        )
        rate = REWRITE_BYTES_PER_SECOND
        secs = human_seconds(rel.total_bytes / rate)
        return f"{text}; a rewrite{extra} at ~{rate // 2**20} MB/s takes {secs}{under}"
    if rel.name in effect.scans:
        rate = SCAN_BYTES_PER_SECOND
        secs = human_seconds(rel.bytes / rate)
        return f"{text}; a scan at ~{rate // 2**20} MB/s takes {secs}{under}"
    return text


def with_blast_radius(
    findings: Sequence[Finding],
    predicted: Sequence[tuple[Statement, Effect]],
    catalog: Catalog,
) -> list[Finding]:
    """Each finding on a live table gets its size, rows and rough step duration appended."""
    effects = {(s.file, s.line): e for s, e in predicted}
    out = []
    for f in findings:
        rel = catalog.relations.get(f.object)
        if rel is None or rel.kind not in _TABLE_KINDS:
            out.append(f)
            continue
        radius = blast_radius(rel, effects.get((f.file or "", f.line or 0)))
        out.append(dataclasses.replace(f, message=f"{f.message} ({radius})"))
    return out


# --- entry point --------------------------------------------------------------------------


def live_check(
    migrations: Sequence[MigrationFile],
    findings: Sequence[Finding],
    url: DatabaseURL,
    *,
    schema: Schema | None,
    pg_version: int,
    volatility: Callable[[str], str] | None,
) -> list[Finding]:
    """The static `findings` with their blast radius, plus the assumption hazards.

    Reads the live database at `url` over a read-only session; never runs the migration.
    """
    from dbarchitect.engines.postgres import connect
    from dbarchitect.migrate.safety.assumptions import Assumptions
    from dbarchitect.migrate.safety.check import predict_statements

    predicted = predict_statements(
        migrations, schema=schema, pg_version=pg_version, volatility=volatility
    )
    with connect(url, read_only=True) as session:
        catalog = read_catalog(session, touched_names(migrations))
        assumed = Assumptions(catalog, session).walk(migrations)
    return with_blast_radius(findings, predicted, catalog) + assumed
