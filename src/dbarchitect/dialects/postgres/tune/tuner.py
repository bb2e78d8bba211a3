"""PgTuner: PostgreSQL's tuning primitives over read-only sessions on the user's database.

Plans come from EXPLAIN (FORMAT JSON) with parameters bound to representative values from
pg_stats; what-if costs from HypoPG's hypothetical indexes, which live in one backend's memory
and write nothing; GIN, which HypoPG cannot simulate, is judged by a real build on a sampled
scratch copy. Two sessions: hypothetical indexes exist in the what-if session only, so the
plans that findings are drawn from never see them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import pglast
from pglast import ast

from dbarchitect.dialects.postgres.tune import bind as pg_bind
from dbarchitect.dialects.postgres.tune import explain as pg_explain
from dbarchitect.dialects.postgres.tune import fingerprint as pg_fingerprint
from dbarchitect.dialects.postgres.tune import shape as pg_shape
from dbarchitect.dialects.postgres.tune.ddl import index_sql
from dbarchitect.dialects.postgres.tune.plan_findings import plan_findings
from dbarchitect.dialects.postgres.tune.size import estimate_size
from dbarchitect.dialects.postgres.tune.statements import read_pg_stat_statements
from dbarchitect.dialects.postgres.tune.verify import verify
from dbarchitect.dialects.postgres.tune.whatif import WhatIf
from dbarchitect.engines.base import Session
from dbarchitect.engines.postgres import connect
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.model import Schema
from dbarchitect.review.finding import Finding
from dbarchitect.tune.candidates import index_name
from dbarchitect.tune.model import Candidate, IndexMethod, Query, Shape, Timing, Workload
from dbarchitect.tune.tuner import Plan, Tuner


class PgTuner(Tuner):
    methods: ClassVar[frozenset[IndexMethod]] = frozenset({"btree", "brin", "gin"})
    built_methods: ClassVar[frozenset[IndexMethod]] = frozenset({"gin"})

    def __init__(self, url: DatabaseURL, schema: Schema, *, allow_writes: bool = False) -> None:
        self.url = url
        self.schema = schema
        self.stats = None
        self._allow_writes = allow_writes
        self._session = connect(url, read_only=True)
        self._whatif_session: Session | None = None
        self._whatif: WhatIf | None = None
        self._analyze_session: Session | None = None

    def live_workload(self) -> Workload:
        return read_pg_stat_statements(self._session, self.fingerprint)

    def fingerprint(self, sql: str) -> str:
        return pg_fingerprint.fingerprint(sql)

    def batched(
        self,
        child: str,
        parent: str,
        *,
        samples: Sequence[str] = (),
        varying: frozenset[int] = frozenset(),
    ) -> tuple[str, str]:
        return pg_fingerprint.batched(child, parent, samples=samples, varying=varying)

    def shape(self, sql: str) -> Shape:
        return pg_shape.shape(sql, self.schema)

    def plannable(self, sql: str) -> str:
        return pg_bind.bind(self._session, sql, self.schema)

    def plan(self, sql: str, *, analyze: bool = False) -> Plan:
        if analyze and _is_read(sql):
            return pg_explain.explain(self._analyzing(), sql, analyze=True)
        return pg_explain.explain(self._session, sql)

    def plan_findings(self, query: Query, plan: Plan, *, analyzed: bool) -> list[Finding]:
        return plan_findings(query, plan, self.schema, analyzed=analyzed)

    def start_whatif(self) -> None:
        if self._whatif is None:
            self._whatif_session = connect(self.url, read_only=True)
            self._whatif = WhatIf(self._whatif_session, self.schema)

    def cost(self, sql: str, indexes: Sequence[Candidate]) -> float:
        self.start_whatif()
        assert self._whatif is not None
        try:
            return self._whatif.cost(sql, indexes)
        finally:
            self.whatif_calls = self._whatif.calls

    def size(self, candidate: Candidate) -> int:
        return estimate_size(self._session, self.schema, candidate)

    def index_ddl(self, candidate: Candidate, name: str) -> str:
        return index_sql(self.schema, candidate, name)

    def verify(
        self,
        queries: Sequence[tuple[Query, str]],
        indexes: Sequence[Candidate],
        *,
        on_target: bool = False,
    ) -> list[Timing]:
        # On the scratch copy nobody waits on the build: plain CREATE INDEX, which also works
        # on partitioned tables in one statement. On the target, the online forms.
        online = on_target and self._allow_writes
        if online:
            # Indexes on partitioned tables take several statements to build online and cannot
            # be dropped CONCURRENTLY: they are not built on a live target, only on copies.
            indexes = [c for c in indexes if not self._partitioned(c.table)]
        ddls = [
            index_sql(self.schema, c, index_name(c, self.max_identifier_bytes), concurrently=online)
            for c in indexes
        ]
        return verify(self.url, queries, ddls, on_target=on_target and self._allow_writes)

    def _partitioned(self, qualified: str) -> bool:
        table = self.schema.table(qualified)
        return table is not None and table.partitioning is not None

    def _analyzing(self) -> Session:
        """A session that may run EXPLAIN ANALYZE: the user asked for it with --analyze.
        Its transactions stay read-only, so only reads run; statements that write are planned
        without ANALYZE."""
        if self._analyze_session is None:
            session = connect(self.url, read_only=False)
            session.execute("SET default_transaction_read_only = on")
            self._analyze_session = session
        return self._analyze_session

    def close(self) -> None:
        if self._whatif is not None:
            self._whatif.close()
        for s in (self._whatif_session, self._analyze_session, self._session):
            if s is not None:
                s.close()


def _is_read(sql: str) -> bool:
    try:
        stmts = pglast.parse_sql(sql)
    except pglast.parser.ParseError:
        return False
    return len(stmts) == 1 and isinstance(stmts[0].stmt, ast.SelectStmt)
