"""CopyTuner: the half of a tuner that engines without hypothetical indexes share.

Such an engine cannot cost an index that does not exist, and its plans may print no cost at
all; so a candidate is judged by building it on a scratch copy of the database and timing the
query there, and the cost of a query is its measured wall time on the copy in milliseconds
(the median of RUNS runs after a warm-up, at most ROW_CAP rows fetched, each run stopped after
TIME_LIMIT_S). Timings are cached by the plan they ran with and the indexes a write maintains,
so a configuration that leaves the plan alone costs no new timing and reads no clock noise as a
gain.

What does not depend on the engine lives here: statements parsed with sqlglot (fingerprint,
shape, parameters bound to sampled values), the cost and size bookkeeping, the fixes findings
carry, and verify's before/after comparison. A dialect's subclass names its sqlglot dialect
and supplies the copy (build, explain, time), the user's-database side of verify and the DDL.
"""

from __future__ import annotations

import abc
import hashlib
import re
import statistics
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from dbarchitect.engines.base import Session
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import InputError
from dbarchitect.model import Schema
from dbarchitect.review.finding import Finding, Severity
from dbarchitect.tune import sqlglot_shape, sqlglot_text
from dbarchitect.tune.model import Candidate, IndexMethod, Query, Shape, Timing
from dbarchitect.tune.tuner import Plan, Tuner

LARGE_ROWS = 10_000  # a full scan of a table this large under a filter is worth a finding
SAMPLE_ROWS = 10_000  # rows looked at for a column's most common values
ROW_CAP = 10_000  # rows fetched per timed run
RUNS = 3  # timed runs after one warm-up; the median is the cost
TIME_LIMIT_S = 5.0  # a run is interrupted after this; its time is then a lower bound
Key = tuple[str, tuple[str, ...], tuple[str, ...], str, str]  # Candidate.key
Make = Callable[[str, Severity, str, str], Finding]  # (rule, severity, message, fix) → Finding


class CopyTuner(Tuner):
    """Tuning primitives for an engine whose candidates are judged by real builds on a copy.
    The user's database is only read through `_session`; builds go to the copy (or to the
    target in verify's `on_target`, only when `allow_writes`)."""

    methods: ClassVar[frozenset[IndexMethod]] = frozenset({"btree"})  # what it can build
    built_methods: ClassVar[frozenset[IndexMethod]] = methods  # every cost is a real build
    sqlglot_dialect: ClassVar[str]  # sqlglot's name for the engine's SQL
    implicit_casts: ClassVar[bool] = False  # the engine casts a string column compared to a number
    sample_alias: ClassVar[str] = ""  # " AS s" where every derived table needs a name
    fix_name_chars: ClassVar[int | None] = None  # index names in fixes are cut to this length

    _session: Session  # read-only, on the user's database

    def __init__(self, url: DatabaseURL, schema: Schema, *, allow_writes: bool) -> None:
        self.url, self.schema, self.allow_writes = url, schema, allow_writes
        self.whatif_calls = 0
        self.failed: dict[Key, str] = {}  # candidates the engine refused to build, and why
        self._shapes: dict[str, Shape | str] = {}  # shape, or why there is none
        self._timed: dict[tuple[object, ...], float] = {}
        self._sizes: dict[Key, int] = {}

    # --- the statement --------------------------------------------------------------------

    def fingerprint(self, sql: str) -> str:
        return sqlglot_text.fingerprint(sql, self.sqlglot_dialect)

    def shape(self, sql: str) -> Shape:
        return sqlglot_shape.shape(
            sql, self.schema, self.sqlglot_dialect, implicit_casts=self.implicit_casts
        )

    def _shape(self, sql: str) -> Shape | None:
        """The shape, or None when the statement cannot be analysed (cached either way)."""
        if sql not in self._shapes:
            try:
                self._shapes[sql] = self.shape(sql)
            except InputError as exc:
                self._shapes[sql] = str(exc)
        got = self._shapes[sql]
        return got if isinstance(got, Shape) else None

    def _checked(self, sql: str) -> Shape:
        """The shape of a statement about to run on the copy: what cannot be analysed (DDL,
        anything unparsable) is never run there."""
        shape = self._shape(sql)
        if shape is None:
            raise InputError(f"not run on the copy: {self._shapes[sql]}")
        return shape

    def plannable(self, sql: str) -> str:
        return sqlglot_shape.bind(sql, self.schema, self.sqlglot_dialect, self._sample)

    def _sample(self, table: str, column: str) -> list[str]:
        """The column's most common non-null values among SAMPLE_ROWS of its rows."""
        c, t = self._quote(column), self._quote(table)
        rows = self._session.fetch(
            f"SELECT v, count(*) AS n FROM (SELECT {c} AS v FROM {t} WHERE {c} IS NOT NULL "
            f"LIMIT {SAMPLE_ROWS}){self.sample_alias} GROUP BY v ORDER BY n DESC, v LIMIT 8"
        )
        return [self._literal(r["v"]) for r in rows]

    def _aliases(self, sql: str) -> dict[str, str]:
        try:
            return sqlglot_shape.table_aliases(sql, self.schema, self.sqlglot_dialect)
        except InputError:
            return {}

    @abc.abstractmethod
    def _quote(self, name: str) -> str:
        """`name` quoted as an identifier of the engine."""

    @abc.abstractmethod
    def _literal(self, value: object) -> str:
        """A value as the engine's driver returned it, as an SQL literal of the engine."""

    # --- findings ---------------------------------------------------------------------------

    @staticmethod
    def _finder(query: Query, plan: Plan, *, analyzed: bool) -> Make:
        """Makes the findings of one query's plan: named after the query's source (else its
        fingerprint), with its time on the copy when the plan was analysed."""
        where = query.source or query.fingerprint[:12]
        ms = f" ({plan['ms']:.1f} ms)" if analyzed and "ms" in plan else ""

        def make(rule: str, severity: Severity, message: str, fix: str) -> Finding:
            return Finding(
                rule=f"tune/{rule}", severity=severity, kind="query", object=where,
                message=message + ms, fix=fix,
            )  # fmt: skip

        return make

    def _fix(self, table: str, columns: Sequence[str]) -> str:
        """The CREATE INDEX statement a finding proposes, named after its table and columns."""
        name = re.sub(r"\W+", "_", f"{table}_{'_'.join(columns)}_idx").lower()
        candidate = Candidate(table=table, columns=tuple(columns))
        return self.index_ddl(candidate, name[: self.fix_name_chars]) + ";"

    def _sort_fix(self, shape: Shape | None) -> str:
        """The index that hands the rows over in the order the query sorts or groups them."""
        sorts = (*shape.order_by, *shape.group_by) if shape else ()
        table = sorts[0].table if sorts else ""
        cols = sqlglot_shape.key_columns(shape, table, sort=True)
        return self._fix(table, cols) if cols else "index the columns it sorts by"

    @staticmethod
    def _correlated_fix(shape: Shape | None) -> str:
        joins = shape.joins if shape else ()
        keys = [f"{j.left_table}.{j.left_column} = {j.right_table}.{j.right_column}" for j in joins]
        return "rewrite it as a JOIN (with GROUP BY for aggregates)" + (
            f", or index the correlation columns: {'; '.join(keys)}" if keys else ""
        )

    # --- costs and sizes on the copy ------------------------------------------------------

    def _buildable(self, indexes: Sequence[Candidate], shape: Shape | None) -> list[Candidate]:
        """The candidates the copy can hold (none the engine refused before) on the tables
        `shape` reads (every table when there is no shape)."""
        tables = set(shape.tables) if shape else None
        return [
            c
            for c in indexes
            if c.method in self.methods
            and c.key not in self.failed
            and (tables is None or c.table in tables)
        ]

    def cost(self, sql: str, indexes: Sequence[Candidate]) -> float:
        """Milliseconds on the copy with `indexes` built beside the real ones (see module doc)."""
        shape = self._checked(sql)
        self._configure(indexes, shape)
        writes = shape.writes
        maintained = self._maintained(writes) if writes is not None else ()
        timing = (sql, self._plan_signature(sql), maintained)
        if timing not in self._timed:
            self._timed[timing] = self._time(sql, write=writes is not None)
            self.whatif_calls += 1
        return self._timed[timing]

    def copy_plan(self, sql: str, indexes: Sequence[Candidate]) -> Plan:
        """The plan on the scratch copy with `indexes` built (to show how a candidate is used)."""
        self._configure(indexes, self._checked(sql))
        return {"plan": self._explain_copy(sql), "aliases": self._aliases(sql)}

    def _copy_ms(self, sql: str, shape: Shape | None) -> float:
        """The query's time on the copy with no candidate built (what plan(analyze=True) adds)."""
        self._configure([], shape)
        return self._time(sql, write=bool(shape and shape.writes))

    def size(self, candidate: Candidate) -> int:
        """Bytes of the index as built on the copy, else an estimate when it was not built."""
        if candidate.key in self._sizes:
            return self._sizes[candidate.key]
        measured = None
        if candidate.method in self.methods and candidate.key not in self.failed:
            measured = self._measure(candidate)
        size = measured if measured is not None else self._estimate(candidate)
        self._sizes[candidate.key] = size
        return size

    @abc.abstractmethod
    def _configure(self, indexes: Sequence[Candidate], shape: Shape | None) -> None:
        """Build the buildable `indexes` on the copy and drop the other built ones on the
        tables `shape` reads (everywhere when there is no shape); refusals go to `failed`."""

    @abc.abstractmethod
    def _maintained(self, table: str) -> tuple[Key, ...]:
        """The built candidates on `table`, sorted: a write there maintains them."""

    @abc.abstractmethod
    def _explain_copy(self, sql: str) -> Any:
        """The engine's plan of `sql` on the copy as it is configured now."""

    @abc.abstractmethod
    def _plan_signature(self, sql: str) -> object:
        """The plan of `sql` on the copy without its estimates: same access paths, same
        signature, hence the same timing."""

    @abc.abstractmethod
    def _time(self, sql: str, *, write: bool) -> float:
        """Milliseconds of `sql` on the copy as it is configured now (writes rolled back)."""

    @abc.abstractmethod
    def _measure(self, candidate: Candidate) -> int | None:
        """Bytes of the candidate built on the copy (None when it cannot be built or read)."""

    @abc.abstractmethod
    def _estimate(self, candidate: Candidate) -> int:
        """Bytes of the candidate estimated from the table's rows and key widths."""

    # --- verification ---------------------------------------------------------------------

    def verify(
        self,
        queries: Sequence[tuple[Query, str]],
        indexes: Sequence[Candidate],
        *,
        on_target: bool = False,
    ) -> list[Timing]:
        """Time each query without and with `indexes`: on the copy, or on the user's database
        when `on_target` (allowed writes only; the indexes are dropped afterwards)."""
        estimates = [(self.cost(sql, []), self.cost(sql, indexes)) for _, sql in queries]
        runs = [(sql, bool(self._checked(sql).writes)) for _, sql in queries]
        if on_target:
            if not self.allow_writes:
                raise InputError(
                    f"{self.url}: building indexes on the target needs permission to write"
                )
            before, after = self._time_on_target(runs, indexes)
        else:
            self._configure([], None)
            before = [self._time(sql, write=w) for sql, w in runs]
            self._configure(indexes, None)
            after = [self._time(sql, write=w) for sql, w in runs]
        return [
            Timing(
                fingerprint=q.fingerprint, ms_before=b, ms_after=a, cost_before=cb,
                cost_after=ca, disagrees=_disagree(cb, ca, b, a),
            )
            for (q, _), b, a, (cb, ca) in zip(queries, before, after, estimates, strict=True)
        ]  # fmt: skip

    @abc.abstractmethod
    def _time_on_target(
        self, runs: Sequence[tuple[str, bool]], indexes: Sequence[Candidate]
    ) -> tuple[list[float], list[float]]:
        """Milliseconds of each (sql, writes) on the user's database before and after building
        `indexes` there (dropped again whatever happens)."""


def median_ms(run: Callable[[], float]) -> float:
    """Median milliseconds of RUNS runs after a warm-up (one run if the warm-up timed out)."""
    first = run()
    if first >= TIME_LIMIT_S * 1000:
        return first
    return statistics.median(run() for _ in range(RUNS))


def digest(key: object) -> str:
    """A short stable hex digest of a candidate key, for the names of the indexes built."""
    return hashlib.sha256(repr(key).encode()).hexdigest()[:12]


def _disagree(cost_before: float, cost_after: float, ms_before: float, ms_after: float) -> bool:
    """The estimate and the clock point opposite ways, each by more than 10%."""
    est = (cost_after - cost_before) / cost_before if cost_before else 0.0
    real = (ms_after - ms_before) / ms_before if ms_before else 0.0
    return (est < -0.1 and real > 0.1) or (est > 0.1 and real < -0.1)


__all__ = [
    "LARGE_ROWS",
    "ROW_CAP",
    "SAMPLE_ROWS",
    "TIME_LIMIT_S",
    "CopyTuner",
    "Key",
    "digest",
    "median_ms",
]
