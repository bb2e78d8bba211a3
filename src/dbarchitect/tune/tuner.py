"""The Tuner: one engine's tuning primitives on one database, behind one interface.

`tune/advise.py` drives the whole job through it and never branches on the engine. PostgreSQL
plans with EXPLAIN and costs indexes that do not exist with HypoPG; SQLite and MariaDB judge a
candidate by building it on a scratch copy. Every Tuner works through a read-only session on
the user's database; anything it builds goes to a copy it made itself, unless the caller passed
`allow_writes`.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any, ClassVar

from dbarchitect.errors import InputError
from dbarchitect.model import Schema
from dbarchitect.model.stats import Stats
from dbarchitect.review.finding import Finding
from dbarchitect.tune.model import Candidate, IndexMethod, Query, Shape, Timing, Workload

Plan = dict[str, Any]  # the engine's plan as parsed JSON (PostgreSQL: EXPLAIN's top object)


class Tuner(abc.ABC):
    """Tuning primitives on one database. `whatif_calls` counts cost() evaluations that
    reached the engine (cache hits are not counted)."""

    schema: Schema
    stats: Stats | None
    whatif_calls: int = 0
    methods: ClassVar[frozenset[IndexMethod]] = frozenset({"btree"})
    # Methods whose cost comes from a real build on a copy rather than a hypothetical index.
    built_methods: ClassVar[frozenset[IndexMethod]] = frozenset()
    max_identifier_bytes: ClassVar[int] = 63

    def batched(
        self,
        child: str,
        parent: str,
        *,
        samples: Sequence[str] = (),
        varying: frozenset[int] = frozenset(),
    ) -> tuple[str, str]:
        """The statements that replace an N+1 loop of `child` after `parent`: one that takes
        every key at once and one that joins the parent; "" where the engine has no rewrite."""
        return "", ""

    def live_workload(self) -> Workload:
        """The database's own record of what it ran (PostgreSQL: pg_stat_statements)."""
        raise InputError("this engine keeps no workload record: pass --workload FILE")

    @abc.abstractmethod
    def fingerprint(self, sql: str) -> str:
        """A stable hex digest shared by every text of the same statement (constants and
        parameters normalized away); raises InputError when `sql` does not parse."""

    @abc.abstractmethod
    def shape(self, sql: str) -> Shape:
        """What the query asks of each table, every column resolved through its scopes and
        the catalog; raises InputError naming the reason when it cannot be analysed."""

    @abc.abstractmethod
    def plannable(self, sql: str) -> str:
        """`sql` with its parameters ($n, ?) bound to representative values, ready to plan;
        raises InputError when that is impossible."""

    @abc.abstractmethod
    def plan(self, sql: str, *, analyze: bool = False) -> Plan:
        """The engine's plan of a plannable statement (ANALYZE only where the caller may run it)."""

    @abc.abstractmethod
    def plan_findings(self, query: Query, plan: Plan, *, analyzed: bool) -> list[Finding]:
        """What the plan shows is slow, each finding with its fix."""

    def start_whatif(self) -> None:  # noqa: B027 - most engines need nothing first
        """Get what-if costing ready, or raise InputError saying what the database lacks
        (called once before the selection, so that a missing extension stops the run with
        its fix instead of turning every query into a skipped one)."""

    @abc.abstractmethod
    def cost(self, sql: str, indexes: Sequence[Candidate]) -> float:
        """The plan's total cost of `sql` as if `indexes` existed beside the real ones."""

    @abc.abstractmethod
    def size(self, candidate: Candidate) -> int:
        """Estimated bytes of the index once built."""

    @abc.abstractmethod
    def index_ddl(self, candidate: Candidate, name: str) -> str:
        """The statement that builds it (online where the engine can)."""

    @abc.abstractmethod
    def verify(
        self,
        queries: Sequence[tuple[Query, str]],
        indexes: Sequence[Candidate],
        *,
        on_target: bool = False,
    ) -> list[Timing]:
        """Build `indexes` on a scratch copy (or on the target when `on_target`, dropping them
        after) and time each (query, plannable sql) before and after."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release sessions and scratch copies."""
