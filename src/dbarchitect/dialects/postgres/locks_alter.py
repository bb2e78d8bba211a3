"""Lock knowledge for ALTER TABLE: each subcommand's locks, rewrites, scans and hazards."""

from __future__ import annotations

from typing import Any

from pglast import ast
from pglast.enums import AlterTableType as AT
from pglast.enums import ConstrType, ObjectType

from dbarchitect.dialects.postgres.locks_base import AE, SRE, SUE, Acc, Facts, qualify
from dbarchitect.migrate.safety import plans
from dbarchitect.migrate.safety.typechange import rewrites, type_key


def alter_table(node: Any, facts: Facts, acc: Acc) -> None:
    if node.objtype == ObjectType.OBJECT_INDEX:
        acc.lock(qualify(node.relation), SUE)
        return
    table = qualify(node.relation)
    for cmd in node.cmds or ():
        _alter_cmd(node, cmd, table, facts, acc)


def _single(node: Any, cmd: Any) -> str:
    """The statement with only `cmd`, rendered."""
    return plans.with_flag(node, "cmds", (cmd,))


def _alter_cmd(node: Any, cmd: Any, table: str, facts: Facts, acc: Acc) -> None:
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


def _add_column(node: Any, cmd: Any, table: str, facts: Facts, acc: Acc) -> None:
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


def _alter_type(cmd: Any, table: str, facts: Facts, acc: Acc) -> None:
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
    acc: Acc,
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


def _attach(node: Any, cmd: Any, table: str, facts: Facts, acc: Acc) -> None:
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
