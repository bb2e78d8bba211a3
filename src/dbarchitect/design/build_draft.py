"""The working state of a design build: one mutable draft per table, and the build context.

The build fills drafts in phases (keys and fields, relationships, conventions, keys and
indexes, partitions) and only then turns them into the frozen model, naming every constraint
once all of them are known. Expressions stay in PostgreSQL syntax until that last step, when
every column they may mention exists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from dbarchitect.design.build_designer import Designer
from dbarchitect.design.load import LoadedSpec
from dbarchitect.design.spec import IndexSpec, PartitionSpec
from dbarchitect.errors import InputError
from dbarchitect.model import Column, EnumType
from dbarchitect.model.schema import Action

Place = tuple[str | int, ...]


@dataclass
class FkDraft:
    """A foreign key: `columns` → `target`(`ref_columns`); `key` are the columns named in
    the constraint's name (the relationship's own, without the tenant column)."""

    columns: tuple[str, ...]
    target: str
    ref_columns: tuple[str, ...]
    key: tuple[str, ...]
    on_delete: Action
    place: Place
    deferrable: bool = False
    on_delete_columns: tuple[str, ...] = ()


@dataclass
class UniqueDraft:
    """A unique key over columns; `soft` when it must hold among live rows only."""

    columns: tuple[str, ...]
    place: Place
    soft: bool = True


@dataclass
class IndexDraft:
    """An index: keys are column names or expressions in parentheses (PostgreSQL syntax)."""

    keys: tuple[str, ...]
    place: Place
    unique: bool = False
    method: str = "btree"
    where: str | None = None  # PostgreSQL syntax
    include: tuple[str, ...] = ()
    name: str | None = None
    comment: str | None = None
    # The engine's printed predicate (soft-delete uniques), when already translated.
    where_printed: str | None = None

    @classmethod
    def of(cls, spec: IndexSpec, place: Place) -> IndexDraft:
        return cls(
            keys=spec.columns,
            place=place,
            unique=spec.unique,
            method=spec.method,
            where=spec.where,
            include=spec.include,
            name=spec.name,
            comment=spec.comment,
        )


@dataclass
class CheckDraft:
    """A CHECK: `text` in PostgreSQL syntax, or already in the engine's form when `printed`."""

    name: str
    text: str
    place: Place
    printed: bool = False
    exact: bool = False  # `name` is the constraint's name, not a naming-template part


@dataclass
class Draft:
    """One table under construction."""

    name: str
    place: Place
    comment: str | None = None
    head: list[Column] = field(default_factory=list)  # id, tenant column
    fields: list[Column] = field(default_factory=list)
    keys: list[Column] = field(default_factory=list)  # relationship key columns
    audit: list[Column] = field(default_factory=list)
    tail: list[Column] = field(default_factory=list)  # created_at, updated_at, deleted_at
    extra: list[Column] = field(default_factory=list)  # columns the engine needs on top
    primary_key: tuple[str, ...] = ()
    tenant_column: str | None = None
    tenant_unique: bool = False  # UNIQUE (tenant, key…) for composite foreign keys to it
    foreign_keys: list[FkDraft] = field(default_factory=list)
    uniques: list[UniqueDraft] = field(default_factory=list)
    indexes: list[IndexDraft] = field(default_factory=list)
    checks: list[CheckDraft] = field(default_factory=list)
    soft_delete: str | None = None  # the deleted_at column when rows are soft-deleted
    updated_at: str | None = None  # the column the engine keeps current
    partition: PartitionSpec | None = None
    enums: list[EnumType] = field(default_factory=list)

    @property
    def columns(self) -> list[Column]:
        return self.head + self.fields + self.keys + self.audit + self.tail + self.extra

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def has(self, name: str) -> bool:
        return self.column(name) is not None

    @property
    def key(self) -> tuple[str, ...]:
        """The columns other tables reference: the primary key without the tenant column
        (the tenant column is added to the reference separately)."""
        return tuple(c for c in self.primary_key if c != self.tenant_column)

    def add(self, part: list[Column], column: Column, ctx: Context, place: Place) -> None:
        """Append `column` to one of the column groups; a name used twice is an error."""
        if self.has(column.name):
            raise InputError(
                f"{ctx.loaded.where(*place)}: table {self.name} already has a column {column.name}"
            )
        part.append(column)

    def replace(self, column: Column) -> None:
        """Put `column` in place of the column of the same name."""
        for part in (self.head, self.fields, self.keys, self.audit, self.tail, self.extra):
            for i, c in enumerate(part):
                if c.name == column.name:
                    part[i] = column
                    return


@dataclass
class Context:
    """What every phase reads: the spec, the engine's designer, and the notes so far."""

    loaded: LoadedSpec
    designer: Designer
    schema: str
    today: dt.date
    notes: list[str] = field(default_factory=list)
    grouped: dict[str, list[str]] = field(default_factory=dict)

    def note(self, text: str) -> None:
        """Record something the engine cannot express (once)."""
        line = f"{self.designer.label}: {text}"
        if line not in self.notes:
            self.notes.append(line)

    def note_item(self, reason: str, item: str) -> None:
        """Record one of several objects the same limitation applies to; they are listed
        in one note."""
        items = self.grouped.setdefault(reason, [])
        if item not in items:
            items.append(item)

    def all_notes(self) -> tuple[str, ...]:
        """The notes, grouped ones last, each as one line."""
        grouped = [
            f"{self.designer.label}: {reason}: {', '.join(items)}"
            for reason, items in self.grouped.items()
        ]
        return (*self.notes, *grouped)

    def error(self, place: Place, text: str) -> InputError:
        """An InputError naming the spec line of `place`."""
        return InputError(f"{self.loaded.where(*place)}: {text}")


def ordered(items: Iterable[str]) -> tuple[str, ...]:
    """Distinct items in first-seen order."""
    return tuple(dict.fromkeys(items))


__all__ = [
    "CheckDraft",
    "Context",
    "Draft",
    "FkDraft",
    "IndexDraft",
    "Place",
    "UniqueDraft",
    "ordered",
]
