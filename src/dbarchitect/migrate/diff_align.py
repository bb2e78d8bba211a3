"""Expressions that differ in text only: `before` takes `after`'s text before the comparison.

Engines print stored expressions back as text, and text printed from a recreated object can
differ from the original's while meaning the same (see the dialect's `expression_key`). Where
the two sides' texts differ but their keys are equal, `before` is given `after`'s text, so the
comparison sees no change and nothing is rebuilt for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from dbarchitect.model import (
    CheckConstraint,
    Column,
    DomainType,
    Index,
    Policy,
    Schema,
    Table,
    View,
)

Key = Callable[..., str]
T = TypeVar("T")


def align_expressions(before: Schema, after: Schema, key: Key) -> Schema:
    """`before` with each expression that means what `after`'s does in `after`'s words."""
    if before == after:
        return before

    def same(b: str | None, a: str | None, query: bool = False) -> str | None:
        if b is None or a is None or b == a:
            return b
        return a if key(b, query=query) == key(a, query=query) else b

    tables = {t.qualified: t for t in after.tables}
    views = {v.qualified: v for v in after.views}
    domains = {(d.schema, d.name): d for d in after.domains}
    return replace(
        before,
        tables=tuple(_table(t, tables.get(t.qualified), same) for t in before.tables),
        views=tuple(_view(v, views.get(v.qualified), same) for v in before.views),
        domains=tuple(_domain(d, domains.get((d.schema, d.name)), same) for d in before.domains),
    )


Same = Callable[..., str | None]


def _by_name(items: tuple[T, ...]) -> dict[str, T]:
    return {getattr(i, "name"): i for i in items}  # noqa: B009 - any model object with a name


def _checks(
    mine: tuple[CheckConstraint, ...], theirs: tuple[CheckConstraint, ...], same: Same
) -> tuple[CheckConstraint, ...]:
    other = _by_name(theirs)
    out = []
    for c in mine:
        o = other.get(c.name)
        out.append(
            replace(c, expression=same(c.expression, o.expression) or c.expression) if o else c
        )
    return tuple(out)


def _table(t: Table, a: Table | None, same: Same) -> Table:
    if a is None or a == t:
        return t
    cols = _by_name(a.columns)
    columns = []
    for c in t.columns:
        o = cols.get(c.name)
        if o is not None:
            c = _column(c, o, same)
        columns.append(c)
    indexes = _by_name(a.indexes)
    policies = _by_name(a.policies)
    return replace(
        t,
        columns=tuple(columns),
        checks=_checks(t.checks, a.checks, same),
        indexes=tuple(_index(i, indexes.get(i.name), same) for i in t.indexes),
        policies=tuple(_policy(p, policies.get(p.name), same) for p in t.policies),
    )


def _column(c: Column, o: Column, same: Same) -> Column:
    return replace(c, default=same(c.default, o.default), generated=same(c.generated, o.generated))


def _index(i: Index, o: Index | None, same: Same) -> Index:
    return replace(i, where=same(i.where, o.where)) if o is not None else i


def _policy(p: Policy, o: Policy | None, same: Same) -> Policy:
    if o is None:
        return p
    return replace(p, using=same(p.using, o.using), with_check=same(p.with_check, o.with_check))


def _view(v: View, o: View | None, same: Same) -> View:
    if o is None:
        return v
    return replace(v, definition=same(v.definition, o.definition, True) or v.definition)


def _domain(d: DomainType, o: DomainType | None, same: Same) -> DomainType:
    if o is None:
        return d
    return replace(d, default=same(d.default, o.default), checks=_checks(d.checks, o.checks, same))
