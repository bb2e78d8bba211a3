"""The schema as a migration changes it, statement by statement.

It starts from the known Schema (from --schema or --url, or nothing) and follows what the
migration creates, alters and drops, so the lock knowledge can ask the questions that decide
safety: is this table new, what type does this column have, is there a validated CHECK
(col IS NOT NULL), is this table partitioned, how volatile is this function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pglast
from pglast import ast
from pglast.enums import AlterTableType as AT
from pglast.enums import ConstrType, ObjectType

from dbarchitect.dialects.postgres.locks import column_refs, is_null_test_on, qualify, qualify_names
from dbarchitect.migrate.safety.typechange import TypeKey, parse_type, type_key
from dbarchitect.model.schema import Schema, Table

_VOLATILITY = {"immutable": "i", "stable": "s", "volatile": "v"}


@dataclass(slots=True)
class Check:
    """A CHECK constraint: its parsed expression (None when unparsable) and whether validated."""

    expr: Any
    validated: bool


@dataclass(slots=True)
class TableState:
    columns: dict[str, TypeKey | None] = field(default_factory=dict)
    checks: dict[str, Check] = field(default_factory=dict)
    foreign_keys: dict[str, str] = field(default_factory=dict)  # constraint → parent table
    partition_key: list[str] | None = None  # None: not partitioned
    new: bool = False


def _expr(text: str) -> ast.Node | None:
    try:
        stmt = pglast.parse_sql(f"SELECT 1 WHERE {text}")[0].stmt
    except pglast.parser.ParseError:
        return None
    return stmt.whereClause if isinstance(stmt, ast.SelectStmt) else None


def _from_model(table: Table) -> TableState:
    state = TableState(
        columns={c.name: parse_type(c.type) for c in table.columns},
        checks={c.name: Check(_expr(c.expression), not c.not_valid) for c in table.checks},
        foreign_keys={
            fk.name: f"{fk.ref_schema or 'public'}.{fk.ref_table}" for fk in table.foreign_keys
        },
    )
    if table.partitioning is not None:
        key = _expr(f"ROW({table.partitioning.key})") if table.partitioning.key else None
        state.partition_key = sorted(column_refs(key))
    return state


class SchemaState:
    """The running schema; answers the `Facts` questions of the lock knowledge."""

    def __init__(
        self,
        schema: Schema | None,
        *,
        pg_version: int,
        volatility: Callable[[str], str],
    ) -> None:
        self.pg_version = pg_version
        self.timezone_utc = True
        self._schema = schema
        self._tables: dict[str, TableState | None] = {}
        self._indexes: dict[str, str] = {}
        self._functions: dict[str, str] = {}
        self._catalog = volatility
        self.new_schemas: set[str] = set()
        if schema is not None:
            for t in schema.tables:
                for index in t.indexes:
                    self._indexes[f"{t.schema}.{index.name}"] = t.qualified
            for f in schema.functions:
                self._functions.setdefault(f.name, _VOLATILITY[f.volatility])
                self._functions[f"{f.schema}.{f.name}"] = _VOLATILITY[f.volatility]

    # --- Facts -----------------------------------------------------------------------------

    def table(self, name: str) -> TableState | None:
        """What is known of `name`; None when it is not known (an existing, unseen table)."""
        if name not in self._tables:
            model = self._schema.table(name) if self._schema is not None else None
            self._tables[name] = _from_model(model) if model is not None else None
        return self._tables[name]

    def is_new(self, name: str) -> bool:
        """Created by the migration file being checked: empty, nobody uses it yet."""
        t = self.table(name)
        return (t is not None and t.new) or name.split(".", 1)[0] in self.new_schemas

    def volatility(self, function: str) -> str:
        if function in self._functions:
            return self._functions[function]
        bare = function.rsplit(".", 1)[-1]
        return self._functions.get(bare) or self._catalog(bare)

    def column_type(self, table: str, column: str) -> TypeKey | None:
        t = self.table(table)
        return t.columns.get(column) if t is not None else None

    def not_null_proven(self, table: str, column: str) -> bool:
        t = self.table(table)
        return t is not None and any(
            c.validated and c.expr is not None and is_null_test_on(c.expr, column)
            for c in t.checks.values()
        )

    def is_partitioned(self, table: str) -> bool:
        t = self.table(table)
        return t is not None and t.partition_key is not None

    def index_table(self, index: str) -> str | None:
        return self._indexes.get(index)

    def attach_proven(self, parent: str, partition: str) -> bool:
        t, p = self.table(partition), self.table(parent)
        if t is None:
            return False
        key = set(p.partition_key or ()) if p is not None else set()
        for check in t.checks.values():
            if not check.validated or check.expr is None:
                continue
            used = column_refs(check.expr)
            if used and (not key or key <= used):
                return True
        return False

    def fk_parents(self, table: str) -> list[str]:
        t = self.table(table)
        return sorted(set(t.foreign_keys.values())) if t is not None else []

    def constraint_kind(self, table: str, name: str) -> str:
        """'foreign key' or 'check' (the default when unknown)."""
        t = self.table(table)
        return "foreign key" if t is not None and name in t.foreign_keys else "check"

    # --- following the migration -----------------------------------------------------------

    def forget_new(self) -> None:
        """A new migration file starts: what earlier files created now exists with data."""
        for t in self._tables.values():
            if t is not None:
                t.new = False
        self.new_schemas.clear()

    def apply(self, node: ast.Node) -> None:
        """Record what `node` changes in the schema."""
        if isinstance(node, ast.CreateStmt):
            self._create(node)
        elif isinstance(node, ast.CreateTableAsStmt) and node.into is not None:
            self._tables[qualify(node.into.rel)] = TableState(new=True)
        elif isinstance(node, ast.ViewStmt):
            self._tables[qualify(node.view)] = TableState(new=True)
        elif isinstance(node, ast.CreateSchemaStmt) and node.schemaname:
            self.new_schemas.add(node.schemaname)
        elif isinstance(node, ast.IndexStmt) and node.idxname:
            self._index(node)
        elif isinstance(node, ast.CreateFunctionStmt):
            self._function(node)
        elif isinstance(node, ast.DropStmt) and node.removeType == ObjectType.OBJECT_TABLE:
            self._drop(node)
        elif isinstance(node, ast.RenameStmt):
            self._rename(node)
        elif isinstance(node, ast.AlterTableStmt) and node.objtype == ObjectType.OBJECT_TABLE:
            name = qualify(node.relation)
            t = self.table(name)
            if t is None:  # an existing table we know nothing of: start learning about it
                t = self._tables[name] = TableState()
            for cmd in node.cmds or ():
                self._alter(t, name, cmd)
        elif isinstance(node, ast.VariableSetStmt) and node.name == "timezone":
            self._timezone(node)

    def _index(self, node: Any) -> None:
        schema = node.relation.schemaname or "public"
        self._indexes[f"{schema}.{node.idxname}"] = qualify(node.relation)

    def _drop(self, node: Any) -> None:
        for obj in node.objects:
            self._tables.pop(qualify_names(list(obj)), None)

    def _timezone(self, node: Any) -> None:
        values = [getattr(a.val, "sval", "") for a in node.args or () if isinstance(a, ast.A_Const)]
        self.timezone_utc = not values or str(values[0]).upper() in ("UTC", "ETC/UTC", "Z")

    def _create(self, node: Any) -> None:
        name = qualify(node.relation)
        state = TableState(new=True)
        for el in node.tableElts or ():
            if isinstance(el, ast.ColumnDef) and el.colname:
                state.columns[el.colname] = (
                    type_key(el.typeName) if el.typeName is not None else None
                )
                for con in el.constraints or ():
                    self._constraint(state, name, con)
            elif isinstance(el, ast.Constraint):
                self._constraint(state, name, el)
        if node.partspec is not None:
            state.partition_key = [
                p.name for p in node.partspec.partParams or () if getattr(p, "name", None)
            ]
        self._tables[name] = state

    def _constraint(self, t: TableState, table: str, con: Any) -> None:
        short = table.split(".")[-1]
        if con.contype == ConstrType.CONSTR_CHECK:
            t.checks[con.conname or f"{short}_check{len(t.checks)}"] = Check(
                con.raw_expr, not con.skip_validation
            )
        elif con.contype == ConstrType.CONSTR_FOREIGN and con.pktable is not None:
            t.foreign_keys[con.conname or f"{short}_fkey{len(t.foreign_keys)}"] = qualify(
                con.pktable
            )

    def _alter(self, t: TableState, table: str, cmd: Any) -> None:
        sub = cmd.subtype
        if sub == AT.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
            col = cmd.def_
            t.columns[str(col.colname)] = type_key(col.typeName) if col.typeName else None
            for con in col.constraints or ():
                self._constraint(t, table, con)
        elif sub == AT.AT_DropColumn and cmd.name:
            t.columns.pop(cmd.name, None)
        elif sub == AT.AT_AlterColumnType and isinstance(cmd.def_, ast.ColumnDef):
            t.columns[cmd.name] = type_key(cmd.def_.typeName)
        elif sub == AT.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
            self._constraint(t, table, cmd.def_)
        elif sub == AT.AT_ValidateConstraint and cmd.name in t.checks:
            t.checks[cmd.name].validated = True
        elif sub == AT.AT_DropConstraint and cmd.name:
            t.checks.pop(cmd.name, None)
            t.foreign_keys.pop(cmd.name, None)

    def _rename(self, node: Any) -> None:
        if node.relation is None:
            return
        old = qualify(node.relation)
        t = self.table(old)
        if t is None:
            return
        if node.renameType == ObjectType.OBJECT_TABLE:
            self._tables[f"{old.split('.')[0]}.{node.newname}"] = self._tables.pop(old)
        elif node.renameType == ObjectType.OBJECT_COLUMN and node.subname in t.columns:
            t.columns[node.newname] = t.columns.pop(node.subname)

    def _function(self, node: Any) -> None:
        vol = "v"
        for opt in node.options or ():
            arg: Any = opt.arg
            if opt.defname == "volatility" and isinstance(arg, ast.String):
                vol = _VOLATILITY.get(str(arg.sval), "v")
        names = [s.sval for s in node.funcname]
        self._functions[names[-1]] = vol
        self._functions[".".join(names)] = vol
