"""Per-kind comparison: which objects are created, dropped, altered in place or rebuilt.

Objects are matched by identity (name, or schema and name, or owner and name); what the
renderers can alter in place becomes an `alter`, anything else a drop followed by a create.
Dependents of what is rebuilt are added afterwards by diff_rebuild.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import replace
from typing import TypeVar

from dbarchitect.migrate.diff_deps import constraints_of
from dbarchitect.migrate.operations import Kind, Obj, Operation
from dbarchitect.model import (
    CheckConstraint,
    Column,
    EnumType,
    ForeignKey,
    Function,
    Schema,
    Table,
    Trigger,
    View,
)

T = TypeVar("T")
Ops = list[Operation]


def pair(
    before: Iterable[T], after: Iterable[T], key: Callable[[T], Hashable]
) -> tuple[list[T], list[T], list[tuple[T, T]]]:
    """Split two collections into (only before, only after, matched pairs), keeping order."""
    b = {key(x): x for x in before}
    a = {key(x): x for x in after}
    gone = [x for k, x in b.items() if k not in a]
    new = [x for k, x in a.items() if k not in b]
    both = [(x, a[k]) for k, x in b.items() if k in a]
    return gone, new, both


def _name(x: object) -> Hashable:
    return (getattr(x, "schema", ""), getattr(x, "name", ""))


def create(kind: Kind, obj: Obj, owner: str = "") -> Operation:
    return Operation(action="create", kind=kind, after=obj, owner=owner)


def drop(kind: Kind, obj: Obj, owner: str = "", lossy: str | None = None) -> Operation:
    return Operation(action="drop", kind=kind, before=obj, owner=owner, lossy=lossy)


def alter(kind: Kind, b: Obj, a: Obj, owner: str = "", lossy: str | None = None) -> Operation:
    return Operation(action="alter", kind=kind, before=b, after=a, owner=owner, lossy=lossy)


def _same_but(b: object, a: object, *fields: str) -> bool:
    """Whether two objects are equal once `fields` (alterable in place) are ignored."""
    overrides = {f: getattr(a, f) for f in fields}
    return replace(b, **overrides) == a  # type: ignore[type-var]


def _simple(kind: Kind, b: Obj, a: Obj, alterable: tuple[str, ...], ops: Ops) -> None:
    if b == a:
        return
    if _same_but(b, a, *alterable):
        ops.append(alter(kind, b, a))
    else:
        ops.extend([drop(kind, b), create(kind, a)])


def enum_appends_only(b: EnumType, a: EnumType) -> bool:
    """Whether `a` keeps every value of `b` in the same order (new ones inserted anywhere)."""
    it = iter(a.values)
    return all(v in it for v in b.values)


def compare_types(before: Schema, after: Schema, ops: Ops) -> None:
    """Namespaces, extensions, collations, text search, enums, domains, composites, ranges."""
    gone, new, both = pair(before.namespaces, after.namespaces, lambda n: n.name)
    ops += [drop("namespace", n) for n in gone] + [create("namespace", n) for n in new]
    ops += [alter("namespace", b, a) for b, a in both if b != a]
    gone_x, new_x, both_x = pair(before.extensions, after.extensions, lambda e: e.name)
    ops += [drop("extension", e) for e in gone_x] + [create("extension", e) for e in new_x]
    ops += [alter("extension", b, a) for b, a in both_x if b != a]
    simple: list[tuple[Kind, tuple[Obj, ...], tuple[Obj, ...], tuple[str, ...]]] = [
        ("collation", before.collations, after.collations, ("comment",)),
        ("ts_config", before.text_search_configs, after.text_search_configs, ("comment",)),
        ("range", before.ranges, after.ranges, ("comment",)),
        # A new base type is an alter too: the renderer rebuilds the domain under its users.
        (
            "domain",
            before.domains,
            after.domains,
            ("default", "nullable", "checks", "comment", "base_type", "collation"),
        ),
        ("composite", before.composite_types, after.composite_types, ("attributes", "comment")),
    ]
    for kind, bs, as_, alterable in simple:
        gone_o, new_o, both_o = pair(bs, as_, _name)
        ops += [drop(kind, x) for x in gone_o] + [create(kind, x) for x in new_o]
        for b, a in both_o:
            _simple(kind, b, a, alterable, ops)
    gone_e, new_e, both_e = pair(before.enums, after.enums, _name)
    ops += [drop("enum", x) for x in gone_e] + [create("enum", x) for x in new_e]
    for be, ae in both_e:
        if be != ae:
            removed = [v for v in be.values if v not in ae.values]
            lossy = f"enum values removed: {', '.join(removed)}" if removed else None
            ops.append(alter("enum", be, ae, lossy=lossy))


def compare_sequences(before: Schema, after: Schema, ops: Ops) -> None:
    """Sequences alter in place. An owned sequence is created unowned and then owned (and
    disowned before it is dropped), so that it never waits for the column that uses it."""
    gone, new, both = pair(before.sequences, after.sequences, _name)
    for s in gone:
        if s.owned_by:
            loose = replace(s, owned_by=None)
            ops += [alter("sequence", s, loose), drop("sequence", loose)]
        else:
            ops.append(drop("sequence", s))
    for s in new:
        if s.owned_by:
            loose = replace(s, owned_by=None)
            ops += [create("sequence", loose), alter("sequence", loose, s)]
        else:
            ops.append(create("sequence", s))
    ops += [alter("sequence", b, a) for b, a in both if b != a]


def compare_functions(before: Schema, after: Schema, ops: Ops) -> None:
    """CREATE OR REPLACE keeps return type, arguments and kind; anything else is rebuilt."""
    gone, new, both = pair(
        before.functions, after.functions, lambda f: (f.schema, f.name, f.identity)
    )
    ops += [drop("function", f) for f in gone] + [create("function", f) for f in new]
    for b, a in both:
        if b == a:
            continue
        if _replaceable(b, a):
            ops.append(alter("function", b, a))
        else:
            ops += [drop("function", b), create("function", a)]


def _replaceable(b: Function, a: Function) -> bool:
    return (b.returns, b.arguments, b.kind) == (a.returns, a.arguments, a.kind)


_TABLE_ALTERABLE = (
    "rls_enabled",
    "rls_forced",
    "unlogged",
    "options",
    "comment",
    "partition_of",
    "partition_bound",
)
# What is compared as operations of its own rather than as the table's attributes.
_TABLE_PARTS = (
    "columns",
    "primary_key",
    "foreign_keys",
    "uniques",
    "checks",
    "exclusions",
    "indexes",
    "triggers",
    "policies",
    "depends_on",
)


def compare_tables(before: Schema, after: Schema, ops: Ops) -> None:
    """Tables and everything on them."""
    gone, new, both = pair(before.tables, after.tables, _name)
    for t in gone:
        drop_table(t, ops)
    for t in new:
        create_table(t, ops)
    parents_b = {t.qualified: t for t in before.tables}
    parents_a = {t.qualified: t for t in after.tables}
    for b, a in both:
        if b == a:
            continue
        if not _same_but(b, a, *_TABLE_ALTERABLE, *_TABLE_PARTS):
            # A new partitioning scheme or inheritance cannot be altered in: rebuild.
            drop_table(b, ops, lossy=f"table {b.qualified} is recreated: its rows are lost")
            create_table(a, ops)
            continue
        if not _same_but(b, a, *_TABLE_PARTS):
            ops.append(alter("table", b, a))
        compare_parts(b, a, ops, _parent(b, parents_b), _parent(a, parents_a))


def _parent(t: Table, tables: dict[str, Table]) -> Table | None:
    """The table `t` takes its columns from (partition parent or first inheritance parent).
    Parents are stored quoted; unquoting is enough to find them among qualified names."""
    ref = t.partition_of or (t.inherits[0] if t.inherits else None)
    if ref is None:
        return None
    return tables.get(ref) or tables.get(ref.replace('"', ""))


def _propagated(t: Table, kind: Kind, obj: Obj) -> bool:
    """What a partition or inheritance child gets from its parent is not diffed on its own."""
    if isinstance(obj, Column):
        return obj.inherited or t.partition_of is not None
    if isinstance(obj, Trigger | ForeignKey | CheckConstraint) or kind in (
        "primary_key",
        "unique",
        "exclusion",
    ):
        return bool(getattr(obj, "inherited", False))
    return bool(getattr(obj, "parent", None))


def create_table(t: Table, ops: Ops) -> None:
    """The table, then what `create table` does not cover (FKs, indexes, triggers, policies)."""
    ops.append(create("table", t))
    for kind, obj in _separate_parts(t):
        ops.append(create(kind, obj, t.qualified))


def drop_table(t: Table, ops: Ops, lossy: str | None = None) -> None:
    """The table with the separate parts its re-creation by the down migration needs back."""
    ops.append(drop("table", t, lossy=lossy or f"table {t.qualified} and its rows are dropped"))
    for kind, obj in _separate_parts(t):
        ops.append(drop(kind, obj, t.qualified))


def _separate_parts(t: Table) -> list[tuple[Kind, Obj]]:
    out: list[tuple[Kind, Obj]] = [("foreign_key", fk) for fk in t.foreign_keys]
    out += [("index", ix) for ix in t.indexes] + [("trigger", tg) for tg in t.triggers]
    out += [("policy", p) for p in t.policies]
    return [(k, o) for k, o in out if not _propagated(t, k, o)]


def compare_parts(
    b: Table, a: Table, ops: Ops, parent_b: Table | None = None, parent_a: Table | None = None
) -> None:
    """Columns, constraints, indexes, triggers and policies of a table in both schemas."""
    owner = a.qualified
    gone_c, new_c, both_c = pair(b.columns, a.columns, lambda c: c.name)
    ops += [
        drop("column", c, owner, lossy=f"column {owner}.{c.name} and its values are dropped")
        for c in gone_c
        if not _propagated(b, "column", c)
    ]
    ops += [create("column", c, owner) for c in new_c if not _propagated(a, "column", c)]
    for cb, ca in both_c:
        if _propagated(a, "column", ca) and parent_b is not None and parent_a is not None:
            cb = _after_parent(cb, ca, parent_b.column(ca.name), parent_a.column(ca.name))
        if cb == ca:
            continue
        if cb.generated and cb.generated_stored and not ca.generated:
            # DROP EXPRESSION keeps the stored values (and the column's place) as plain data.
            ops.append(alter("column", cb, ca, owner, lossy=narrowing(owner, cb, ca)))
        elif cb.generated != ca.generated or cb.generated_stored != ca.generated_stored:
            # Generated values are derived data: rebuilding the column loses nothing, unless
            # a plain column's own values are replaced by computed ones.
            lossy = None if cb.generated else f"column {owner}.{cb.name} becomes generated"
            ops += [drop("column", cb, owner, lossy=lossy), create("column", ca, owner)]
        else:
            ops.append(alter("column", cb, ca, owner, lossy=narrowing(owner, cb, ca)))
    kinds_b = dict(((k, o.name), (k, o)) for k, o in constraints_of(b))  # type: ignore[union-attr]
    kinds_a = dict(((k, o.name), (k, o)) for k, o in constraints_of(a))  # type: ignore[union-attr]
    for key, (kind, cb_) in kinds_b.items():
        if _propagated(b, kind, cb_):
            continue
        if key not in kinds_a:
            ops.append(drop(kind, cb_, owner))
            continue
        _compare_constraint(kind, cb_, kinds_a[key][1], owner, ops)
    for key, (kind, ca_) in kinds_a.items():
        if key not in kinds_b and not _propagated(a, kind, ca_):
            ops.append(create(kind, ca_, owner))
    compare_attached(b, a, owner, ops)


def compare_attached(b: Table | View, a: Table | View, owner: str, ops: Ops) -> None:
    """Indexes, triggers (and policies, for tables) by name: comment/flag alters or rebuilds."""
    groups: list[tuple[Kind, tuple[Obj, ...], tuple[Obj, ...], tuple[str, ...]]] = [
        ("index", b.indexes, a.indexes, ("comment",)),
        ("trigger", b.triggers, a.triggers, ("comment", "enabled")),
    ]
    if isinstance(b, Table) and isinstance(a, Table):
        groups.append(
            ("policy", b.policies, a.policies, ("comment", "roles", "using", "with_check"))
        )
    for kind, bs, as_, alterable in groups:
        gone, new, both = pair(bs, as_, lambda x: getattr(x, "name", ""))
        ops += [drop(kind, x, owner) for x in gone if not _skip(b, kind, x)]
        ops += [create(kind, x, owner) for x in new if not _skip(a, kind, x)]
        for xb, xa in both:
            if _skip(b, kind, xb) and _skip(a, kind, xa):
                continue
            if _skip(b, kind, xb):
                ops.append(create(kind, xa, owner))
            elif _skip(a, kind, xa):
                ops.append(drop(kind, xb, owner))
            elif xb != xa:
                if _same_but(xb, xa, *alterable):
                    ops.append(alter(kind, xb, xa, owner))
                else:
                    ops += [drop(kind, xb, owner), create(kind, xa, owner)]


def _skip(rel: Table | View, kind: Kind, obj: Obj) -> bool:
    return isinstance(rel, Table) and _propagated(rel, kind, obj)


def _compare_constraint(kind: Kind, b: Obj, a: Obj, owner: str, ops: Ops) -> None:
    if b == a:
        return
    if _same_but(b, a, "comment"):
        ops.append(alter(kind, b, a, owner))
        return
    nv_b = getattr(b, "not_valid", False)
    nv_a = getattr(a, "not_valid", False)
    if nv_b and not nv_a and _same_but(b, a, "comment", "not_valid"):
        valid: Obj = replace(b, not_valid=False)  # type: ignore[arg-type]
        ops.append(Operation(action="validate", kind=kind, before=b, after=valid, owner=owner))
        if valid != a:
            ops.append(alter(kind, valid, a, owner))
        return
    ops += [drop(kind, b, owner), create(kind, a, owner)]


def _after_parent(cb: Column, ca: Column, pb: Column | None, pa: Column | None) -> Column:
    """A child column as it is once the parent's change has propagated to it."""
    if pb is None or pa is None:
        return cb
    changes = {}
    for f in ("type", "logical", "collation", "nullable", "default", "options", "identity"):
        if getattr(pb, f) != getattr(pa, f) and getattr(ca, f) == getattr(pa, f):
            changes[f] = getattr(ca, f)
    return replace(cb, **changes) if changes else cb


# Type changes that never lose data (widenings); anything else may reject or truncate values.
_INT_WIDTH = {"smallint": 2, "integer": 4, "bigint": 8, "int": 4, "mediumint": 3, "tinyint": 1}


def narrowing(owner: str, b: Column, a: Column) -> str | None:
    """Why a column type change may lose data, or None when it only widens."""
    if b.type == a.type:
        return None
    tb, ta = b.type.lower(), a.type.lower()
    if ta in ("text", "character varying", "varchar", "longtext") and (
        "char" in tb or tb == "text"
    ):
        return None
    if tb in _INT_WIDTH and ta in _INT_WIDTH and _INT_WIDTH[ta] >= _INT_WIDTH[tb]:
        return None
    if tb in _INT_WIDTH and ta in ("numeric", "decimal", "double precision", "text"):
        return None
    if (tb, ta) in (
        ("real", "double precision"),
        ("timestamp without time zone", "timestamp with time zone"),
    ):
        return None
    nb, na = _length(tb), _length(ta)
    if (
        nb
        and na
        and nb[0] == na[0]
        and all(x <= y for x, y in zip(nb[1], na[1], strict=False))
        and (len(nb[1]) < 2 or nb[1][1] == na[1][1])
    ):
        return None
    return f"column {owner}.{b.name} changes type from {b.type} to {a.type}: values may not fit"


def _length(t: str) -> tuple[str, tuple[int, ...]] | None:
    base, _, rest = t.partition("(")
    if not rest.endswith(")"):
        return None
    try:
        return base.strip(), tuple(int(x) for x in rest[:-1].split(","))
    except ValueError:
        return None


def compare_views(before: Schema, after: Schema, ops: Ops) -> None:
    """Views: CREATE OR REPLACE when the old columns stay a prefix; matviews only comment and
    options. Their indexes and triggers are operations of their own."""
    gone, new, both = pair(before.views, after.views, _name)
    for v in gone:
        drop_view(v, ops)
    for v in new:
        create_view(v, ops)
    for b, a in both:
        if _same_but(b, a, "indexes", "triggers"):
            compare_attached(b, a, a.qualified, ops)
        elif view_replaceable(b, a):
            ops.append(alter("view", b, a))
            compare_attached(b, a, a.qualified, ops)
        else:
            drop_view(b, ops)
            create_view(a, ops)


def view_replaceable(b: View, a: View) -> bool:
    """Whether CREATE OR REPLACE (or ALTER, for a materialized view) can turn `b` into `a`."""
    if b.materialized != a.materialized:
        return False
    if b.materialized:
        return _same_but(b, a, "options", "comment", "columns", "indexes", "triggers") and [
            replace(c, comment=None) for c in b.columns
        ] == [replace(c, comment=None) for c in a.columns]
    old = [(c.name, c.type) for c in b.columns]
    return old == [(c.name, c.type) for c in a.columns][: len(old)]


def create_view(v: View, ops: Ops) -> None:
    ops.append(create("view", v))
    ops += [create("index", ix, v.qualified) for ix in v.indexes]
    ops += [create("trigger", tg, v.qualified) for tg in v.triggers]


def drop_view(v: View, ops: Ops) -> None:
    ops.append(drop("view", v))
    ops += [drop("index", ix, v.qualified) for ix in v.indexes]
    ops += [drop("trigger", tg, v.qualified) for tg in v.triggers]


def compare_privileges(before: Schema, after: Schema, ops: Ops) -> None:
    """Grants and default privileges are values: created or dropped, never altered."""
    b, a = set(before.grants), set(after.grants)
    ops += [drop("grant", g) for g in before.grants if g not in a]
    ops += [create("grant", g) for g in after.grants if g not in b]
    bd, ad = set(before.default_privileges), set(after.default_privileges)
    ops += [drop("default_privilege", d) for d in before.default_privileges if d not in ad]
    ops += [create("default_privilege", d) for d in after.default_privileges if d not in bd]


def compare_all(before: Schema, after: Schema) -> Ops:
    """Every difference between two schemas, before dependents of rebuilt objects are added."""
    ops: Ops = []
    compare_types(before, after, ops)
    compare_sequences(before, after, ops)
    compare_functions(before, after, ops)
    compare_tables(before, after, ops)
    compare_views(before, after, ops)
    compare_privileges(before, after, ops)
    return ops
