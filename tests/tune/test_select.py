"""Extend selection: a pure synthetic cost model (exact expectations, call counts) and one real
run over HypoPG on generated data where the right indexes are known."""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.dialects.postgres.tune.size import estimate_size
from dbarchitect.dialects.postgres.tune.whatif import WhatIf
from dbarchitect.engines.base import Session
from dbarchitect.engines.postgres import PostgresEngine, connect
from dbarchitect.errors import InputError
from dbarchitect.model import Schema
from dbarchitect.tune.model import Candidate, Predicate, Query, Shape, SortKey
from dbarchitect.tune.select import CostFn, Key, Selection, select

MB = 1 << 20


# --- a pure cost model ---------------------------------------------------------------------
@dataclass(frozen=True)
class SynQuery:
    """A query on one table: equality columns, an optional range column, an optional sort."""

    table: str
    eq: tuple[str, ...]
    range: str | None = None
    sort: str | None = None
    base: float = 1000.0
    flag: str | None = None  # a constant filter a partial index can match


def scan_cost(q: SynQuery, index: Candidate | None) -> float:
    """Cost of the best way to read q's table with `index`: each matched leading equality
    column divides the cost by 10, a range after them by 3, a sort served halves it; a partial
    index whose predicate is q's constant filter divides it by 40."""
    if index is None or index.table != q.table or index.method != "btree":
        return q.base
    if index.where is not None:
        return q.base / 40 if index.where == q.flag else q.base
    cost, cols = q.base, list(index.columns)
    matched = 0
    while cols and cols[0] in q.eq:
        cols.pop(0)
        matched += 1
        cost /= 10
    if cols and q.range is not None and cols[0] == q.range:
        cols.pop(0)
        cost /= 3
        matched += 1
    elif cols and q.sort is not None and cols[0] == q.sort and matched:
        cost /= 2
    return cost if matched else q.base


class Model:
    """cost() and size() over SynQueries, recording every cost() call."""

    def __init__(self, queries: dict[str, SynQuery], sizes: dict[str, int] | None = None):
        self.queries = queries
        self.sizes = sizes or {}
        self.calls: list[tuple[str, tuple[Key, ...]]] = []

    def cost(self, sql: str, indexes: Sequence[Candidate]) -> float:
        self.calls.append((sql, tuple(c.key for c in indexes)))
        q = self.queries[sql]
        return min([scan_cost(q, None)] + [scan_cost(q, c) for c in indexes])

    def size(self, c: Candidate) -> int:
        return (
            self.sizes.get(c.table, 10 * MB)
            * (len(c.columns) + len(c.include))
            // (8 if c.where else 1)
        )


def shape_of(q: SynQuery) -> Shape:
    preds = [Predicate(table=q.table, column=c, op="eq") for c in q.eq]
    if q.range:
        preds.append(Predicate(table=q.table, column=q.range, op="range"))
    if q.flag:
        preds.append(Predicate(table=q.table, column=q.flag, op="eq"))
    order = (SortKey(table=q.table, column=q.sort),) if q.sort else ()
    return Shape(tables=(q.table,), predicates=tuple(preds), order_by=order)


def workload(
    queries: dict[str, SynQuery], calls: dict[str, int] | None = None
) -> list[tuple[Query, str, Shape]]:
    return [
        (
            Query(fingerprint=f"fp_{sql}", text=sql, calls=(calls or {}).get(sql, 1)),
            sql,
            shape_of(q),
        )
        for sql, q in sorted(queries.items())
    ]


ORDERS = "public.orders"


def test_extend_builds_the_composite_index_by_widening() -> None:
    queries = {"q1": SynQuery(ORDERS, eq=("customer_id",), sort="created_at")}
    cands = [Candidate(table=ORDERS, columns=("customer_id", "created_at"), reason="q1")]
    model = Model(queries)
    sel = select(cands, workload(queries), model.cost, model.size, 100 * MB)
    assert [c.columns for c in sel.chosen] == [("customer_id", "created_at")]
    assert sel.chosen[0].reason == "q1"
    assert sel.base_cost == 1000.0
    assert sel.final_cost == pytest.approx(1000 / 10 / 2)
    assert sel.per_query == {"fp_q1": (1000.0, 50.0)}
    # steps: add (customer_id) at 10 MB, then widen to 20 MB
    assert [(p.budget_bytes, p.cost, p.indexes) for p in sel.curve] == [
        (0, 1000.0, 0),
        (10 * MB, 100.0, 1),
        (20 * MB, 50.0, 1),
    ]
    assert sel.sizes == (20 * MB,)


def test_budget_is_respected_and_curve_budgets_are_reported() -> None:
    queries = {
        "q1": SynQuery(ORDERS, eq=("customer_id",), sort="created_at", base=1000),
        "q2": SynQuery("public.items", eq=("sku",), base=500),
    }
    cands = [
        Candidate(table=ORDERS, columns=("customer_id", "created_at")),
        Candidate(table="public.items", columns=("sku",)),
    ]
    model = Model(queries)
    nothing = select(cands, workload(queries), model.cost, model.size, 5 * MB)
    assert nothing.chosen == () and nothing.final_cost == nothing.base_cost == 1500.0
    sel = select(
        cands, workload(queries), model.cost, model.size, 15 * MB, curve_budgets=[10 * MB, 40 * MB]
    )
    assert sum(sel.sizes) <= 15 * MB
    # Both single-column indexes save 90%: customer_id saves more per byte (1000 vs 500).
    assert [c.columns for c in sel.chosen] == [("customer_id",)]
    points = {p.budget_bytes: (p.cost, p.indexes) for p in sel.curve}
    assert points[10 * MB] == (100.0 + 500.0, 1)
    assert points[40 * MB] == (50.0 + 50.0, 2)  # widened customer_id and added sku
    assert sel.per_query["fp_q2"] == (500.0, 500.0)


def test_partial_index_is_added_whole_and_wins_per_byte() -> None:
    queries = {"q1": SynQuery(ORDERS, eq=("status",), flag="status = 'pending'", base=800)}
    cands = [
        Candidate(table=ORDERS, columns=("status",)),
        Candidate(table=ORDERS, columns=("created_at",), where="status = 'pending'"),
    ]
    model = Model(queries)
    sel = select(cands, workload(queries), model.cost, model.size, 100 * MB)
    assert sel.chosen[0].where == "status = 'pending'"
    assert sel.final_cost == pytest.approx(800 / 40)


def test_a_covering_candidate_whose_prefixes_help_little_is_added_whole() -> None:
    cover = Candidate(table=ORDERS, columns=("a", "b"), include=("c",))

    def cost(sql: str, indexes: Sequence[Candidate]) -> float:
        if any(c.key == cover.key for c in indexes):
            return 10.0  # index-only scan
        return 90.0 if indexes else 100.0  # (a) or (a, b): the same bitmap scan

    queries = {"q": SynQuery(ORDERS, eq=("a",))}
    sel = select([cover], workload(queries), cost, Model(queries).size, 100 * MB)
    assert [c.key for c in sel.chosen] == [cover.key]
    assert sel.final_cost == 10.0
    # one step: (a) alone saves 10 per 10 MB, the covering index 90 per 30 MB
    assert [(p.budget_bytes, p.indexes) for p in sel.curve] == [(0, 0), (30 * MB, 1)]


def test_a_pair_of_columns_that_helps_only_together_is_found() -> None:
    pair = Candidate(table=ORDERS, columns=("x", "y"))

    def cost(sql: str, indexes: Sequence[Candidate]) -> float:
        return 5.0 if any(c.columns[:2] == ("x", "y") for c in indexes) else 100.0

    queries = {"q": SynQuery(ORDERS, eq=("x", "y"))}
    sel = select([pair], workload(queries), cost, Model(queries).size, 100 * MB)
    assert [c.key for c in sel.chosen] == [pair.key]
    assert sel.final_cost == 5.0


def reads_shape(eq: str, *reads: str) -> Shape:
    return Shape(
        tables=(ORDERS,),
        predicates=(Predicate(table=ORDERS, column=eq, op="eq"),),
        reads=tuple((ORDERS, c) for c in sorted({eq, *reads})),
    )


def covering_cost(reads: dict[str, set[str]], penalty: dict[str, float] | None = None) -> CostFn:
    """Per query: 100 without an index led by `a`, 50 with one, 10 with one that carries every
    column the query reads (an index-only scan); `penalty` adds to a query's cost when the
    index it uses carries columns it does not need (a wider index to scan)."""

    def cost(sql: str, indexes: Sequence[Candidate]) -> float:
        best = 100.0
        for c in indexes:
            if c.columns[0] != "a":
                continue
            carried = set(c.columns) | set(c.include)
            extra = (penalty or {}).get(sql, 0.0) if carried - reads[sql] else 0.0
            best = min(best, (10.0 if reads[sql] <= carried else 50.0) + extra)
        return best

    return cost


def test_one_index_is_widened_to_cover_two_queries() -> None:
    reads = {"q1": {"a", "b"}, "q2": {"a", "c"}}
    cands = [
        Candidate(table=ORDERS, columns=("a",), include=("b",)),
        Candidate(table=ORDERS, columns=("a",), include=("c",)),
    ]
    queries = [
        (Query(fingerprint=f"fp_{q}", text=q), q, reads_shape("a", *sorted(r)))
        for q, r in reads.items()
    ]
    sel = select(cands, queries, covering_cost(reads), Model({}).size, 100 * MB)
    # (a) first (100 saved per 10 MB), then INCLUDE b for q1, then c for q2: one index of
    # 30 MB rather than two of 20 MB each
    assert [(c.columns, c.include) for c in sel.chosen] == [(("a",), ("b", "c"))]
    assert "covering for q" in sel.chosen[0].reason
    assert sel.final_cost == 20.0


def test_an_estimate_that_ignores_a_query_the_move_hurts_is_costed_before_it_is_taken() -> None:
    reads = {"q1": {"a", "b"}, "q2": {"a"}}
    queries = [
        (Query(fingerprint=f"fp_{q}", text=q), q, reads_shape("a", *sorted(r)))
        for q, r in reads.items()
    ]
    cands = [Candidate(table=ORDERS, columns=("a",), include=("b",))]
    # q2 scans the widened index for 40 more than the narrow one: widening (a) to carry b
    # saves q1 40 (50 → 10) and costs q2 40 (10 → 50), though an estimate on the queries that
    # read b sees only the saving; keeping (a) and adding the covering index beside it pays
    cost = covering_cost(reads, penalty={"q2": 40.0})
    sel = select(cands, queries, cost, Model({}).size, 100 * MB)
    assert sorted((c.columns, c.include) for c in sel.chosen) == [(("a",), ()), (("a",), ("b",))]
    assert sel.final_cost == 10.0 + 10.0


def test_extend_widens_by_a_column_no_candidate_pairs_it_with() -> None:
    queries = {"q1": SynQuery(ORDERS, eq=("a", "b"), base=1000)}
    cands = [Candidate(table=ORDERS, columns=("a",)), Candidate(table=ORDERS, columns=("b",))]
    model = Model(queries)
    sel = select(cands, workload(queries), model.cost, model.size, 100 * MB)
    assert [c.columns for c in sel.chosen] == [("a", "b")]
    assert "widened by b" in sel.chosen[0].reason
    assert sel.final_cost == pytest.approx(1000 / 100)


def test_a_sibling_is_added_when_a_chosen_index_has_the_prefix() -> None:
    queries = {
        "q1": SynQuery(ORDERS, eq=("a",), range="x", base=1000),
        "q2": SynQuery(ORDERS, eq=("a",), range="y", base=1000),
    }
    cands = [
        Candidate(table=ORDERS, columns=("a", "x")),
        Candidate(table=ORDERS, columns=("a", "y")),
    ]
    model = Model(queries)
    sel = select(cands, workload(queries), model.cost, model.size, 100 * MB)
    # (a) then widened to (a, x); (a, y) is then added beside it though (a) is taken
    assert sorted(c.columns for c in sel.chosen) == [("a", "x"), ("a", "y")]
    assert sel.final_cost == pytest.approx(2 * 1000 / 30)


def test_steps_an_existing_index_provides_are_not_proposed() -> None:
    queries = {"q": SynQuery(ORDERS, eq=("id",), sort="created_at")}
    cands = [Candidate(table=ORDERS, columns=("id", "created_at"))]
    model = Model(queries)
    pkey = Candidate(table=ORDERS, columns=("id",))
    sel = select(cands, workload(queries), model.cost, model.size, 100 * MB, existing=[pkey])
    assert [c.columns for c in sel.chosen] == [("id", "created_at")]
    assert all(keys != (pkey.key,) for _, keys in model.calls)


def test_weights_multiply_query_costs() -> None:
    queries = {
        "q1": SynQuery(ORDERS, eq=("a",), base=100),
        "q2": SynQuery(ORDERS, eq=("b",), base=100),
    }
    cands = [Candidate(table=ORDERS, columns=("a",)), Candidate(table=ORDERS, columns=("b",))]
    model = Model(queries)
    sel = select(cands, workload(queries, {"q2": 7}), model.cost, model.size, 10 * MB)
    assert [c.columns for c in sel.chosen] == [("b",)]  # only one fits; q2 runs 7× as often
    assert sel.base_cost == 100 + 7 * 100
    assert sel.final_cost == pytest.approx(100 + 7 * 10)


def test_each_chosen_index_lists_the_queries_that_would_lose_without_it() -> None:
    queries = {
        "q1": SynQuery(ORDERS, eq=("a",), base=1000),
        "q2": SynQuery(ORDERS, eq=("b",), base=500),
        "q3": SynQuery(ORDERS, eq=("a", "b"), base=100),
    }
    cands = [Candidate(table=ORDERS, columns=("a",)), Candidate(table=ORDERS, columns=("b",))]
    model = Model(queries)
    sel = select(cands, workload(queries), model.cost, model.size, 20 * MB)
    assert [c.columns for c in sel.chosen] == [("a",), ("b",)]
    # q3 uses either index (10 with one or both): neither alone is missed by it
    assert sel.helped == ((("fp_q1", 100.0, 1000.0),), (("fp_q2", 50.0, 500.0),))
    assert sel.evaluations == len(model.calls)


def test_costs_are_cached_and_only_relevant_indexes_are_passed() -> None:
    queries = {
        "q1": SynQuery(ORDERS, eq=("customer_id",), sort="created_at"),
        "q2": SynQuery(ORDERS, eq=("status",)),
        "q3": SynQuery("public.items", eq=("sku",)),
    }
    cands = [
        Candidate(table=ORDERS, columns=("customer_id", "created_at")),
        Candidate(table=ORDERS, columns=("status",)),
        Candidate(table="public.items", columns=("sku",)),
    ]
    model = Model(queries)
    sel = select(cands, workload(queries), model.cost, model.size, 1000 * MB)
    assert len(model.calls) == len(set(model.calls)) == sel.evaluations
    for sql, keys in model.calls:
        q = queries[sql]
        for key in keys:  # never an index on another table or led by an unreferenced column
            assert key[0] == q.table
            assert key[1][0] in (*q.eq, q.range, q.sort)
    assert len(sel.chosen) == 3


def test_result_does_not_depend_on_input_order() -> None:
    queries = _tpch_like()
    cands = _candidates_for(queries)
    results = []
    for seed in (1, 2, 3):
        shuffled = list(cands)
        random.Random(seed).shuffle(shuffled)
        work = workload(queries)
        random.Random(seed).shuffle(work)
        model = Model(queries, {"public.lineitem": 40 * MB, "public.orders": 10 * MB})
        results.append(select(shuffled, work, model.cost, model.size, 300 * MB))
    assert results[0] == results[1] == results[2]


def test_a_22_query_workload_needs_few_cost_calls() -> None:
    queries = _tpch_like()
    cands = _candidates_for(queries)
    model = Model(queries, {"public.lineitem": 40 * MB, "public.orders": 10 * MB})
    sel = select(
        cands,
        workload(queries),
        model.cost,
        model.size,
        640 * MB,
        curve_budgets=[200 * MB, 640 * MB, 1280 * MB],
    )
    assert len(queries) == 22 and len(cands) >= 40
    assert sel.evaluations == len(model.calls) <= 2000
    print(f"22 queries, {len(cands)} candidates: {sel.evaluations} cost calls")
    assert sel.final_cost < 0.5 * sel.base_cost
    costs = [p.cost for p in sorted(sel.curve, key=lambda p: p.budget_bytes)]
    assert costs == sorted(costs, reverse=True)  # more bytes never cost more


def test_a_query_that_cannot_be_costed_is_skipped_not_fatal() -> None:
    queries = {"q1": SynQuery(ORDERS, eq=("a",)), "bad": SynQuery(ORDERS, eq=("a",))}
    model = Model(queries)

    def cost(sql: str, indexes: Sequence[Candidate]) -> float:
        if sql == "bad":
            raise InputError("cannot plan the query: syntax error")
        return model.cost(sql, indexes)

    sel = select(
        [Candidate(table=ORDERS, columns=("a",))], workload(queries), cost, model.size, MB * 100
    )
    assert sel.skipped == (("fp_bad", "cannot plan the query: syntax error"),)
    assert [c.columns for c in sel.chosen] == [("a",)]
    assert "fp_bad" not in sel.per_query


def _tpch_like() -> dict[str, SynQuery]:
    rng = random.Random(7)
    li_cols = ["l_shipdate", "l_partkey", "l_suppkey", "l_orderkey", "l_returnflag", "l_commitdate"]
    o_cols = ["o_orderdate", "o_custkey", "o_orderpriority", "o_orderstatus"]
    out = {}
    for i in range(22):
        table, cols = ("public.lineitem", li_cols) if i % 3 else ("public.orders", o_cols)
        picked = rng.sample(cols, 3)
        out[f"q{i:02d}"] = SynQuery(
            table,
            eq=tuple(picked[: 1 + i % 2]),
            range=picked[2] if i % 4 == 0 else None,
            sort=picked[2] if i % 4 == 1 else None,
            base=float(rng.randint(1000, 100000)),
            flag="l_returnflag = 'R'" if i % 7 == 0 and table == "public.lineitem" else None,
        )
    return out


def _candidates_for(queries: dict[str, SynQuery]) -> list[Candidate]:
    out: set[Candidate] = set()
    for q in queries.values():
        tail = tuple(c for c in (q.range, q.sort) if c)
        out.add(Candidate(table=q.table, columns=q.eq + tail))
        out.add(Candidate(table=q.table, columns=tuple(reversed(q.eq)) + tail))
        for c in q.eq:
            out.add(Candidate(table=q.table, columns=(c, *tail)))
            out.add(Candidate(table=q.table, columns=(c,), include=tail))
        if q.flag:
            out.add(Candidate(table=q.table, columns=q.eq, where=q.flag))
        out.add(Candidate(table=q.table, columns=(q.eq[0],), method="brin"))
    return sorted(out, key=lambda c: c.key)


# --- a real run over HypoPG ----------------------------------------------------------------
@pytest.fixture(scope="module")
def shop() -> Iterator[tuple[Session, Schema]]:
    with PostgresEngine().scratch() as url:
        admin = connect(url, read_only=False)
        admin.execute("CREATE EXTENSION hypopg")
        admin.execute(
            "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL,"
            " created_at timestamptz NOT NULL, status text NOT NULL, total numeric(12,2))"
        )
        admin.execute(
            "INSERT INTO orders SELECT g, (g * 7919) % 5000, timestamptz '2024-01-01'"
            " + g * interval '1 minute', CASE WHEN g % 500 = 0 THEN 'pending' ELSE 'done' END,"
            " (g % 1000) / 10.0 FROM generate_series(1, 200000) g"
        )
        admin.execute("VACUUM ANALYZE orders")
        schema = get_dialect("postgres").introspect(admin)
        admin.close()
        session = connect(url)  # read-only: what-if costing and sizes need nothing more
        try:
            yield session, schema
        finally:
            session.close()


def test_real_workload_finds_the_known_indexes(shop: tuple[Session, Schema]) -> None:
    session, schema = shop
    t = "public.orders"
    q1 = "SELECT * FROM orders WHERE customer_id = 42 ORDER BY created_at DESC LIMIT 10"
    q2 = "SELECT id, total FROM orders WHERE status = 'pending' ORDER BY created_at LIMIT 20"
    shapes = {
        q1: Shape(
            tables=(t,),
            predicates=(Predicate(table=t, column="customer_id", op="eq", value="42"),),
            order_by=(SortKey(table=t, column="created_at", descending=True),),
            reads=tuple((t, c) for c in ("created_at", "customer_id", "id", "status", "total")),
            limit=10,
        ),
        q2: Shape(
            tables=(t,),
            predicates=(Predicate(table=t, column="status", op="eq", value="'pending'"),),
            order_by=(SortKey(table=t, column="created_at"),),
            reads=((t, "created_at"), (t, "id"), (t, "status"), (t, "total")),
            limit=20,
        ),
    }
    cands = [
        Candidate(table=t, columns=("customer_id", "created_at"), reason="q1"),
        Candidate(table=t, columns=("created_at", "customer_id")),
        Candidate(table=t, columns=("status", "created_at")),
        Candidate(table=t, columns=("created_at",), where="status = 'pending'", reason="q2"),
        Candidate(table=t, columns=("total",)),
    ]
    queries = [
        (Query(fingerprint=f"fp{i}", text=sql, calls=10), sql, shapes[sql])
        for i, sql in enumerate((q1, q2))
    ]
    whatif = WhatIf(session, schema)
    try:
        sel: Selection = select(
            cands,
            queries,
            whatif.cost,
            lambda c: estimate_size(session, schema, c),
            50 * MB,
        )
    finally:
        whatif.close()
    keys = {(c.columns, c.where) for c in sel.chosen}
    assert (("customer_id", "created_at"), None) in keys
    assert (("created_at",), "status = 'pending'") in keys
    assert whatif.calls == sel.evaluations
    for fp in ("fp0", "fp1"):
        before, after = sel.per_query[fp]
        assert after < before / 10, (fp, before, after)
    assert sel.final_cost < sel.base_cost / 10
    print(f"real: {whatif.calls} what-if calls, chosen {sorted(keys, key=str)}")


def test_a_refused_index_in_a_batch_leaves_no_hypothetical_index_behind(
    shop: tuple[Session, Schema],
) -> None:
    session, schema = shop
    t = "public.orders"
    sql = "SELECT * FROM orders WHERE customer_id = 42"
    good = Candidate(table=t, columns=("customer_id",))
    bad = Candidate(table=t, columns=("zzz_missing",))  # sorts after good: created second
    whatif = WhatIf(session, schema)
    try:
        base = whatif.cost(sql, [])
        assert whatif.cost(sql, [good, bad]) < base / 10
        assert "zzz_missing" in whatif.skipped[bad.key]
        listed = session.fetch("SELECT count(*) AS n FROM hypopg_list_indexes")
        assert listed[0]["n"] == 1  # the good one only, though the batch created it first
        assert whatif.cost(sql, [bad]) == pytest.approx(base)
    finally:
        whatif.close()
    assert session.fetch("SELECT count(*) AS n FROM hypopg_list_indexes")[0]["n"] == 0
