"""PostgreSQL's lock knowledge: what one parsed statement will do, by server major version.

`predict(node, facts)` returns the `Effect` (locks per relation, rewrites, scans, whether it
may run in a transaction, data loss) and the hazards the statement raises, each with the
relation, the lock and the safe plan. What the statement does depends on what is known of the
schema at that point (column types, validated CHECKs, function volatility): `Facts` answers.
"""

from __future__ import annotations

from typing import Any

from pglast import ast
from pglast.enums import BoolExprType, ConstrType, NullTestType, ObjectType, ReindexObjectType

from dbarchitect.dialects.postgres.locks_alter import alter_table, walk
from dbarchitect.dialects.postgres.locks_base import (
    AE,
    EXCL,
    RE,
    SHARE,
    SRE,
    SUE,
    Acc,
    Concern,
    Facts,
    Prediction,
    qualify,
    qualify_names,
)
from dbarchitect.migrate.safety import plans

__all__ = ["Concern", "Facts", "Prediction", "predict", "qualify", "qualify_names", "walk"]


def predict(node: Any, facts: Facts) -> Prediction:
    """The predicted effect of one statement and the hazards it raises."""
    acc = Acc()
    handler = _HANDLERS.get(type(node))
    if handler is not None:
        handler(node, facts, acc)
    return acc.done()


# --- statements -----------------------------------------------------------------------------


def _index(node: Any, facts: Facts, acc: Acc) -> None:
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


def _drop(node: Any, facts: Facts, acc: Acc) -> None:
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


def _reindex(node: Any, facts: Facts, acc: Acc) -> None:
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


def _rename(node: Any, facts: Facts, acc: Acc) -> None:
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


def _truncate(node: Any, facts: Facts, acc: Acc) -> None:
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


def _update_delete(node: Any, facts: Facts, acc: Acc) -> None:
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


def _refresh(node: Any, facts: Facts, acc: Acc) -> None:
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


def _vacuum(node: Any, facts: Facts, acc: Acc) -> None:
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


def _cluster(node: Any, facts: Facts, acc: Acc) -> None:
    acc.in_transaction = node.relation is not None
    if node.relation is not None:
        table = qualify(node.relation)
        _rewrite_under_lock(acc, "vacuum-full-or-cluster", table, f"CLUSTER {table}")


def _rewrite_under_lock(acc: Acc, hazard: str, table: str, what: str) -> None:
    acc.lock(table, AE)
    acc.rewrites.add(table)
    fix = f"VACUUM (ANALYZE) {table};  -- or repack online with pg_repack / pg_squeeze"
    acc.concern(hazard, table, AE, f"{what} rewrites the table", fix)


def _alter_enum(node: Any, facts: Facts, acc: Acc) -> None:
    if node.newVal is not None and node.oldVal is None and facts.pg_version < 12:
        acc.in_transaction = False


def _create_table(node: Any, facts: Facts, acc: Acc) -> None:
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


def _nothing(node: Any, facts: Facts, acc: Acc) -> None:
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
    ast.AlterTableStmt: alter_table,
}


def column_refs(expr: Any) -> set[str]:
    """The column names `expr` refers to (last part of each column reference)."""
    out: set[str] = set()
    for n in walk(expr):
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
