"""Relationships for generated models: both sides of every foreign key, many-to-many through
pure join tables.

Each foreign key between two mapped classes gives a many-to-one attribute on the child and a
one-to-many (one-to-one when the key columns are unique) attribute on the parent, joined by
`back_populates`. `foreign_keys` is spelled out when two tables are linked by more than one
key, `remote_side` for self references, and `overlaps` when keys share columns (the tenant
column of composite tenant keys), which SQLAlchemy would otherwise warn about.

A pure join table — a primary key made of exactly two foreign keys to two other classes and
no other column — is a plain Table, and its two ends get `secondary=` relationships instead.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from dbarchitect.codegen.sqlalchemy_names import Scope, children, key_role, singular, snake
from dbarchitect.model import ForeignKey, Table

Kind = Literal["many_to_one", "one_to_many", "one_to_one", "many_to_many"]


@dataclass(slots=True, kw_only=True)
class Relation:
    """One relationship attribute of a class (all names are Python names)."""

    owner: str  # qualified table of the class holding the attribute
    target: str  # qualified table of the class it points to
    kind: Kind
    name: str = ""
    back: str = ""
    nullable: bool = True
    foreign_keys: tuple[str, ...] = ()  # qualified table, column name pairs joined by "\0"
    remote_side: tuple[str, ...] = ()
    secondary: str | None = None  # qualified name of the join table
    overlaps: list[str] = field(default_factory=list)
    # Through an association class: read-only, the class's own relationships write.
    viewonly: bool = False


def is_link(table: Table, classes: set[str]) -> bool:
    """A table whose key is made of two foreign keys to two other mapped classes."""
    fks = table.foreign_keys
    if len(fks) != 2 or table.primary_key is None:
        return False
    a, b = fks
    refs = {_ref(a), _ref(b)}
    if len(refs) != 2 or table.qualified in refs or not refs <= classes:
        return False
    columns = set(a.columns) | set(b.columns)
    return not set(a.columns) & set(b.columns) and columns == set(table.primary_key.columns)


def is_pure_join(table: Table, classes: set[str]) -> bool:
    """A link table with no column of its own: a plain Table behind `secondary=`."""
    keys = {c for fk in table.foreign_keys for c in fk.columns}
    return is_link(table, classes) and keys == {c.name for c in table.columns}


def _ref(fk: ForeignKey) -> str:
    return fk.ref_qualified


def _unique_sets(table: Table) -> list[set[str]]:
    sets = [set(u.columns) for u in table.uniques]
    if table.primary_key is not None:
        sets.append(set(table.primary_key.columns))
    sets += [
        {k.column for k in i.keys}
        for i in table.indexes
        if i.unique and i.where is None and not any(k.expression for k in i.keys)
    ]
    return sets


def plan_relations(
    tables: dict[str, Table], classes: set[str], scopes: dict[str, Scope]
) -> list[Relation]:
    """Every relationship attribute, named uniquely within its class's `scopes` entry.

    `tables` are the declared tables by qualified name, `classes` those mapped to a class
    (the others are plain Tables); each scope already holds the class's column attributes.
    """
    relations: list[Relation] = []
    links: Counter[frozenset[str]] = Counter()
    for t in tables.values():
        for fk in t.foreign_keys:
            links[frozenset({t.qualified, _ref(fk)})] += 1
    # By position: SQLite keys may be unnamed, and a table may repeat the same key.
    per_fk: dict[tuple[str, int], tuple[Relation, Relation]] = {}
    for qualified in sorted(classes):
        child = tables[qualified]
        for position, fk in enumerate(child.foreign_keys):
            parent_name = _ref(fk)
            if parent_name not in classes:
                continue
            parent = tables[parent_name]
            self_ref = parent_name == qualified
            many = Relation(owner=qualified, target=parent_name, kind="many_to_one")
            unique = set(fk.columns) in _unique_sets(child) and not self_ref
            one = Relation(
                owner=parent_name,
                target=qualified,
                kind="one_to_one" if unique else "one_to_many",
            )
            many.nullable = any(
                (c := child.column(name)) is None or c.nullable for name in fk.columns
            )
            if links[frozenset({qualified, parent_name})] > 1 or self_ref:
                keys = tuple(f"{qualified}\0{c}" for c in fk.columns)
                many.foreign_keys = one.foreign_keys = keys
            if self_ref:
                many.remote_side = tuple(f"{parent_name}\0{c}" for c in fk.ref_columns)
            role = _role(child, fk)
            ref_word = snake(singular(parent.name))
            # A key column without an _id suffix is itself the role (created_by → User):
            # the relationship then says what it points to, briefly.
            named = f"{role}_{ref_word}"
            brief = f"{role}_ref"
            pick = (brief, named) if role.endswith(ref_word) or len(named) > 30 else (named, brief)
            many.name = scopes[qualified].take(role, *pick)
            rows = children(child.name) if not unique else snake(singular(child.name))
            if role == "parent" and self_ref:
                wanted = "children"
            elif not self_ref and (
                links[frozenset({qualified, parent_name})] == 1 or role == ref_word
            ):
                wanted = rows
            else:
                wanted = f"{role}_{rows}"
            one.name = scopes[parent_name].take(wanted, f"{wanted}_rel")
            many.back, one.back = one.name, many.name
            relations += [many, one]
            per_fk[(qualified, position)] = (many, one)
    _mark_overlaps(tables, classes, per_fk)
    relations += _many_to_many(tables, classes, scopes)
    return relations


def _role(child: Table, fk: ForeignKey) -> str:
    """The child-side name of a key: its column's role (customer_id → customer); for a
    composite key the last column that no other key of the table shares (tenant keys)."""
    shared = Counter(c for other in child.foreign_keys for c in other.columns)
    columns = [c for c in fk.columns if shared[c] == 1] or list(fk.columns)
    for column in reversed(columns):
        role = key_role(column)
        if role:
            return role
    if len(fk.columns) == 1:
        return snake(fk.columns[0])
    return snake(singular(fk.ref_table))


def _mark_overlaps(
    tables: dict[str, Table],
    classes: set[str],
    per_fk: dict[tuple[str, int], tuple[Relation, Relation]],
) -> None:
    """Keys of one table that share a column write that column from several relationships:
    each names the others in `overlaps`, which is what SQLAlchemy asks for."""
    for qualified in sorted(classes):
        fks = tables[qualified].foreign_keys
        keyed = [(i, fk) for i, fk in enumerate(fks) if (qualified, i) in per_fk]
        for i, fk in keyed:
            for j, other in keyed:
                if i == j or not set(fk.columns) & set(other.columns):
                    continue
                theirs = per_fk[(qualified, j)]
                for rel in per_fk[(qualified, i)]:
                    rel.overlaps += [r.name for r in theirs if r.name not in rel.overlaps]


def _many_to_many(
    tables: dict[str, Table], classes: set[str], scopes: dict[str, Scope]
) -> list[Relation]:
    """Both ends of every link table: writable through a plain join Table, read-only through
    an association class (which has its own columns and relationships that write)."""
    out: list[Relation] = []
    ends = {q for q in classes if not is_link(tables[q], classes)}
    for qualified in sorted(tables):
        join = tables[qualified]
        if not is_link(join, ends):
            continue
        view = qualified in classes
        a, b = (_ref(fk) for fk in join.foreign_keys)
        left = Relation(owner=a, target=b, kind="many_to_many", secondary=qualified, viewonly=view)
        right = Relation(owner=b, target=a, kind="many_to_many", secondary=qualified, viewonly=view)
        left.name = scopes[a].take(
            children(tables[b].name), f"{snake(join.name)}_{children(tables[b].name)}"
        )
        right.name = scopes[b].take(
            children(tables[a].name), f"{snake(join.name)}_{children(tables[a].name)}"
        )
        if not view:
            left.back, right.back = right.name, left.name
        out += [left, right]
    return out


__all__ = ["Relation", "is_pure_join", "plan_relations"]
