"""The safe multi-step SQL plan offered as the fix of each migration hazard.

Statements are rendered from the parsed AST (pglast's deparser), so the plan names the
user's own objects; only the surrounding steps are templates.
"""

from __future__ import annotations

from typing import Any

from pglast import ast
from pglast.stream import RawStream

from dbarchitect.dialects.postgres.quoting import literal, qname, quote
from dbarchitect.migrate.safety.hazards import LOCK_TIMEOUT

SEPARATE = "-- in a separate transaction (COMMIT first):"


def _rel(key: str) -> str:
    """A relation key (`schema.name`, unquoted) as SQL, quoted where PostgreSQL needs it."""
    schema, _, name = key.partition(".")
    return qname(schema, name) if name else quote(schema)


def _id(name: str) -> str:
    """An identifier as SQL; `<placeholders>` for the user to fill stay as they are."""
    return name if name.startswith("<") else quote(name)


def sql(node: Any) -> str:
    """Deparse one statement (or expression) back to SQL text."""
    return str(RawStream()(node))


def with_flag(node: Any, attr: str, value: object) -> str:
    """Deparse `node` with one attribute changed (e.g. concurrent=True), leaving it intact."""
    old = getattr(node, attr)
    setattr(node, attr, value)
    try:
        return sql(node)
    finally:
        setattr(node, attr, old)


def outside_transaction(statement: str) -> str:
    return f"-- run on its own, outside BEGIN … COMMIT:\n{statement};"


def partitioned_index(node: Any, table: str) -> str:
    name = node.idxname or f"{table.split('.')[-1]}_idx"
    only = with_flag(node, "relation", _only(node.relation))
    return (
        f"{only};  -- ON ONLY: the parent's index, invalid and empty\n"
        f"-- for each partition p, outside a transaction block:\n"
        f"CREATE INDEX CONCURRENTLY p_{name} ON p (…same keys…);\n"
        f"ALTER INDEX {name} ATTACH PARTITION p_{name};"
    )


def _only(rv: Any) -> ast.RangeVar:
    return ast.RangeVar(schemaname=rv.schemaname, relname=rv.relname, inh=False, relpersistence="p")


def not_valid_then_validate(table: str, add: str, name: str) -> str:
    return (
        f"{add};\n{SEPARATE}\nALTER TABLE {_rel(table)} VALIDATE CONSTRAINT {_id(name)};"
        "  -- SHARE UPDATE EXCLUSIVE: reads and writes continue"
    )


def set_not_null(table: str, column: str) -> str:
    name = f"{table.split('.')[-1]}_{_id(column)}_not_null"
    return (
        f"ALTER TABLE {_rel(table)} ADD CONSTRAINT {_id(name)} "
        f"CHECK ({_id(column)} IS NOT NULL) NOT VALID;\n"
        f"{SEPARATE}\nALTER TABLE {_rel(table)} VALIDATE CONSTRAINT {_id(name)};\n"
        f"ALTER TABLE {_rel(table)} ALTER COLUMN {_id(column)} SET NOT NULL;"
        "  -- no scan: CHECK proves it\n"
        f"ALTER TABLE {_rel(table)} DROP CONSTRAINT {_id(name)};"
    )


def unique_using_index(table: str, name: str, columns: list[str], primary: bool) -> str:
    cols = ", ".join(columns) or "…"
    kind = "PRIMARY KEY" if primary else "UNIQUE"
    pre = ""
    if primary:
        pre = (
            "-- the key columns must be NOT NULL first (see set-not-null-scans for the safe way)\n"
        )
    return (
        f"{pre}CREATE UNIQUE INDEX CONCURRENTLY {_id(name)} ON {_rel(table)} ({cols});"
        "  -- outside a transaction block\n"
        f"ALTER TABLE {_rel(table)} ADD CONSTRAINT {_id(name)} {kind} USING INDEX {_id(name)};"
    )


def batched_backfill(table: str, assignment: str, pending: str) -> str:
    return (
        f"-- backfill in batches, one transaction each, until no row is left:\n"
        f"UPDATE {_rel(table)} SET {assignment}\n"
        f"WHERE ctid IN (SELECT ctid FROM {_rel(table)} WHERE {pending} LIMIT 5000);"
    )


def type_change(table: str, column: str, new_type: str) -> str:
    new = f"{_id(column)}_new"
    return (
        f"ALTER TABLE {_rel(table)} ADD COLUMN {_id(new)} {new_type};\n"
        f"-- keep {_id(new)} = {_id(column)}::{new_type} for new writes with a trigger, then\n"
        + batched_backfill(table, f"{_id(new)} = {_id(column)}::{new_type}", f"{_id(new)} IS NULL")
        + f"\n-- switch clients over, then in one short transaction:\n{LOCK_TIMEOUT}\n"
        f"ALTER TABLE {_rel(table)} DROP COLUMN {_id(column)};\n"
        f"ALTER TABLE {_rel(table)} RENAME COLUMN {_id(new)} TO {_id(column)};"
    )


def volatile_default(table: str, column: str, col_type: str, default: str) -> str:
    return (
        f"ALTER TABLE {_rel(table)} ADD COLUMN {_id(column)} {col_type};\n"
        f"ALTER TABLE {_rel(table)} ALTER COLUMN {_id(column)} SET DEFAULT {default};"
        "  -- new rows only\n"
        + batched_backfill(table, f"{_id(column)} = {default}", f"{_id(column)} IS NULL")
    )


def serial_column(table: str, column: str, col_type: str) -> str:
    schema, _, name = table.partition(".")
    seq = qname(schema, f"{name}_{column}_seq") if name else quote(f"{schema}_{column}_seq")
    base = {"smallserial": "smallint", "serial": "integer", "bigserial": "bigint"}
    plain = base.get(col_type, col_type)
    return (
        f"CREATE SEQUENCE {seq} AS {plain};\n"
        + volatile_default(table, column, plain, f"nextval({literal(seq)})")
        + f"\nALTER SEQUENCE {seq} OWNED BY {_rel(table)}.{_id(column)};"
    )


def generated_column(table: str, column: str, col_type: str, expression: str) -> str:
    return (
        f"ALTER TABLE {_rel(table)} ADD COLUMN {_id(column)} {col_type};\n"
        f"-- a BEFORE INSERT OR UPDATE trigger sets NEW.{_id(column)} := {expression}, then\n"
        + batched_backfill(table, f"{_id(column)} = {expression}", f"{_id(column)} IS NULL")
    )


def data_loss(what: str, backup: str) -> str:
    return (
        f"-- 1. deploy the code that no longer uses {what}\n"
        f"-- 2. keep a copy until you are sure: {backup}\n"
        f"-- 3. drop it in a later release, with {LOCK_TIMEOUT}"
    )


def rename_table(table: str, new: str) -> str:
    schema = table.rsplit(".", 1)[0] if "." in table else "public"
    return (
        f"BEGIN;\n{LOCK_TIMEOUT}\nALTER TABLE {_rel(table)} RENAME TO {_id(new)};\n"
        f"CREATE VIEW {_rel(table)} AS SELECT * FROM {quote(schema)}.{_id(new)};"
        "  -- old clients keep working\n"
        f"COMMIT;\n-- once every client uses {_id(new)}: DROP VIEW {_rel(table)};"
    )


def rename_column(table: str, old: str, new: str) -> str:
    return (
        f"ALTER TABLE {_rel(table)} ADD COLUMN {_id(new)} <type of {_id(old)}>;\n"
        f"-- keep {_id(new)} and {_id(old)} in sync with a trigger, then\n"
        + batched_backfill(
            table, f"{_id(new)} = {_id(old)}", f"{_id(new)} IS DISTINCT FROM {_id(old)}"
        )
        + f"\n-- move clients to {_id(new)}, then in a later release: "
        f"ALTER TABLE {_rel(table)} DROP COLUMN {_id(old)};"
    )


def batched(statement: str, table: str) -> str:
    return (
        f"-- run the change in batches of a few thousand rows, one transaction each,\n"
        f"-- until it affects no row, e.g. restrict it with\n"
        f"--   WHERE ctid IN (SELECT ctid FROM {_rel(table)} WHERE <not yet done> LIMIT 5000)\n"
        f"-- original: {statement}"
    )


def attach_partition(parent: str, part: str, bounds: str, attach: str) -> str:
    name = f"{part.split('.')[-1]}_bounds"
    return (
        f"ALTER TABLE {_rel(part)} ADD CONSTRAINT {_id(name)} CHECK ({bounds}) NOT VALID;\n"
        f"{SEPARATE}\nALTER TABLE {_rel(part)} VALIDATE CONSTRAINT {_id(name)};\n"
        f"{attach};  -- no scan: the CHECK implies the bounds\n"
        f"ALTER TABLE {_rel(part)} DROP CONSTRAINT {_id(name)};"
    )


def with_lock_timeout(statement: str) -> str:
    return f"{LOCK_TIMEOUT}\n{statement};"


def enum_commit(statement: str, value: str) -> str:
    return f"{statement};\nCOMMIT;\n-- use '{value}' only in a later transaction"


def split_transaction(held: str, slow: str) -> str:
    return f"-- commit right after the statement locking {held}:\nCOMMIT;\nBEGIN;\n{slow};"
