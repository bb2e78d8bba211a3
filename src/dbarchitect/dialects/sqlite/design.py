"""The design build's answers for SQLite (see design/build_designer.py).

SQLite keeps the text of defaults, checks, index predicates and triggers as written, so what
is built here is what comes back. Keys: `INTEGER PRIMARY KEY` (the rowid) or a char(36) uuid
whose default makes a random version-4 UUID. Enums are TEXT with a CHECK of the values, JSON a
`json` column checked by json_valid(). updated_at is kept by an AFTER UPDATE trigger that
sets it unless the statement did (SQLite runs no trigger recursively by default, and the WHEN
clause stops a second pass anyway). There are no comments, INCLUDE columns, index methods or
partitions: the build leaves them out.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, UnsupportedError

from dbarchitect.design.build_designer import (
    Capabilities,
    ColumnType,
    ExpressionError,
    Role,
    SoftUnique,
    TableRef,
)
from dbarchitect.design.spec import FieldSpec
from dbarchitect.dialects.sqlite.ddl import quote
from dbarchitect.dialects.sqlite.types import logical_type
from dbarchitect.model import Column, EnumType, Function, Grant, Namespace, Policy, Trigger

# A random version-4 UUID in canonical text form: 8-4-4-4-12 hex digits, the version nibble
# 4 and the variant nibble one of 8, 9, a, b. SQLite evaluates a DEFAULT per inserted row.
UUID_V4 = (
    "lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || "
    "substr(lower(hex(randomblob(2))), 2) || '-' || "
    "substr('89ab', 1 + (abs(random()) % 4), 1) || substr(lower(hex(randomblob(2))), 2) || "
    "'-' || lower(hex(randomblob(6)))"
)
NOW = "CURRENT_TIMESTAMP"
_TYPES = {
    "text": "TEXT",
    "smallint": "smallint",
    "integer": "INTEGER",
    "bigint": "bigint",
    "float": "REAL",
    "double": "REAL",
    "boolean": "boolean",
    "date": "date",
    "time": "time",
    "timestamp": "timestamp",
    "datetime": "datetime",
    "uuid": "char(36)",
    "json": "json",
    "bytes": "BLOB",
}
# Scalar functions of a default SQLite build (pragma_function_list), which checks may call.
_FUNCTIONS = frozenset(
    """abs char coalesce date datetime glob hex ifnull iif instr json json_array
    json_array_length json_extract json_object json_quote json_type json_valid julianday
    length like likelihood likely lower ltrim max min nullif printf quote random randomblob
    replace round rtrim sign soundex strftime substr substring time trim typeof unicode
    unixepoch unlikely upper zeroblob ceil ceiling floor ln log log10 log2 mod pi pow power
    sqrt trunc exp sin cos tan format current_date current_time current_timestamp split""".split()  # noqa: SIM905 - a word list reads better
)


class SqliteDesigner:
    """SQLite: one schema per file, types by affinity, text kept as written."""

    label = "SQLite"
    caps = Capabilities(
        comments=False,
        partial_indexes=True,
        expression_indexes=True,
        include_columns=False,
        index_methods=frozenset({"btree"}),
        deferrable=True,
        partitions=False,
        set_null_columns=False,
        row_security=False,
        max_identifier_bytes=1_000_000_000,
    )

    def schema_name(self, spec_schema: str) -> str:
        return ""

    def quote(self, name: str) -> str:
        return quote(name)

    def qualified(self, schema: str, name: str) -> str:
        return quote(name)

    def column_type(
        self, field: FieldSpec, column: str, enum: tuple[str, tuple[str, ...]] | None, schema: str
    ) -> ColumnType:
        kind = field.type
        checks: tuple[str, ...] = ()
        if kind == "string":
            text = f"varchar({field.length or 255})"
        elif kind == "char":
            text = f"char({field.length or 1})"
        elif kind == "decimal":
            text = "numeric"
            if field.precision is not None:
                text = f"numeric({field.precision},{field.scale or 0})"
        elif kind == "enum":
            assert enum is not None
            text = "TEXT"
            values = ", ".join(_string(v) for v in enum[1])
            checks = (f"{quote(column)} IN ({values})",)
        else:
            text = _TYPES[kind]
            if kind == "json":
                checks = (f"json_valid({quote(column)})",)
        return ColumnType(type=text, logical=logical_type(text), checks=checks)

    def id_column(self, name: str, strategy: Literal["bigint", "uuid"]) -> Column:
        if strategy == "uuid":
            return Column(
                name=name, type="char(36)", logical="char", nullable=False, default=UUID_V4
            )
        # The primary key's INTEGER column is the rowid: it numbers new rows itself.
        return Column(name=name, type="INTEGER", logical="integer", nullable=False)

    def timestamp_column(self, name: str, *, nullable: bool, now: bool, on_update: bool) -> Column:
        return Column(
            name=name,
            type="timestamp",
            logical="timestamp",
            nullable=nullable,
            default=NOW if now else None,
        )

    def literal(self, value: str | int | float | bool, column: Column) -> str:
        if isinstance(value, bool):
            return "1" if value else "0"
        if column.logical == "boolean":
            text = str(value).strip().lower()
            if text in ("true", "t", "yes", "on", "1"):
                return "1"
            if text in ("false", "f", "no", "off", "0"):
                return "0"
            raise ExpressionError(f"{value!r} is not a boolean")
        if column.logical in ("smallint", "integer", "bigint", "decimal", "double", "real"):
            try:
                Decimal(str(value))
            except InvalidOperation:
                raise ExpressionError(f"{value!r} is not a number") from None
            return str(value).strip()
        return _string(str(value))

    def expression(self, text: str, columns: Mapping[str, Column], role: Role) -> str:
        return transpile(text, columns, role)

    def primary_key_name(self, proposed: str) -> str:
        return proposed

    def table_options(self) -> tuple[tuple[str, str], ...]:
        return ()

    def key_length(self, column: Column) -> int | None:
        return None

    def soft_unique(self, deleted_at: str, columns: Mapping[str, Column]) -> SoftUnique:
        return SoftUnique(where=f"{quote(deleted_at)} IS NULL")

    def updated_at_triggers(self, table: TableRef, column: str, name: str) -> tuple[Trigger, ...]:
        col, tab = quote(column), quote(table.name)
        when = f"NEW.{col} IS OLD.{col}"
        definition = (
            f"CREATE TRIGGER {quote(name)} AFTER UPDATE ON {tab} FOR EACH ROW WHEN {when} "
            f"BEGIN UPDATE {tab} SET {col} = {NOW} WHERE rowid = NEW.rowid; END"
        )
        return (
            Trigger(
                name=name,
                timing="AFTER",
                events=("UPDATE",),
                for_each_row=True,
                definition=definition,
                when=when,
            ),
        )

    def support_functions(self, schema: str, triggers: bool) -> tuple[Function, ...]:
        return ()

    def tenant_policies(self, table: TableRef, column: Column) -> tuple[Policy, ...]:
        return ()

    def baseline(
        self, schema: str, functions: tuple[Function, ...], enums: tuple[EnumType, ...]
    ) -> tuple[tuple[Namespace, ...], tuple[Grant, ...]]:
        return (), ()

    def partition_bound(self, kind: str, values: tuple[object, ...], column: Column) -> str:
        raise ExpressionError("SQLite has no partitions")

    def type_dependency(self, column: Column) -> str | None:
        return None


def _string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def transpile(text: str, columns: Mapping[str, Column], role: Role) -> str:
    """A PostgreSQL expression in SQLite: sqlglot's translation, with now() and
    gen_random_uuid() as SQLite spells them, refusing what SQLite cannot evaluate."""
    try:
        tree = sqlglot.parse_one(text, read="postgres")
    except ParseError as exc:
        raise ExpressionError(f"not a PostgreSQL expression: {exc}") from None
    if isinstance(tree, exp.Uuid):
        return UUID_V4
    tree = tree.transform(_sqlite_calls)
    for node in tree.walk():
        if isinstance(node, exp.Column) and node.name not in columns:
            raise ExpressionError(f"unknown column {node.name}")
        if isinstance(node, exp.RegexpLike):
            raise ExpressionError("SQLite has no regular expressions (no REGEXP function)")
        if isinstance(node, exp.Anonymous) and node.name.lower() not in _FUNCTIONS:
            raise ExpressionError(f"SQLite has no function {node.name}()")
    try:
        out = tree.sql(dialect="sqlite", unsupported_level=sqlglot.ErrorLevel.RAISE)
    except UnsupportedError as exc:
        raise ExpressionError(f"SQLite cannot express it: {exc}") from None
    return out


def _sqlite_calls(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Uuid):
        return exp.Paren(this=sqlglot.parse_one(UUID_V4, read="sqlite"))
    if isinstance(node, exp.Localtimestamp):
        return exp.CurrentTimestamp()
    return node


__all__ = ["UUID_V4", "SqliteDesigner", "transpile"]
