"""What tuning reads and produces, as data: the workload, each query's shape, index candidates,
the advice and its evidence. Analyses fill these; renderers print them; nothing here talks to a
database.

Tables are named by their qualified key (`Table.qualified`: `schema.table`, or the bare name on
engines without schemas); columns by their name as the engine spells it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from dbarchitect.review.finding import Finding


@dataclass(frozen=True, slots=True, kw_only=True)
class Query:
    """One statement of the workload: every execution of one fingerprint, grouped."""

    fingerprint: str  # stable hex digest of the normalized statement
    text: str  # one real text of it, as written (literals untouched); may hold $n parameters
    calls: int = 1
    total_ms: float = 0.0  # 0 when the source has no timings (a .sql file)
    source: str = (
        ""  # where it came from: "queries.sql:12", "postgresql.log:340", "pg_stat_statements"
    )

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.calls if self.calls else 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Skipped:
    """A statement that could not be analysed, and why. It never aborts the run."""

    source: str
    reason: str
    text: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Workload:
    queries: tuple[Query, ...]  # sorted by total_ms desc, then calls desc, then fingerprint
    skipped: tuple[Skipped, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class LogEvent:
    """One statement execution from a server log, for N+1 detection."""

    at: float  # seconds since the epoch (log timestamp, milliseconds kept)
    session: str  # session id (%c) or process id (%p) or transaction id (%x) — whatever the log has
    text: str
    duration_ms: float | None = None
    source: str = ""  # "postgresql.log:340"
    # Bound parameter values as logged (DETAIL: parameters: $1 = '42'), in $n order: an
    # extended-protocol execution logs the same $n text every time, only these vary.
    params: tuple[str, ...] = ()


PredicateOp = Literal[
    "eq",  # = constant/parameter, IS NULL, IN (list), = ANY($1)
    "range",  # < <= > >= BETWEEN, LIKE 'prefix%' (with a text_pattern_ops or C collation index)
    "like_infix",  # LIKE '%x%' / ILIKE: no B-tree helps; a trigram GIN would
    "contains",  # jsonb/array @> <@ ? ?| ?& &&: GIN
    "fts",  # tsvector @@ tsquery: GIN
    "other",  # anything else that filters on the column (<>, NOT IN, function of two columns)
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Predicate:
    """A filter on one column (or one expression of one table's columns) of one table."""

    table: str
    column: str  # the column name, or the expression's SQL text for expression predicates
    op: PredicateOp
    expression: bool = False  # `column` is an expression such as lower(email)
    value: str | None = None  # SQL text of the constant when it is a literal (partial indexes)
    parameter: bool = False  # compared to a $n parameter


@dataclass(frozen=True, slots=True, kw_only=True)
class JoinKey:
    """An equality between columns of two tables in scope (a join or a correlation)."""

    left_table: str
    left_column: str
    right_table: str
    right_column: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SortKey:
    table: str
    column: str
    descending: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Shape:
    """What one query asks of each table, with every column resolved through its scopes."""

    tables: tuple[str, ...]  # every table read, sorted
    predicates: tuple[Predicate, ...] = ()
    joins: tuple[JoinKey, ...] = ()
    order_by: tuple[SortKey, ...] = ()
    group_by: tuple[SortKey, ...] = ()
    # Columns read per table (for covering indexes): (table, column) pairs, sorted;
    # SELECT * lists every column of the table.
    reads: tuple[tuple[str, str], ...] = ()
    limit: int | None = None
    offset: int | None = None
    writes: str | None = None  # the table an INSERT/UPDATE/DELETE writes, if any
    # Static findings on the text: non-sargable predicates, leading-wildcard LIKE, deep OFFSET,
    # SELECT * on a wide table, correlated subqueries. Rule ids under "tune/".
    findings: tuple[Finding, ...] = ()


IndexMethod = Literal["btree", "brin", "gin", "hash"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """An index that might help. `columns` are column names or parenthesized expressions,
    optionally followed by an operator class (`payload jsonb_path_ops`)."""

    table: str
    columns: tuple[str, ...]
    include: tuple[str, ...] = ()
    where: str | None = None  # partial index predicate, SQL text
    method: IndexMethod = "btree"
    reason: str = ""  # why it was proposed: "eq on status, range on created_at (q 3f2a…)"

    @property
    def key(self) -> tuple[str, tuple[str, ...], tuple[str, ...], str, str]:
        return (self.table, self.columns, self.include, self.where or "", self.method)


@dataclass(frozen=True, slots=True, kw_only=True)
class QueryGain:
    fingerprint: str
    cost_before: float
    cost_after: float


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexAdvice:
    candidate: Candidate
    name: str
    ddl: str  # CREATE INDEX CONCURRENTLY … (PostgreSQL), plain CREATE INDEX elsewhere
    size_bytes: int  # our estimate (rows × key width, deduplication-corrected)
    gains: tuple[QueryGain, ...]  # the queries it helps, most benefit first
    write_overhead: str = ""  # e.g. "public.orders: 1,200 writes per hour maintain 1 more index"
    judged_by: Literal["hypopg", "build"] = "hypopg"  # GIN and SQLite: a real build on a copy


@dataclass(frozen=True, slots=True, kw_only=True)
class CurvePoint:
    budget_bytes: int
    cost: float  # weighted workload cost (Σ calls × cost) with the indexes chosen at this budget
    indexes: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Timing:
    """--verify: one query's EXPLAIN ANALYZE time and planner cost before and after."""

    fingerprint: str
    ms_before: float
    ms_after: float
    cost_before: float
    cost_after: float
    disagrees: bool = False  # the planner's estimate and the clock point in opposite directions


@dataclass(frozen=True, slots=True, kw_only=True)
class NPlusOne:
    parent: str  # fingerprint of the parent query
    child: str  # fingerprint of the repeated query
    session: str
    repeats: int
    window_ms: float
    child_text: str
    batched: str  # the batched statement to use instead (= ANY($1) or a JOIN)
    source: str
    # How many bursts (parent, then the child repeated) were seen across sessions; `repeats`
    # sums their child executions while session/window_ms/source describe the largest one.
    bursts: int = 1
    joined: str = ""  # the child reading its keys from the parent in one statement, if it can


@dataclass(frozen=True, slots=True, kw_only=True)
class PartitionAdvice:
    table: str
    strategy: Literal["range", "list", "hash"]
    key: str
    reason: str
    ddl: str
    prunes: tuple[str, ...] = ()  # fingerprints of the queries whose filters would prune


@dataclass(frozen=True, slots=True, kw_only=True)
class TuneResult:
    workload: Workload
    findings: tuple[Finding, ...] = ()  # plan and static findings, existing-index removals
    advice: tuple[IndexAdvice, ...] = ()
    curve: tuple[CurvePoint, ...] = ()
    base_cost: float = 0.0  # weighted workload cost with no new index
    whatif_calls: int = 0
    timings: tuple[Timing, ...] = ()
    nplus1: tuple[NPlusOne, ...] = ()
    partitions: tuple[PartitionAdvice, ...] = ()
    notes: tuple[str, ...] = field(default=())
    analysed: int = 0  # queries that were shaped and planned (the others are in skipped)
