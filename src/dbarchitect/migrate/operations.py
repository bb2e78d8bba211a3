"""Schema changes as frozen data: what a migration does, before any dialect renders it.

An `Operation` names one object by kind (and owner, for what lives on a table, view or domain)
and carries the model value before and after the change: `create` has only `after`, `drop` only
`before`, `alter` and `rename` both. An `alter` means "make this object's own attributes equal to
`after`" — a column's type, default, nullability, identity, collation or comment, a table's row
level security flags or partition bound, a sequence's options, an enum's appended values — while
everything the object holds (a table's columns, constraints, indexes, triggers, policies) changes
through operations of its own. What cannot be altered in place is a drop followed by a create.

Every operation has an inverse (`inverse()`, `invert()`); make_migration diffs the way back
instead, so that what a dropped table held comes back as operations of its own. An
operation that destroys data (a dropped table or column, a narrowed type, an enum value removed)
says what in `lossy`: its inverse brings the structure back, not the rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Literal

from dbarchitect.model import (
    CheckConstraint,
    Collation,
    Column,
    CompositeType,
    DefaultPrivilege,
    DomainType,
    EnumType,
    ExclusionConstraint,
    Extension,
    ForeignKey,
    Function,
    Grant,
    Index,
    Namespace,
    Policy,
    PrimaryKey,
    RangeType,
    Sequence,
    Table,
    TextSearchConfig,
    Trigger,
    UniqueConstraint,
    View,
)

Action = Literal["create", "drop", "alter", "rename", "validate"]

# Kinds of object an operation can address, in the order plan.py breaks ties in. Sub-objects
# carry their owner's qualified name (schema.name, unquoted; the bare name where the engine
# has no schemas).
Kind = Literal[
    "namespace",
    "extension",
    "collation",
    "ts_config",
    "enum",
    "domain",
    "composite",
    "range",
    "sequence",
    "function",
    "table",
    "column",
    "primary_key",
    "unique",
    "check",
    "exclusion",
    "index",
    "foreign_key",
    "view",
    "trigger",
    "policy",
    "grant",
    "default_privilege",
]

Obj = (
    Namespace
    | Extension
    | Collation
    | TextSearchConfig
    | EnumType
    | DomainType
    | CompositeType
    | RangeType
    | Sequence
    | Function
    | Table
    | View
    | Column
    | PrimaryKey
    | ForeignKey
    | UniqueConstraint
    | CheckConstraint
    | ExclusionConstraint
    | Index
    | Trigger
    | Policy
    | Grant
    | DefaultPrivilege
)

_INVERSE_ACTION: dict[str, Action] = {
    "create": "drop",
    "drop": "create",
    "alter": "alter",
    "rename": "rename",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Operation:
    """One change to one object. `owner` is the table, view or domain a sub-object lives on."""

    action: Action
    kind: Kind
    before: Obj | None = None
    after: Obj | None = None
    owner: str = ""
    lossy: str | None = None

    def __post_init__(self) -> None:
        needs_before = self.action != "create"
        needs_after = self.action != "drop"
        if (self.before is not None) != needs_before or (self.after is not None) != needs_after:
            raise ValueError(f"{self.action} {self.kind}: wrong before/after for the action")

    @property
    def subject(self) -> Obj:
        """The object as it is once the operation has run (as it was, for a drop)."""
        obj = self.after if self.after is not None else self.before
        assert obj is not None
        return obj

    @property
    def name(self) -> str:
        """The subject's name as a person reads it (functions with their argument types)."""
        return object_name(self.subject)

    def describe(self) -> str:
        """A short line such as `drop column public.orders.note`."""
        where = f"{self.owner}." if self.owner else ""
        if self.action == "rename":
            assert self.before is not None
            return f"rename {self.kind} {where}{object_name(self.before)} to {self.name}"
        return f"{self.action} {self.kind} {where}{self.name}"

    def inverse(self) -> tuple[Operation, ...]:
        """The operations that undo this one (empty when there is nothing to undo).

        Validating a constraint has no undo in SQL; its inverse drops the constraint and adds
        it back NOT VALID, which leaves the catalog as it was.
        """
        if self.action == "validate":
            assert self.before is not None and self.after is not None
            return (
                Operation(action="drop", kind=self.kind, before=self.after, owner=self.owner),
                Operation(action="create", kind=self.kind, after=self.before, owner=self.owner),
            )
        return (
            replace(
                self,
                action=_INVERSE_ACTION[self.action],
                before=self.after,
                after=self.before,
                lossy=_inverse_loss(self),
            ),
        )


def _inverse_loss(op: Operation) -> str | None:
    # Creating something loses nothing when undone by its drop unless rows were put in it
    # meanwhile; a dropped object's inverse (the create) is where the loss shows.
    if op.action == "create" and op.kind in ("table", "column"):
        return f"rows written to the new {op.kind} {op.name} are lost when it is dropped"
    return None


def object_name(obj: Obj) -> str:
    """How an object is named in messages: qualified where it has a schema."""
    if isinstance(obj, Function):
        return obj.signature
    if isinstance(obj, Grant):
        cols = f"({', '.join(obj.columns)})" if obj.columns else ""
        return f"{obj.privilege}{cols} on {obj.object_type} {obj.object} to {obj.grantee}"
    if isinstance(obj, DefaultPrivilege):
        scope = f" in {obj.schema}" if obj.schema else ""
        return f"{obj.privilege} on {obj.object_type}{scope} for {obj.role} to {obj.grantee}"
    schema = getattr(obj, "schema", "")
    name = getattr(obj, "name", "")
    if isinstance(obj, (Extension, Namespace)):
        return name
    return f"{schema}.{name}" if schema else name


def invert(operations: tuple[Operation, ...] | list[Operation]) -> list[Operation]:
    """The inverse of a whole list: each operation inverted, in reverse order."""
    return [inv for op in reversed(operations) for inv in op.inverse()]


@dataclass(frozen=True, slots=True)
class TableFates:
    """What a list of operations does to whole tables, by qualified name: renamed (old →
    new, and back), created, dropped. Renderers ask this before walking the operations."""

    new_name: dict[str, str]
    old_name: dict[str, str]
    created: frozenset[str]
    dropped: frozenset[str]

    @classmethod
    def of(cls, operations: Iterable[Operation]) -> TableFates:
        tables = [op for op in operations if op.kind == "table"]
        renamed = {
            _qualified(op.before): _qualified(op.after) for op in tables if op.action == "rename"
        }
        return cls(
            new_name=renamed,
            old_name={new: old for old, new in renamed.items()},
            created=frozenset(_qualified(op.after) for op in tables if op.action == "create"),
            dropped=frozenset(_qualified(op.before) for op in tables if op.action == "drop"),
        )


def _qualified(obj: Obj | None) -> str:
    assert isinstance(obj, Table)
    return obj.qualified
