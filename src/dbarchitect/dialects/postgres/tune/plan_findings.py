"""What one query's PostgreSQL plan shows is slow, each finding with its figures and a fix.

Rules read the JSON plan `explain` returns (the whole tree: InitPlans, SubPlans, CTEs and
parallel workers). Figures that need execution (spills, rows removed, loops, misestimates) come
only from analyzed plans; the others work from estimates too, with the table sizes `explain`
attaches under "Relations". Each rule is named "tune/<rule>"; every finding names the query by
its source (or the first 12 hex digits of its fingerprint).

This module holds the rules on plan nodes and their fixes; the rules on condition expressions
and SELECT * are in plan_expressions.py, what the rules read around a node in plan_facts.py,
and the rationale of each rule and the shared wording of figures in plan_report.py.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from dbarchitect.dialects.postgres.quoting import quote
from dbarchitect.dialects.postgres.tune.plan_expressions import (
    CONDITION_KEYS,
    conditions,
    select_star_wide,
)
from dbarchitect.dialects.postgres.tune.plan_facts import (
    crossing,
    index_lookup,
    key_columns,
    may_stop_early,
    offset_of,
    order_keys,
    sort_columns,
)
from dbarchitect.dialects.postgres.tune.plan_report import (
    LARGE_ROWS,
    add,
    count,
    index_ddl,
    share,
)
from dbarchitect.dialects.postgres.tune.plan_walk import (
    INDEX_LOOKUPS,
    Context,
    Visit,
    actual_rows,
    loops,
    planned_rows,
    rows,
)
from dbarchitect.model import Schema
from dbarchitect.review.finding import Finding
from dbarchitect.tune.model import Query
from dbarchitect.tune.tuner import Plan

SELECTIVE = 0.05  # a filter keeping less than this share of a table is selective
MISESTIMATE = 10.0  # actual vs planned rows
MISESTIMATE_MIN_ROWS = 1_000  # ignore misestimates of tiny row counts
WASTE_RATIO = 10.0  # rows removed by an index scan's filter per row kept
WASTE_MIN_ROWS = 1_000
DEEP_OFFSET = 1_000  # rows a LIMIT skips before it returns any
SUBPLAN_RUNS = 1_000


def plan_findings(query: Query, plan: Plan, schema: Schema, *, analyzed: bool) -> list[Finding]:
    """Findings on one query's plan, sorted, one per rule and message. `analyzed` says the
    plan carries EXPLAIN ANALYZE figures (rows per loop, loops, spills)."""
    ctx = Context(query, plan, schema, analyzed)
    for visit in ctx.nodes:
        for rule in _NODE_RULES:
            rule(ctx, visit)
    select_star_wide(ctx)
    unique = {(f.rule, f.message): f for f in ctx.found}
    return sorted(unique.values(), key=Finding.sort_key)


def _memory_mb(kb: float) -> int:
    """A work_mem in MB that holds `kb`, rounded up to a multiple of 4."""
    return max(4, 4 * math.ceil(kb / 1024 / 4))


# --- node rules ----------------------------------------------------------------------------


def seq_scan_selective(ctx: Context, visit: Visit) -> None:
    relation = ctx.relations.scanned(visit)
    if visit.type != "Seq Scan" or "Filter" not in visit.node or relation is None:
        return
    if ctx.analyzed:
        if not loops(visit):
            return
        factor = loops(visit) if visit.partial else 1.0
        kept = float(visit.get("Actual Rows", 0)) * factor
        scanned = kept + float(visit.get("Rows Removed by Filter", 0)) * factor
        about = ""
    else:
        if relation.rows is None:
            return
        scanned, kept, about = relation.rows, planned_rows(visit), "~"
    if scanned < LARGE_ROWS or kept >= SELECTIVE * scanned:
        return
    keys = [quote(c) for c in key_columns(ctx, visit, [visit.get("Filter")], relation)]
    fix = (
        index_ddl(relation, keys)
        if keys
        else "no bare column of this filter can lead a B-tree index: see the other findings"
        " on this query (expression index, trigram index)"
    )
    add(
        ctx,
        "seq-scan-selective",
        "warning",
        f"Seq Scan on {relation.qualified} reads {about}{count(scanned)} rows to keep "
        f"{about}{count(kept)} ({share(kept, scanned)}); Filter: {visit.get('Filter')}",
        fix,
    )


def _misestimated(visit: Visit) -> tuple[float, float, float] | None:
    """(planned, actual, ratio) per loop when they differ more than MISESTIMATE×."""
    if not loops(visit) or "Plan Rows" not in visit.node:
        return None
    planned, actual = float(visit.get("Plan Rows", 0)), float(visit.get("Actual Rows", 0))
    ratio = max(planned, actual) / max(min(planned, actual), 1.0)
    if ratio <= MISESTIMATE or max(planned, actual) * loops(visit) < MISESTIMATE_MIN_ROWS:
        return None
    if planned > actual and may_stop_early(visit):
        return None  # a LIMIT or a semi-join stopped it: fewer rows is not a misestimate
    return planned, actual, ratio


def misestimate(ctx: Context, visit: Visit) -> None:
    if not ctx.analyzed or (found := _misestimated(visit)) is None:
        return
    if any(_misestimated(ctx.visit(c)) for c in visit.children()):
        return  # reported where it starts, not on every node above
    planned, actual, ratio = found
    kind = "under" if actual > planned else "over"
    runs = f" per loop over {count(loops(visit))} loops" if loops(visit) > 1 else ""
    scans = [r for v in ctx.below(visit) if (r := ctx.relations.scanned(v)) is not None]
    names = sorted({r.qualified for r in scans})
    fix = "; ".join(f"ANALYZE {r.sql}" for r in {r.qualified: r for r in scans}.values())
    relation = ctx.relations.scanned(visit)
    if relation is not None:
        conds = [
            str(visit.get(k)) for k in ("Index Cond", "Recheck Cond", "Filter") if k in visit.node
        ]
        cols = key_columns(ctx, visit, conds, relation)
        if len(cols) >= 2 and relation.table is not None:
            name = quote(f"{relation.table.name}_{'_'.join(cols)}_stats")
            listed = ", ".join(quote(c) for c in cols)
            fix = (
                f"CREATE STATISTICS {quote(relation.table.schema)}.{name} (dependencies, "
                f"ndistinct, mcv) ON {listed} FROM {relation.sql}; "
                f"ANALYZE {relation.sql};"
            )
    on = f" on {', '.join(names)}" if names else ""
    add(
        ctx,
        "misestimate",
        "warning",
        f"{visit.type}{on} was estimated at {count(planned)} rows and returned "
        f"{count(actual)}{runs}: {ratio:.0f}× {kind}estimate",
        (fix + ";" if fix and not fix.endswith(";") else fix) or None,
    )


def sort_spill(ctx: Context, visit: Visit) -> None:
    if visit.type not in ("Sort", "Incremental Sort") or not ctx.analyzed:
        return
    entries = [visit.node, *visit.get("Workers", [])]
    disk = [
        e
        for e in entries
        if e.get("Sort Space Type") == "Disk" or "external" in str(e.get("Sort Method", ""))
    ]
    if not disk:
        return
    kb = max(float(e.get("Sort Space Used", 0)) for e in disk)
    keys = ", ".join(visit.get("Sort Key", []))
    fix = (
        f"SET LOCAL work_mem = '{_memory_mb(kb * 3)}MB';  -- in the transaction that runs it, "
        "not server-wide (an in-memory sort needs 2-3× the size it took on disk)"
    )
    order = order_index(ctx, visit)
    if order:
        fix += f"; or let an index return the rows in order: {order}"
    add(
        ctx,
        "sort-spill",
        "warning",
        f"Sort by {keys} spilled {count(kb)} kB to disk ({disk[0].get('Sort Method')}) "
        f"sorting {count(rows(visit, True))} rows",
        fix,
    )


def hash_spill(ctx: Context, visit: Visit) -> None:
    if not ctx.analyzed:
        return
    peak = float(visit.get("Peak Memory Usage", 0))
    if visit.type == "Hash":
        batches = int(visit.get("Hash Batches", 1))
        planned = int(visit.get("Original Hash Batches", 1))
        if max(batches, planned) <= 1:
            return
        cond = visit.parent.get("Hash Cond", "") if visit.parent else ""
        what = ", ".join(
            sorted({r.qualified for v in ctx.below(visit) if (r := ctx.relations.scanned(v))})
        )
        message = (
            f"Hash of {count(rows(visit, True))} rows from {what or 'its input'} for {cond} "
            f"was split into {batches} batches (planned {planned}); {count(peak)} kB in memory"
        )
        need = peak * batches
    elif visit.type == "Aggregate" and visit.get("Strategy") in ("Hashed", "Mixed"):
        batches = int(visit.get("HashAgg Batches", 1))
        disk = float(visit.get("Disk Usage", 0))
        if batches <= 1 and not disk:
            return
        keys = ", ".join(visit.get("Group Key", []))
        message = (
            f"HashAggregate by {keys} spilled {count(disk)} kB to disk in {batches} batches "
            f"({count(peak)} kB in memory)"
        )
        need = peak + disk
    else:
        return
    add(
        ctx,
        "hash-spill",
        "warning",
        message,
        f"SET LOCAL work_mem = '{_memory_mb(need)}MB';  -- in the transaction that runs it, or "
        "raise hash_mem_multiplier",
    )


def nested_loop_large_outer(ctx: Context, visit: Visit) -> None:
    if visit.type != "Nested Loop":
        return
    outer, inner = ctx.child(visit, "Outer"), ctx.child(visit, "Inner")
    if outer is None or inner is None:
        return
    outer_rows = rows(outer, ctx.analyzed)
    if outer_rows < LARGE_ROWS or index_lookup(ctx, inner):
        return
    inner_rows = float(inner.get("Actual Rows" if ctx.analyzed else "Plan Rows", 0))
    inside = sorted({r.qualified for v in ctx.below(inner) if (r := ctx.relations.scanned(v))})
    about = "" if ctx.analyzed else "~"
    fix = join_index(ctx, visit, inner)
    add(
        ctx,
        "nested-loop-large-outer",
        "warning",
        f"Nested Loop runs its inner side ({inner.type} on {', '.join(inside) or 'a subplan'}, "
        f"{about}{count(inner_rows)} rows each time) for each of {about}{count(outer_rows)} "
        "outer rows",
        fix,
    )


def index_filter_waste(ctx: Context, visit: Visit) -> None:
    relation = ctx.relations.scanned(visit)
    if not ctx.analyzed or visit.type not in INDEX_LOOKUPS or relation is None:
        return
    if "Filter" not in visit.node or not loops(visit):
        return
    removed = float(visit.get("Rows Removed by Filter", 0))
    kept = float(visit.get("Actual Rows", 0))
    if removed < WASTE_RATIO * max(kept, 1.0) or removed * loops(visit) < WASTE_MIN_ROWS:
        return
    index = visit.get("Index Name") or next(
        (v.get("Index Name") for v in ctx.below(visit) if v.get("Index Name")), "an index"
    )
    cond = visit.get("Index Cond") or visit.get("Recheck Cond") or ""
    keys = [quote(c) for c in key_columns(ctx, visit, [cond, visit.get("Filter")], relation)]
    add(
        ctx,
        "index-filter-waste",
        "warning",
        f"{visit.type} on {relation.qualified} using {index} fetches "
        f"{count((removed + kept) * loops(visit))} rows and its Filter "
        f"{visit.get('Filter')} removes {count(removed * loops(visit))} of them "
        f"({share(kept, removed + kept)} kept)",
        index_ddl(relation, keys) if keys else None,
    )


def deep_offset(ctx: Context, visit: Visit) -> None:
    child = ctx.child(visit, "Outer")
    if visit.type != "Limit" or child is None:
        return
    if ctx.analyzed and loops(visit):
        returned = actual_rows(visit)
        skipped = actual_rows(child) - returned
    else:
        returned = planned_rows(visit)
        skipped = offset_of(ctx, visit, child)
    if skipped < DEEP_OFFSET:
        return
    add(
        ctx,
        "deep-offset",
        "warning",
        f"LIMIT/OFFSET produces {count(skipped + returned)} rows and throws away "
        f"{count(skipped)} to return {count(returned)}",
        keyset_fix(ctx, child, returned),
    )


def correlated_subplan(ctx: Context, visit: Visit) -> None:
    parent = visit.parent
    if visit.relationship != "SubPlan" or parent is None:
        return
    name = str(visit.get("Subplan Name", "SubPlan"))
    texts = [str(parent.get(k, "")) for k in (*CONDITION_KEYS, "One-Time Filter")]
    if any(f"hashed {name}" in t for t in texts):
        return  # a hashed subplan runs once
    if ctx.analyzed:
        runs = loops(visit)
        cost = float(visit.get("Actual Total Time", 0)) * runs
        figures = f"ran {count(runs)} times, {cost:,.1f} ms in all"
    else:
        own = ctx.relations.scanned(parent)
        in_filter = any(name in t for t in texts)
        runs = own.rows if own and own.rows is not None and in_filter else planned_rows(parent)
        figures = f"runs about {count(runs)} times (once per outer row)"
    if runs < SUBPLAN_RUNS:
        return
    inside = sorted({r.qualified for v in ctx.below(visit) if (r := ctx.relations.scanned(v))})
    add(
        ctx,
        "correlated-subplan",
        "warning",
        f"{name} (correlated subquery on {', '.join(inside) or 'its input'}) {figures}",
        decorrelate_fix(ctx, visit),
    )


# --- fixes that read around a node ---------------------------------------------------------


def join_index(ctx: Context, loop: Visit, inner: Visit) -> str:
    where = [(loop, "Join Filter")] + [(v, "Filter") for v in ctx.below(inner)]
    found = crossing(ctx, inner, where)
    if found is None:
        return (
            "join the two sides on an equality of indexed columns, or ANALYZE the tables if "
            "the outer row count was misestimated, so the planner can pick a hash join"
        )
    relation, col, _, _ = found
    return (
        f"{index_ddl(relation, [quote(col)])} — the inner side becomes an index lookup per "
        "outer row; if the outer row count was misestimated, ANALYZE so the planner can pick "
        "a hash join"
    )


def order_index(ctx: Context, sort: Visit) -> str | None:
    found = sort_columns(ctx, sort)
    return index_ddl(found[0], found[1]) if found else None


def keyset_fix(ctx: Context, child: Visit, returned: float) -> str:
    keys = order_keys(ctx, child)
    if not keys:
        return (
            "use keyset pagination: ORDER BY a unique key and ask for the rows after the last "
            "one seen (WHERE key > :last_key … LIMIT n) instead of OFFSET"
        )
    bare = [re.sub(r"\s+(ASC|DESC)$", "", k, flags=re.I) for k in keys]
    marks = [":last_" + re.sub(r"\W+", "_", b.split(".")[-1]).strip("_") for b in bare]
    return (
        f"keyset pagination: remember the last row's {', '.join(bare)} and ask for the next "
        f"page with WHERE ({', '.join(bare)}) > ({', '.join(marks)}) ORDER BY "
        f"{', '.join(keys)} LIMIT {count(returned)} — no OFFSET (make the order unique by "
        "ending it with the primary key; with DESC keys compare with <)"
    )


def decorrelate_fix(ctx: Context, subplan: Visit) -> str:
    keys = ("Index Cond", "Recheck Cond", "Filter")
    found = crossing(ctx, subplan, [(v, k) for v in ctx.below(subplan) for k in keys])
    if found is None:
        return (
            "rewrite the correlated subquery as a join over a derived table grouped by the "
            "correlation column (EXISTS/IN for membership tests become semi-joins)"
        )
    relation, col, outer, scan = found
    fix = (
        f"rewrite it as one join over a derived table computed once: LEFT JOIN (SELECT "
        f"{quote(col)}, … FROM {relation.sql} GROUP BY {quote(col)}) s ON s.{quote(col)} = "
        f"{outer[0]}.{quote(outer[1])} (EXISTS/IN for membership tests become semi-joins)"
    )
    if scan.type == "Seq Scan":
        fix += f"; meanwhile {index_ddl(relation, [quote(col)])} makes each run a lookup"
    return fix


_NODE_RULES: tuple[Callable[[Context, Visit], None], ...] = (
    seq_scan_selective,
    misestimate,
    sort_spill,
    hash_spill,
    nested_loop_large_outer,
    index_filter_waste,
    deep_offset,
    correlated_subplan,
    conditions,
)
