"""One view of every index of a relation, constraint-backed or not, for the index rules.

The model keeps indexes that back a PRIMARY KEY or UNIQUE constraint on the constraint (on
MySQL also plain unique keys; on SQLite the autoindexes of UNIQUE clauses), so a rule that
compares indexes must put both kinds side by side: `IndexView` does that, with the key
identity (column or expression, opclass, collation, prefix length, order) the comparisons use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from dbarchitect.model import Column, Index, IndexKey, Schema, Table, View
from dbarchitect.review.context import ReviewContext, object_name

Backing = Literal["index", "primary key", "unique"]


@dataclass(frozen=True, slots=True)
class IndexView:
    """An index as the index rules compare it; `backing` says what created it."""

    name: str
    backing: Backing
    keys: tuple[IndexKey, ...]
    unique: bool
    method: str = "btree"
    include: tuple[str, ...] = ()
    where: str | None = None
    nulls_not_distinct: bool = False
    index: Index | None = None
    named: bool = True  # False: `name` is a stand-in for a constraint declared without one
    # Everything that makes two indexes interchangeable, computed once (rules compare a lot).
    signature: tuple[object, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        signature = (
            tuple(key_identity(k) + key_order(k) for k in self.keys),
            self.method,
            self.where,
            self.unique,
            self.nulls_not_distinct,
            tuple(sorted(self.include)),
        )
        object.__setattr__(self, "signature", signature)  # frozen: the documented escape hatch

    @property
    def kind(self) -> str:
        return "index" if self.backing == "index" else "constraint"

    @property
    def valid(self) -> bool:
        return self.index is None or ("invalid", "true") not in self.index.options

    def describe(self) -> str:
        return f"({', '.join(key_text(k) for k in self.keys)})"

    def title(self) -> str:
        """How messages name it: `unique constraint orders_code_key (code)`."""
        what = {"index": "index", "primary key": "primary key", "unique": "unique constraint"}
        if not self.named:  # a table has one primary key: no name needed to tell which
            prefix = "" if self.backing == "primary key" else "unnamed "
            return f"{prefix}{what[self.backing]} {self.describe()}"
        return f"{what[self.backing]} {self.name} {self.describe()}"


@dataclass(frozen=True, slots=True)
class Relation:
    """A table or materialized view with its indexes."""

    schema: str
    name: str
    columns: tuple[Column, ...]
    partitioned: bool
    indexes: tuple[IndexView, ...]
    exclusions: int = 0
    table: Table | None = None

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def object(self, index: IndexView) -> str:
        return object_name(self.schema, self.name, index.name)


def key_identity(k: IndexKey) -> tuple[object, ...]:
    """What a key indexes: the column or expression and how values compare."""
    return (k.column, k.expression, k.opclass, k.collation, k.length)


def key_order(k: IndexKey) -> tuple[bool, bool | None]:
    return (k.descending, k.nulls_first)


def key_text(k: IndexKey) -> str:
    """The key as a CREATE INDEX would spell it, enough to tell two keys apart."""
    text = k.column
    if k.length is not None:
        text += f"({k.length})"
    if k.collation:
        text += f" COLLATE {k.collation}"
    if k.opclass:
        text += f" {k.opclass}"
    return text + (" DESC" if k.descending else "")


def _plain_keys(columns: tuple[str, ...]) -> tuple[IndexKey, ...]:
    return tuple(IndexKey(column=c) for c in columns)


def unnamed_label(table: str, columns: tuple[str, ...], suffix: str, taken: set[str]) -> str:
    """A stable stand-in name for a constraint declared without one (SQLite allows that): the
    name PostgreSQL would give it, numbered when it clashes with a name in `taken` (updated)."""
    base = f"{table}_{'_'.join(columns)}_{suffix}"
    label, n = base, 0
    while label in taken:
        n += 1
        label = f"{base}{n}"
    taken.add(label)
    return label


def table_relation(t: Table) -> Relation:
    """Every index of a table: primary key, unique constraints and plain indexes."""
    taken = {i.name for i in t.indexes} | {u.name for u in t.uniques if u.name}
    out: list[IndexView] = []
    if t.primary_key is not None:
        pk = t.primary_key
        out.append(
            IndexView(
                name=pk.name or unnamed_label(t.name, pk.columns, "pkey", taken),
                backing="primary key",
                keys=_plain_keys(pk.columns),
                unique=True,
                include=pk.include,
                named=bool(pk.name),
            )
        )
    for u in t.uniques:
        out.append(
            IndexView(
                name=u.name or unnamed_label(t.name, u.columns, "key", taken),
                backing="unique",
                keys=_plain_keys(u.columns),
                unique=True,
                include=u.include,
                nulls_not_distinct=u.nulls_not_distinct,
                named=bool(u.name),
            )
        )
    out.extend(_plain(ix) for ix in t.indexes)
    return Relation(
        schema=t.schema,
        name=t.name,
        columns=t.columns,
        partitioned=t.partitioning is not None,
        indexes=tuple(out),
        exclusions=len(t.exclusions),
        table=t,
    )


def _plain(ix: Index) -> IndexView:
    return IndexView(
        name=ix.name,
        backing="index",
        keys=ix.keys,
        unique=ix.unique,
        method=ix.method,
        include=ix.include,
        where=ix.where,
        nulls_not_distinct=ix.nulls_not_distinct,
        index=ix,
    )


def view_relation(v: View) -> Relation:
    return Relation(
        schema=v.schema,
        name=v.name,
        columns=v.columns,
        partitioned=False,
        indexes=tuple(_plain(ix) for ix in v.indexes),
    )


# The last schema's relations: six rules walk the same ones (a strong reference to the schema
# keeps its id from being reused while it is cached).
_memo: dict[bool, tuple[Schema, list[Relation]]] = {}


def relations(ctx: ReviewContext, *, partitions: bool = False) -> list[Relation]:
    """Tables (partitions only when asked) and materialized views that have indexes."""
    cached = _memo.get(partitions)
    if cached is not None and cached[0] is ctx.schema:
        return cached[1]
    tables = ctx.schema.tables if partitions else ctx.tables
    out = [table_relation(t) for t in tables]
    out.extend(view_relation(v) for v in ctx.schema.views if v.materialized and v.indexes)
    _memo[partitions] = (ctx.schema, out)
    return out


def drop_sql(ctx: ReviewContext, rel: Relation, ix: IndexView) -> str | None:
    """SQL that drops `ix`: DROP INDEX for an index, ALTER TABLE for a constraint."""
    q = ctx.quote
    table = f"{q(rel.schema)}.{q(rel.name)}" if rel.schema else q(rel.name)
    dialect = ctx.schema.dialect
    if ix.backing == "index":
        if dialect == "mysql":
            return f"DROP INDEX {q(ix.name)} ON {table};"
        name = f"{q(rel.schema)}.{q(ix.name)}" if rel.schema else q(ix.name)
        # CONCURRENTLY is refused on a partitioned parent's index.
        concurrently = "CONCURRENTLY " if dialect == "postgres" and not rel.partitioned else ""
        return f"DROP INDEX {concurrently}{name};"
    if dialect == "postgres":
        return f"ALTER TABLE {table} DROP CONSTRAINT {q(ix.name)};"
    if dialect == "mysql":
        what = "PRIMARY KEY" if ix.backing == "primary key" else f"INDEX {q(ix.name)}"
        return f"ALTER TABLE {table} DROP {what};"
    return None  # SQLite drops a table constraint only by rebuilding the table
