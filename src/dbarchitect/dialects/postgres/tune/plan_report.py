"""How a plan finding is recorded: each rule's rationale, and the figures and index DDL that
the rules' messages and fixes share.
"""

from __future__ import annotations

from dbarchitect.dialects.postgres.tune.plan_walk import Context, Relation
from dbarchitect.review.finding import Finding, Severity

LARGE_ROWS = 10_000  # a scan or an outer side this big is worth an index

RATIONALE = {
    "seq-scan-selective": "A sequential scan reads every row to keep a few; an index on the "
    "filtered columns reads only those rows.",
    "misestimate": "The planner chooses join methods and orders from row estimates; an "
    "estimate ten times off leads to nested loops over large inputs, hashes that spill, or "
    "indexes left unused. Stale statistics or correlated columns are the usual causes.",
    "sort-spill": "A sort larger than work_mem writes its runs to temporary files and merges "
    "them from disk, often ten times slower than sorting in memory.",
    "hash-spill": "A hash table larger than work_mem × hash_mem_multiplier is split into "
    "batches written to temporary files and read back.",
    "nested-loop-large-outer": "A nested loop runs its inner side once per outer row; without "
    "an index lookup on the inner side that is outer rows × inner rows of work.",
    "index-filter-waste": "The index finds rows that the filter then throws away: each one "
    "cost a heap visit. An index that also holds the filtered column finds only the rows kept.",
    "implicit-cast": "A cast applied to the column (not to the constant) makes the condition "
    "an expression of the column, which an index on the column cannot serve.",
    "function-on-column": "An index on a column orders the column's values, not a function "
    "of them: a condition on f(column) cannot use it.",
    "leading-wildcard": "A LIKE pattern that starts with a wildcard has no prefix to look up "
    "in a B-tree index, so every row is read and matched.",
    "deep-offset": "OFFSET n still produces and throws away n rows; each later page costs "
    "more. Keyset pagination starts from the last row seen instead.",
    "select-star-wide": "SELECT * on a wide table reads, copies and sends every column, "
    "prevents index-only scans, and changes shape when a column is added.",
    "correlated-subplan": "A correlated subquery runs once per outer row; a join (or a "
    "pre-aggregated derived table) does the same work in one pass.",
}


def add(ctx: Context, rule: str, severity: Severity, message: str, fix: str | None) -> None:
    """Record a finding of rule tune/`rule` on the query under review, with its rationale."""
    ctx.found.append(
        Finding(
            rule=f"tune/{rule}",
            severity=severity,
            kind="query",
            object=ctx.object,
            message=message,
            rationale=RATIONALE[rule],
            fix=fix,
        )
    )


def count(n: float) -> str:
    """A row count or size as a message shows it: 12,345."""
    return f"{n:,.0f}"


def share(part: float, whole: float) -> str:
    """`part` as a percentage of `whole`: two decimals below 10%."""
    pct = 100.0 * part / whole if whole else 0.0
    return f"{pct:.2f}%" if pct < 10 else f"{pct:.0f}%"


def index_ddl(relation: Relation, keys: list[str]) -> str:
    """The CREATE INDEX CONCURRENTLY a fix proposes on `relation`."""
    return f"CREATE INDEX CONCURRENTLY ON {relation.sql} ({', '.join(keys)});"
