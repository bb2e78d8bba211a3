"""Review rules, keys family: foreign-key cycles, unvalidated constraints, NULLs in unique keys."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterator

from dbarchitect.model import Table
from dbarchitect.review.context import ReviewContext, object_name
from dbarchitect.review.finding import Hit
from dbarchitect.review.registry import rule
from dbarchitect.review.rules.indexes_common import IndexView, table_relation


def _components(graph: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components (Tarjan), iteratively so deep chains cannot overflow."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            succ = graph[node]
            if i < len(succ):
                work.append((node, i + 1))
                nxt = succ[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if work:  # returning to the caller: pass the low-link up
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    comp.append(top)
                    if top == node:
                        break
                out.append(sorted(comp))
    return out


def _shortest_cycle(graph: dict[str, list[str]], start: str, members: set[str]) -> list[str]:
    """The shortest path start → … → start inside one component (breadth first)."""
    came: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in graph[node]:
            if nxt not in members:
                continue
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(came[path[-1]])
                return [*reversed(path), start]
            if nxt not in came:
                came[nxt] = node
                queue.append(nxt)
    return [start, start]  # not reached: a component of two or more always has a cycle


@rule(
    id="fk-cycle",
    title="Foreign keys form a cycle",
    family="keys",
    severity="info",
    problem="""
When tables reference one another in a circle, no order of inserts or deletes satisfies every
foreign key: the first row needs a nullable column filled in later, or a deferrable
constraint, and bulk loads, TRUNCATE and data-only dumps need the checks switched off. Such
cycles are sometimes the right model (a store and its manager), but they should be deliberate.
""",
    solution="""
Break the cycle where one side is optional (a nullable column, or a link table), or make one
of its foreign keys DEFERRABLE INITIALLY DEFERRED so both rows can be written in one
transaction. Self-references (trees) are not cycles in this sense and are not reported.
""",
    example="ALTER TABLE store ALTER CONSTRAINT store_manager_fkey DEFERRABLE INITIALLY DEFERRED;",
    engines=("postgres", "mysql", "sqlite"),
)
def fk_cycle(ctx: ReviewContext) -> Iterator[Hit]:
    names = {t.qualified for t in ctx.tables}
    graph: dict[str, list[str]] = {n: [] for n in names}
    for t in ctx.tables:
        parents = {
            object_name(fk.ref_schema, fk.ref_table) for fk in t.foreign_keys if not fk.inherited
        }
        graph[t.qualified] = sorted(p for p in parents if p in names and p != t.qualified)
    for comp in _components(graph):
        if len(comp) < 2:
            continue
        start = comp[0]
        cycle = _shortest_cycle(graph, start, set(comp))
        rest = sorted(set(comp) - set(cycle))
        also = f" (also in the same tangle: {', '.join(rest)})" if rest else ""
        yield Hit(
            kind="table",
            object=start,
            message=f"foreign keys form a cycle: {' → '.join(cycle)}{also}",
        )


@rule(
    id="constraint-not-valid",
    title="Constraint left NOT VALID",
    family="keys",
    severity="warning",
    problem="""
A foreign key or CHECK added with NOT VALID is enforced for new writes, but the rows that
existed before were never checked: the database may hold orphans or values the constraint
forbids, and the planner cannot rely on the constraint (for example to exclude partitions or
to prove a column NOT NULL).
""",
    solution="""
Validate it: ALTER TABLE … VALIDATE CONSTRAINT scans the table under a SHARE UPDATE EXCLUSIVE
lock, which lets reads and writes go on. Fix the violating rows first if it fails.
""",
    example="ALTER TABLE orders VALIDATE CONSTRAINT orders_customer_id_fkey;",
    engines=("postgres",),
)
def constraint_not_valid(ctx: ReviewContext) -> Iterator[Hit]:
    q = ctx.quote
    for t in ctx.tables:
        pending = [("foreign key", fk.name) for fk in t.foreign_keys if fk.not_valid]
        pending += [("check constraint", c.name) for c in t.checks if c.not_valid]
        for what, name in sorted(pending, key=lambda p: p[1]):
            yield Hit(
                kind="constraint",
                object=object_name(t.schema, t.name, name),
                message=f"{what} {name} on {t.qualified} is NOT VALID: existing rows were "
                "never checked",
                fix=f"ALTER TABLE {ctx.qname(t)} VALIDATE CONSTRAINT {q(name)};",
            )
    for d in ctx.schema.domains:
        for c in d.checks:
            if c.not_valid:
                yield Hit(
                    kind="constraint",
                    object=object_name(d.schema, d.name, c.name),
                    message=f"check constraint {c.name} on domain {d.schema}.{d.name} is NOT "
                    "VALID: existing values were never checked",
                    fix=f"ALTER DOMAIN {q(d.schema)}.{q(d.name)} VALIDATE CONSTRAINT {q(c.name)};",
                )


def _says(expr: str | None, column: str, test: str) -> bool:
    """Whether `expr` contains `column IS [NOT] NULL` (the column bare or double-quoted)."""
    if not expr:
        return False
    col = re.escape(column)
    pattern = rf'(?<![\w."])(?:{col}|"{col}")\)*\s+{test}\b'
    return re.search(pattern, expr, re.IGNORECASE) is not None


def _nullable(t: Table, ix: IndexView, others: list[IndexView]) -> set[str]:
    """Key columns that can hold NULL in the rows this unique index covers, leaving out those
    whose NULL case another, partial, unique index takes care of."""
    out = set()
    partial_uniques = [i.where for i in others if i.unique and i.where and i.name != ix.name]
    for k in ix.keys:
        col = t.column(k.column)
        if col is None or not col.nullable:
            continue
        if _says(ix.where, col.name, r"IS\s+NOT\s+NULL"):
            continue
        if any(_says(c.expression, col.name, r"IS\s+NOT\s+NULL") for c in t.checks):
            continue
        if any(_says(w, col.name, r"IS\s+NULL") for w in partial_uniques):
            continue
        out.add(col.name)
    return out


@rule(
    id="nullable-unique-columns",
    title="Unique key over nullable columns lets rows repeat",
    family="keys",
    severity="info",
    problem="""
A unique constraint treats NULL as distinct from every other NULL, so a unique key over
(a, b) admits any number of rows (1, NULL). Where every column of a multi-column key is
nullable the key was most likely meant to be required and NOT NULL was forgotten; where the
nullable column is a foreign key — UNIQUE (parent_id, name) — rows without a parent (the top
level of a tree, the uncategorised items) escape the check entirely.

A single nullable unique column ("unique when present") and an optional qualifier next to
required columns are common and intended, so they are not reported, nor are columns whose NULL
case a partial unique index or an IS NOT NULL check already covers.
""",
    solution="""
Declare the columns NOT NULL if they are required; otherwise use UNIQUE NULLS NOT DISTINCT
(PostgreSQL 15+), or add a partial unique index for the NULL case, e.g. UNIQUE (name) WHERE
parent_id IS NULL. MySQL and SQLite have no NULLS NOT DISTINCT: use NOT NULL or a sentinel.
""",
    example="ALTER TABLE category ADD CONSTRAINT category_parent_name_key\n"
    "  UNIQUE NULLS NOT DISTINCT (parent_id, name);",
)
def nullable_unique_columns(ctx: ReviewContext) -> Iterator[Hit]:
    for t in ctx.tables:
        fk_columns = {c for fk in t.foreign_keys for c in fk.columns}
        indexes = list(table_relation(t).indexes)
        for ix in indexes:
            if not ix.unique or ix.backing == "primary key" or ix.nulls_not_distinct:
                continue
            if len(ix.keys) < 2 or any(k.expression for k in ix.keys):
                continue
            columns = [k.column for k in ix.keys]
            nullable = _nullable(t, ix, indexes)
            every = nullable == set(columns)
            scoped = sorted(nullable & fk_columns)
            if not every and not scoped:
                continue
            head = f"unique {ix.title()}" if ix.backing == "index" else ix.title()
            if every:
                why = "every column is nullable, and rows with a NULL in any of them never conflict"
            else:
                why = (
                    f"the foreign key column{'s' if len(scoped) > 1 else ''} "
                    f"{', '.join(scoped)} may be NULL, and rows with NULL there never conflict"
                )
            yield Hit(
                kind=ix.kind,
                object=object_name(t.schema, t.name, ix.name),
                message=f"{head} on {t.qualified}: {why}",
                fix=_fix(ctx, t, ix, columns, every),
            )


def _fix(
    ctx: ReviewContext, t: Table, ix: IndexView, columns: list[str], every: bool
) -> str | None:
    if ctx.schema.dialect != "postgres":
        return None  # MySQL needs each column's full definition; SQLite a table rebuild
    q, table = ctx.quote, ctx.qname(t)
    cols = ", ".join(q(c) for c in columns)
    if every:
        sets = ", ".join(f"ALTER COLUMN {q(c)} SET NOT NULL" for c in columns)
        return f"ALTER TABLE {table} {sets};"
    if ix.backing == "unique":
        return (
            f"ALTER TABLE {table} DROP CONSTRAINT {q(ix.name)}, ADD CONSTRAINT {q(ix.name)} "
            f"UNIQUE NULLS NOT DISTINCT ({cols});"
        )
    where = f" WHERE {ix.where}" if ix.where else ""
    return (
        f"CREATE UNIQUE INDEX CONCURRENTLY {q(ix.name + '_nnd')} ON {table} ({cols}) "
        f"NULLS NOT DISTINCT{where}; DROP INDEX CONCURRENTLY {q(t.schema)}.{q(ix.name)};"
    )
