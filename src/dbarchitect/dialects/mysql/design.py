"""The design build's answers for MySQL/MariaDB (see design/build_designer.py).

Types, defaults and expressions are written the way MariaDB's information_schema prints them
(`bigint(20)`, `tinyint(1)` for booleans, `current_timestamp(6)`, decimals padded to their
scale). Keys: `bigint AUTO_INCREMENT` or `char(36) DEFAULT uuid()`. JSON is a longtext
checked by json_valid(), as MariaDB's own JSON alias makes it. updated_at keeps itself current
with ON UPDATE current_timestamp(6). MariaDB has no partial index, so a unique key of a
soft-deleting table includes a virtual column that is 1 while the row is live and NULL once
deleted: NULLs never collide, so deleted rows leave the key free. Tables are InnoDB with
utf8mb4_unicode_ci, which both MySQL 8 and MariaDB have. No partial, expression or non-B-tree
indexes, no INCLUDE, no deferrable keys, no partitions (InnoDB cannot partition a table with
foreign keys): the build leaves them out with a note.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Literal

from dbarchitect.design.build_designer import (
    Capabilities,
    ColumnType,
    ExpressionError,
    Role,
    SoftUnique,
    TableRef,
)
from dbarchitect.design.spec import FieldSpec
from dbarchitect.dialects.mysql import design_expr
from dbarchitect.dialects.mysql.quoting import backtick, quote_ident
from dbarchitect.dialects.mysql.types import logical_type
from dbarchitect.model import (
    Column,
    EnumType,
    Function,
    Grant,
    Identity,
    Namespace,
    Policy,
    Trigger,
)

_TYPES = {
    "text": "text",
    "smallint": "smallint(6)",
    "integer": "int(11)",
    "bigint": "bigint(20)",
    "float": "float",
    "double": "double",
    "boolean": "tinyint(1)",
    "date": "date",
    "time": "time",
    "timestamp": "timestamp(6)",
    "datetime": "datetime(6)",
    "uuid": "char(36)",
    "bytes": "longblob",
}
TIMESTAMP = "timestamp(6)"
NOW = "current_timestamp(6)"
COLLATION = "utf8mb4_unicode_ci"
JSON_COLLATION = "utf8mb4_bin"
# Types an index can only take a prefix of; the prefix is 255 characters.
_PREFIXED = frozenset({"text", "tinytext", "mediumtext", "longtext", "blob", "longblob"})
LIVE = "not_deleted"
_MAX_KEY_CHARS = 768


class MysqlDesigner:
    """MySQL/MariaDB, in MariaDB 10.11's printed forms."""

    label = "MySQL/MariaDB"
    caps = Capabilities(
        comments=True,
        partial_indexes=False,
        expression_indexes=False,
        include_columns=False,
        index_methods=frozenset({"btree"}),
        deferrable=False,
        partitions=False,
        set_null_columns=False,
        row_security=False,
        max_identifier_bytes=64,
    )

    def schema_name(self, spec_schema: str) -> str:
        return ""

    def quote(self, name: str) -> str:
        return quote_ident(name)

    def qualified(self, schema: str, name: str) -> str:
        return quote_ident(name)

    def column_type(
        self, field: FieldSpec, column: str, enum: tuple[str, tuple[str, ...]] | None, schema: str
    ) -> ColumnType:
        kind = field.type
        if kind == "string":
            text = f"varchar({field.length or 255})"
        elif kind == "char":
            text = f"char({field.length or 1})"
        elif kind == "decimal":
            text = f"decimal({field.precision or 10},{field.scale or 0})"
        elif kind == "enum":
            assert enum is not None
            values = ",".join("'" + v.replace("'", "''") + "'" for v in enum[1])
            text = f"enum({values})"
        elif kind == "json":
            return ColumnType(
                type="longtext",
                logical="json",
                collation=JSON_COLLATION,
                # Named after the column, as MariaDB names the CHECK of its JSON alias: the
                # introspection recognises JSON columns by it.
                named_checks=((column, f"json_valid({backtick(column)})"),),
            )
        else:
            text = _TYPES[kind]
        return ColumnType(type=text, logical=logical_type(text))

    def id_column(self, name: str, strategy: Literal["bigint", "uuid"]) -> Column:
        if strategy == "uuid":
            return Column(
                name=name, type="char(36)", logical="char", nullable=False, default="uuid()"
            )
        return Column(
            name=name, type="bigint(20)", logical="bigint", nullable=False, identity=Identity()
        )

    def timestamp_column(self, name: str, *, nullable: bool, now: bool, on_update: bool) -> Column:
        return Column(
            name=name,
            type=TIMESTAMP,
            logical="timestamptz",
            nullable=nullable,
            default=NOW if now else None,
            options=(("on_update", NOW),) if on_update else (),
        )

    def literal(self, value: str | int | float | bool, column: Column) -> str:
        base = column.type.split("(")[0]
        if column.logical == "boolean":
            return _boolean(value)
        if base in ("smallint", "int", "bigint", "decimal", "float", "double"):
            return _number(value, column.type)
        text = str(value).lower() if isinstance(value, bool) else str(value)
        if base in ("date", "time", "timestamp", "datetime"):
            text = _temporal(text, base, "(6)" in column.type)
        return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"

    def expression(self, text: str, columns: Mapping[str, Column], role: Role) -> str:
        return design_expr.expression(text, columns, role)

    def primary_key_name(self, proposed: str) -> str:
        return "PRIMARY"

    def table_options(self) -> tuple[tuple[str, str], ...]:
        return (("collation", COLLATION), ("engine", "InnoDB"))

    def key_length(self, column: Column) -> int | None:
        if column.type in _PREFIXED:
            return 255
        # InnoDB keys hold at most 3072 bytes: 768 characters of utf8mb4.
        if column.type.startswith(("varchar(", "char(")):
            length = int(column.type[column.type.index("(") + 1 : -1])
            return _MAX_KEY_CHARS if length > _MAX_KEY_CHARS else None
        return None

    def soft_unique(self, deleted_at: str, columns: Mapping[str, Column]) -> SoftUnique:
        live = Column(
            name=LIVE,
            type="tinyint(4)",
            logical="smallint",
            generated=f"if({backtick(deleted_at)} is null,1,NULL)",
            generated_stored=False,
            comment="1 while the row is not deleted, NULL after: unique keys include it so "
            "they hold among live rows only",
        )
        return SoftUnique(column=live)

    def updated_at_triggers(self, table: TableRef, column: str, name: str) -> tuple[Trigger, ...]:
        return ()  # ON UPDATE current_timestamp(6) on the column itself

    def support_functions(self, schema: str, triggers: bool) -> tuple[Function, ...]:
        return ()

    def tenant_policies(self, table: TableRef, column: Column) -> tuple[Policy, ...]:
        return ()

    def baseline(
        self, schema: str, functions: tuple[Function, ...], enums: tuple[EnumType, ...]
    ) -> tuple[tuple[Namespace, ...], tuple[Grant, ...]]:
        return (), ()

    def partition_bound(self, kind: str, values: tuple[object, ...], column: Column) -> str:
        raise ExpressionError("no partitions are designed for MySQL/MariaDB")

    def type_dependency(self, column: Column) -> str | None:
        return None


def _boolean(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    text = str(value).strip().lower()
    if text in ("true", "t", "yes", "on", "1"):
        return "1"
    if text in ("false", "f", "no", "off", "0"):
        return "0"
    raise ExpressionError(f"{value!r} is not a boolean")


def _number(value: str | int | float | bool, type_text: str) -> str:
    """A number as MariaDB prints a default: decimals padded to their scale, whole floats
    without a fraction."""
    if isinstance(value, bool):
        raise ExpressionError(f"{value!r} is not a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ExpressionError(f"{value!r} is not a number") from None
    if type_text.startswith("decimal("):
        scale = int(type_text[:-1].split(",")[1])
        return str(number.quantize(Decimal(1).scaleb(-scale)))
    if type_text.split("(")[0] in ("smallint", "int", "bigint"):
        if number != number.to_integral_value():
            raise ExpressionError(f"{value!r} is not an integer")
        return str(int(number))
    if number == number.to_integral_value():
        return str(int(number))
    return str(value).strip()


def _temporal(text: str, base: str, micro: bool) -> str:
    try:
        if base == "date":
            return dt.date.fromisoformat(text).isoformat()
        if base == "time":
            return dt.time.fromisoformat(text).isoformat()
        stamp = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ExpressionError(f"{text!r} is not an ISO date or time") from None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
    return stamp.isoformat(sep=" ", timespec="microseconds" if micro else "seconds")


__all__ = ["MysqlDesigner"]
