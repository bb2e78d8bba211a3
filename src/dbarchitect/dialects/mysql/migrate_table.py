"""ALTER TABLE clauses for a table's own options, and name lookups in expression text."""

from __future__ import annotations

import re
from dataclasses import replace

from dbarchitect.dialects.mysql.ddl import column_definition
from dbarchitect.dialects.mysql.quoting import quote_ident, quote_literal
from dbarchitect.dialects.mysql.types import base_type
from dbarchitect.model import Column, Index, Table, UniqueConstraint

# Options written by clauses of their own; the rest are CREATE_OPTIONS (ROW_FORMAT=…).
_OWN = frozenset({"engine", "collation", "charset", "system_versioning", "partition_by"})
# Types whose values have a collation: they follow the table's default when they name none.
_CHARACTER = frozenset(
    {"char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set"}
)


def mentions(text: str, name: str) -> bool:
    """Whether expression `text` names column `name` (bare or in backticks)."""
    pattern = rf"(?<![\w$`])(?:{re.escape(name)}|`{re.escape(name.replace('`', '``'))}`)(?![\w$`])"
    return re.search(pattern, text, re.IGNORECASE) is not None


def alter_options(before: Table, after: Table) -> list[str]:
    """Clauses that take the table's engine, collation, comment and options to `after`'s."""
    old, new = dict(before.options), dict(after.options)
    clauses: list[str] = []
    if old.get("engine") != new.get("engine") and "engine" in new:
        clauses.append(f"ENGINE={new['engine']}")
    if old.get("collation") != new.get("collation") and "collation" in new:
        collation = new["collation"]
        clauses.append(f"DEFAULT COLLATE={collation}")
        # The new default changes no existing column: convert the columns that follow it.
        for col in after.columns:
            if col.collation is None and base_type(col.type) in _CHARACTER:
                clauses.append(
                    f"MODIFY COLUMN {column_definition(replace(col, collation=collation))}"
                )
    if before.comment != after.comment:
        clauses.append(f"COMMENT={quote_literal(after.comment or '')}")
    for key in sorted((old.keys() | new.keys()) - _OWN):
        if old.get(key) != new.get(key):
            clauses.append(f"{key.upper()}={new.get(key, 'DEFAULT')}")
    if old.get("system_versioning") != new.get("system_versioning"):
        on = new.get("system_versioning") == "true"
        clauses.append("ADD SYSTEM VERSIONING" if on else "DROP SYSTEM VERSIONING")
    if old.get("partition_by") != new.get("partition_by"):
        clauses.append(new.get("partition_by", "REMOVE PARTITIONING"))
    return clauses


def versioned(table: Table) -> bool:
    """Whether the table is system-versioned."""
    return dict(table.options).get("system_versioning") == "true"


def clustered_key(table: Table, index: object, primary_key_goes: bool) -> bool:
    """Whether InnoDB may be using `index` as the table's clustered key: a unique key on NOT
    NULL columns of a table whose primary key is missing (or goes in this migration). The
    server refuses to drop that key with LOCK=NONE ("dropping a primary key")."""
    if table.primary_key is not None and not primary_key_goes:
        return False
    if isinstance(index, UniqueConstraint):
        columns = list(index.columns)
    elif isinstance(index, Index) and index.unique and not any(k.expression for k in index.keys):
        columns = [k.column for k in index.keys]
    else:
        return False
    found = [table.column(c) for c in columns]
    return all(c is not None and not c.nullable for c in found)


def fill_nulls(table: str, before: Column, after: Column) -> str | None:
    """UPDATE giving the new default to rows holding NULL in a column that becomes NOT NULL:
    strict mode refuses the MODIFY over them (non-strict would store 0 or '')."""
    default = after.default
    if not before.nullable or after.nullable or after.generated is not None:
        return None
    if default is None or default.casefold() == "null":
        return None
    name = quote_ident(after.name)
    return f"UPDATE {quote_ident(table)} SET {name} = {default} WHERE {name} IS NULL;"
