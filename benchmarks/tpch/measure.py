"""The common judge of every tool's indexes: HypoPG planner cost, real builds and real time.

Each tool's proposal is measured the same way on the same database: its DDL simulated with
HypoPG for the planner's cost of every query, then built for real (plain CREATE INDEX, no
CONCURRENTLY: nobody else is using the database) to take its size and time the workload,
then dropped. Timed runs execute each query and fetch its rows under a statement_timeout,
best of two passes; a query cancelled by it counts as the timeout.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg

from dbarchitect.engines.postgres import conninfo
from dbarchitect.engines.url import DatabaseURL

_CONCURRENTLY = re.compile(r"\bCONCURRENTLY\s+", re.I)


@contextmanager
def connection(url: DatabaseURL, timeout_s: float = 0) -> Iterator[psycopg.Connection[Any]]:
    """A writable autocommit connection to the benchmark database, with a statement timeout."""
    options = f"-c statement_timeout={int(timeout_s * 1000)}" if timeout_s else ""
    with psycopg.connect(
        conninfo(url, application_name="dbarchitect-bench", options=options), autocommit=True
    ) as conn:
        yield conn


def plain(ddl: str) -> str:
    """`ddl` as a plain CREATE INDEX statement (HypoPG and a quiet database need no
    CONCURRENTLY), without a trailing semicolon."""
    return _CONCURRENTLY.sub("", ddl.strip().rstrip(";").strip())


def plan_costs(
    url: DatabaseURL, queries: Mapping[int, str], ddls: Sequence[str]
) -> dict[int, float]:
    """Each query's total planner cost with `ddls` simulated by HypoPG beside the real indexes."""
    with connection(url, timeout_s=60) as conn:
        conn.execute("SELECT hypopg_reset()")
        try:
            for ddl in ddls:
                conn.execute("SELECT * FROM hypopg_create_index(%s)", (plain(ddl),))
            out = {}
            for n, sql in queries.items():
                row = conn.execute(f"EXPLAIN (FORMAT JSON) {sql}").fetchone()
                assert row is not None
                plan = row[0] if not isinstance(row[0], str) else json.loads(row[0])
                out[n] = float(plan[0]["Plan"]["Total Cost"])
            return out
        finally:
            conn.execute("SELECT hypopg_reset()")


@dataclass(frozen=True)
class Built:
    """Indexes built for real: how long the builds took and their size on disk."""

    seconds: float
    size_bytes: int
    count: int


_NEW_INDEXES = """
SELECT c.oid::regclass::text AS name, pg_relation_size(c.oid) AS size
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND NOT i.indisprimary
"""


def build(url: DatabaseURL, ddls: Sequence[str]) -> Built:
    """Build `ddls` (distinct statements only) and measure them; `drop_all` removes them."""
    with connection(url) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")
        t0 = time.perf_counter()
        for ddl in dict.fromkeys(plain(d) for d in ddls):
            conn.execute(ddl)
        # Expression indexes get statistics of their own only from ANALYZE.
        for table in sorted({_table(d) for d in ddls if _has_expression(d)}):
            conn.execute(f"ANALYZE {table}")
        seconds = time.perf_counter() - t0
        rows = conn.execute(_NEW_INDEXES).fetchall()
    return Built(seconds=seconds, size_bytes=sum(int(r[1]) for r in rows), count=len(rows))


_ON = re.compile(r"\bON\s+(?:ONLY\s+)?([\w.\"]+)\s*(?:USING\s+\w+\s*)?\(", re.I)


def _table(ddl: str) -> str:
    m = _ON.search(ddl)
    return m.group(1) if m else ""


def _has_expression(ddl: str) -> bool:
    """Whether the key list (the parenthesis after ON table [USING method]) holds an
    expression, i.e. a parenthesis of its own."""
    m = _ON.search(ddl)
    if m is None:
        return False
    depth = 1
    for ch in ddl[m.end() :]:
        if ch == "(":
            return True
        if ch == ")":
            depth -= 1
            if depth == 0:
                return False
    return False


def drop_all(url: DatabaseURL) -> None:
    """Drop every index that is not a primary key's."""
    with connection(url) as conn:
        for name, _size in conn.execute(_NEW_INDEXES).fetchall():
            conn.execute(f"DROP INDEX {name}")


@dataclass(frozen=True)
class Run:
    """One timed pass over the workload: seconds per query (a timeout counts as the timeout)."""

    seconds: dict[int, float]
    timeouts: tuple[int, ...]

    def total(self, only: Sequence[int] | None = None) -> float:
        return sum(s for n, s in self.seconds.items() if only is None or n in only)


def timed_run(
    url: DatabaseURL, queries: Mapping[int, str], timeout_s: float, passes: int = 2
) -> Run:
    """Execute every query, fetching its rows, under `timeout_s` each; `passes` whole passes
    over the workload, each query's best time kept (the machine may be shared: the best of
    a few is the least disturbed). A query that times out is not retried."""
    seconds: dict[int, float] = {}
    timeouts: list[int] = []
    with connection(url, timeout_s=timeout_s) as conn:
        for _ in range(passes):
            for n, sql in queries.items():
                if n in timeouts:
                    continue
                t0 = time.perf_counter()
                try:
                    conn.execute(sql).fetchall()
                    took = time.perf_counter() - t0
                except psycopg.errors.QueryCanceled:
                    took = timeout_s
                    timeouts.append(n)
                seconds[n] = min(took, seconds.get(n, took))
    return Run(seconds=seconds, timeouts=tuple(timeouts))
