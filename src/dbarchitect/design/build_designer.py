"""What the design build asks of an engine: the Designer interface and its small value types.

build.py turns a spec into tables without ever naming an engine; each dialect package has a
`design.py` whose Designer answers the engine-specific questions (type texts, the id column,
how `now()` and literals are written, how updated_at is maintained, how a unique key ignores
soft-deleted rows, what the engine cannot do). Every answer is in the form the engine's own
introspection prints, so the built Schema equals what the engine makes of its DDL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from dbarchitect.design.spec import FieldSpec
from dbarchitect.model import (
    Column,
    EnumType,
    Function,
    Grant,
    LogicalType,
    Namespace,
    Policy,
    Trigger,
)

Role = Literal["default", "check", "where", "index"]


class ExpressionError(ValueError):
    """An expression (PostgreSQL syntax) the engine has no translation for; the build turns
    it into an InputError naming the spec line."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Capabilities:
    """What an engine can express; the build drops what it cannot, with a note."""

    comments: bool
    partial_indexes: bool
    expression_indexes: bool
    include_columns: bool
    index_methods: frozenset[str]
    deferrable: bool
    partitions: bool
    # ON DELETE SET NULL (col, …): reset only some columns of a composite foreign key.
    set_null_columns: bool
    row_security: bool
    max_identifier_bytes: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnType:
    """A field's column type in the engine's words, plus CHECKs the type itself needs
    (expressions in the engine's printed form, e.g. the allowed values of an enum)."""

    type: str
    logical: LogicalType
    collation: str | None = None
    checks: tuple[str, ...] = ()
    # CHECKs whose name the engine's introspection relies on: (exact name, expression).
    named_checks: tuple[tuple[str, str], ...] = ()
    enum: EnumType | None = None  # a type to create (PostgreSQL enums)


@dataclass(frozen=True, slots=True, kw_only=True)
class SoftUnique:
    """How a unique key holds among live rows only: a partial unique index with `where`, or
    a unique constraint over the key plus `column` (a generated column NULL once deleted)."""

    where: str | None = None
    column: Column | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TableRef:
    """The table a trigger or policy is made for."""

    schema: str
    name: str
    key: tuple[str, ...]  # its primary key columns


class Designer(Protocol):
    """An engine's answers to the design build (see the module docstring)."""

    label: str
    caps: Capabilities

    def schema_name(self, spec_schema: str) -> str:
        """The namespace tables are created in ("" where the engine has none)."""
        ...

    def quote(self, name: str) -> str:
        """An identifier as the engine's catalog text spells it (quoted when needed)."""
        ...

    def qualified(self, schema: str, name: str) -> str:
        """A schema-qualified, quoted name (the name alone where there are no schemas)."""
        ...

    def column_type(
        self, field: FieldSpec, column: str, enum: tuple[str, tuple[str, ...]] | None, schema: str
    ) -> ColumnType:
        """The type of a written field; `enum` is (type name, values) for enum fields."""
        ...

    def id_column(self, name: str, strategy: Literal["bigint", "uuid"]) -> Column:
        """A generated surrogate key column: bigint identity or uuid with a server default."""
        ...

    def timestamp_column(self, name: str, *, nullable: bool, now: bool, on_update: bool) -> Column:
        """created_at / updated_at / deleted_at: an instant, defaulting to now when `now`,
        and kept current by the column itself when `on_update` and the engine can."""
        ...

    def literal(self, value: str | int | float | bool, column: Column) -> str:
        """A literal default for `column`, as the engine prints it back."""
        ...

    def expression(self, text: str, columns: Mapping[str, Column], role: Role) -> str:
        """A PostgreSQL-syntax expression over `columns` in the engine's printed form.
        Raises ExpressionError when the engine cannot express it."""
        ...

    def primary_key_name(self, proposed: str) -> str:
        """The name the engine gives a primary key named `proposed`."""
        ...

    def table_options(self) -> tuple[tuple[str, str], ...]:
        """Options every designed table carries (storage engine, collation…)."""
        ...

    def key_length(self, column: Column) -> int | None:
        """A prefix length an index key on `column` needs (MySQL TEXT), else None."""
        ...

    def soft_unique(self, deleted_at: str, columns: Mapping[str, Column]) -> SoftUnique:
        """How unique keys of a soft-deleting table leave deleted rows out."""
        ...

    def updated_at_triggers(self, table: TableRef, column: str, name: str) -> tuple[Trigger, ...]:
        """Triggers (called `name`) that keep `column` current on UPDATE; none where the
        column keeps itself current."""
        ...

    def support_functions(self, schema: str, triggers: bool) -> tuple[Function, ...]:
        """Functions the triggers call (`triggers`: whether any updated_at trigger exists)."""
        ...

    def tenant_policies(self, table: TableRef, column: Column) -> tuple[Policy, ...]:
        """Row level security policies keeping a tenant table's rows to the current tenant."""
        ...

    def baseline(
        self, schema: str, functions: tuple[Function, ...], enums: tuple[EnumType, ...]
    ) -> tuple[tuple[Namespace, ...], tuple[Grant, ...]]:
        """Namespaces and grants an empty database of the engine already has, plus the
        default grants objects get on creation, so the built schema matches the catalog."""
        ...

    def partition_bound(self, kind: str, values: tuple[object, ...], column: Column) -> str:
        """A partition's bound as the engine prints it: kind range (from, to), list (value,),
        hash (modulus, remainder) or default ()."""
        ...

    def type_dependency(self, column: Column) -> str | None:
        """The dependency key a table using `column`'s type records (enum types), if any."""
        ...


def first_of_month(today: dt.date) -> dt.date:
    """The first day of `today`'s month: the default start of range partitions."""
    return today.replace(day=1)


__all__ = [
    "Capabilities",
    "ColumnType",
    "Designer",
    "ExpressionError",
    "Role",
    "SoftUnique",
    "TableRef",
    "first_of_month",
]
