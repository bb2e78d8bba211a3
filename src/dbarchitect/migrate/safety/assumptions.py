"""A migration's assumptions about the live database, checked before it runs (`--url`).

Objects it alters or drops must exist, names it creates must be free, and rows already in a
table must satisfy a constraint it adds. Violations are counted by a bounded, read-only
SELECT built from the parsed constraint (`WHERE NOT (check)`, `IS NULL`, duplicate groups,
orphans via NOT EXISTS) under a short statement timeout; a query that fails or times out
proves nothing and yields no finding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from pglast import ast
from pglast.enums import AlterTableType as AT
from pglast.enums import ConstrType, ObjectType

from dbarchitect.dialects.postgres.locks import column_refs, qualify
from dbarchitect.dialects.postgres.quoting import quote
from dbarchitect.engines.base import Session
from dbarchitect.migrate.safety import plans
from dbarchitect.migrate.safety.hazards import HAZARDS, hazard_finding
from dbarchitect.migrate.safety.live import Catalog
from dbarchitect.migrate.safety.parse import MigrationFile, Statement
from dbarchitect.review.finding import Finding

# Counting stops here: "at least 1000 rows" is as useful as the exact figure, and cheaper.
VIOLATION_LIMIT = 1000
# Each counting query gives up after this long (the table may be large); no finding then.
COUNT_TIMEOUT = "10s"

_RELATION_DROPS = {
    ObjectType.OBJECT_TABLE: "table",
    ObjectType.OBJECT_INDEX: "index",
    ObjectType.OBJECT_VIEW: "view",
    ObjectType.OBJECT_MATVIEW: "materialized view",
}
_WRITES = (ast.UpdateStmt, ast.DeleteStmt, ast.InsertStmt, ast.CopyStmt)
_NEEDS_COLUMN = (
    AT.AT_AlterColumnType,
    AT.AT_SetNotNull,
    AT.AT_DropNotNull,
    AT.AT_ColumnDefault,
    AT.AT_SetStatistics,
    AT.AT_SetStorage,
)


def _rel_sql(key: str) -> str:
    schema, _, name = key.partition(".")
    return f"{quote(schema)}.{quote(name)}"


@dataclass(slots=True)
class _State:
    """The live catalog as the migration has changed it so far."""

    relations: dict[str, bool] = field(default_factory=dict)  # name → exists
    columns: dict[str, set[str]] = field(default_factory=dict)
    constraints: dict[str, set[str]] = field(default_factory=dict)
    written: set[str] = field(default_factory=set)  # rows changed (or table new) in the run
    not_valid: dict[tuple[str, str], Any] = field(default_factory=dict)  # added NOT VALID


class Assumptions:
    """Walks the migration against the live catalog and yields the assumption hazards."""

    def __init__(self, catalog: Catalog, session: Session) -> None:
        self.catalog = catalog
        self.session = session
        self.state = _State(
            relations={name: True for name in catalog.relations},
            columns={t: set(cols) for t, cols in catalog.columns.items()},
            constraints={t: set(cons) for t, cons in catalog.constraints.items()},
        )
        self.findings: list[Finding] = []

    def walk(self, migrations: Sequence[MigrationFile]) -> list[Finding]:
        """Every assumption hazard of `migrations`, in statement order."""
        for migration in migrations:
            for stmt in migration.statements:
                self._statement(stmt, stmt.node)
        return self.findings

    # --- helpers --------------------------------------------------------------------------

    def _emit(self, stmt: Statement, rule: str, obj: str, message: str, fix: str) -> None:
        found = hazard_finding(
            HAZARDS,
            rule,
            obj=obj,
            message=message,
            fix=fix,
            file=stmt.file,
            line=stmt.line,
            ignored=stmt.ignored,
        )
        if found is not None:
            self.findings.append(found)

    def _exists(self, name: str) -> bool:
        return self.state.relations.get(name, False)

    def _missing(self, stmt: Statement, what: str, name: str, obj: str) -> None:
        self._emit(
            stmt,
            "assumption-object-missing",
            obj,
            f"{what} {name} does not exist in the target database (nor is it created earlier "
            "in the migration): the statement fails",
            f"-- check the target database and earlier migrations; if {name} may be absent, "
            "add IF EXISTS",
        )

    def _taken(self, stmt: Statement, what: str, name: str, obj: str) -> None:
        self._emit(
            stmt,
            "assumption-name-taken",
            obj,
            f"{what} {name} already exists in the target database: the statement fails",
            f"-- choose another name, or add IF NOT EXISTS if the existing {what} is the one "
            "you want",
        )

    def _live_rows(self, table: str, columns: set[str]) -> bool:
        """The live rows are what the statement will meet, and a query on them can run."""
        live = set(self.catalog.columns.get(table, ()))
        return (
            table in self.catalog.relations
            and table not in self.state.written
            and (columns <= live)
        )

    def _count(self, query: str) -> int | None:
        """Rows matching a bounded count query; None when it fails or times out."""
        try:
            with self.session.transaction():
                self.session.fetch(
                    "SELECT set_config('statement_timeout', %s, true)", [COUNT_TIMEOUT]
                )
                rows = self.session.fetch(query)
        except psycopg.Error:
            return None
        return int(rows[0]["n"]) if rows else None

    def _violations(self, stmt: Statement, table: str, what: str, where: str, fix: str) -> None:
        n = self._count(
            f"SELECT count(*) AS n FROM (SELECT 1 FROM {where} LIMIT {VIOLATION_LIMIT}) AS v"
        )
        if not n:
            return
        many = "at least " if n >= VIOLATION_LIMIT else ""
        self._emit(
            stmt,
            "assumption-rows-violate-constraint",
            table,
            f"{many}{n} existing row{'s' if n != 1 else ''} of {table} {what}: the statement "
            "fails after scanning the table under its lock",
            fix,
        )

    # --- statements -----------------------------------------------------------------------

    def _statement(self, stmt: Statement, node: Any) -> None:
        if isinstance(node, ast.CreateStmt):
            name = qualify(node.relation)
            if not self._create_relation(stmt, name, bool(node.if_not_exists)):
                return  # it fails, or IF NOT EXISTS makes it a no-op: the old table stays
            self.state.columns[name] = {
                str(e.colname) for e in node.tableElts or () if isinstance(e, ast.ColumnDef)
            }
            self.state.constraints[name] = set()
        elif isinstance(node, ast.CreateTableAsStmt) and node.into is not None:
            self._create_relation(stmt, qualify(node.into.rel), bool(node.if_not_exists))
        elif isinstance(node, ast.ViewStmt) and not node.replace:
            self._create_relation(stmt, qualify(node.view), False)
        elif isinstance(node, ast.IndexStmt):
            self._index(stmt, node)
        elif isinstance(node, ast.DropStmt) and node.removeType in _RELATION_DROPS:
            self._drop(stmt, node)
        elif isinstance(node, ast.RenameStmt) and node.relation is not None:
            self._rename(stmt, node)
        elif isinstance(node, ast.AlterTableStmt) and node.objtype == ObjectType.OBJECT_TABLE:
            self._alter(stmt, node)
        elif isinstance(node, ast.AlterTableStmt) and node.objtype == ObjectType.OBJECT_INDEX:
            name = qualify(node.relation)
            if not self._exists(name) and not node.missing_ok:
                self._missing(stmt, "index", name, name)
        elif isinstance(node, _WRITES) and node.relation is not None:
            self.state.written.add(qualify(node.relation))

    def _create_relation(self, stmt: Statement, name: str, if_not_exists: bool) -> bool:
        """Whether the relation is really created (not already there)."""
        if self._exists(name):
            if not if_not_exists:
                self._taken(stmt, "relation", name, name)
            return False
        self.state.relations[name] = True
        self.state.written.add(name)
        return True

    def _index(self, stmt: Statement, node: Any) -> None:
        table = qualify(node.relation)
        if not self._exists(table):
            self._missing(stmt, "table", table, table)
        if node.idxname:
            name = f"{node.relation.schemaname or 'public'}.{node.idxname}"
            if self._exists(name) and not node.if_not_exists:
                self._taken(stmt, "relation", name, name)
            self.state.relations[name] = True
        if node.unique and all(e.name for e in node.indexParams or ()):
            columns = [str(e.name) for e in node.indexParams]
            partial = f" AND ({plans.sql(node.whereClause)})" if node.whereClause else ""
            self._duplicates(stmt, table, columns, bool(node.nulls_not_distinct), partial)

    def _drop(self, stmt: Statement, node: Any) -> None:
        what = _RELATION_DROPS[node.removeType]
        for obj in node.objects or ():
            parts = [str(p.sval) for p in (obj if isinstance(obj, tuple) else (obj,))]
            name = ".".join(parts) if len(parts) > 1 else f"public.{parts[0]}"
            if not self._exists(name) and not node.missing_ok:
                self._missing(stmt, what, name, name)
            self.state.relations[name] = False

    def _rename(self, stmt: Statement, node: Any) -> None:
        rel = qualify(node.relation)
        schema = node.relation.schemaname or "public"
        if not self._exists(rel):
            if not node.missing_ok:
                self._missing(stmt, "relation", rel, rel)
            return
        kind = node.renameType
        if kind == ObjectType.OBJECT_COLUMN:
            cols = self.state.columns.setdefault(rel, set())
            if node.subname not in cols:
                self._missing(stmt, "column", f"{rel}.{node.subname}", rel)
            elif node.newname in cols:
                self._taken(stmt, "column", f"{rel}.{node.newname}", rel)
            cols.discard(node.subname)
            cols.add(node.newname)
        elif kind == ObjectType.OBJECT_TABCONSTRAINT:
            cons = self.state.constraints.setdefault(rel, set())
            if node.subname not in cons:
                self._missing(stmt, "constraint", f"{node.subname} on {rel}", rel)
            cons.discard(node.subname)
            cons.add(node.newname)
        else:
            new = f"{schema}.{node.newname}"
            if self._exists(new):
                self._taken(stmt, "relation", new, rel)
            self.state.relations[rel] = False
            self.state.relations[new] = True
            for per_table in (self.state.columns, self.state.constraints):
                if rel in per_table:
                    per_table[new] = per_table.pop(rel)

    def _alter(self, stmt: Statement, node: Any) -> None:
        table = qualify(node.relation)
        if not self._exists(table):
            if not node.missing_ok:
                self._missing(stmt, "table", table, table)
            return
        cols = self.state.columns.setdefault(table, set())
        cons = self.state.constraints.setdefault(table, set())
        for cmd in node.cmds or ():
            sub = cmd.subtype
            if sub == AT.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
                self._add_column(stmt, table, cmd, cols)
            elif sub == AT.AT_DropColumn:
                if cmd.name not in cols and not cmd.missing_ok:
                    self._missing(stmt, "column", f"{table}.{cmd.name}", table)
                cols.discard(cmd.name)
            elif sub in _NEEDS_COLUMN and cmd.name:
                if cmd.name not in cols:
                    self._missing(stmt, "column", f"{table}.{cmd.name}", table)
                elif sub == AT.AT_SetNotNull and self._live_rows(table, {cmd.name}):
                    self._violations(
                        stmt,
                        table,
                        f"have {cmd.name} NULL, so SET NOT NULL",
                        f"{_rel_sql(table)} WHERE {quote(cmd.name)} IS NULL",
                        f"UPDATE {_rel_sql(table)} SET {quote(cmd.name)} = <value> WHERE "
                        f"{quote(cmd.name)} IS NULL;  -- in batches, before SET NOT NULL",
                    )
                if sub == AT.AT_AlterColumnType:
                    self.state.written.add(table)  # values converted: live rows no longer tell
            elif sub == AT.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
                self._add_constraint(stmt, table, cmd.def_, cons)
            elif sub == AT.AT_DropConstraint:
                if cmd.name not in cons and not cmd.missing_ok:
                    self._missing(stmt, "constraint", f"{cmd.name} on {table}", table)
                cons.discard(cmd.name)
            elif sub == AT.AT_ValidateConstraint:
                con = self.state.not_valid.pop((table, cmd.name), None)
                if con is not None:
                    self._constraint_rows(stmt, table, con)

    def _add_column(self, stmt: Statement, table: str, cmd: Any, cols: set[str]) -> None:
        col = cmd.def_
        name = str(col.colname)
        if name in cols and not cmd.missing_ok:
            self._taken(stmt, "column", f"{table}.{name}", table)
            return
        cols.add(name)
        constraints = [c.contype for c in col.constraints or ()]
        filled = {
            ConstrType.CONSTR_DEFAULT,
            ConstrType.CONSTR_IDENTITY,
            ConstrType.CONSTR_GENERATED,
        }
        not_null = (
            ConstrType.CONSTR_NOTNULL in constraints or ConstrType.CONSTR_PRIMARY in constraints
        )
        if not_null and not filled & set(constraints) and self._live_rows(table, set()):
            self._violations(
                stmt,
                table,
                f"would get NULL in the new NOT NULL column {name} (no default)",
                _rel_sql(table),
                f"ALTER TABLE {_rel_sql(table)} ADD COLUMN {quote(name)} "
                f"{plans.sql(col.typeName)} NOT NULL DEFAULT <value>;",
            )

    def _add_constraint(self, stmt: Statement, table: str, con: Any, cons: set[str]) -> None:
        if con.conname:
            if con.conname in cons:
                self._taken(stmt, "constraint", f"{con.conname} on {table}", table)
            cons.add(con.conname)
            index_like = (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY)
            if con.contype in index_like and con.indexname is None:
                name = f"{table.split('.', 1)[0]}.{con.conname}"
                if self._exists(name) and con.conname not in self.catalog.constraints.get(
                    table, {}
                ):
                    self._taken(stmt, "relation", name, table)
                self.state.relations[name] = True
        if con.contype == ConstrType.CONSTR_FOREIGN and con.pktable is not None:
            parent = qualify(con.pktable)
            if not self._exists(parent):
                self._missing(stmt, "referenced table", parent, table)
                return
        if con.skip_validation:
            if con.conname:
                self.state.not_valid[(table, con.conname)] = con
            return
        self._constraint_rows(stmt, table, con)

    def _constraint_rows(self, stmt: Statement, table: str, con: Any) -> None:
        kind = con.contype
        if kind == ConstrType.CONSTR_CHECK and con.raw_expr is not None:
            expr = plans.sql(con.raw_expr)
            if self._live_rows(table, column_refs(con.raw_expr)):
                self._violations(
                    stmt,
                    table,
                    f"fail CHECK ({expr})",
                    f"{_rel_sql(table)} WHERE NOT ({expr})",
                    f"SELECT * FROM {_rel_sql(table)} WHERE NOT ({expr});  -- fix these rows "
                    "first, or add the CHECK NOT VALID",
                )
        elif kind in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY) and not con.indexname:
            columns = [str(k.sval) for k in con.keys or ()]
            primary = kind == ConstrType.CONSTR_PRIMARY
            if primary and self._live_rows(table, set(columns)):
                nulls = " OR ".join(f"{quote(c)} IS NULL" for c in columns)
                self._violations(
                    stmt,
                    table,
                    "have NULL in the primary key columns",
                    f"{_rel_sql(table)} WHERE {nulls}",
                    f"SELECT * FROM {_rel_sql(table)} WHERE {nulls};  -- fill or remove these",
                )
            self._duplicates(stmt, table, columns, primary or bool(con.nulls_not_distinct), "")
        elif kind == ConstrType.CONSTR_FOREIGN and con.pktable is not None:
            self._orphans(stmt, table, con)

    def _duplicates(
        self, stmt: Statement, table: str, columns: list[str], nulls_equal: bool, partial: str
    ) -> None:
        if not columns or not self._live_rows(table, set(columns)):
            return
        keys = ", ".join(quote(c) for c in columns)
        where = "" if nulls_equal else " AND ".join(f"{quote(c)} IS NOT NULL" for c in columns)
        where = (where or "true") + partial
        self._violations(
            stmt,
            table,
            f"share a value of ({keys}) with another row (counted by duplicate group)",
            f"{_rel_sql(table)} WHERE {where} GROUP BY {keys} HAVING count(*) > 1",
            f"SELECT {keys}, count(*) FROM {_rel_sql(table)} GROUP BY {keys} "
            "HAVING count(*) > 1;  -- remove the duplicates first",
        )

    def _orphans(self, stmt: Statement, table: str, con: Any) -> None:
        parent = qualify(con.pktable)
        child_cols = [str(a.sval) for a in con.fk_attrs or ()]
        parent_cols = [str(a.sval) for a in con.pk_attrs or ()] or self.catalog.primary_key(parent)
        if len(child_cols) != len(parent_cols) or not child_cols:
            return
        if not self._live_rows(table, set(child_cols)) or not self._live_rows(
            parent, set(parent_cols)
        ):
            return
        present = " AND ".join(f"c.{quote(c)} IS NOT NULL" for c in child_cols)
        match = " AND ".join(
            f"p.{quote(pc)} = c.{quote(cc)}" for cc, pc in zip(child_cols, parent_cols, strict=True)
        )
        keys = ", ".join(quote(c) for c in child_cols)
        self._violations(
            stmt,
            table,
            f"reference ({keys}) values missing from {parent}",
            f"{_rel_sql(table)} AS c WHERE {present} AND NOT EXISTS "
            f"(SELECT 1 FROM {_rel_sql(parent)} AS p WHERE {match})",
            f"-- add the FOREIGN KEY NOT VALID, repair or delete the orphans in {table}, then "
            "VALIDATE CONSTRAINT",
        )
