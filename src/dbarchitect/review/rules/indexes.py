"""Review rules: indexes that cost writes and space without serving reads."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from dbarchitect.model import IndexKey
from dbarchitect.review.context import ReviewContext
from dbarchitect.review.finding import Hit
from dbarchitect.review.registry import rule
from dbarchitect.review.rules.indexes_common import (
    IndexView,
    Relation,
    drop_sql,
    key_identity,
    key_order,
    relations,
)

# Keep the constraint's index over a plain one, then the first by name.
_KEEP_RANK = {"primary key": 0, "unique": 1, "index": 2}


@rule(
    id="duplicate-index",
    title="Index duplicates another index",
    family="indexes",
    severity="warning",
    problem="""
Two indexes with the same keys, method, predicate and uniqueness serve exactly the same
queries, yet every insert, update and delete maintains both, they take twice the space and
twice the cache, and VACUUM scans both. An index identical to the one behind a primary key or
unique constraint is the common case: the constraint already built it.
""",
    solution="""
Drop the copy that no constraint needs (on PostgreSQL with DROP INDEX CONCURRENTLY, so writes
go on meanwhile). If a foreign key was created against the copy, PostgreSQL refuses to drop it:
drop the other one instead. A plain unique index beside a DEFERRABLE unique constraint also
defeats the deferral, since the index checks at once: dropping the index is the fix there too.
""",
    example="DROP INDEX CONCURRENTLY orders_id_idx;  -- same as orders_pkey",
)
def duplicate_index(ctx: ReviewContext) -> Iterator[Hit]:
    for rel in relations(ctx):
        groups: dict[tuple[object, ...], list[IndexView]] = defaultdict(list)
        for ix in rel.indexes:
            if ix.valid:  # an invalid index is invalid-index's business
                groups[ix.signature].append(ix)
        for same in groups.values():
            if len(same) < 2:
                continue
            kept, *copies = sorted(same, key=lambda i: (_KEEP_RANK[i.backing], i.name))
            for ix in copies:
                yield Hit(
                    kind=ix.kind,
                    object=rel.object(ix),
                    message=f"{ix.title()} on {rel.qualified} duplicates {kept.title()}",
                    fix=drop_sql(ctx, rel, ix),
                )


def _flip(order: tuple[bool, bool | None]) -> tuple[bool, bool | None]:
    """The key order a backward scan delivers (default NULLS placement stays default)."""
    desc, nulls_first = order
    return (not desc, None if nulls_first is None else not nulls_first)


def _serves(short: IndexView, long: IndexView) -> bool:
    """True when every lookup and ordering `short` supports, `long` supports as well."""
    if len(short.keys) > len(long.keys) or short.where != long.where:
        return False
    pairs = list(zip(short.keys, long.keys, strict=False))
    if any(key_identity(a) != key_identity(b) for a, b in pairs):
        return False
    forward = all(key_order(a) == key_order(b) for a, b in pairs)
    backward = all(key_order(a) == _flip(key_order(b)) for a, b in pairs)
    covered = {k.column for k in long.keys if not k.expression} | set(long.include)
    return (forward or backward) and set(short.include) <= covered


@rule(
    id="redundant-index",
    title="Index is a leading prefix of another index",
    family="indexes",
    severity="info",
    problem="""
A B-tree index on (a) is redundant next to one on (a, b) with the same predicate: the longer
index answers every lookup, range scan and ordering on a alone, so the shorter one only adds
write cost, space and cache pressure.
""",
    solution="""
Drop the shorter index after checking that the longer one is not about to go. A unique or
constraint-backed index is never reported: it enforces something besides serving queries.
""",
    example="DROP INDEX CONCURRENTLY orders_customer_id_idx;  -- orders (customer_id, placed)",
)
def redundant_index(ctx: ReviewContext) -> Iterator[Hit]:
    for rel in relations(ctx):
        btrees = [i for i in rel.indexes if i.method == "btree" and i.valid]
        for short in btrees:
            if short.backing != "index" or short.unique:
                continue
            if any(i.signature == short.signature and i.name < short.name for i in btrees):
                continue  # a second copy: duplicate-index reports it already
            wider = [
                long
                for long in btrees
                if long is not short
                and long.signature != short.signature  # that is duplicate-index's case
                and _serves(short, long)
            ]
            if not wider:
                continue
            long = min(wider, key=lambda i: (len(i.keys), _KEEP_RANK[i.backing], i.name))
            how = "has the same keys as" if len(long.keys) == len(short.keys) else "is a prefix of"
            yield Hit(
                kind="index",
                object=rel.object(short),
                message=f"{short.title()} on {rel.qualified} {how} {long.title()}, which serves "
                "its queries",
                fix=drop_sql(ctx, rel, short),
            )


@rule(
    id="invalid-index",
    title="Index is invalid",
    family="indexes",
    severity="error",
    problem="""
An index marked invalid is left behind by a CREATE INDEX CONCURRENTLY (or REINDEX
CONCURRENTLY) that failed or was cancelled, for example on duplicate values for a unique
index. The planner never uses it, yet every write still maintains it; a unique one may still
reject rows. On a partitioned table, an index created ON ONLY the parent stays invalid until
every partition has an index attached to it.
""",
    solution="""
Rebuild it with REINDEX INDEX CONCURRENTLY (fix the duplicates first for a unique index), or
drop it with DROP INDEX CONCURRENTLY and create it again. For a partitioned parent, create the
missing partition indexes and ALTER INDEX … ATTACH PARTITION them.
""",
    example="REINDEX INDEX CONCURRENTLY orders_email_key;",
    engines=("postgres",),
)
def invalid_index(ctx: ReviewContext) -> Iterator[Hit]:
    for rel in relations(ctx, partitions=True):
        for ix in rel.indexes:
            if ix.valid:
                continue
            q = ctx.quote
            if rel.partitioned:
                message = (
                    f"index {ix.name} on partitioned table {rel.qualified} is invalid: not "
                    "every partition has an index attached to it"
                )
                fix = None
            else:
                message = (
                    f"index {ix.name} on {rel.qualified} is invalid (a failed or unfinished "
                    "CREATE INDEX CONCURRENTLY): never used for reads, still maintained on writes"
                )
                fix = f"REINDEX INDEX CONCURRENTLY {q(rel.schema)}.{q(ix.name)};"
            yield Hit(kind="index", object=rel.object(ix), message=message, fix=fix)


@rule(
    id="too-many-indexes",
    title="Table has many indexes",
    family="indexes",
    severity="info",
    problem="""
Every index is maintained on every insert, on every delete and on updates of its columns
(on PostgreSQL, any update that cannot be HOT). Past about ten indexes on one table the
write cost, WAL volume and memory they take usually outweigh what the rarely used ones give.
""",
    solution="""
Look for indexes that are unused, duplicated or prefixes of others and drop them; combine
single-column indexes into fewer multi-column ones where queries filter on several columns.
The limit is the `too-many-indexes` threshold (default 10).
""",
    example="DROP INDEX CONCURRENTLY orders_status_idx;  -- never scanned, one of 14 on orders",
)
def too_many_indexes(ctx: ReviewContext) -> Iterator[Hit]:
    limit = int(ctx.threshold("too-many-indexes", 10))
    for rel in relations(ctx):
        count = len(rel.indexes) + rel.exclusions - _rowid_key(ctx, rel)
        if count > limit:
            yield Hit(
                kind="table",
                object=rel.qualified,
                message=f"table {rel.qualified} has {count} indexes (more than {limit}), "
                "constraint indexes included; every write maintains each one",
            )


def _rowid_key(ctx: ReviewContext, rel: Relation) -> int:
    """1 when the primary key is SQLite's rowid itself (INTEGER PRIMARY KEY), not an index."""
    t = rel.table
    if ctx.schema.dialect != "sqlite" or t is None or t.primary_key is None:
        return 0
    if len(t.primary_key.columns) != 1 or ("without_rowid", "true") in t.options:
        return 0
    col = t.column(t.primary_key.columns[0])
    return 1 if col is not None and col.type.upper() == "INTEGER" else 0


# An expression key whose value is a whole jsonb document or array: a cast to one.
_WHOLE_VALUE = re.compile(r"::(jsonb|[\w .\"]+\[\])\)*$")


def _container(rel: Relation, k: IndexKey) -> str | None:
    """The type of a key that holds a jsonb document or an array, else None."""
    if k.expression:
        m = _WHOLE_VALUE.search(k.column)
        return m.group(1) if m else None
    col = rel.column(k.column)
    if col is not None and (col.logical in ("jsonb", "array") or col.type.endswith("[]")):
        return col.type
    return None


@rule(
    id="btree-on-jsonb-or-array",
    title="B-tree index on a jsonb or array column",
    family="indexes",
    severity="warning",
    problem="""
A B-tree index on a jsonb or array value only serves equality and sorting of the whole value.
The queries these types are chosen for — containment (@>, <@), overlap (&&) and key existence
(?, ?|, ?&) — cannot use it and scan the table, while the index (large, since it stores
whole documents) is maintained on every write.
""",
    solution="""
Index the column with GIN (jsonb_path_ops for @> only, smaller), or index the one scalar you
look up with a B-tree on an expression such as ((doc ->> 'id')). Keep the B-tree only if you
really compare or sort whole values.
""",
    example="CREATE INDEX CONCURRENTLY posts_tags_gin ON posts USING gin (tags);",
    engines=("postgres",),
)
def btree_on_jsonb_or_array(ctx: ReviewContext) -> Iterator[Hit]:
    q = ctx.quote
    for rel in relations(ctx):
        for ix in rel.indexes:
            # A unique index is there to enforce uniqueness, which GIN cannot do.
            if ix.backing != "index" or ix.method != "btree" or ix.unique:
                continue
            found = [(k, t) for k in ix.keys if (t := _container(rel, k)) is not None]
            if not found:
                continue
            keys = ", ".join(f"({k.column})" if k.expression else q(k.column) for k, _ in found)
            table = f"{q(rel.schema)}.{q(rel.name)}"
            conc = "" if rel.partitioned else "CONCURRENTLY "
            what = ", ".join(f"{k.column} ({t})" for k, t in found)
            ops = sorted({"@>, ?, @?" if t.endswith("jsonb") else "@>, &&" for _, t in found})
            yield Hit(
                kind="index",
                object=rel.object(ix),
                message=f"B-tree index {ix.name} on {rel.qualified} has {what} as a key: "
                f"queries with {'; '.join(ops)} cannot use it",
                fix=f"CREATE INDEX {conc}{q(ix.name + '_gin')} ON {table} USING gin ({keys}); "
                f"DROP INDEX {conc}{q(rel.schema)}.{q(ix.name)};",
            )


@rule(
    id="index-on-low-cardinality-boolean",
    title="Index on a boolean column alone",
    family="indexes",
    severity="info",
    problem="""
A B-tree index whose only key is a boolean splits the table into two groups. For the common
value the planner prefers a sequential scan, so the index only ever helps to find the rare
value — yet it holds an entry for every row and is maintained on every write.
""",
    solution="""
Replace it by a partial index over the rare value (WHERE flag, or WHERE NOT flag), keyed on a
column the queries also filter or sort on. On MySQL, which has no partial indexes, put the
boolean behind a more selective column in a composite index, or drop it.
""",
    example="CREATE INDEX CONCURRENTLY orders_open_idx ON orders (placed_at) WHERE NOT closed;",
    enabled=False,
)
def index_on_low_cardinality_boolean(ctx: ReviewContext) -> Iterator[Hit]:
    for rel in relations(ctx):
        for ix in rel.indexes:
            if ix.backing != "index" or ix.unique or ix.where or ix.method != "btree":
                continue
            if len(ix.keys) != 1 or ix.keys[0].expression:
                continue
            col = rel.column(ix.keys[0].column)
            if col is not None and col.logical == "boolean":
                yield Hit(
                    kind="index",
                    object=rel.object(ix),
                    message=f"index {ix.name} on {rel.qualified} has only the boolean column "
                    f"{col.name} as key; a partial index over the rare value would be smaller",
                )
