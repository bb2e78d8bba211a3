"""The design spec: entities, relationships and conventions, as written in YAML.

These pydantic models are the format (docs/design-spec.md documents it with a full example).
Loading with line numbers and the checks that span several entities live in design/load.py;
turning a spec into a Schema for one dialect lives in design/build.py.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FieldKind = Literal[
    "string",  # varchar(length), length defaults to 255
    "text",
    "char",  # char(length)
    "smallint",
    "integer",
    "bigint",
    "decimal",  # numeric(precision, scale)
    "float",  # 4-byte float
    "double",
    "boolean",
    "date",
    "time",
    "timestamp",  # with time zone where the engine has it
    "datetime",  # without time zone
    "uuid",
    "json",
    "bytes",
    "enum",  # values from `enum:` (a name under `enums:`) or `values:`
]
FIELD_KINDS: tuple[str, ...] = FieldKind.__args__  # type: ignore[attr-defined]

OnDelete = Literal["cascade", "restrict", "set null", "set default", "no action"]
IdStrategy = Literal["bigint", "uuid", "natural"]
Dialect = Literal["postgres", "sqlite", "mysql"]

# `name: string(100)?` — kind, optional arguments, `?` for nullable, then flags.
_SHORT = re.compile(
    r"^\s*(?P<kind>[a-z]+)\s*(?:\(\s*(?P<args>[0-9,\s]*)\))?\s*(?P<null>\?)?\s*(?P<flags>.*)$"
)
_FLAGS = {"unique", "index"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FieldSpec(_Strict):
    """One column. Written in full, or as shorthand `kind(args)?` + flags (`unique`, `index`)."""

    type: FieldKind
    length: int | None = Field(None, gt=0)
    precision: int | None = Field(None, gt=0)
    scale: int | None = Field(None, ge=0)
    nullable: bool = False
    default: str | int | float | bool | None = None  # a literal value
    default_sql: str | None = None  # an expression in PostgreSQL syntax, e.g. now()
    unique: bool = False
    index: bool = False
    check: str | None = None  # a condition in PostgreSQL syntax on this row
    enum: str | None = None  # a name under the spec's `enums:`
    values: tuple[str, ...] = ()  # inline enum values
    comment: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if not isinstance(data, str):
            return data
        m = _SHORT.match(data)
        if m is None:
            raise ValueError(f"cannot read field shorthand {data!r}")
        out: dict[str, Any] = {"type": m["kind"], "nullable": bool(m["null"])}
        args = [int(a) for a in (m["args"] or "").replace(" ", "").split(",") if a]
        if args and m["kind"] == "decimal":
            out["precision"] = args[0]
            if len(args) > 1:
                out["scale"] = args[1]
        elif args:
            out["length"] = args[0]
        for flag in m["flags"].split():
            if flag not in _FLAGS:
                raise ValueError(f"unknown flag {flag!r} in {data!r} (known: unique, index)")
            out[flag] = True
        return out

    @model_validator(mode="after")
    def _consistent(self) -> FieldSpec:
        if self.type == "enum" and not (self.enum or self.values):
            raise ValueError("an enum field needs `enum: <name>` or `values: [...]`")
        if self.type != "enum" and (self.enum or self.values):
            raise ValueError("`enum`/`values` are only for `type: enum`")
        if self.default is not None and self.default_sql is not None:
            raise ValueError("give `default` or `default_sql`, not both")
        if self.scale is not None and self.precision is not None and self.scale > self.precision:
            raise ValueError("scale is larger than precision")
        return self


class IndexSpec(_Strict):
    """An explicit index. A column entry in parentheses is an expression: `(lower(email))`."""

    columns: tuple[str, ...] = Field(min_length=1)
    name: str | None = None
    unique: bool = False
    method: Literal["btree", "hash", "gin", "gist", "brin"] = "btree"
    where: str | None = None  # partial index predicate, PostgreSQL syntax
    include: tuple[str, ...] = ()
    comment: str | None = None

    @field_validator("columns", "include", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class PartitionSpec(_Strict):
    """Range partitions by a date/timestamp column (monthly or daily), or hash/list by key."""

    by: Literal["range", "list", "hash"] = "range"
    column: str
    interval: Literal["day", "month", "year"] = "month"
    start: str | None = None  # first range partition, ISO date (default: today's month)
    count: int = Field(12, gt=0, le=400)  # how many range or hash partitions to create
    values: tuple[str, ...] = ()  # list partitions: one per value, plus a default


class EntitySpec(_Strict):
    """A table. Conventions set below override the spec-wide ones for this entity."""

    fields: dict[str, FieldSpec] = {}
    id: IdStrategy | None = None
    primary_key: tuple[str, ...] = ()  # the natural key (id: natural)
    unique: tuple[tuple[str, ...], ...] = ()  # composite unique constraints
    checks: dict[str, str] = {}  # name -> condition, PostgreSQL syntax
    indexes: tuple[IndexSpec, ...] = ()
    timestamps: bool | None = None
    soft_delete: bool | None = None
    audit: bool | None = None
    tenant: bool | None = None  # default: true for every entity but the tenant entity
    partition: PartitionSpec | None = None
    comment: str | None = None
    mixins: tuple[str, ...] = ()  # names under the spec's `mixins:`, already merged into fields

    @model_validator(mode="before")
    @classmethod
    def _bare(cls, data: Any) -> Any:
        return {} if data is None else data  # `tags:` with nothing after it: all defaults

    @field_validator("fields", mode="before")
    @classmethod
    def _no_fields(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("mixins", "primary_key", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class RelationshipSpec(_Strict):
    """A relationship between two entities.

    many_to_one: `from` holds a foreign key to `to` (the default: orders → users).
    one_to_many: `from` has many `to`; the key is on `to`.
    one_to_one: `from` holds a unique foreign key to `to`.
    many_to_many: a join table (`table`, default `<from>_<to>`) with a key to each side and
    optional `fields` of its own. `from` == `to` is a self-reference.
    """

    type: Literal["many_to_one", "one_to_many", "one_to_one", "many_to_many"] = "many_to_one"
    from_: str = Field(alias="from")
    to: str
    name: str | None = None  # the role: the key column is `<name>_id` (default: `to` singular)
    column: str | None = None  # the key column's name, overriding `<name>_id`
    nullable: bool = False
    on_delete: OnDelete | None = None  # default: restrict, or set null when nullable
    deferrable: bool = False
    table: str | None = None  # many_to_many: the join table's name
    fields: dict[str, FieldSpec] = {}  # many_to_many: the join table's own fields
    comment: str | None = None


class TenancySpec(_Strict):
    """Every tenant table gets `column` referencing `entity`; keys stay inside one tenant."""

    entity: str = "tenants"
    column: str = "tenant_id"


class AuditSpec(_Strict):
    """`created_by` / `updated_by` columns referencing `entity` (ON DELETE SET NULL)."""

    entity: str = "users"


class NamingSpec(_Strict):
    """Constraint and index names; placeholders {table}, {columns} (joined by _), {name}."""

    primary_key: str = "{table}_pkey"
    foreign_key: str = "{table}_{columns}_fkey"
    unique: str = "{table}_{columns}_key"
    index: str = "{table}_{columns}_idx"
    check: str = "{table}_{name}_check"


class ConventionsSpec(_Strict):
    """Spec-wide defaults."""

    id: IdStrategy = "bigint"
    timestamps: bool = True  # created_at, updated_at (kept current by a trigger)
    soft_delete: bool = False  # deleted_at, with unique constraints only among live rows
    tenancy: TenancySpec | None = None
    audit: AuditSpec | None = None
    naming: NamingSpec = NamingSpec()


class Spec(_Strict):
    """A whole design."""

    name: str
    description: str | None = None
    targets: tuple[Dialect, ...] = ("postgres", "sqlite", "mysql")  # the first is primary
    schema_: str = Field("public", alias="schema")  # the PostgreSQL schema
    conventions: ConventionsSpec = ConventionsSpec()
    enums: dict[str, tuple[str, ...]] = {}
    entities: dict[str, EntitySpec] = Field(min_length=1)
    relationships: tuple[RelationshipSpec, ...] = ()
    mixins: dict[str, dict[str, FieldSpec]] = {}  # reusable groups of fields

    @model_validator(mode="before")
    @classmethod
    def _apply_mixins(cls, data: Any) -> Any:
        """Merge each entity's mixins into its fields (after its own fields), so everything
        reading a Spec sees plain fields. design/load.py reports a bad mixin with its line
        before this runs; this message is for specs built in Python."""
        if not isinstance(data, dict):
            return data
        mixins, entities = data.get("mixins") or {}, data.get("entities")
        if not isinstance(mixins, dict) or not isinstance(entities, dict):
            return data
        merged: dict[Any, Any] = {}
        for name, entity in entities.items():
            used = entity.get("mixins") if isinstance(entity, dict) else None
            if isinstance(used, str):
                used = [used]
            fields = (entity.get("fields") or {}) if isinstance(entity, dict) else None
            if not used or not isinstance(used, list | tuple) or not isinstance(fields, dict):
                merged[name] = entity  # nothing to merge, or a type error pydantic reports
                continue
            fields = dict(fields)
            for mixin in used:
                if not isinstance(mixin, str) or not isinstance(mixins.get(mixin), dict):
                    raise ValueError(f"entity {name}: unknown mixin {mixin!r}")
                for field_name, field_spec in mixins[mixin].items():
                    if field_name in fields:
                        raise ValueError(
                            f"entity {name}: field {field_name!r} of mixin {mixin!r} is "
                            "already a field"
                        )
                    fields[field_name] = field_spec
            merged[name] = {**entity, "fields": fields}
        return {**data, "entities": merged}


__all__ = [
    "FIELD_KINDS",
    "AuditSpec",
    "ConventionsSpec",
    "EntitySpec",
    "FieldSpec",
    "IndexSpec",
    "NamingSpec",
    "PartitionSpec",
    "RelationshipSpec",
    "Spec",
    "TenancySpec",
]
