"""Partitioning advice: which tables, which key and strategy, the queries that prune. The
advice is pure (schema + statistics + query shapes); its DDL is then run on PostgreSQL, rows
moved as it says, and EXPLAIN shows that the queries it lists do prune."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from dbarchitect.dialects.postgres.quoting import quote
from dbarchitect.engines.postgres import PostgresEngine, conninfo
from dbarchitect.model import Schema
from dbarchitect.model.stats import Stats, TableStats
from dbarchitect.sources import load_schema
from dbarchitect.tune.model import PartitionAdvice, Predicate, Query, Shape
from dbarchitect.tune.partition import partition_advice

SCHEMA_SQL = """
CREATE TABLE events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id int NOT NULL,
    kind text NOT NULL DEFAULT 'click',
    created_at timestamptz NOT NULL DEFAULT now(),
    payload jsonb,
    CONSTRAINT events_kind_check CHECK (kind <> '')
);
CREATE INDEX events_tenant_idx ON events (tenant_id);
CREATE TABLE audit (id bigint PRIMARY KEY, happened_on date NOT NULL, actor text);
CREATE TABLE sales (id bigint PRIMARY KEY, region text NOT NULL, amount numeric,
                    ref text UNIQUE);
CREATE TABLE lookups (id bigint PRIMARY KEY, code text, created_at timestamptz);
CREATE TABLE accounts (id int PRIMARY KEY, tenant_id int NOT NULL, created_at date);
"""

GB = 1024**3
STATS = Stats(
    server_version=150000,
    window_seconds=3600.0,
    tables={
        "public.events": TableStats(rows=50_000_000, size_bytes=20 * GB),
        "public.audit": TableStats(rows=30_000_000, size_bytes=3 * GB),
        "public.sales": TableStats(rows=1_000_000, size_bytes=9 * GB),  # large by size only
        "public.lookups": TableStats(rows=20_000_000, size_bytes=2 * GB),
        "public.accounts": TableStats(rows=1_000, size_bytes=100_000),
    },
)


def _q(name: str, calls: int = 1) -> Query:
    return Query(fingerprint=name, text=f"-- {name}", calls=calls)


def _p(table: str, column: str, op: str, value: str | None = None) -> Predicate:
    return Predicate(
        table=f"public.{table}",
        column=column,
        op=op,  # type: ignore[arg-type]
        value=value,
        parameter=value is None,
    )


def _shape(table: str, *preds: Predicate) -> Shape:
    return Shape(tables=(f"public.{table}",), predicates=preds)


SHAPES: list[tuple[Query, Shape]] = [
    # events: every query by tenant; most calls by a time range too.
    (
        _q("ev_range_literal", 100),
        _shape(
            "events",
            _p("events", "tenant_id", "eq"),
            _p("events", "created_at", "range", "'2024-01-05'"),
            _p("events", "created_at", "range", "'2024-03-01 00:00:00+00'::timestamptz"),
        ),
    ),
    (
        _q("ev_range_param", 50),
        _shape("events", _p("events", "tenant_id", "eq"), _p("events", "created_at", "range")),
    ),
    (
        _q("ev_kind", 10),
        _shape("events", _p("events", "tenant_id", "eq"), _p("events", "kind", "eq", "'x'")),
    ),
    # audit: one day at a time.
    (
        _q("audit_day", 5),
        _shape(
            "audit",
            _p("audit", "happened_on", "range", "'2024-06-01'"),
            _p("audit", "happened_on", "range", "'2024-06-01'"),
        ),
    ),
    # sales: by region, always one of two literals.
    (_q("sales_eu"), _shape("sales", _p("sales", "region", "eq", "'eu'"))),
    (_q("sales_us"), _shape("sales", _p("sales", "region", "eq", "'us'"))),
    (
        _q("sales_ref"),
        _shape("sales", _p("sales", "region", "eq", "'us'"), _p("sales", "ref", "eq")),
    ),
    # lookups: large, but read by primary key, and its time column by a minority of calls.
    (_q("lookup_id", 1000), _shape("lookups", _p("lookups", "id", "eq"))),
    (_q("lookup_recent", 10), _shape("lookups", _p("lookups", "created_at", "range"))),
    # accounts: filtered by tenant and time, but small.
    (
        _q("accounts"),
        _shape("accounts", _p("accounts", "tenant_id", "eq"), _p("accounts", "created_at", "eq")),
    ),
]


@pytest.fixture(scope="module")
def schema() -> Schema:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "schema.sql"
        path.write_text(SCHEMA_SQL, encoding="utf-8")
        return load_schema([str(path)], dialect="postgres")


@pytest.fixture(scope="module")
def advice(schema: Schema) -> dict[tuple[str, str], PartitionAdvice]:
    found = partition_advice(schema, STATS, SHAPES, quote)
    assert found == sorted(found, key=lambda a: (a.table, a.strategy, a.key))
    return {(a.table, a.strategy): a for a in found}


def test_which_tables_and_strategies(advice: dict[tuple[str, str], PartitionAdvice]) -> None:
    assert {k: (a.key, a.prunes) for k, a in advice.items()} == {
        ("public.audit", "range"): ("happened_on", ("audit_day",)),
        ("public.events", "hash"): ("tenant_id", ("ev_kind", "ev_range_literal", "ev_range_param")),
        ("public.events", "range"): ("created_at", ("ev_range_literal", "ev_range_param")),
        ("public.sales", "list"): ("region", ("sales_eu", "sales_ref", "sales_us")),
    }
    # No advice: lookups (by primary key; its time filter is a minority of calls), accounts
    # (small), the region-less and unique columns.
    reason = advice[("public.events", "range")].reason
    assert "50,000,000 rows, 20.0 GiB" in reason
    assert "2 of 3 queries (93% of calls)" in reason and "monthly" in reason
    assert "HASH into 8 partitions" in advice[("public.events", "hash")].reason
    assert "daily" in advice[("public.audit", "range")].reason


def test_nothing_without_statistics_or_below_the_thresholds(schema: Schema) -> None:
    assert partition_advice(schema, None, SHAPES, quote) == []
    high = partition_advice(schema, STATS, SHAPES, quote, min_rows=10**9, min_bytes=10**12)
    assert high == []
    # Lower thresholds bring the small table in.
    low = partition_advice(schema, STATS, SHAPES, quote, min_rows=100, min_bytes=10**12)
    assert ("public.accounts", "hash") in {(a.table, a.strategy) for a in low}


def test_range_ddl_text(advice: dict[tuple[str, str], PartitionAdvice]) -> None:
    ddl = advice[("public.events", "range")].ddl
    assert ddl.splitlines()[:10] == [
        "-- The primary key gains created_at: PostgreSQL requires the partition key.",
        "CREATE TABLE public.events_partitioned (",
        "    id bigint GENERATED ALWAYS AS IDENTITY NOT NULL,",
        "    tenant_id integer NOT NULL,",
        "    kind text DEFAULT 'click'::text NOT NULL,",
        "    created_at timestamp with time zone DEFAULT now() NOT NULL,",
        "    payload jsonb,",
        "    PRIMARY KEY (id, created_at),",
        "    CHECK (kind <> ''::text)",
        ") PARTITION BY RANGE (created_at);",
    ]
    assert (
        "CREATE TABLE public.events_p2024_01 PARTITION OF public.events_partitioned "
        "FOR VALUES FROM ('2024-01-01') TO ('2024-02-01');"
    ) in ddl
    assert "events_p2024_03" in ddl and "events_p2024_04" not in ddl
    assert "OVERRIDING SYSTEM VALUE" in ddl
    audit = advice[("public.audit", "range")].ddl
    assert "FOR VALUES FROM ('2024-06-01') TO ('2024-06-02')" in audit
    assert "audit_p2024_06_03" in audit  # at least three partitions
    sales = advice[("public.sales", "list")].ddl
    assert "    UNIQUE (ref, region)" in sales
    assert "-- UNIQUE (ref) becomes unique per region only" in sales
    assert "sales_eu PARTITION OF public.sales_partitioned FOR VALUES IN ('eu');" in sales


@pytest.fixture(scope="module")
def pg() -> Iterator[psycopg.Connection[Any]]:
    with (
        PostgresEngine().scratch() as url,
        psycopg.connect(conninfo(url), autocommit=True) as conn,
    ):
        conn.execute(SCHEMA_SQL.encode())
        conn.execute(
            "INSERT INTO events (tenant_id, kind, created_at)"
            " SELECT g % 7, 'click', timestamptz '2024-01-01' + g * interval '1 hour'"
            " FROM generate_series(1, 2000) g"
        )
        conn.execute(
            "INSERT INTO sales SELECT g, CASE WHEN g % 3 = 0 THEN 'eu' ELSE 'us' END, g,"
            " 'r' || g FROM generate_series(1, 300) g"
        )
        yield conn


def _plan_relations(conn: psycopg.Connection[Any], sql: str) -> list[str]:
    row = conn.execute(f"EXPLAIN (FORMAT JSON) {sql}").fetchone()
    assert row is not None
    found: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        if "Relation Name" in node:
            found.append(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)

    plan = row[0] if isinstance(row[0], list) else json.loads(row[0])
    walk(plan[0]["Plan"])
    return sorted(found)


def _migrate(conn: psycopg.Connection[Any], ddl: str, low: str, high: str) -> None:
    """Run the DDL, then the copy its comments describe, with real bounds."""
    conn.execute(ddl.encode())
    for line in ddl.splitlines():
        if line.startswith("--   INSERT INTO") or line.startswith("--   SELECT setval"):
            stmt = (
                line.removeprefix("--   ").replace(">= …", f">= {low}").replace("< …", f"< {high}")
            )
            conn.execute(stmt.encode())


@pytest.mark.parametrize(
    ("key", "bounds", "query", "partitions"),
    [
        (
            ("public.events", "range"),
            ("'2023-01-01'", "'2030-01-01'"),
            "SELECT * FROM events_partitioned WHERE tenant_id = 3"
            " AND created_at >= '2024-02-03' AND created_at < '2024-02-10'",
            ["events_p2024_02"],
        ),
        (
            ("public.events", "hash"),
            ("0", "100"),
            "SELECT * FROM events_partitioned WHERE tenant_id = 3",
            None,  # one of the eight hash partitions
        ),
        (
            ("public.sales", "list"),
            ("''", "'zz'"),
            "SELECT * FROM sales_partitioned WHERE region = 'eu'",
            ["sales_eu"],
        ),
    ],
)
def test_ddl_runs_moves_rows_and_prunes(
    pg: psycopg.Connection[Any],
    advice: dict[tuple[str, str], PartitionAdvice],
    key: tuple[str, str],
    bounds: tuple[str, str],
    query: str,
    partitions: list[str] | None,
) -> None:
    table = key[0].split(".")[1]
    with pg.transaction(force_rollback=True):
        _migrate(pg, advice[key].ddl, *bounds)
        copied = pg.execute(f"SELECT count(*) FROM {table}_partitioned").fetchone()
        original = pg.execute(f"SELECT count(*) FROM {table}").fetchone()
        assert copied == original and copied is not None and copied[0] > 0
        scanned = _plan_relations(pg, query)
        if partitions is None:
            assert len(scanned) == 1 and scanned[0].startswith(f"{table}_p")
        else:
            assert scanned == partitions
        # The identity restarts past the copied rows: a new row does not collide.
        if table == "events":
            pg.execute(
                "INSERT INTO events_partitioned (tenant_id, created_at) VALUES (1, '2024-01-02')"
            )
