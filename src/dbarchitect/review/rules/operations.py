"""Review rules: operations — what the live statistics of a database say about its health.

These rules need a live database (`needs="stats"`): a schema loaded from files has run no
workload. Usage rules are here; maintenance and limits (vacuum, analyze, sequences, wraparound)
are in operations_maintenance.py, imported at the bottom.
"""

from __future__ import annotations

from collections.abc import Iterator

from dbarchitect.model import Index, Table
from dbarchitect.review.context import ReviewContext, object_name
from dbarchitect.review.finding import Hit
from dbarchitect.review.registry import rule
from dbarchitect.review.rules.operations_common import (
    MIB,
    days,
    reset_autovacuum,
    size,
    sql_name,
    storage_tables,
    window_is_long,
)


@rule(
    id="unused-index",
    title="Index is never scanned",
    family="operations",
    severity="warning",
    problem="""
An index that no query has used during a long statistics window costs on every write (each
insert, delete and non-HOT update maintains it, and it stops updates from being HOT when it
covers the updated column), takes disk and cache space, and slows vacuum — for nothing.

Only a long window means anything: a fresh database, or one whose statistics were just reset,
has not scanned any index yet. The rule stays silent until the counters cover
`stats-window-days` (default 7); statistics are per server, so an index unused on the primary
may still serve queries on a replica, and a monthly report may need an index a week never saw.
""",
    solution="""
Check the replicas and the rare jobs (month-end reports, batch imports), then drop the index
with DROP INDEX CONCURRENTLY, which does not block writes. Unique indexes and those behind
constraints are never reported (they enforce something even when unread), nor are indexes
that lead with a foreign key's columns (deleting a referenced row needs them), nor indexes
smaller than `unused-index-min-bytes` (default 1 MiB): they cost little, and the planner often
prefers a sequential scan on a table that small anyway.
""",
    example="DROP INDEX CONCURRENTLY public.orders_status_idx;",
    engines=("postgres",),
    needs="stats",
)
def unused_index(ctx: ReviewContext) -> Iterator[Hit]:
    stats = ctx.stats
    if stats is None or not window_is_long(ctx, stats):
        return
    min_bytes = ctx.threshold("unused-index-min-bytes", MIB)
    # A partitioned table's index has no counters of its own; its partitions' indexes do.
    children: dict[str, list[tuple[str, str, str]]] = {}
    for t in ctx.schema.tables:
        for ix in t.indexes:
            if ix.parent:
                children.setdefault(ix.parent, []).append((t.schema, t.name, ix.name))

    def usage(schema: str, table: str, name: str) -> tuple[int, int] | None:
        own = stats.indexes.get(object_name(schema, table, name))
        scans, size_bytes = (own.scans, own.size_bytes) if own else (0, 0)
        parts = children.get(sql_name(ctx, schema, name), [])
        for child in parts:
            sub = usage(*child)
            if sub is not None:
                scans, size_bytes = scans + sub[0], size_bytes + sub[1]
        return (scans, size_bytes) if own or parts else None

    window = days(stats.window_seconds)
    for t in ctx.schema.tables:
        for ix in t.indexes:
            if ix.unique or ix.parent or _serves_foreign_key(t, ix):
                continue
            if ("invalid", "true") in ix.options:  # invalid-index reports it, with its fix
                continue
            used = usage(t.schema, t.name, ix.name)
            if used is None or used[0] > 0 or used[1] < min_bytes:
                continue
            # DROP INDEX CONCURRENTLY is refused on a partitioned table's index.
            concurrently = "" if t.partitioning else "CONCURRENTLY "
            yield Hit(
                kind="index",
                object=object_name(t.schema, t.name, ix.name),
                message=f"index {ix.name} on {t.qualified} ({size(used[1])}) has not been "
                f"scanned once in {window} of statistics",
                fix=f"DROP INDEX {concurrently}{sql_name(ctx, t.schema, ix.name)};",
            )


def _serves_foreign_key(t: Table, ix: Index) -> bool:
    """The index's leading columns are a foreign key's: deletes and key updates on the
    referenced table need it even if nothing scanned it lately (see fk-without-index)."""
    if ix.where:
        return False
    for fk in t.foreign_keys:
        lead = ix.keys[: len(fk.columns)]
        plain = len(lead) == len(fk.columns) and not any(k.expression for k in lead)
        if plain and {k.column for k in lead} == set(fk.columns):
            return True
    return False


@rule(
    id="table-bloat-suspected",
    title="Table holds many dead rows",
    family="operations",
    severity="warning",
    problem="""
Dead rows are row versions left behind by updates and deletes that vacuum has not yet
reclaimed. When they are a large share of a big table, every sequential scan reads them, the
table and its indexes take more disk and cache than the live data needs, and the space is only
reused after vacuum runs; it signals that autovacuum is disabled, too slow for the write rate,
or blocked by a long-running transaction or an abandoned replication slot.
""",
    solution="""
Run VACUUM (ANALYZE) on the table now, then find out why autovacuum fell behind: re-enable it
if it was switched off, lower autovacuum_vacuum_scale_factor for the table, end long-running
or idle-in-transaction sessions. To give the space back to the operating system, rebuild the
table with pg_repack (online) or VACUUM FULL (locks the table). Thresholds:
`bloat-dead-ratio` (default 0.2 of live plus dead rows) and `bloat-min-bytes` (default 10 MiB).
""",
    example="VACUUM (ANALYZE, VERBOSE) public.orders;\n"
    "ALTER TABLE public.orders SET (autovacuum_vacuum_scale_factor = 0.02);",
    engines=("postgres",),
    needs="stats",
)
def table_bloat_suspected(ctx: ReviewContext) -> Iterator[Hit]:
    ratio = ctx.threshold("bloat-dead-ratio", 0.2)
    min_bytes = ctx.threshold("bloat-min-bytes", 10 * MIB)
    for t, key, s in storage_tables(ctx):
        total = s.rows + s.dead_rows
        if total == 0 or s.size_bytes < min_bytes or s.dead_rows / total <= ratio:
            continue
        why = "; autovacuum is disabled for it" if reset_autovacuum(ctx, t) else ""
        yield Hit(
            kind="table",
            object=key,
            message=f"table {t.qualified} ({size(s.size_bytes)}) holds {s.dead_rows:,} dead "
            f"rows, {s.dead_rows / total:.0%} of its rows{why}",
            fix=f"VACUUM (ANALYZE, VERBOSE) {ctx.qname(t)};{reset_autovacuum(ctx, t)}",
        )


@rule(
    id="seq-scan-heavy-table",
    title="Large table is mostly read by sequential scans",
    family="operations",
    severity="warning",
    problem="""
A large table that queries keep reading from end to end costs I/O, CPU and cache on every
such query, and the cost grows with the table: the usual cause is a frequent query filtering
or joining on columns no index serves (or an index the planner cannot use, such as one on
`col` for a filter on `lower(col)`).

The rule fires when the table has more than `seq-scan-min-rows` rows (default 10,000), was
sequentially scanned at least `seq-scan-min-count` times (default 100) reading on average at
least `seq-scan-min-rows` rows each time (whole-table reads, not LIMIT probes), and index scans
were fewer than sequential scans: most reads of the table use no index at all.
""",
    solution="""
Find the queries that scan the table (pg_stat_statements, or the slow-query log) and index
the columns they filter and join on; check with EXPLAIN that the plan uses the new index.
A table that is legitimately read whole (a report, an export) can be suppressed with a
`dbarch:ignore seq-scan-heavy-table` marker in its comment.
""",
    example="CREATE INDEX CONCURRENTLY orders_customer_id_idx ON public.orders (customer_id);",
    engines=("postgres",),
    needs="stats",
)
def seq_scan_heavy_table(ctx: ReviewContext) -> Iterator[Hit]:
    min_rows = ctx.threshold("seq-scan-min-rows", 10_000)
    min_count = ctx.threshold("seq-scan-min-count", 100)
    for t, key, s in storage_tables(ctx):
        if s.rows <= min_rows or s.seq_scan < max(min_count, 1) or s.idx_scan >= s.seq_scan:
            continue
        average = s.seq_tup_read / s.seq_scan
        if average < min_rows:
            continue
        yield Hit(
            kind="table",
            object=key,
            message=f"table {t.qualified} ({s.rows:,} rows) was read by {s.seq_scan:,} "
            f"sequential scans of {average:,.0f} rows on average and only {s.idx_scan:,} "
            "index scans",
        )


@rule(
    id="low-cache-hit-ratio",
    title="Table reads often miss the buffer cache",
    family="operations",
    severity="warning",
    problem="""
When a noticeable share of table block reads miss PostgreSQL's shared buffers, queries wait on
the operating system's cache or the disk; on a healthy OLTP database more than 99% of heap
block reads are hits. A low ratio means the working set does not fit in memory, or that large
sequential scans keep pushing it out.

The ratio is taken over the heap blocks of the user tables since the statistics window began,
and is judged only after at least `cache-hit-min-reads` blocks (default 10,000) were read from
outside the cache, so that a quiet or freshly loaded database is not flagged.
""",
    solution="""
First remove the big scans (see seq-scan-heavy-table, and index the queries that cause them);
then size shared_buffers to the working set (commonly a quarter of the RAM) and give the
server enough memory. The limit is `cache-hit-min` (default 0.99).
""",
    example="ALTER SYSTEM SET shared_buffers = '8GB';  -- takes effect after a restart",
    engines=("postgres",),
    needs="stats",
)
def low_cache_hit_ratio(ctx: ReviewContext) -> Iterator[Hit]:
    stats = ctx.stats
    if stats is None:
        return
    minimum = ctx.threshold("cache-hit-min", 0.99)
    total = stats.blocks_hit + stats.blocks_read
    if total == 0 or stats.blocks_read < ctx.threshold("cache-hit-min-reads", 10_000):
        return
    ratio = stats.blocks_hit / total
    if ratio >= minimum:
        return
    yield Hit(
        kind="database",
        object="database",
        message=f"only {ratio:.1%} of table block reads were cache hits "
        f"({stats.blocks_read:,} of {total:,} read from outside shared buffers), below "
        f"{minimum * 100:g}%",
    )


__all__ = [
    "low_cache_hit_ratio",
    "seq_scan_heavy_table",
    "table_bloat_suspected",
    "unused_index",
]

# The second half of the family registers its rules on import.
from dbarchitect.review.rules import operations_maintenance  # noqa: E402, F401
