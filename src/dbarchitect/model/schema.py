"""The dialect-neutral schema model: small frozen dataclasses, one tree.

Every source produces a `Schema`, every analysis reads one, every renderer writes from one.
Names are stored unquoted, exactly as the engine spells them. Expressions (defaults, checks,
index predicates, view bodies) are stored as the engine prints them, so that a round trip
through the same engine compares equal. Collections whose order carries no meaning are sorted
on construction, so two schemas with the same content are equal and serialise identically.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from dbarchitect.model.types import LogicalType

Action = Literal["NO ACTION", "RESTRICT", "CASCADE", "SET NULL", "SET DEFAULT"]


T = TypeVar("T")


def _sorted(items: tuple[T, ...], key: Callable[[Any], Any]) -> tuple[T, ...]:
    return tuple(sorted(items, key=key))


def _by_name(obj: object) -> tuple[str, str]:
    return (getattr(obj, "schema", ""), getattr(obj, "name", ""))


def _settle(obj: object, **sorted_fields: tuple[object, ...]) -> None:
    # Frozen dataclasses cannot assign in __post_init__; this is the documented escape hatch.
    for name, value in sorted_fields.items():
        object.__setattr__(obj, name, value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    """An identity column's generator (SQL standard GENERATED … AS IDENTITY)."""

    always: bool = False
    start: int = 1
    increment: int = 1
    min_value: int | None = None
    max_value: int | None = None
    cache: int = 1
    cycle: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Column:
    """A table column: its engine type and logical type, nullability, default and extras."""

    name: str
    type: str
    logical: LogicalType = "other"
    nullable: bool = True
    default: str | None = None
    identity: Identity | None = None
    generated: str | None = None
    generated_stored: bool = True
    collation: str | None = None
    comment: str | None = None
    inherited: bool = False
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class PrimaryKey:
    name: str
    columns: tuple[str, ...]
    include: tuple[str, ...] = ()
    deferrable: bool = False
    initially_deferred: bool = False
    comment: str | None = None
    inherited: bool = False
    # Storage parameters of the backing index (WITH (fillfactor=…)), as (key, value) pairs.
    index_options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    ref_schema: str
    ref_table: str
    ref_columns: tuple[str, ...]
    on_delete: Action = "NO ACTION"
    on_update: Action = "NO ACTION"
    match_full: bool = False
    deferrable: bool = False
    initially_deferred: bool = False
    not_valid: bool = False
    comment: str | None = None
    inherited: bool = False
    # ON DELETE SET NULL / SET DEFAULT (col, …): the referencing columns it resets (PG 15+).
    on_delete_columns: tuple[str, ...] = ()

    @property
    def ref_qualified(self) -> str:
        """The referenced table's name as `Table.qualified` spells it."""
        return f"{self.ref_schema}.{self.ref_table}" if self.ref_schema else self.ref_table


@dataclass(frozen=True, slots=True, kw_only=True)
class UniqueConstraint:
    name: str
    columns: tuple[str, ...]
    include: tuple[str, ...] = ()
    nulls_not_distinct: bool = False
    deferrable: bool = False
    initially_deferred: bool = False
    comment: str | None = None
    inherited: bool = False
    # Storage parameters of the backing index (WITH (fillfactor=…)), as (key, value) pairs.
    index_options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckConstraint:
    name: str
    expression: str
    not_valid: bool = False
    no_inherit: bool = False
    comment: str | None = None
    inherited: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ExclusionConstraint:
    """EXCLUDE constraints are kept as the engine's own definition text (after the name)."""

    name: str
    definition: str
    deferrable: bool = False
    initially_deferred: bool = False
    comment: str | None = None
    inherited: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexKey:
    """One key of an index: a column name, or an expression when `expression` is true."""

    column: str
    expression: bool = False
    opclass: str | None = None
    collation: str | None = None
    descending: bool = False
    nulls_first: bool | None = None
    length: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Index:
    """An index not behind a constraint. `parent` names the partitioned parent's index
    (schema.name) that this partition's index is attached to."""

    name: str
    keys: tuple[IndexKey, ...]
    unique: bool = False
    method: str = "btree"
    include: tuple[str, ...] = ()
    where: str | None = None
    nulls_not_distinct: bool = False
    comment: str | None = None
    parent: str | None = None
    options: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Trigger:
    """A trigger; `definition` is the engine's own CREATE TRIGGER text, the rest is parsed out."""

    name: str
    timing: Literal["BEFORE", "AFTER", "INSTEAD OF"]
    events: tuple[str, ...]
    for_each_row: bool
    definition: str
    function: str | None = None
    when: str | None = None
    enabled: bool = True
    comment: str | None = None
    inherited: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    name: str
    command: Literal["ALL", "SELECT", "INSERT", "UPDATE", "DELETE"] = "ALL"
    permissive: bool = True
    roles: tuple[str, ...] = ("public",)
    using: str | None = None
    with_check: str | None = None
    comment: str | None = None

    def __post_init__(self) -> None:
        _settle(self, roles=tuple(sorted(self.roles)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Partitioning:
    """How a partitioned table splits its rows: RANGE, LIST or HASH over a key."""

    strategy: Literal["RANGE", "LIST", "HASH"]
    key: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Table:
    schema: str
    name: str
    columns: tuple[Column, ...] = ()
    primary_key: PrimaryKey | None = None
    foreign_keys: tuple[ForeignKey, ...] = ()
    uniques: tuple[UniqueConstraint, ...] = ()
    checks: tuple[CheckConstraint, ...] = ()
    exclusions: tuple[ExclusionConstraint, ...] = ()
    indexes: tuple[Index, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    policies: tuple[Policy, ...] = ()
    rls_enabled: bool = False
    rls_forced: bool = False
    partitioning: Partitioning | None = None
    partition_of: str | None = None
    partition_bound: str | None = None
    inherits: tuple[str, ...] = ()
    unlogged: bool = False
    comment: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    depends_on: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _settle(
            self,
            foreign_keys=_sorted(self.foreign_keys, _by_name),
            uniques=_sorted(self.uniques, _by_name),
            checks=_sorted(self.checks, _by_name),
            exclusions=_sorted(self.exclusions, _by_name),
            indexes=_sorted(self.indexes, _by_name),
            triggers=_sorted(self.triggers, _by_name),
            policies=_sorted(self.policies, _by_name),
            options=tuple(sorted(self.options)),
            depends_on=tuple(sorted(set(self.depends_on))),
        )

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class View:
    schema: str
    name: str
    definition: str
    materialized: bool = False
    columns: tuple[Column, ...] = ()
    options: tuple[tuple[str, str], ...] = ()
    check_option: str | None = None
    indexes: tuple[Index, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    comment: str | None = None
    depends_on: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _settle(
            self,
            indexes=_sorted(self.indexes, _by_name),
            triggers=_sorted(self.triggers, _by_name),
            options=tuple(sorted(self.options)),
            depends_on=tuple(sorted(set(self.depends_on))),
        )

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


@dataclass(frozen=True, slots=True, kw_only=True)
class EnumType:
    schema: str
    name: str
    values: tuple[str, ...]
    comment: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainType:
    schema: str
    name: str
    base_type: str
    nullable: bool = True
    default: str | None = None
    collation: str | None = None
    checks: tuple[CheckConstraint, ...] = ()
    comment: str | None = None

    def __post_init__(self) -> None:
        _settle(self, checks=_sorted(self.checks, _by_name))


@dataclass(frozen=True, slots=True, kw_only=True)
class CompositeType:
    schema: str
    name: str
    attributes: tuple[Column, ...]
    comment: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RangeType:
    """CREATE TYPE … AS RANGE: subtype and the optional support functions."""

    schema: str
    name: str
    subtype: str
    subtype_opclass: str | None = None
    collation: str | None = None
    canonical: str | None = None
    subtype_diff: str | None = None
    multirange: str | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Sequence:
    schema: str
    name: str
    type: str = "bigint"
    start: int = 1
    increment: int = 1
    min_value: int | None = None
    max_value: int | None = None
    cache: int = 1
    cycle: bool = False
    owned_by: str | None = None
    comment: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Function:
    """A function, procedure or aggregate with its signature and attributes.

    `arguments` is the full argument list as the engine prints it (names, modes, defaults);
    `identity` the argument types alone, which with the name identifies an overload.
    """

    schema: str
    name: str
    kind: Literal["function", "procedure", "aggregate"] = "function"
    arguments: str = ""
    identity: str = ""
    returns: str | None = None
    language: str = "sql"
    body: str = ""
    volatility: Literal["immutable", "stable", "volatile"] = "volatile"
    strict: bool = False
    security_definer: bool = False
    leakproof: bool = False
    parallel: Literal["safe", "restricted", "unsafe"] = "unsafe"
    cost: float | None = None
    rows: float | None = None
    config: tuple[tuple[str, str], ...] = ()
    comment: str | None = None
    definition: str | None = None
    depends_on: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _settle(self, depends_on=tuple(sorted(set(self.depends_on))))

    @property
    def signature(self) -> str:
        return f"{self.schema}.{self.name}({self.identity})" if self.schema else self.name


@dataclass(frozen=True, slots=True, kw_only=True)
class Extension:
    name: str
    schema: str | None = None
    version: str | None = None
    comment: str | None = None
    requires: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Collation:
    schema: str
    name: str
    provider: Literal["icu", "libc", "default"] = "libc"
    locale: str | None = None
    lc_collate: str | None = None
    lc_ctype: str | None = None
    deterministic: bool = True
    comment: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TextSearchConfig:
    """A text search configuration: its parser and, per token type, the dictionaries."""

    schema: str
    name: str
    parser: str
    mappings: tuple[tuple[str, tuple[str, ...]], ...] = ()
    comment: str | None = None

    def __post_init__(self) -> None:
        _settle(self, mappings=tuple(sorted(self.mappings)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Namespace:
    name: str
    comment: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Grant:
    """A privilege on an object. `object_type` is table, sequence, function, schema, type…"""

    object_type: str
    object: str
    grantee: str
    privilege: str
    columns: tuple[str, ...] = ()
    grantable: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DefaultPrivilege:
    """ALTER DEFAULT PRIVILEGES: what `role` creates in `schema` is granted to `grantee`."""

    role: str
    object_type: str
    grantee: str
    privilege: str
    schema: str | None = None
    grantable: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Schema:
    """A whole database schema (all namespaces) as one value."""

    dialect: str
    namespaces: tuple[Namespace, ...] = ()
    extensions: tuple[Extension, ...] = ()
    collations: tuple[Collation, ...] = ()
    text_search_configs: tuple[TextSearchConfig, ...] = ()
    enums: tuple[EnumType, ...] = ()
    domains: tuple[DomainType, ...] = ()
    composite_types: tuple[CompositeType, ...] = ()
    ranges: tuple[RangeType, ...] = ()
    sequences: tuple[Sequence, ...] = ()
    tables: tuple[Table, ...] = ()
    views: tuple[View, ...] = ()
    functions: tuple[Function, ...] = ()
    grants: tuple[Grant, ...] = ()
    default_privileges: tuple[DefaultPrivilege, ...] = ()
    options: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        _settle(
            self,
            namespaces=_sorted(self.namespaces, lambda n: n.name),
            extensions=_sorted(self.extensions, lambda e: e.name),
            collations=_sorted(self.collations, _by_name),
            text_search_configs=_sorted(self.text_search_configs, _by_name),
            enums=_sorted(self.enums, _by_name),
            domains=_sorted(self.domains, _by_name),
            composite_types=_sorted(self.composite_types, _by_name),
            ranges=_sorted(self.ranges, _by_name),
            sequences=_sorted(self.sequences, _by_name),
            tables=_sorted(self.tables, _by_name),
            views=_sorted(self.views, _by_name),
            functions=_sorted(self.functions, lambda f: (f.schema, f.name, f.identity)),
            grants=_sorted(tuple(set(self.grants)), _grant_key),
            default_privileges=_sorted(tuple(set(self.default_privileges)), _defpriv_key),
            options=tuple(sorted(self.options)),
        )

    def table(self, qualified: str) -> Table | None:
        """The table named `schema.name` (or just `name` where the engine has no schemas)."""
        return _lookup(self.tables, qualified)

    def view(self, qualified: str) -> View | None:
        return _lookup(self.views, qualified)


R = TypeVar("R", Table, View)


def _lookup(items: tuple[R, ...], qualified: str) -> R | None:
    """Binary search of a (schema, name)-sorted tuple: large schemas look tables up often.
    A dot may belong to a name, so every split of `qualified` is tried."""
    candidates = [("", qualified)]
    at = qualified.find(".")
    while at >= 0:
        candidates.append((qualified[:at], qualified[at + 1 :]))
        at = qualified.find(".", at + 1)
    for key in candidates:
        i = bisect.bisect_left(items, key, key=_by_name)
        if i < len(items) and _by_name(items[i]) == key:
            return items[i]
    return None


def _grant_key(g: Grant) -> tuple[str, str, str, str, tuple[str, ...]]:
    return (g.object_type, g.object, g.grantee, g.privilege, g.columns)


def _defpriv_key(d: DefaultPrivilege) -> tuple[str, str, str, str, str]:
    return (d.role, d.schema or "", d.object_type, d.grantee, d.privilege)
