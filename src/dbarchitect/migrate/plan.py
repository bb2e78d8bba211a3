"""Order operations with one dependency graph.

Every operation is a node. An edge says "run this first":
- a create or alter runs after the create (or, failing one, the alter) of what its object
  needs in `after` — and every foreign key after every new table, so FK cycles just work;
- a drop runs before the drop of anything its object needed in `before`;
- an alter that stops needing something runs before that something is dropped (a column's
  default stops using a sequence before the sequence goes);
- the drops of a column's (or enum's, domain's, composite's) dependents run before it is
  altered, and they are created again after it (through the first rule);
- operations on one object chain (drop before create; an alter after the state it starts from);
- a rename runs after what still uses the old name and before what uses the new one.
Ties are broken by phase (drops first), kind, then name, so the order is deterministic.
"""

from __future__ import annotations

import graphlib
import heapq
import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import get_args

from dbarchitect.migrate.diff_deps import DepIndex, object_key, op_key
from dbarchitect.migrate.operations import Kind, Operation
from dbarchitect.model import EnumType, Schema, Table, View

_RANK = {k: i for i, k in enumerate(get_args(Kind))}
_PHASE = {"drop": 0, "rename": 1, "alter": 2, "validate": 2, "create": 2}
# Alters after which dependents read the object differently: those are dropped first.
_REBINDING = ("column", "enum", "domain", "composite")
_BARRIER = -1


def _sort_key(op: Operation, position: int = 0) -> tuple[int, int, str, int, str, str]:
    rank = _RANK[op.kind]
    if op.action == "drop":
        rank = -rank  # what lives on a thing goes before the thing
    return (_PHASE[op.action], rank, op.owner, position, op.name, op.describe())


def _position(op: Operation, schema: Schema) -> int:
    """Where a new column goes in its table: added columns keep the `after` column order."""
    if op.kind != "column":
        return 0
    rel = schema.table(op.owner)
    names = [c.name for c in rel.columns] if rel is not None else []
    return names.index(op.name) if op.name in names else len(names)


class _Graph:
    def __init__(self, ops: list[Operation], ib: DepIndex, ia: DepIndex) -> None:
        self.ops, self.ib, self.ia = ops, ib, ia
        self.edges: list[tuple[int, int, int]] = []  # (first, then, tier)
        self.deps_after = [self._after_deps(op) for op in ops]
        self.deps_before = [self._before_deps(op) for op in ops]
        self.providers: dict[str, list[int]] = {}
        self.alter_providers: dict[str, list[int]] = {}
        self.droppers: dict[str, list[int]] = {}
        for i, op in enumerate(ops):
            if op.action == "drop":
                for k in self._covers(op, op.before, ib):
                    self.droppers.setdefault(k, []).append(i)
            elif op.action == "create":
                for k in self._covers(op, op.after, ia):
                    self.providers.setdefault(k, []).append(i)
            else:
                for k in self._covers(op, op.after, ia):
                    self.alter_providers.setdefault(k, []).append(i)

    def _after_deps(self, op: Operation) -> set[str]:
        if op.action == "drop" or op.after is None:
            return set()
        if op.kind == "table" and op.action != "create" and isinstance(op.after, Table):
            # Altering a table needs its schema and, to attach it, its new parent.
            t = op.after
            deps = {f"ns:{t.schema}"} if t.schema else set()
            if t.partition_of and t.partition_of in self.ia.by_qname:
                deps.add(self.ia.by_qname[t.partition_of])
            return deps
        return self.ia.deps(op.kind, op.after, op.owner)

    def _before_deps(self, op: Operation) -> set[str]:
        if op.action == "create" or op.before is None:
            return set()
        return self.ib.deps(op.kind, op.before, op.owner)

    def _covers(self, op: Operation, obj: object, index: DepIndex) -> set[str]:
        """Keys an operation makes exist (or, for a drop, makes vanish)."""
        keys = {op_key(op)}
        if isinstance(obj, Table) and op.action in ("create", "drop"):
            keys |= {object_key(k, o, obj.qualified) for k, o in index.sub_objects(obj)}
        elif isinstance(obj, View) and op.action in ("create", "drop"):
            keys |= {object_key("column", c, obj.qualified) for c in obj.columns}
            keys |= {object_key(k, o, obj.qualified) for k, o in index.sub_objects(obj)}
        elif isinstance(obj, EnumType) and op.action == "alter":
            key = op_key(op)
            keys |= {
                f"col:{t.qualified}.{c.name}"
                for t in index.schema.tables
                for c in t.columns
                if key in index.type_refs(c.type)
            }
        return keys

    def add(self, first: int, then: int, tier: int = 0) -> None:
        if first != then:
            self.edges.append((first, then, tier))

    def build(self) -> None:
        ops = self.ops
        dependents: dict[str, list[int]] = {}
        for i, op in enumerate(ops):
            if op.action == "drop":
                for d in self.deps_before[i]:
                    dependents.setdefault(d, []).append(i)
        for i, op in enumerate(ops):
            if op.action != "drop":
                for d in self.deps_after[i]:
                    for p in self.providers.get(d) or self.alter_providers.get(d, []):
                        self.add(p, i)
            if op.action == "drop":
                for d in self.deps_before[i]:
                    for p in self.droppers.get(d, ()):
                        self.add(i, p)
            if op.action == "alter":
                for d in self.deps_before[i] - self.deps_after[i]:
                    for p in self.droppers.get(d, ()):
                        self.add(i, p, 2)
                if op.kind in _REBINDING:
                    for d in self._covers(op, op.before, self.ib):
                        for p in dependents.get(d, ()):
                            self.add(p, i, 2)
            if op.kind == "foreign_key" and op.action == "create":
                self.add(_BARRIER, i, 1)
            if op.kind == "table" and op.action == "create":
                self.add(i, _BARRIER, 1)
        self._same_object()
        self._renames()
        self._column_order()
        # An extension's types may be in use by what is altered away from them (a citext
        # column going back to text): extensions go last.
        for e, ext in enumerate(ops):
            if ext.kind == "extension" and ext.action == "drop":
                for i, op in enumerate(ops):
                    if op.action in ("alter", "validate", "rename") and op.kind != "extension":
                        self.add(i, e, 2)

    def _column_order(self) -> None:
        """New columns of one table are added in the order `after` lists them."""
        last: dict[str, int] = {}
        for i, op in enumerate(self.ops):  # sorted: by owner, then position
            if op.kind == "column" and op.action == "create":
                if op.owner in last:
                    self.add(last[op.owner], i, 1)
                last[op.owner] = i

    def _same_object(self) -> None:
        groups: dict[object, list[int]] = {}
        for i, op in enumerate(self.ops):
            groups.setdefault(op_key(op), []).append(i)
            name = self._relname(op)
            if name is not None:
                groups.setdefault(name, []).append(i)
        for members in groups.values():
            if len(members) < 2:
                continue
            for a in members:
                for b in members:
                    oa, ob = self.ops[a], self.ops[b]
                    if self._follows(oa, ob):
                        self.add(a, b)

    def _follows(self, a: Operation, b: Operation) -> bool:
        """Whether `b` must follow `a`, two operations on one object (or one name)."""
        if a.action == "drop" and b.action == "create":
            return True
        # A release and its restore (a default unset, then set again) continue each other
        # both ways: the one starting from the `before` state goes first.
        return (
            _continues(a, b)
            and op_key(a) == op_key(b)
            and (not _continues(b, a) or a.before == self._initial(a))
        )

    def _initial(self, op: Operation) -> object:
        """The object as the `before` schema has it (columns only: that is where a release and
        a restore of the same value meet)."""
        rel = self.ib.rels.get(op.owner)
        return rel.column(op.name) if isinstance(rel, Table) else None

    def _relname(self, op: Operation) -> tuple[str, str] | None:
        """Names that share one namespace in the catalog (relations, indexes, types)."""
        if op.kind in ("index", "primary_key", "unique", "exclusion"):
            rel = self.ia.rels.get(op.owner) or self.ib.rels.get(op.owner)
            return ("rel", f"{rel.schema if rel else ''}.{op.name}")
        if op.kind in ("table", "view", "sequence", "enum", "domain", "composite", "range"):
            return ("rel", op.name)
        return None

    def _renames(self) -> None:
        self._rename_chains()
        for r, rop in enumerate(self.ops):
            if rop.action != "rename":
                continue
            assert rop.before is not None and rop.after is not None
            if rop.kind == "table":
                old, new = _qualified(rop.before), _qualified(rop.after)
                for i, op in enumerate(self.ops):
                    if i == r:
                        continue
                    refs = self._tables_named(i, op)
                    if new in refs:
                        self.add(r, i, 2)
                    elif old in refs:
                        self.add(i, r, 2)
            else:
                oldc, newc = getattr(rop.before, "name", ""), getattr(rop.after, "name", "")
                for i, op in enumerate(self.ops):
                    if i == r or rop.owner not in self._tables_named(i, op):
                        continue
                    cols = self._columns_named(i, op, rop.owner)
                    if newc in cols:
                        self.add(r, i, 2)
                    elif oldc in cols:
                        self.add(i, r, 2)

    def _rename_chains(self) -> None:
        """A rename into a name another rename frees runs after it (report → report_old,
        then report_new → report)."""
        olds: dict[tuple[str, str, str], int] = {}
        for j, op in enumerate(self.ops):
            if op.action == "rename":
                olds[(op.kind, op.owner, _qualified(op.before))] = j
        for r, rop in enumerate(self.ops):
            if rop.action == "rename":
                freer = olds.get((rop.kind, rop.owner, _qualified(rop.after)))
                if freer is not None:
                    self.add(freer, r)

    def _tables_named(self, i: int, op: Operation) -> set[str]:
        names = {op.owner} if op.owner else set()
        if op.kind in ("table", "view") and op.action != "rename":
            names.add(_qualified(op.subject))
        for d in self.deps_after[i] | self.deps_before[i]:
            if d.startswith("rel:"):
                names.add(d[4:])
        return names

    def _columns_named(self, i: int, op: Operation, owner: str) -> set[str]:
        prefix = f"col:{owner}."
        cols = {
            d[len(prefix) :]
            for d in self.deps_after[i] | self.deps_before[i]
            if d.startswith(prefix)
        }
        if op.kind == "column" and op.action != "rename" and op.owner == owner:
            cols.add(getattr(op.subject, "name", ""))
        return cols

    def order(self) -> list[Operation]:
        """A topological order with deterministic ties. Should the rules ever contradict each
        other, the weakest edge of the cycle gives way (a soft rule before a hard one)."""
        edges: dict[tuple[int, int], int] = {}
        for first, then, tier in self.edges:
            edges[(first, then)] = min(tier, edges.get((first, then), tier))
        while True:
            try:
                return self._sorted(edges)
            except graphlib.CycleError as exc:
                cycle: list[int] = exc.args[1]
                on_cycle = list(itertools.pairwise(cycle))
                weakest = max(on_cycle, key=lambda e: (edges.get(e, -1), e))
                edges.pop(weakest, None)

    def _sorted(self, edges: dict[tuple[int, int], int]) -> list[Operation]:
        graph: dict[int, set[int]] = {i: set() for i in range(len(self.ops))}
        graph[_BARRIER] = set()
        for first, then in edges:
            graph[then].add(first)
        sorter = graphlib.TopologicalSorter(graph)
        sorter.prepare()
        heap: list[int] = []
        out: list[Operation] = []
        while sorter.is_active():
            for n in sorter.get_ready():
                heapq.heappush(heap, n)
            n = heapq.heappop(heap)
            if n != _BARRIER:
                out.append(self.ops[n])
            sorter.done(n)
        return out


def _continues(a: Operation, b: Operation) -> bool:
    """Whether `b` starts from the state `a` leaves (create → alter, alter → alter → drop)."""
    if a.after is None or b.before is None or a.after != b.before:
        return False
    steps = ("alter", "validate")
    return b.action in steps or (a.action in steps and b.action == "drop")


def _qualified(obj: object) -> str:
    schema, name = getattr(obj, "schema", ""), getattr(obj, "name", "")
    return f"{schema}.{name}" if schema else name


def _rename_maps(ops: Iterable[Operation]) -> tuple[dict[str, str], dict[str, set[str]]]:
    aliases: dict[str, str] = {}
    columns: dict[str, set[str]] = {}
    for op in ops:
        if op.action == "rename" and op.kind == "table":
            old, new = _qualified(op.before), _qualified(op.after)
            aliases[old], aliases[new] = new, old
    for op in ops:
        if op.action == "rename" and op.kind == "column":
            names = {getattr(op.before, "name", ""), getattr(op.after, "name", "")}
            for owner in (op.owner, aliases.get(op.owner, op.owner)):
                columns.setdefault(owner, set()).update(names)
    return aliases, columns


def plan(operations: Sequence[Operation], before: Schema, after: Schema) -> list[Operation]:
    """The operations in an order that runs: drops in reverse dependency order of `before`,
    creates and alters in dependency order of `after`."""
    from dbarchitect.migrate.diff import quoter

    quote: Callable[[str], str] = quoter(before)
    ops = sorted(operations, key=lambda op: _sort_key(op, _position(op, after)))
    aliases, columns = _rename_maps(ops)
    graph = _Graph(
        ops,
        DepIndex(before, quote, aliases, columns),
        DepIndex(after, quote, aliases, columns),
    )
    graph.build()
    return graph.order()
