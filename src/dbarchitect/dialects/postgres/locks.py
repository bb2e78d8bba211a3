"""PostgreSQL's lock knowledge: what one parsed statement will do, by server major version.

`predict(node, facts)` returns the `Effect` (locks per relation, rewrites, scans, whether it
may run in a transaction, data loss) and the hazards the statement raises, each with the
relation, the lock and the safe plan. What the statement does depends on what is known of the
schema at that point (column types, validated CHECKs, function volatility): `Facts` answers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from pglast import ast
from pglast.enums import AlterTableType as AT
from pglast.enums import BoolExprType, ConstrType, NullTestType, ObjectType, ReindexObjectType

from dbarchitect.migrate.safety import plans
from dbarchitect.migrate.safety.effects import STRENGTH, Effect
from dbarchitect.migrate.safety.typechange import TypeKey, rewrites, type_key

AE = "AccessExclusiveLock"
SUE = "ShareUpdateExclusiveLock"
SHARE = "ShareLock"
SRE = "ShareRowExclusiveLock"
RE = "RowExclusiveLock"
EXCL = "ExclusiveLock"


class Facts(Protocol):
    """What the analysis knows of the schema just before the statement runs."""

    pg_version: int
    timezone_utc: bool

    def volatility(self, function: str) -> str:
        """'i', 's' or 'v' for a function name; '' when unknown."""

    def column_type(self, table: str, column: str) -> TypeKey | None: ...

    def not_null_proven(self, table: str, column: str) -> bool:
        """A validated CHECK (column IS NOT NULL) exists."""

    def is_partitioned(self, table: str) -> bool: ...

    def index_table(self, index: str) -> str | None: ...

    def attach_proven(self, parent: str, partition: str) -> bool:
        """A validated CHECK on `partition` covers the parent's partition key."""

    def fk_parents(self, table: str) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class Concern:
    """A hazard raised by one statement on one relation."""

    hazard: str
    relation: str
    lock: str | None
    message: str
    fix: str


@dataclass(slots=True)
class Prediction:
    """A statement's predicted effect and the hazards it raises."""

    effect: Effect
    concerns: list[Concern] = field(default_factory=list)
    validates: list[tuple[str, str]] = field(default_factory=list)  # (table, constraint)


@dataclass(slots=True)
class _Acc:
    locks: dict[str, str] = field(default_factory=dict)
    rewrites: set[str] = field(default_factory=set)
    scans: set[str] = field(default_factory=set)
    in_transaction: bool = True
    data_loss: bool = False
    concerns: list[Concern] = field(default_factory=list)
    validates: list[tuple[str, str]] = field(default_factory=list)

    def lock(self, rel: str, mode: str) -> None:
        if rel not in self.locks or STRENGTH[mode] > STRENGTH[self.locks[rel]]:
            self.locks[rel] = mode

    def concern(self, hazard: str, rel: str, lock: str | None, what: str, fix: str) -> None:
        self.concerns.append(Concern(hazard, rel, lock, what, fix))

    def done(self) -> Prediction:
        effect = Effect(
            locks=dict(self.locks),
            rewrites=frozenset(self.rewrites),
            scans=frozenset(self.scans),
            in_transaction=self.in_transaction,
            data_loss=self.data_loss,
        )
        return Prediction(effect=effect, concerns=self.concerns, validates=self.validates)


def qualify(rv: Any) -> str:
    """`schema.name`, unqualified names taken as public (the usual search_path)."""
    return f"{rv.schemaname or 'public'}.{rv.relname}"


def qualify_names(names: Any) -> str:
    parts = [str(n.sval) for n in names]
    return ".".join(parts) if len(parts) > 1 else f"public.{parts[0]}"


def predict(node: Any, facts: Facts) -> Prediction:
    """The predicted effect of one statement and the hazards it raises."""
    acc = _Acc()
    handler = _HANDLERS.get(type(node))
    if handler is not None:
        handler(node, facts, acc)
    return acc.done()


# --- statements -----------------------------------------------------------------------------


def _index(node: Any, facts: Facts, acc: _Acc) -> None:
    table = qualify(node.relation)
    acc.scans.add(table)
    if node.concurrent:
        acc.lock(table, SUE)
        acc.in_transaction = False
        if facts.is_partitioned(table):
            acc.concern(
                "create-index-without-concurrently",
                table,
                None,
                f"CREATE INDEX CONCURRENTLY is refused on the partitioned table {table}",
                plans.partitioned_index(node, table),
            )
        return
    acc.lock(table, SHARE)
    if not node.relation.inh:
        return  # ON ONLY parent: an empty, invalid index; nothing is built
    if facts.is_partitioned(table):
        fix = plans.partitioned_index(node, table)
        what = f"CREATE INDEX builds the index on every partition of {table}"
    else:
        fix = plans.with_flag(node, "concurrent", True) + ";  -- outside a transaction block"
        what = f"CREATE INDEX builds the index on {table}"
    acc.concern("create-index-without-concurrently", table, SHARE, what, fix)


def _drop(node: Any, facts: Facts, acc: _Acc) -> None:
    kind = node.removeType
    for obj in node.objects:
        names = obj if isinstance(obj, tuple) else (obj,)
        name = qualify_names(list(names))
        if kind == ObjectType.OBJECT_INDEX:
            table = facts.index_table(name) or name
            if node.concurrent:
                acc.lock(table, SUE)
                acc.in_transaction = False
            else:
                acc.lock(table, AE)
                fix = plans.with_flag(node, "concurrent", True) + ";"
                acc.concern("drop-index-without-concurrently", table, AE, f"DROP INDEX {name}", fix)
        elif kind in (ObjectType.OBJECT_TABLE, ObjectType.OBJECT_MATVIEW):
            acc.lock(name, AE)
            for parent in facts.fk_parents(name):
                acc.lock(parent, AE)
            acc.data_loss = True
            if kind == ObjectType.OBJECT_TABLE:
                backup = f"CREATE TABLE {name}_backup AS TABLE {name};"
                acc.concern(
                    "drop-table",
                    name,
                    AE,
                    f"DROP TABLE {name} loses its data",
                    plans.data_loss(name, backup),
                )
        elif kind == ObjectType.OBJECT_SCHEMA:
            first: Any = names[0]
            schema = str(first.sval) if isinstance(first, ast.String) else str(first)
            acc.data_loss = True
            acc.concern(
                "drop-schema",
                schema,
                None,
                f"DROP SCHEMA {schema} loses every object in it",
                plans.data_loss(f"schema {schema}", f"pg_dump --schema={schema}"),
            )


def _reindex(node: Any, facts: Facts, acc: _Acc) -> None:
    concurrent = any(p.defname == "concurrently" for p in node.params or ())
    if node.relation is None:
        return  # REINDEX SCHEMA/DATABASE/SYSTEM: no single relation to name
    name = qualify(node.relation)
    table = name
    if node.kind == ReindexObjectType.REINDEX_OBJECT_INDEX:
        table = facts.index_table(name) or name
    if concurrent:
        acc.lock(table, SUE)
        acc.in_transaction = False
        return
    acc.lock(table, SHARE)
    acc.rewrites.add(name)
    kind = "INDEX" if node.kind == ReindexObjectType.REINDEX_OBJECT_INDEX else "TABLE"
    fix = f"REINDEX (CONCURRENTLY) {kind} {name};  -- outside a transaction block"
    acc.concern("reindex-without-concurrently", table, SHARE, f"REINDEX {kind} {name}", fix)


def _rename(node: Any, facts: Facts, acc: _Acc) -> None:
    if node.relation is None:
        return
    table = qualify(node.relation)
    if node.renameType == ObjectType.OBJECT_TABLE:
        acc.lock(table, AE)
        acc.concern(
            "rename-table",
            table,
            AE,
            f"renaming {table} to {node.newname} breaks clients using the old name",
            plans.rename_table(table, node.newname),
        )
    elif node.renameType == ObjectType.OBJECT_COLUMN:
        acc.lock(table, AE)
        acc.concern(
            "rename-column",
            table,
            AE,
            f"renaming {table}.{node.subname} to {node.newname} breaks clients using it",
            plans.rename_column(table, node.subname, node.newname),
        )
    else:
        acc.lock(table, AE)


def _truncate(node: Any, facts: Facts, acc: _Acc) -> None:
    acc.data_loss = True
    for rv in node.relations:
        table = qualify(rv)
        acc.lock(table, AE)
        backup = f"CREATE TABLE {table}_backup AS TABLE {table};"
        acc.concern(
            "truncate",
            table,
            AE,
            f"TRUNCATE deletes every row of {table}",
            plans.data_loss(f"the rows of {table}", backup),
        )


def _update_delete(node: Any, facts: Facts, acc: _Acc) -> None:
    table = qualify(node.relation)
    acc.lock(table, RE)
    if node.whereClause is None:
        acc.scans.add(table)
        verb = "UPDATE" if isinstance(node, ast.UpdateStmt) else "DELETE"
        acc.concern(
            "unbatched-update-or-delete",
            table,
            None,
            f"{verb} without WHERE locks every row of {table} until commit",
            plans.batched(plans.sql(node), table),
        )


def _refresh(node: Any, facts: Facts, acc: _Acc) -> None:
    view = qualify(node.relation)
    if node.concurrent:
        acc.lock(view, EXCL)
        return
    acc.lock(view, AE)
    acc.rewrites.add(view)
    fix = plans.with_flag(node, "concurrent", True) + ";  -- needs a unique index on the view"
    acc.concern(
        "refresh-materialized-view-without-concurrently",
        view,
        AE,
        f"REFRESH MATERIALIZED VIEW {view}",
        fix,
    )


def _vacuum(node: Any, facts: Facts, acc: _Acc) -> None:
    acc.in_transaction = False
    full = any(o.defname == "full" for o in node.options or ())
    for vr in node.rels or ():
        if vr.relation is None:
            continue
        table = qualify(vr.relation)
        if not full:
            acc.lock(table, SUE)
            continue
        _rewrite_under_lock(acc, "vacuum-full-or-cluster", table, f"VACUUM FULL {table}")


def _cluster(node: Any, facts: Facts, acc: _Acc) -> None:
    acc.in_transaction = node.relation is not None
    if node.relation is not None:
        table = qualify(node.relation)
        _rewrite_under_lock(acc, "vacuum-full-or-cluster", table, f"CLUSTER {table}")


def _rewrite_under_lock(acc: _Acc, hazard: str, table: str, what: str) -> None:
    acc.lock(table, AE)
    acc.rewrites.add(table)
    fix = f"VACUUM (ANALYZE) {table};  -- or repack online with pg_repack / pg_squeeze"
    acc.concern(hazard, table, AE, f"{what} rewrites the table", fix)


def _alter_enum(node: Any, facts: Facts, acc: _Acc) -> None:
    if node.newVal is not None and node.oldVal is None and facts.pg_version < 12:
        acc.in_transaction = False


def _create_table(node: Any, facts: Facts, acc: _Acc) -> None:
    table = qualify(node.relation)
    acc.lock(table, AE)
    for parent in node.inhRelations or ():
        # PARTITION OF locks the parent: AccessExclusive (ATTACH got a weaker lock, not this).
        acc.lock(qualify(parent), AE if node.partbound is not None else SUE)
    for element in node.tableElts or ():
        constraints = (
            element.constraints or ()
            if isinstance(element, ast.ColumnDef)
            else (element,)
            if isinstance(element, ast.Constraint)
            else ()
        )
        for con in constraints:
            if con.contype == ConstrType.CONSTR_FOREIGN and con.pktable is not None:
                acc.lock(qualify(con.pktable), SRE)


# --- ALTER TABLE ----------------------------------------------------------------------------


def _alter_table(node: Any, facts: Facts, acc: _Acc) -> None:
    if node.objtype == ObjectType.OBJECT_INDEX:
        acc.lock(qualify(node.relation), SUE)
        return
    table = qualify(node.relation)
    for cmd in node.cmds or ():
        _alter_cmd(node, cmd, table, facts, acc)


def _single(node: Any, cmd: Any) -> str:
    """The statement with only `cmd`, rendered."""
    return plans.with_flag(node, "cmds", (cmd,))


def _alter_cmd(node: Any, cmd: Any, table: str, facts: Facts, acc: _Acc) -> None:
    sub = cmd.subtype
    if sub == AT.AT_AddColumn:
        acc.lock(table, AE)
        _add_column(node, cmd, table, facts, acc)
    elif sub == AT.AT_DropColumn:
        acc.lock(table, AE)
        acc.data_loss = True
        backup = f"CREATE TABLE {table}_{cmd.name}_backup AS SELECT <key>, {cmd.name} FROM {table};"
        acc.concern(
            "drop-column",
            table,
            AE,
            f"DROP COLUMN {cmd.name} loses its data",
            plans.data_loss(f"{table}.{cmd.name}", backup),
        )
    elif sub == AT.AT_AlterColumnType:
        acc.lock(table, AE)
        _alter_type(cmd, table, facts, acc)
    elif sub == AT.AT_SetNotNull:
        acc.lock(table, AE)
        if facts.pg_version >= 12 and facts.not_null_proven(table, cmd.name):
            return
        acc.scans.add(table)
        acc.concern(
            "set-not-null-scans",
            table,
            AE,
            f"SET NOT NULL on {cmd.name} scans {table}",
            plans.set_not_null(table, cmd.name),
        )
    elif sub == AT.AT_AddConstraint:
        _add_constraint(node, cmd, cmd.def_, table, facts, acc)
    elif sub == AT.AT_ValidateConstraint:
        acc.lock(table, SUE)
        acc.scans.add(table)
        acc.validates.append((table, cmd.name))
    elif sub in (AT.AT_SetLogged, AT.AT_SetUnLogged):
        word = "SET LOGGED" if sub == AT.AT_SetLogged else "SET UNLOGGED"
        acc.lock(table, AE)
        acc.rewrites.add(table)
        acc.concern(
            "set-logged-or-unlogged",
            table,
            AE,
            f"{word} rewrites {table}",
            plans.with_lock_timeout(_single(node, cmd)) + "  -- in a maintenance window",
        )
    elif sub == AT.AT_AttachPartition:
        _attach(node, cmd, table, facts, acc)
    elif sub == AT.AT_DetachPartition:
        part = qualify(cmd.def_.name)
        if cmd.def_.concurrent:
            acc.lock(table, SUE)
            acc.lock(part, SUE)
            acc.in_transaction = False
            return
        acc.lock(table, AE)
        acc.lock(part, AE)
        if facts.pg_version >= 14:
            fix = plans.outside_transaction(_detach_concurrently(node, cmd))
            acc.concern(
                "detach-partition-without-concurrently", table, AE, f"DETACH PARTITION {part}", fix
            )
    elif sub == AT.AT_DetachPartitionFinalize:
        acc.lock(table, SUE)
        acc.in_transaction = False
    elif sub in (AT.AT_SetStatistics, AT.AT_ClusterOn, AT.AT_DropCluster, AT.AT_SetRelOptions):
        acc.lock(table, SUE)
    elif sub == AT.AT_SetTableSpace:
        acc.lock(table, AE)
        acc.rewrites.add(table)
    elif sub == AT.AT_DropConstraint:
        acc.lock(table, AE)
        for parent in facts.fk_parents(table):
            acc.lock(parent, AE)
    else:
        acc.lock(table, AE)


def _detach_concurrently(node: Any, cmd: Any) -> str:
    old = cmd.def_.concurrent
    cmd.def_.concurrent = True
    try:
        return _single(node, cmd)
    finally:
        cmd.def_.concurrent = old


def _add_column(node: Any, cmd: Any, table: str, facts: Facts, acc: _Acc) -> None:
    col: Any = cmd.def_
    name = col.colname
    type_name = plans.sql(col.typeName) if col.typeName is not None else "…"
    base = col.typeName.names[-1].sval if col.typeName is not None else ""
    default: Any = col.raw_default
    cons = list(col.constraints or ())
    for con in cons:
        if con.contype == ConstrType.CONSTR_DEFAULT:
            default = con.raw_expr
    if base in ("smallserial", "serial", "bigserial", "serial2", "serial4", "serial8"):
        acc.rewrites.add(table)
        acc.concern(
            "add-column-serial-or-identity",
            table,
            AE,
            f"ADD COLUMN {name} {base} fills every row, rewriting {table}",
            plans.serial_column(table, name, base),
        )
    for con in cons:
        kind = con.contype
        if kind == ConstrType.CONSTR_IDENTITY:
            acc.rewrites.add(table)
            acc.concern(
                "add-column-serial-or-identity",
                table,
                AE,
                f"ADD COLUMN {name} … GENERATED AS IDENTITY fills every row, rewriting {table}",
                plans.serial_column(table, name, type_name),
            )
        elif kind == ConstrType.CONSTR_GENERATED:
            acc.rewrites.add(table)
            acc.concern(
                "add-stored-generated-column",
                table,
                AE,
                f"ADD COLUMN {name} … STORED computes every row, rewriting {table}",
                plans.generated_column(table, name, type_name, plans.sql(con.raw_expr)),
            )
        elif kind == ConstrType.CONSTR_CHECK and not con.skip_validation:
            acc.scans.add(table)
            add = plans.sql(node).replace(plans.sql(con), plans.sql(con) + " NOT VALID")
            acc.concern(
                "add-check-validates",
                table,
                AE,
                f"the inline CHECK on new column {name} scans {table}",
                plans.not_valid_then_validate(table, add, con.conname or f"<{name} check>"),
            )
        elif kind == ConstrType.CONSTR_FOREIGN and default is not None:
            parent = qualify(con.pktable)
            acc.lock(parent, SRE)
            acc.scans.add(table)
            acc.concern(
                "add-foreign-key-validates",
                table,
                SRE,
                f"the new column {name} has a default, so its REFERENCES {parent} is validated "
                f"by scanning {table}",
                f"-- add {name} without the default, or add the FOREIGN KEY NOT VALID and "
                f"VALIDATE it in a separate transaction",
            )
        elif kind == ConstrType.CONSTR_FOREIGN:
            acc.lock(qualify(con.pktable), SRE)
        elif kind in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY):
            acc.scans.add(table)
            primary = kind == ConstrType.CONSTR_PRIMARY
            acc.concern(
                "add-unique-constraint-builds-index",
                table,
                AE,
                f"ADD COLUMN {name} … {'PRIMARY KEY' if primary else 'UNIQUE'} builds an index "
                f"on {table}",
                plans.unique_using_index(
                    table, f"{table.split('.')[-1]}_{name}_key", [name], primary
                ),
            )
    if default is not None and _volatile(default, facts):
        acc.rewrites.add(table)
        expr = plans.sql(default)
        acc.concern(
            "add-column-volatile-default",
            table,
            AE,
            f"ADD COLUMN {name} with the volatile default {expr} rewrites {table}",
            plans.volatile_default(table, name, type_name, expr),
        )


def _volatile(expr: ast.Node, facts: Facts) -> bool:
    """Any function call in `expr` that pg_proc says is volatile."""
    for sub in _walk(expr):
        if isinstance(sub, ast.FuncCall):
            call: Any = sub
            name = ".".join(str(s.sval) for s in call.funcname if s.sval != "pg_catalog")
            if facts.volatility(name) == "v":
                return True
    return False


def _walk(node: object) -> list[ast.Node]:
    """Every AST node under `node`, itself included (depth first)."""
    out: list[ast.Node] = []
    stack: list[object] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple | list):
            stack.extend(item)
        elif isinstance(item, ast.Node):
            out.append(item)
            stack.extend(getattr(item, slot) for slot in getattr(item, "__slots__", ()))
    return out


def walk(node: object) -> list[ast.Node]:
    """Every AST node under `node` (public for the checker's own scans of the tree)."""
    return _walk(node)


def _alter_type(cmd: Any, table: str, facts: Facts, acc: _Acc) -> None:
    col: Any = cmd.def_
    new = type_key(col.typeName)
    old = facts.column_type(table, cmd.name)
    verdict = rewrites(
        old,
        new,
        using=col.raw_default is not None,
        utc=facts.timezone_utc,
        pg_version=facts.pg_version,
    )
    if verdict is False:
        return
    acc.rewrites.add(table)
    new_text = plans.sql(col.typeName)
    why = "" if verdict else " (its current type is unknown: pass --schema or --url)"
    acc.concern(
        "column-type-rewrite",
        table,
        AE,
        f"ALTER COLUMN {cmd.name} TYPE {new_text} rewrites {table} and its indexes{why}",
        plans.type_change(table, cmd.name, new_text),
    )


def _add_constraint(
    node: Any,
    cmd: Any,
    con: Any,
    table: str,
    facts: Facts,
    acc: _Acc,
) -> None:
    kind = con.contype
    name = con.conname
    if kind == ConstrType.CONSTR_FOREIGN:
        parent = qualify(con.pktable)
        acc.lock(table, SRE)
        acc.lock(parent, SRE)
        if con.skip_validation:
            return
        acc.scans.add(table)
        cols = "_".join(s.sval for s in con.fk_attrs or ())
        name = name or f"{table.split('.')[-1]}_{cols}_fkey"
        add = _not_valid(node, cmd, con)
        acc.concern(
            "add-foreign-key-validates",
            table,
            SRE,
            f"ADD FOREIGN KEY validates every row of {table} (and locks {parent} too)",
            plans.not_valid_then_validate(table, add, name),
        )
        return
    acc.lock(table, AE)
    if kind == ConstrType.CONSTR_CHECK:
        if con.skip_validation:
            return
        acc.scans.add(table)
        name = name or f"{table.split('.')[-1]}_check"
        acc.concern(
            "add-check-validates",
            table,
            AE,
            f"ADD CHECK scans {table}",
            plans.not_valid_then_validate(table, _not_valid(node, cmd, con), name),
        )
    elif kind in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY):
        if con.indexname:
            return  # USING INDEX: the index is already built
        acc.scans.add(table)
        keys: list[str] = [str(s.sval) for s in con.keys or ()]
        primary = kind == ConstrType.CONSTR_PRIMARY
        suffix = "pkey" if primary else "key"
        name = name or f"{table.split('.')[-1]}_{'_'.join(keys)}_{suffix}"
        acc.concern(
            "add-unique-constraint-builds-index",
            table,
            AE,
            f"ADD {'PRIMARY KEY' if primary else 'UNIQUE'} builds its index on {table}",
            plans.unique_using_index(table, name, keys, primary),
        )
    elif kind == ConstrType.CONSTR_EXCLUSION:
        acc.scans.add(table)
        acc.concern(
            "add-exclusion-constraint",
            table,
            AE,
            f"ADD EXCLUDE builds its index and checks every row of {table}",
            plans.with_lock_timeout(_single(node, cmd)) + "  -- in a maintenance window",
        )


def _not_valid(node: Any, cmd: Any, con: Any) -> str:
    old = con.skip_validation, con.initially_valid
    con.skip_validation, con.initially_valid = True, False
    try:
        return _single(node, cmd)
    finally:
        con.skip_validation, con.initially_valid = old


def _attach(node: Any, cmd: Any, table: str, facts: Facts, acc: _Acc) -> None:
    part = qualify(cmd.def_.name)
    acc.lock(table, SUE if facts.pg_version >= 12 else AE)
    acc.lock(part, AE)
    if facts.attach_proven(table, part):
        return
    acc.scans.add(part)
    bounds = plans.sql(cmd.def_.bound) if cmd.def_.bound is not None else "…"
    acc.concern(
        "attach-partition-scans",
        part,
        AE,
        f"ATTACH PARTITION scans {part} to check every row fits {bounds}",
        plans.attach_partition(
            table, part, "<partition key within the bounds>", _single(node, cmd)
        ),
    )


def _nothing(node: Any, facts: Facts, acc: _Acc) -> None:
    return None


_HANDLERS = {
    ast.IndexStmt: _index,
    ast.DropStmt: _drop,
    ast.ReindexStmt: _reindex,
    ast.RenameStmt: _rename,
    ast.TruncateStmt: _truncate,
    ast.UpdateStmt: _update_delete,
    ast.DeleteStmt: _update_delete,
    ast.RefreshMatViewStmt: _refresh,
    ast.VacuumStmt: _vacuum,
    ast.ClusterStmt: _cluster,
    ast.AlterEnumStmt: _alter_enum,
    ast.CreateStmt: _create_table,
    ast.AlterTableStmt: _alter_table,
}


def column_refs(expr: Any) -> set[str]:
    """The column names `expr` refers to (last part of each column reference)."""
    out: set[str] = set()
    for n in _walk(expr):
        ref: Any = n
        if isinstance(n, ast.ColumnRef) and isinstance(ref.fields[-1], ast.String):
            out.add(str(ref.fields[-1].sval))
    return out


def is_null_test_on(expr: Any, column: str) -> bool:
    """`expr` is (or ANDs in) `column IS NOT NULL`."""
    if isinstance(expr, ast.NullTest):
        return expr.nulltesttype == NullTestType.IS_NOT_NULL and column_refs(expr.arg) == {column}
    if isinstance(expr, ast.BoolExpr) and expr.boolop == BoolExprType.AND_EXPR:
        return any(is_null_test_on(a, column) for a in expr.args or ())
    return False
