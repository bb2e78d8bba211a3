"""The rebuild closure: dependents of what is dropped and recreated are dropped and recreated too.

PostgreSQL refuses to drop a function a trigger calls, to retype a column a view reads, or to
drop an enum a function takes. The diff therefore drops such dependents first and creates them
again (from the `after` schema) once their dependency is back, transitively: a view over a view
over a retyped column is rebuilt, and so are the indexes of a rebuilt materialized view and the
grants of everything rebuilt (they vanish with the object).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import replace

from dbarchitect.migrate.diff_deps import DepIndex, object_key, op_key, words
from dbarchitect.migrate.diff_objects import alter, create, drop, enum_appends_only
from dbarchitect.migrate.operations import Kind, Obj, Operation
from dbarchitect.model import (
    Column,
    CompositeType,
    DomainType,
    EnumType,
    Index,
    Schema,
    Table,
    View,
)

Entry = tuple[Kind, Obj, str]

# Why a key is in the work queue: the object is rebuilt, its column changes type, or its
# column changes to a rebuilt enum (whose constants in checks and predicates break too).
REBUILT, RETYPED, ENUM = "rebuilt", "retyped", "enum"
# What `create table` writes itself (see operations.py): never rebuilt apart from its table.
_IN_CREATE_TABLE = ("column", "primary_key", "unique", "check", "exclusion")
_KEYS = ("primary_key", "unique", "index")


def dependents_of(schema: Schema) -> Iterator[Entry]:
    """Objects that can be rebuilt around a dependency: views, functions, generated columns
    and columns with defaults, constraints, indexes, triggers, policies."""
    yield from _global_entries(schema)
    for t in schema.tables:
        yield from _table_entries(t)


def _global_entries(schema: Schema) -> Iterator[Entry]:
    for v in schema.views:
        yield "view", v, ""
        yield from _view_entries(v)
    for fn in schema.functions:
        yield "function", fn, ""


def _view_entries(v: View) -> Iterator[Entry]:
    for ix in v.indexes:
        yield "index", ix, v.qualified
    for tg in v.triggers:
        yield "trigger", tg, v.qualified


def _table_entries(t: Table) -> Iterator[Entry]:
    owner = t.qualified
    for c in t.columns:
        if (c.generated or c.default) and not c.inherited:
            yield "column", c, owner
    kinds: list[tuple[Kind, Obj]] = [("primary_key", t.primary_key)] if t.primary_key else []
    kinds += [("foreign_key", x) for x in t.foreign_keys]
    kinds += [("unique", x) for x in t.uniques] + [("check", x) for x in t.checks]
    kinds += [("exclusion", x) for x in t.exclusions]
    kinds += [("index", x) for x in t.indexes if not x.parent]
    kinds += [("trigger", x) for x in t.triggers] + [("policy", x) for x in t.policies]
    for kind, obj in kinds:
        if not getattr(obj, "inherited", False):
            yield kind, obj, owner


def _pulled(kind: Kind, obj: Obj, owner: str, key: str, reason: str) -> bool:
    """Whether `obj`, which depends on `key`, must be rebuilt for this reason."""
    if kind in ("view", "function", "trigger", "policy", "foreign_key"):
        return True
    if reason == REBUILT:
        return kind != "column" or bool(getattr(obj, "generated", None)) or key.startswith("func:")
    if kind == "column":
        return bool(getattr(obj, "generated", None))
    if kind == "index" and isinstance(obj, Index) and key.startswith("col:"):
        # Plain key columns are rebuilt by ALTER COLUMN TYPE itself; expressions and
        # predicates may not parse against the new type.
        column = key.rsplit(".", 1)[1]
        texts = [k.column for k in obj.keys if k.expression] + [obj.where or ""]
        return any(column in words(t) for t in texts)
    return reason == ENUM and kind in ("check", "exclusion")


class Closure:
    """Adds drops and creates of dependents to a list of operations."""

    def __init__(
        self, ops: list[Operation], before: Schema, after: Schema, ib: DepIndex, ia: DepIndex
    ) -> None:
        self.ops = ops
        self.before, self.after, self.ib, self.ia = before, after, ib, ia
        self.by_key: dict[str, list[Operation]] = {}
        for op in ops:
            self.by_key.setdefault(op_key(op), []).append(op)
        self.rebuilt: set[str] = set()
        self._tables_b = {t.qualified: t for t in before.tables}
        self._tables_a = {t.qualified: t for t in after.tables}
        self._full: dict[str, list[Entry]] | None = None
        self._global: list[tuple[Entry, set[str]]] | None = None
        self._after_global: dict[str, Entry] | None = None
        self._fks_into: dict[str, list[Entry]] | None = None

    def _dependents(self, key: str) -> list[Entry]:
        """What in `before` depends on `key`. A table's column, constraint or the table itself
        is looked up on that table, the foreign keys into it, views, functions and policies
        only; other keys (a sequence, a function, a type) search the whole schema once."""
        prefix, _, rest = key.partition(":")
        table = rest if prefix == "rel" else rest.rpartition(".")[0]
        t = self._tables_b.get(table) if prefix in ("rel", "col", "con", "idx") else None
        if t is None:
            return self._full_reverse().get(key, [])
        if self._global is None:
            entries = list(_global_entries(self.before))
            entries += [("policy", p, x.qualified) for x in self.before.tables for p in x.policies]
            self._global = [(e, self.ib.deps(*e)) for e in entries]
        if self._fks_into is None:
            self._fks_into = {}
            for x in self.before.tables:
                for fk in x.foreign_keys:
                    ref = fk.ref_qualified
                    if ref != x.qualified and not fk.inherited:
                        self._fks_into.setdefault(ref, []).append(("foreign_key", fk, x.qualified))
        local = [e for e in _table_entries(t) if e[0] != "policy"] + self._fks_into.get(
            t.qualified, []
        )
        found = [e for e, deps in self._global if key in deps]
        return found + [e for e in local if key in self.ib.deps(*e)]

    def _full_reverse(self) -> dict[str, list[Entry]]:
        if self._full is None:
            self._full = {}
            for entry in dependents_of(self.before):
                for dep in self.ib.deps(*entry):
                    self._full.setdefault(dep, []).append(entry)
        return self._full

    def _after_entry(self, key: str, owner: str) -> Entry | None:
        """The object of `after` with this key, among those that can be rebuilt."""
        if owner:
            t = self._tables_a.get(owner)
            candidates: Iterator[Entry] = iter(())
            if t is not None:
                candidates = _table_entries(t)
            else:
                v = self.after.view(owner)
                if v is not None:
                    candidates = _view_entries(v)
            return next((e for e in candidates if object_key(*e) == key), None)
        if self._after_global is None:
            self._after_global = {object_key(*e): e for e in _global_entries(self.after)}
        return self._after_global.get(key)

    def _has(self, key: str, action: str) -> bool:
        return any(op.action == action for op in self.by_key.get(key, ()))

    def _add(self, op: Operation) -> None:
        self.ops.append(op)
        self.by_key.setdefault(op_key(op), []).append(op)

    def _remove_alters(self, key: str) -> list[Operation]:
        gone = [op for op in self.by_key.get(key, ()) if op.action in ("alter", "validate")]
        for op in gone:
            self.ops.remove(op)
            self.by_key[key].remove(op)
        return gone

    def seeds(self) -> list[tuple[str, str]]:
        """Keys whose dependents must be looked at, with the reason."""
        out: list[tuple[str, str]] = []
        for key, ops in self.by_key.items():
            actions = {op.action for op in ops}
            if {"drop", "create"} <= actions and not key.startswith(("grant:", "defpriv:")):
                out.append((key, REBUILT))
            elif actions == {"drop"} and any(op.kind in _KEYS for op in ops):
                # A key dropped for good (or renamed, as a table's move renames its key):
                # foreign keys that rely on it must let go first and find their new key.
                out.append((key, REBUILT))
        created = {
            k.partition("(")[0]
            for k, ops in self.by_key.items()
            if k.startswith("func:") and any(op.action == "create" for op in ops)
        }
        for key, ops in self.by_key.items():
            if {op.action for op in ops} == {"drop"} and key.partition("(")[0] in created:
                # An overload replaced by another of the same name: while both exist a call
                # may be ambiguous, so its users let go before the drop and come back after.
                out.append((key, REBUILT))
        children = _children(self.before)
        for op in list(self.ops):
            if op.kind == "column" and op.action == "alter":
                b, a = op.before, op.after
                assert isinstance(b, Column) and isinstance(a, Column)
                if (b.type, b.collation) != (a.type, a.collation):
                    out.append((f"col:{op.owner}.{b.name}", RETYPED))
                    out += [(f"col:{c}.{b.name}", RETYPED) for c in children.get(op.owner, ())]
            elif op.kind == "domain" and op.action == "alter":
                b, a = op.before, op.after
                assert isinstance(b, DomainType) and isinstance(a, DomainType)
                if (b.base_type, b.collation) != (a.base_type, a.collation):
                    key = op_key(op)
                    out.append((key, REBUILT))
                    self.rebuilt.add(key)
                    out += [(c, RETYPED) for c in self._columns_of_type(key)]
            elif op.kind == "composite" and op.action == "alter":
                # A retyped attribute under stored columns rebuilds the type (see the renderer).
                b, a = op.before, op.after
                assert isinstance(b, CompositeType) and isinstance(a, CompositeType)
                key = op_key(op)
                cols = self._columns_of_type(key)
                if cols and _retypes_attribute(b, a):
                    out.append((key, REBUILT))
                    self.rebuilt.add(key)
                    out += [(c, RETYPED) for c in cols]
            elif op.kind == "enum" and op.action == "alter":
                b, a = op.before, op.after
                assert isinstance(b, EnumType) and isinstance(a, EnumType)
                if not enum_appends_only(b, a):
                    key = op_key(op)
                    out.append((key, REBUILT))
                    self.rebuilt.add(key)
                    out += [(c, ENUM) for c in self._columns_of_type(key)]
        return out

    def _columns_of_type(self, type_key: str) -> list[str]:
        return [
            f"col:{t.qualified}.{c.name}"
            for t in self.before.tables
            for c in t.columns
            if type_key in self.ib.type_refs(c.type)
        ]

    def run(self) -> None:
        """Pull dependents in until nothing new is rebuilt."""
        queue = deque(self.seeds())
        seen: set[tuple[str, str]] = set()
        while queue:
            key, reason = queue.popleft()
            if (key, reason) in seen:
                continue
            seen.add((key, reason))
            if reason == REBUILT:
                self.rebuilt.add(key)
            for kind, obj, owner in self._dependents(key):
                if not _pulled(kind, obj, owner, key, reason):
                    continue
                if kind in _IN_CREATE_TABLE and f"rel:{owner}" in self.rebuilt:
                    continue  # comes back with its table's CREATE TABLE
                dkey = object_key(kind, obj, owner)
                target = self._after_entry(dkey, owner)
                if target is None:
                    continue  # gone in `after`: already dropped
                if isinstance(obj, Column) and not obj.generated:
                    self._release_default(dkey, obj, target[1], owner)
                    continue
                self._rebuild(dkey, kind, obj, target[1], owner)
                queue.append((dkey, REBUILT))
        self._grants()

    def _rebuild(self, key: str, kind: Kind, obj: Obj, target: Obj, owner: str) -> None:
        self._remove_alters(key)
        if not self._has(key, "drop"):
            self._add(drop(kind, obj, owner))
        if not self._has(key, "create"):
            self._add(create(kind, target, owner))

    def _release_default(self, key: str, before: Column, after: Obj, owner: str) -> None:
        """A default that calls a rebuilt function is unset first and set again after."""
        assert isinstance(after, Column)
        if not after.default or self._has(key, "drop"):
            return
        old = self._remove_alters(key)
        loose = replace(before, default=None)
        self._add(alter("column", before, loose, owner))
        lossy = old[0].lossy if old else None
        self._add(alter("column", loose, replace(after), owner, lossy=lossy))

    def _grants(self) -> None:
        """Grants on rebuilt objects vanish with them: revoke (for the way back) and re-grant."""
        if not self.rebuilt:
            return
        for g in self.before.grants:
            if self.ib.deps("grant", g) & self.rebuilt:
                key = object_key("grant", g)
                if not self._has(key, "drop"):
                    self._add(drop("grant", g))
        for g in self.after.grants:
            if self.ia.deps("grant", g) & self.rebuilt:
                key = object_key("grant", g)
                if not self._has(key, "create"):
                    self._add(create("grant", g))


def _retypes_attribute(b: CompositeType, a: CompositeType) -> bool:
    old = {x.name: (x.type, x.collation) for x in b.attributes}
    return any(
        old.get(x.name, (x.type, x.collation)) != (x.type, x.collation) for x in a.attributes
    )


def _children(schema: Schema) -> dict[str, list[str]]:
    """Partitions and inheritance children by their parent's qualified name."""
    out: dict[str, list[str]] = {}
    for t in schema.tables:
        for ref in _parents(t):
            parent = ref.replace('"', "")
            out.setdefault(parent, []).append(t.qualified)
    return out


def _parents(t: Table) -> list[str]:
    return [t.partition_of] if t.partition_of else list(t.inherits)


def rebuild_dependents(
    ops: list[Operation], before: Schema, after: Schema, ib: DepIndex, ia: DepIndex
) -> list[Operation]:
    """`ops` with the dependents of every rebuilt object, retyped column and rebuilt enum
    dropped and recreated (and their in-place alters folded into the re-creation)."""
    closure = Closure(list(ops), before, after, ib, ia)
    closure.run()
    return closure.ops
