"""Index selection under a byte budget: the Extend greedy search.

Extend (Schlosser, Kossmann, Boissier, ICDE 2019; compared in Kossmann et al., "Magic mirror
in my hand, which is the best in the land?", PVLDB 13(11), 2020) starts from no index and
repeats one move at a time; the move with the best workload-cost reduction per extra byte that
still fits in the budget wins, and the search stops when nothing fits or no move gains MIN_GAIN
of the current cost. The moves:

- add a single-column index (the first column of some candidate; a candidate that cannot be
  built column by column — partial, expression-led, BRIN, GIN, hash — is added whole);
- add a multi-column or covering candidate whole: a covering index pays only once all its
  columns are there, and (l_shipmode, l_receiptdate, …) helps where l_shipmode alone does not;
- widen a chosen index into a later step of a candidate it is a step of;
- widen a chosen index by one more key column, any column a query it serves filters, joins,
  sorts or groups on (Extend's widening: not only the candidates' prefixes);
- widen a chosen index with the columns one query it serves still reads from the heap, as
  INCLUDE, so that query gets an index-only scan (and the index serves several queries once
  widened for each: on TPC-H, (l_shipdate) grows into one index for Q6, Q14 and Q15).

A widening adds only columns some candidate of that table carries already (the candidate step
leaves out columns too wide to index).

The workload cost is Σ calls × cost(sql, configuration). A query is costed with only the
indexes relevant to it: on a table it reads and led by a column it filters, joins, sorts or
groups on (or, for a partial index, one its predicate names). Costs are cached by (sql, that
relevant subset). Moves are ranked lazily (see `_Search.run`): a new move is first estimated
on the queries that reference every column it adds (the others cannot use what it adds), and
is costed on every query it is relevant to only when it reaches the top of the ranking. Ties
are broken on Candidate.key and sums are exact (math.fsum), so the result depends neither on
hashing nor on input order.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from dbarchitect.errors import DbarchError
from dbarchitect.tune.model import Candidate, CurvePoint, Query, Shape

MIN_GAIN = 0.001  # stop when the best move saves less than 0.1% of the current cost
MAX_KEYS = 5  # Extend's widening stops at this many key columns
MAX_INCLUDE = 6  # …and a covering widening at this many INCLUDE columns
Key = tuple[str, tuple[str, ...], tuple[str, ...], str, str]
CostFn = Callable[[str, Sequence[Candidate]], float]
SizeFn = Callable[[Candidate], int]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    """The chosen indexes (in the order the search took them) and what they buy."""

    chosen: tuple[Candidate, ...]
    base_cost: float  # weighted workload cost with no new index
    final_cost: float  # with `chosen`
    per_query: dict[str, tuple[float, float]]  # fingerprint → (cost before, cost after)
    curve: tuple[CurvePoint, ...]
    sizes: tuple[int, ...] = ()  # estimated bytes of each chosen index, same order
    evaluations: int = 0  # cost() calls made (cache misses)
    skipped: tuple[tuple[str, str], ...] = field(default=())  # (fingerprint, reason)
    # Per chosen index (same order as `chosen`), the queries that would cost more without it:
    # (fingerprint, cost with every chosen index, cost without this one), most lost first.
    helped: tuple[tuple[tuple[str, float, float], ...], ...] = ()


def select(
    candidates: Sequence[Candidate],
    queries: Sequence[tuple[Query, str, Shape]],
    cost: CostFn,
    size: SizeFn,
    budget_bytes: int,
    *,
    curve_budgets: Sequence[int] = (),
    existing: Sequence[Candidate] = (),
) -> Selection:
    """Choose indexes for the workload within `budget_bytes` (see the module docstring).

    The curve has one point per step of the search (cumulative size → weighted cost) and,
    for each of `curve_budgets`, the cost the same search reaches within that budget.
    `existing` are the indexes the database has, as candidates: a step one of them already
    provides (same B-tree prefix) is never proposed.
    """
    search = _Search(candidates, queries, cost, size, existing)
    steps = search.run(budget_bytes)
    chosen = steps[-1].config if steps else ()
    points = {0: CurvePoint(budget_bytes=0, cost=search.base_total, indexes=0)}
    for step in steps:
        _keep_best(
            points, CurvePoint(budget_bytes=step.bytes, cost=step.total, indexes=len(step.config))
        )
    for budget in sorted(set(curve_budgets)):
        run = search.run(budget)
        total = run[-1].total if run else search.base_total
        count = len(run[-1].config) if run else 0
        _keep_best(points, CurvePoint(budget_bytes=budget, cost=total, indexes=count))
    per_query: dict[str, tuple[float, float]] = {}
    for i, (query, _, _) in enumerate(search.queries):
        before, after = per_query.get(query.fingerprint, (0.0, 0.0))
        per_query[query.fingerprint] = (
            before + search.base[i],
            after + search.query_cost(i, chosen),
        )
    helped = tuple(search.helped(c, chosen) for c in chosen)  # before counting evaluations
    return Selection(
        chosen=chosen,
        base_cost=search.base_total,
        final_cost=steps[-1].total if steps else search.base_total,
        per_query=dict(sorted(per_query.items())),
        curve=tuple(points[b] for b in sorted(points)),
        sizes=tuple(search.size_of(c) for c in chosen),
        evaluations=search.evaluations,
        skipped=tuple(search.skipped),
        helped=helped,
    )


def _keep_best(points: dict[int, CurvePoint], point: CurvePoint) -> None:
    old = points.get(point.budget_bytes)
    if old is None or (point.cost, point.indexes) < (old.cost, old.indexes):
        points[point.budget_bytes] = point


@dataclass(frozen=True, slots=True)
class _Step:
    config: tuple[Candidate, ...]
    total: float
    bytes: int


@dataclass(frozen=True, slots=True)
class _Known:
    """A move's gain as last computed: at which step, and on every query it is relevant to
    (`exact`, with those queries' costs) or only on those that use what it adds."""

    gain: float
    step: int
    exact: bool
    costs: tuple[float, ...] = ()


def atomic(candidate: Candidate) -> bool:
    """A candidate the search adds whole rather than growing it column by column."""
    return (
        candidate.method != "btree"
        or candidate.where is not None
        or candidate.columns[0].lstrip().startswith("(")
    )


def _steps_of(candidate: Candidate) -> list[Candidate]:
    """The indexes a candidate is reached through: its prefixes, then with INCLUDE."""
    if atomic(candidate):
        return [candidate]
    out = [
        replace(candidate, columns=candidate.columns[:n], include=())
        for n in range(1, len(candidate.columns) + 1)
    ]
    if candidate.include:
        out.append(candidate)
    return out


def _columns_in(text: str) -> set[str]:
    """Names an index entry or predicate may refer to (over-inclusive: safe for relevance)."""
    stripped = text.strip()
    return {stripped, stripped.split(" ")[0], *_IDENT.findall(stripped)}


Move = tuple["Candidate | None", Candidate]  # (index replaced or None, index added)
Refs = dict[str, set[str] | None]  # table → columns (None: the shape says nothing)


class _Search:
    def __init__(
        self,
        candidates: Sequence[Candidate],
        queries: Sequence[tuple[Query, str, Shape]],
        cost: CostFn,
        size: SizeFn,
        existing: Sequence[Candidate] = (),
    ) -> None:
        self._cost = cost
        self._size = size
        self._existing = list(existing)
        self._sizes: dict[Key, int] = {}
        self._cache: dict[tuple[str, frozenset[Key]], float] = {}
        self._leads: dict[Key, set[str]] = {}
        self.evaluations = 0
        self.skipped: list[tuple[str, str]] = []
        # Each candidate's steps (its prefixes, then with INCLUDE), minus those an existing
        # index already provides; and for each step the later steps a widening can jump to: a
        # covering index often pays off only once complete, so growing it one column at a
        # time would never see its benefit.
        self.paths: dict[Key, list[Candidate]] = {}
        self.widen: dict[Key, dict[Key, Candidate]] = {}
        self.pool: dict[Key, Candidate] = {}
        for cand in sorted(candidates, key=lambda c: c.key):
            self.pool.setdefault(cand.key, cand)
            steps = [s for s in _steps_of(cand) if not self._provided(s)]
            if steps:
                self.paths.setdefault(cand.key, steps)
            for i, before in enumerate(steps):
                for after in steps[i + 1 :]:
                    self.widen.setdefault(before.key, {}).setdefault(after.key, after)
        # Candidates that are more than one step: added whole as well as grown.
        self.whole = [
            c for c in self.pool.values() if len(_steps_of(c)) > 1 and not self._provided(c)
        ]
        # Columns the candidates put in an index, per table: a covering widening adds only
        # these (never a column the candidate step judged too wide to carry).
        self._indexable: dict[str, set[str]] = {}
        for c in self.pool.values():
            if not atomic(c):
                self._indexable.setdefault(c.table, set()).update(c.columns, c.include)
        self.queries: list[tuple[Query, str, Shape]] = []
        self.base: list[float] = []
        self._refs: list[Refs] = []
        self._reads: list[Refs] = []
        # Canonical order, and exact sums (fsum) below: the input's order cannot change a bit.
        for query, sql, shape in sorted(queries, key=lambda q: (q[0].fingerprint, q[1])):
            try:
                base = self._evaluate(sql, ())
            except DbarchError as exc:
                self.skipped.append((query.fingerprint, str(exc)))
                continue
            self.queries.append((query, sql, shape))
            self.base.append(base)
            self._refs.append(_references(shape))
            self._reads.append(_reads(shape))
        self.base_total = self._weighted(self.base)

    def helped(
        self, index: Candidate, chosen: Sequence[Candidate]
    ) -> tuple[tuple[str, float, float], ...]:
        """The queries `index` helps within `chosen`: (fingerprint, cost with it, cost
        without it), by weighted cost lost without it, then fingerprint. Costed like the
        search costs (relevant indexes only), so mostly from its cache."""
        rest = [c for c in chosen if c is not index]
        out = []
        for i, (query, _, _) in enumerate(self.queries):
            if not self.relevant(i, index):
                continue
            with_it, without = self.query_cost(i, chosen), self.query_cost(i, rest)
            if without > with_it * 1.001:
                out.append(((without - with_it) * query.calls, query.fingerprint, with_it, without))
        out.sort(key=lambda g: (-g[0], g[1]))
        return tuple((fp, with_it, without) for _, fp, with_it, without in out)

    def _provided(self, step: Candidate) -> bool:
        return any(_covers(e, step) for e in self._existing)

    def size_of(self, candidate: Candidate) -> int:
        if candidate.key not in self._sizes:
            self._sizes[candidate.key] = max(0, int(self._size(candidate)))
        return self._sizes[candidate.key]

    def relevant(self, i: int, candidate: Candidate) -> bool:
        refs = self._refs[i]
        if candidate.table not in refs:
            return False
        columns = refs[candidate.table]
        if columns is None:  # the shape says nothing about its columns: any index may matter
            return True
        lead = self._leads.get(candidate.key)
        if lead is None:
            lead = _columns_in(candidate.columns[0]) if candidate.columns else set()
            if candidate.where:
                lead |= _columns_in(candidate.where)
            self._leads[candidate.key] = lead
        return not lead.isdisjoint(columns)

    def _uses(self, i: int, candidate: Candidate, added: Iterable[str]) -> bool:
        """Whether query i references every column in `added` on the candidate's table (and
        the candidate is relevant to it): only such a query can gain from those columns."""
        if not self.relevant(i, candidate):
            return False
        refs, reads = self._refs[i].get(candidate.table), self._reads[i].get(candidate.table)
        if refs is None or reads is None:
            return True
        return all(not _columns_in(c).isdisjoint(refs | reads) for c in added)

    def _evaluate(self, sql: str, config: Sequence[Candidate]) -> float:
        key = (sql, frozenset(c.key for c in config))
        if key not in self._cache:
            self.evaluations += 1
            self._cache[key] = float(self._cost(sql, sorted(config, key=lambda c: c.key)))
        return self._cache[key]

    def query_cost(self, i: int, config: Iterable[Candidate]) -> float:
        relevant = [c for c in config if self.relevant(i, c)]
        if not relevant:
            return self.base[i]
        try:
            return self._evaluate(self.queries[i][1], relevant)
        except DbarchError:
            # The plan failed with these indexes: count them as no help for this query.
            without = (self.queries[i][1], frozenset(c.key for c in relevant))
            self._cache[without] = self.base[i]
            return self.base[i]

    def run(self, budget: int) -> list[_Step]:
        """The greedy search within `budget`; one entry per step taken.

        Moves are ranked lazily (CELF, Leskovec et al. 2007): a move's gain from an earlier
        step, or its estimate on the queries that use what it adds, is kept, and only the
        best-ranked move is costed in full until a move costed in full at this step stays on
        top. Gains rarely grow when other indexes are added, so this is almost always the
        move a full re-ranking would pick; before stopping, every stale move that had some
        gain is re-costed, so one whose gain grew back above the threshold is found.
        """
        config: list[Candidate] = []
        costs = list(self.base)
        total, used = self.base_total, 0
        steps: list[_Step] = []
        known: dict[tuple[Key, ...], _Known] = {}
        while True:
            best = self._best_move(config, costs, total, used, budget, known, len(steps))
            if best is None:
                return steps
            old, new, new_costs = best
            if old is None:
                config.append(new)
            else:
                config[config.index(old)] = new
            used += self.size_of(new) - (self.size_of(old) if old is not None else 0)
            costs = new_costs
            total = self._weighted(costs)
            steps.append(_Step(config=tuple(config), total=total, bytes=used))

    def _weighted(self, costs: Sequence[float]) -> float:
        return math.fsum(q.calls * c for (q, _, _), c in zip(self.queries, costs, strict=True))

    def _moves(self, config: list[Candidate]) -> list[Move]:
        """Every move from `config` (see the module docstring), each once, sorted."""
        chosen = {c.key for c in config}
        adds: dict[Key, Candidate] = {}
        for steps in self.paths.values():
            # A candidate's first step no chosen index provides; when a chosen index provides
            # its first steps already, any later step beside it.
            first = next(
                (i for i, s in enumerate(steps) if not any(_covers(c, s) for c in config)), None
            )
            if first is None:
                continue
            for step in steps[first : len(steps) if first else 1]:
                adds.setdefault(step.key, step)
        for whole in self.whole:
            if not any(_covers(c, whole) for c in config):
                adds.setdefault(whole.key, whole)
        moves: dict[tuple[Key, ...], Move] = {
            (k,): (None, c) for k, c in adds.items() if k not in chosen
        }
        for old in config:
            others = [c for c in config if c is not old]
            for new in self._widenings(old):
                # Pointless when the database or another chosen index provides it already.
                if new.key in chosen or self._provided(new):
                    continue
                if not any(_covers(c, new) for c in others):
                    moves.setdefault((new.key, old.key), (old, new))
        return [moves[k] for k in sorted(moves)]

    def _widenings(self, old: Candidate) -> list[Candidate]:
        """A chosen index's wider forms: later steps of its candidates, one more key column,
        or the INCLUDE columns one query it serves still fetches from the heap."""
        out = list(self.widen.get(old.key, {}).values())
        if atomic(old):
            return out
        served = [i for i in range(len(self.queries)) if self.relevant(i, old)]
        have = set(old.columns) | set(old.include)
        if len(old.columns) < MAX_KEYS:
            extra: set[str] = set()
            for i in served:
                extra |= self._refs[i].get(old.table) or set()
            table_columns = self._indexable.get(old.table, set())
            for col in sorted((extra & table_columns) - set(old.columns)):
                out.append(
                    self._named(
                        replace(
                            old,
                            columns=(*old.columns, col),
                            include=tuple(c for c in old.include if c != col),
                        ),
                        _also(old.reason, f"widened by {col}"),
                    )
                )
        for i in served:
            reads = self._reads[i].get(old.table)
            if not reads:
                continue
            need = reads - have
            if need and need <= self._indexable.get(old.table, set()):
                include = tuple(sorted(set(old.include) | need))
                if len(include) <= MAX_INCLUDE:
                    fp = self.queries[i][0].fingerprint[:8]
                    out.append(
                        self._named(
                            replace(old, include=include), _also(old.reason, f"covering for q {fp}")
                        )
                    )
        return out

    def _named(self, candidate: Candidate, reason: str) -> Candidate:
        """A widened index: the pool's own candidate when it has that key, so its reason
        (why the candidate step proposed it) is kept."""
        return self.pool.get(candidate.key) or replace(candidate, reason=reason)

    def _delta(self, move: Move) -> int:
        old, new = move
        return self.size_of(new) - (self.size_of(old) if old is not None else 0)

    def _gain(
        self,
        move: Move,
        config: list[Candidate],
        costs: list[float],
        total: float,
        *,
        exact: bool,
    ) -> tuple[float, list[float], bool]:
        """The gain of `move` from `config`, with the queries' costs after it. Not `exact`:
        only the queries that reference every column the move adds are re-costed (the others
        can use nothing it adds); the third value says whether that was all of them anyway."""
        old, new = move
        after = [c for c in config if c is not old] + [new]
        added = [c for c in (*new.columns, *new.include) if old is None or not _has(old, c)]
        new_costs = list(costs)
        complete = True
        for i in range(len(self.queries)):
            if self.relevant(i, new) or (old is not None and self.relevant(i, old)):
                if exact or self._uses(i, new, added):
                    new_costs[i] = self.query_cost(i, after)
                else:
                    complete = False
        return total - self._weighted(new_costs), new_costs, complete

    def _best_move(
        self,
        config: list[Candidate],
        costs: list[float],
        total: float,
        used: int,
        budget: int,
        known: dict[tuple[Key, ...], _Known],
        step: int,
    ) -> tuple[Candidate | None, Candidate, list[float]] | None:
        fitting = [m for m in self._moves(config) if used + self._delta(m) <= budget]
        ids = {m: _move_id(m) for m in fitting}
        for m in fitting:
            if ids[m] not in known:
                gain, new_costs, complete = self._gain(m, config, costs, total, exact=False)
                known[ids[m]] = _Known(gain, step, complete, tuple(new_costs) if complete else ())

        def cost_in_full(m: Move) -> None:
            gain, new_costs, _ = self._gain(m, config, costs, total, exact=True)
            known[ids[m]] = _Known(gain, step, True, tuple(new_costs))

        floor = max(MIN_GAIN * total, 0.0)
        while True:
            ranked = sorted(
                (m for m in fitting if known[ids[m]].gain > floor),
                key=lambda m: (-known[ids[m]].gain / max(self._delta(m), 1), ids[m]),
            )
            if not ranked:
                # Before giving up, re-cost once the stale moves that helped before. One that
                # gained nothing is not re-costed: an index that pays only once a partner
                # exists (it changes no plan alone) is rare, and re-costing every such move
                # took a quarter of the what-if calls on TPC-H without changing the result.
                stale = [
                    m
                    for m in fitting
                    if known[ids[m]].gain > 0
                    and not (known[ids[m]].exact and known[ids[m]].step == step)
                ]
                if not stale:
                    return None
                for m in stale:
                    cost_in_full(m)
                continue
            top = ranked[0]
            k = known[ids[top]]
            if k.exact and k.step == step:
                old, new = top
                return old, new, list(k.costs)
            cost_in_full(top)


def _also(reason: str, more: str) -> str:
    return f"{reason}; {more}" if reason else more


def _has(index: Candidate, column: str) -> bool:
    return column in index.columns or column in index.include


def _move_id(move: Move) -> tuple[Key, ...]:
    old, new = move
    return (new.key,) if old is None else (new.key, old.key)


def _covers(index: Candidate, other: Candidate) -> bool:
    """`index` makes `other` pointless: same kind of B-tree whose leading columns are it,
    carrying every column `other` includes."""
    return (
        index.table == other.table
        and index.method == other.method == "btree"
        and index.where == other.where
        and index.columns[: len(other.columns)] == other.columns
        and set(other.include) <= set(index.columns) | set(index.include)
    )


def _references(shape: Shape) -> Refs:
    """Per table the query reads, the columns an index could serve it on: filtered, joined,
    sorted or grouped (a column only in the SELECT list can lead an index it uses only for a
    full scan). None when the shape says nothing at all about the table's columns."""
    refs: Refs = {t: None for t in shape.tables}
    for table, _ in shape.reads:
        refs[table] = set()

    def add(table: str, column: str) -> None:
        refs[table] = (refs.get(table) or set()) | _columns_in(column)

    for p in shape.predicates:
        add(p.table, p.column)
    for j in shape.joins:
        add(j.left_table, j.left_column)
        add(j.right_table, j.right_column)
    for s in (*shape.order_by, *shape.group_by):
        add(s.table, s.column)
    return refs


def _reads(shape: Shape) -> Refs:
    """Per table, every column the query reads (None when the shape lists none for it)."""
    out: Refs = {t: None for t in shape.tables}
    for table, column in shape.reads:
        out[table] = (out.get(table) or set()) | {column}
    return out
