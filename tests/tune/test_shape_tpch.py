"""Query shapes of the 22 TPC-H queries: tables, predicates, joins and findings.

TPC-H (primary keys only) is loaded into a scratch PostgreSQL and every query is also EXPLAINed
there, so the shapes are checked against queries the server accepts.
"""

from __future__ import annotations

import pytest

from dbarchitect.dialects.postgres.tune.shape import shape
from dbarchitect.engines.base import Session
from dbarchitect.model import Schema
from dbarchitect.tune.model import SortKey
from tests.tune.shape_cases import (
    QUERIES,
    join,
    pred,
    rules,
    server_error,
)

# --- TPC-H ---------------------------------------------------------------------------------

TPCH_TABLES = {
    "Q1": "lineitem",
    "Q2": "nation part partsupp region supplier",
    "Q3": "customer lineitem orders",
    "Q4": "lineitem orders",
    "Q5": "customer lineitem nation orders region supplier",
    "Q6": "lineitem",
    "Q7": "customer lineitem nation orders supplier",
    "Q8": "customer lineitem nation orders part region supplier",
    "Q9": "lineitem nation orders part partsupp supplier",
    "Q10": "customer lineitem nation orders",
    "Q11": "nation partsupp supplier",
    "Q12": "lineitem orders",
    "Q13": "customer orders",
    "Q14": "lineitem part",
    "Q15": "lineitem supplier",
    "Q16": "part partsupp supplier",
    "Q17": "lineitem part",
    "Q18": "customer lineitem orders",
    "Q19": "lineitem part",
    "Q20": "lineitem nation part partsupp supplier",
    "Q21": "lineitem nation orders supplier",
    "Q22": "customer orders",
}


def test_fixture_has_the_22_queries() -> None:
    assert list(QUERIES) == [f"Q{i}" for i in range(1, 23)]


@pytest.mark.parametrize("name", list(TPCH_TABLES))
def test_every_tpch_query_has_a_shape(db: tuple[Session, Schema], name: str) -> None:
    session, schema = db
    assert server_error(session, QUERIES[name]) is None  # the text is valid PostgreSQL
    s = shape(QUERIES[name], schema)
    assert s.tables == tuple(f"public.{t}" for t in TPCH_TABLES[name].split())
    assert s.writes is None
    for p in s.predicates:  # every filter is on a real column of the table it names
        table = schema.table(p.table)
        assert table is not None and (p.expression or table.column(p.column) is not None)


def test_q1_range_keeps_the_constant_as_written(schema: Schema) -> None:
    s = shape(QUERIES["Q1"], schema)
    assert s.predicates == (
        pred("lineitem", "l_shipdate", "range", value="date '1998-12-01' - interval '90' day"),
    )
    keys = (
        SortKey(table="public.lineitem", column="l_returnflag"),
        SortKey(table="public.lineitem", column="l_linestatus"),
    )
    assert s.group_by == keys and s.order_by == keys
    assert ("public.lineitem", "l_tax") in s.reads and s.joins == ()


def test_q3_equality_ranges_joins_and_limit(schema: Schema) -> None:
    s = shape(QUERIES["Q3"], schema)
    assert s.predicates == (
        pred("customer", "c_mktsegment", "eq", value="'BUILDING'"),
        pred("lineitem", "l_shipdate", "range", value="date '1995-03-15'"),
        pred("orders", "o_orderdate", "range", value="date '1995-03-15'"),
    )
    assert s.joins == (
        join("customer", "c_custkey", "orders", "o_custkey"),
        join("lineitem", "l_orderkey", "orders", "o_orderkey"),
    )
    # ORDER BY revenue (an aggregate, by its output name) then o_orderdate.
    assert s.order_by == (SortKey(table="public.orders", column="o_orderdate"),)
    assert s.limit == 10 and s.offset is None


def test_q6_between_and_interval_arithmetic(schema: Schema) -> None:
    s = shape(QUERIES["Q6"], schema)
    assert s.predicates == (
        pred("lineitem", "l_discount", "range"),  # BETWEEN: two bounds, no single value
        pred("lineitem", "l_quantity", "range", value="24"),
        pred("lineitem", "l_shipdate", "range", value="date '1994-01-01'"),
        pred("lineitem", "l_shipdate", "range", value="date '1994-01-01' + interval '1' year"),
    )
    assert s.reads == tuple(
        ("public.lineitem", c)
        for c in ("l_discount", "l_extendedprice", "l_quantity", "l_shipdate")
    )


def test_q13_left_join_not_like_and_derived_column_aliases(schema: Schema) -> None:
    s = shape(QUERIES["Q13"], schema)
    assert s.joins == (join("customer", "c_custkey", "orders", "o_custkey"),)
    # NOT LIKE filters on the join's nullable side; no index finds what does not match.
    assert s.predicates == (pred("orders", "o_comment", "other"),)
    assert s.group_by == (SortKey(table="public.customer", column="c_custkey"),)
    assert s.order_by == ()  # custdist and c_count are computed by the derived table
    assert rules(s) == []


@pytest.mark.parametrize("name", ["Q17", "Q20", "Q2"])
def test_correlated_scalar_subqueries_are_found_and_joined(schema: Schema, name: str) -> None:
    s = shape(QUERIES[name], schema)
    assert "tune/correlated-subquery" in rules(s)
    finding = next(f for f in s.findings if f.rule == "tune/correlated-subquery")
    assert finding.kind == "query" and finding.object == "" and "JOIN" in (finding.fix or "")
    expected = {
        "Q17": [join("lineitem", "l_partkey", "part", "p_partkey")],
        "Q20": [
            join("lineitem", "l_partkey", "partsupp", "ps_partkey"),
            join("lineitem", "l_suppkey", "partsupp", "ps_suppkey"),
        ],
        "Q2": [join("part", "p_partkey", "partsupp", "ps_partkey")],
    }[name]
    assert all(j in s.joins for j in expected)


def test_q21_exists_and_not_exists_become_semi_and_anti_joins(schema: Schema) -> None:
    s = shape(QUERIES["Q21"], schema)
    assert "tune/correlated-subquery" not in rules(s)
    assert join("lineitem", "l_orderkey", "lineitem", "l_orderkey") in s.joins  # l1 = l2, l3
    assert pred("orders", "o_orderstatus", "eq", value="'F'") in s.predicates
    assert pred("lineitem", "l_suppkey", "other") in s.predicates  # l2.l_suppkey <> l1.…
    assert s.limit == 100


def test_q22_substring_is_an_expression_predicate(schema: Schema) -> None:
    s = shape(QUERIES["Q22"], schema)
    assert (
        pred("customer", "pg_catalog.substring(c_phone, 1, 2)", "eq", expression=True)
        in s.predicates
    )
    assert pred("customer", "c_acctbal", "range", value="0.00") in s.predicates
    assert s.joins == (join("customer", "c_custkey", "orders", "o_custkey"),)
    assert rules(s) == []  # NOT EXISTS: an anti-join; the scalar subquery is uncorrelated


def test_q15_cte_and_q18_in_subquery_join_through_to_base_tables(schema: Schema) -> None:
    q15 = shape(QUERIES["Q15"], schema)
    assert q15.joins == (join("lineitem", "l_suppkey", "supplier", "s_suppkey"),)
    assert q15.group_by == (SortKey(table="public.lineitem", column="l_suppkey"),)
    q18 = shape(QUERIES["Q18"], schema)
    assert join("lineitem", "l_orderkey", "orders", "o_orderkey") in q18.joins
    q20 = shape(QUERIES["Q20"], schema)  # s_suppkey IN (SELECT ps_suppkey …): only there
    assert join("partsupp", "ps_suppkey", "supplier", "s_suppkey") in q20.joins
    assert join("part", "p_partkey", "partsupp", "ps_partkey") in q20.joins


def test_leading_wildcards(schema: Schema) -> None:
    q9, q16 = shape(QUERIES["Q9"], schema), shape(QUERIES["Q16"], schema)
    assert pred("part", "p_name", "like_infix", value="'%green%'") in q9.predicates
    assert rules(q9) == ["tune/leading-wildcard"]
    leading = next(f for f in q16.findings if f.rule == "tune/leading-wildcard")
    assert "s_comment" in leading.message and "gin_trgm_ops" in (leading.fix or "")
    # NOT LIKE 'MEDIUM POLISHED%' only filters: no finding for it.
    assert not any("p_type" in f.message for f in q16.findings)
    q20 = shape(QUERIES["Q20"], schema)
    assert pred("part", "p_name", "range", value="'forest%'") in q20.predicates
