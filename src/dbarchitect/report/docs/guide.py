"""What an engine's operators need to know, as data the documents are written from.

Each dialect answers `Dialect.operations(schema, stats)` with an `OperationsGuide`: monitoring
queries that run on that engine, alert thresholds, backup and restore commands, maintenance,
pooling, caching, replica, upgrade and hardening steps — written for the schema at hand (its
namespaces, tables, sequences) rather than in general. Prose marks code with `backticks`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """A monitoring query. `read_only` says it runs on a read-only session (it changes
    nothing); `requires` names what must be installed for it to run (an extension)."""

    key: str
    title: str
    purpose: str
    sql: str
    read_only: bool = True
    requires: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """A threshold worth paging on; `check` is the key of the Check that measures it."""

    metric: str
    warning: str
    critical: str
    action: str
    check: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Procedure:
    """A titled step: prose, then optional code. SQL code marked `runnable` runs as written
    inside a transaction on a database holding the schema (the tests roll it back)."""

    title: str
    text: str = ""
    code: str = ""
    lang: str = "sh"
    runnable: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class OperationsGuide:
    """Everything engine-specific the three documents say. Empty parts are left out."""

    engine: str
    monitoring: tuple[Check, ...] = ()
    alerts: tuple[Alert, ...] = ()
    # database-design.md: the backup and recovery strategy in a few paragraphs.
    recovery: tuple[str, ...] = ()
    backup: tuple[Procedure, ...] = ()
    restore: tuple[Procedure, ...] = ()
    troubleshooting: tuple[Procedure, ...] = ()
    upgrade: tuple[Procedure, ...] = ()
    hardening: tuple[Procedure, ...] = ()
    # database-optimization.md
    statistics: tuple[Procedure, ...] = ()
    table_maintenance: tuple[Procedure, ...] = ()
    pooling: tuple[Procedure, ...] = ()
    caching: tuple[Procedure, ...] = ()
    replicas: tuple[Procedure, ...] = ()
    partitioning: tuple[Procedure, ...] = ()
    # Sizing: bytes a row and an index entry cost beyond their column data, and whether a
    # secondary index entry carries the primary key (InnoDB) instead of a row pointer.
    row_overhead_bytes: int = 0
    index_entry_overhead_bytes: int = 0
    secondary_index_holds_primary_key: bool = False
    # How the documents write statements: `{name}`, `{table}`, `{columns}` are filled with
    # quoted identifiers; parameters are `$1` ("dollar") or `?` ("qmark").
    create_index: str = "CREATE INDEX {name} ON {table} ({columns});"
    # A partitioned table's index where it cannot be built in one online statement: the
    # parent's (invalid until every partition's is attached), then each partition's, attached.
    create_parent_index: str | None = None
    attach_index: str | None = None
    param_style: Literal["dollar", "qmark"] = "qmark"


def sql_literal(text: str, *, backslash: bool = False) -> str:
    """A SQL string literal: quotes doubled, and backslashes too where the engine treats
    them as escapes (`backslash`, MySQL's default)."""
    if backslash:
        text = text.replace("\\", "\\\\")
    return "'" + text.replace("'", "''") + "'"


def sql_list(items: list[str] | tuple[str, ...], *, backslash: bool = False) -> str:
    """`'a', 'b'` for an IN list; `NULL` when empty, so the SQL still runs and matches none."""
    return ", ".join(sql_literal(i, backslash=backslash) for i in items) if items else "NULL"
