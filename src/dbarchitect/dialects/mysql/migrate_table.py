"""ALTER TABLE clauses for a table's own options, and name lookups in expression text."""

from __future__ import annotations

import re
from dataclasses import replace

from dbarchitect.dialects.mysql.ddl import column_definition
from dbarchitect.dialects.mysql.quoting import quote_literal
from dbarchitect.dialects.mysql.types import base_type
from dbarchitect.model import Table

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
