"""Index candidates from query shapes: TPC-H (primary keys only) and a purpose-built schema
with existing plain, partial and expression indexes, both loaded into a scratch PostgreSQL;
shapes come from the real parser (shape.py), and every proposed index is built for real there
so a candidate that PostgreSQL would refuse fails the test."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.dialects.postgres.tune.ddl import index_sql
from dbarchitect.dialects.postgres.tune.shape import shape
from dbarchitect.engines.postgres import PostgresEngine
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.model import Schema, to_json
from dbarchitect.model.stats import Stats, TableStats
from dbarchitect.tune.candidates import candidates, covered_by, index_name
from dbarchitect.tune.model import Candidate, IndexMethod, Query, Shape
from tests.conftest import FIXTURES

TPCH_SCHEMA = FIXTURES / "tune" / "tpch_schema.sql"
TPCH_QUERIES = FIXTURES / "tune" / "tpch_queries.sql"
ALL: frozenset[IndexMethod] = frozenset({"btree", "brin", "gin"})

TICKETS_SQL = """
CREATE EXTENSION pg_trgm;
CREATE TYPE ticket_state AS ENUM ('open', 'closed');
CREATE TABLE tickets (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id integer NOT NULL,
    state ticket_state NOT NULL,
    status text NOT NULL CHECK (status IN ('new', 'done')),
    email varchar(200) NOT NULL,
    title text,
    created_at timestamp NOT NULL,
    updated_at timestamptz,
    deleted_at timestamp,
    tags text[],
    payload jsonb,
    doc tsvector,
    priority integer,
    "Due Date" date
);
CREATE INDEX tickets_account_created_idx ON tickets (account_id, created_at);
CREATE INDEX tickets_new_priority_idx ON tickets (priority) WHERE status = 'new';
CREATE INDEX tickets_lower_email_idx ON tickets (lower(email));
CREATE INDEX tickets_tags_idx ON tickets USING gin (tags);
"""


@pytest.fixture(scope="module")
def db() -> Iterator[tuple[DatabaseURL, Schema]]:
    engine = PostgresEngine()
    with engine.scratch() as url:
        engine.run_script(url, TPCH_SCHEMA.read_text() + TICKETS_SQL, where="test schema")
        with engine.connect(url) as session:
            yield url, get_dialect("postgres").introspect(session)


@pytest.fixture(scope="module")
def schema(db: tuple[DatabaseURL, Schema]) -> Schema:
    return db[1]


def tpch() -> list[str]:
    text = TPCH_QUERIES.read_text()
    return [m[1] for m in re.finditer(r"^-- Q\d+\n(.*?;)$", text, re.S | re.M)]


def shapes(schema: Schema, *sqls: str) -> list[tuple[Query, Shape]]:
    return [(Query(fingerprint=f"{i:016x}", text=q), shape(q, schema)) for i, q in enumerate(sqls)]


def propose(
    schema: Schema, *sqls: str, stats: Stats | None = None, methods: frozenset[IndexMethod] = ALL
) -> list[Candidate]:
    return candidates(shapes(schema, *sqls), schema, stats, methods=methods)


Key = tuple[tuple[str, ...], tuple[str, ...], str | None, str]


def keys(cands: list[Candidate], table: str) -> set[Key]:
    return {
        (c.columns, c.include, c.where, c.method) for c in cands if c.table == f"public.{table}"
    }


def big(rows: int) -> Stats:
    return Stats(
        server_version=150000, window_seconds=0.0, tables={"public.tickets": TableStats(rows=rows)}
    )


# --- TPC-H ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pool(schema: Schema) -> list[Candidate]:
    return propose(schema, *tpch())


def test_tpch_candidates_are_sorted_unique_and_named(pool: list[Candidate]) -> None:
    order = [(c.table, c.method, c.columns, c.include, c.where or "") for c in pool]
    assert order == sorted(order) and len(set(order)) == len(order)
    names = [index_name(c, 63) for c in pool]
    assert len(set(names)) == len(names) and all(len(n.encode()) <= 63 for n in names)
    assert all(1 <= len(c.columns) <= 4 and c.reason for c in pool)
    assert 50 < len(pool) < 400


def test_q6_range_candidates(schema: Schema) -> None:
    q6 = tpch()[5]
    got = keys(propose(schema, q6), "lineitem")
    assert (("l_shipdate",), (), None, "btree") in got
    assert (("l_shipdate", "l_discount", "l_quantity"), (), None, "btree") in got
    # An index-only scan for Q6: the range key and everything else it reads included.
    assert (("l_shipdate",), ("l_discount", "l_extendedprice", "l_quantity"), None, "btree") in got
    assert (("l_discount",), (), None, "btree") in got and (
        ("l_quantity",),
        (),
        None,
        "btree",
    ) in got


def test_primary_key_prefixes_are_dropped(schema: Schema, pool: list[Candidate]) -> None:
    assert (("l_orderkey",), (), None, "btree") not in keys(pool, "lineitem")
    assert (("ps_partkey",), (), None, "btree") not in keys(pool, "partsupp")
    assert (("o_orderkey",), (), None, "btree") not in keys(pool, "orders")
    assert (
        covered_by(Candidate(table="public.lineitem", columns=("l_orderkey",)), schema)
        == "lineitem_pkey"
    )
    both = Candidate(table="public.lineitem", columns=("l_orderkey", "l_linenumber"))
    assert covered_by(both, schema) == "lineitem_pkey"
    assert covered_by(Candidate(table="public.lineitem", columns=("l_linenumber",)), schema) is None
    # Joins on the second key column of a primary key are still proposed.
    assert (("ps_suppkey",), (), None, "btree") in keys(pool, "partsupp")


def test_tpch_partial_candidates_on_one_character_flags(pool: list[Candidate]) -> None:
    assert (("o_orderkey",), (), "o_orderstatus = 'F'", "btree") in keys(pool, "orders")
    assert (("l_orderkey",), (), "l_returnflag = 'R'", "btree") in keys(pool, "lineitem")


def test_join_and_sort_columns_follow_equality_and_range(schema: Schema) -> None:
    q3 = tpch()[2]
    got = keys(propose(schema, q3), "customer")
    # eq c_mktsegment, then the join key
    assert (("c_mktsegment", "c_custkey"), (), None, "btree") in got
    orders = keys(propose(schema, q3), "orders")
    assert (("o_orderdate", "o_custkey"), (), None, "btree") in orders
    assert (("o_custkey",), (), None, "btree") in orders


# --- purpose-built cases -------------------------------------------------------------------


def test_partial_indexes_keep_the_constant_as_written(schema: Schema) -> None:
    got = keys(
        propose(
            schema,
            "SELECT id FROM tickets WHERE state = 'open' AND account_id = $1 ORDER BY created_at",
        ),
        "tickets",
    )
    assert (("account_id", "created_at"), (), "state = 'open'", "btree") in got
    nulls = keys(
        propose(schema, "SELECT id FROM tickets WHERE deleted_at IS NULL AND title = 'Ab'"),
        "tickets",
    )
    assert (("title",), (), "deleted_at IS NULL", "btree") in nulls
    # status has a CHECK listing its values: few distinct values, a partial index fits.
    done = keys(
        propose(schema, "SELECT id FROM tickets WHERE status = 'Done' AND priority > 3"), "tickets"
    )
    assert (("priority",), (), "status = 'Done'", "btree") in done
    # title is free text: an equality on it is not turned into a partial index.
    assert not any(k[2] and "title" in k[2] for k in nulls)


def test_existing_partial_and_prefix_indexes_cover_candidates(schema: Schema) -> None:
    got = keys(
        propose(schema, "SELECT id FROM tickets WHERE status = 'new' ORDER BY priority"), "tickets"
    )
    assert (("priority",), (), "status = 'new'", "btree") not in got  # tickets_new_priority_idx
    partial = Candidate(table="public.tickets", columns=("priority",), where="status = 'new'")
    assert covered_by(partial, schema) == "tickets_new_priority_idx"
    assert covered_by(dataclasses.replace(partial, where="status = 'done'"), schema) is None
    assert covered_by(dataclasses.replace(partial, where=None), schema) is None
    two = keys(
        propose(
            schema,
            "SELECT id, priority FROM tickets WHERE account_id = 5 AND created_at > '2024-01-01'",
        ),
        "tickets",
    )
    assert (("account_id",), (), None, "btree") not in two
    assert (("account_id", "created_at"), (), None, "btree") not in two
    # …but an index-only variant of it is new.
    assert (("account_id", "created_at"), ("id", "priority"), None, "btree") in two


def test_covering_leaves_out_wide_columns(schema: Schema) -> None:
    got = keys(
        propose(
            schema, "SELECT title, priority FROM tickets WHERE account_id = 5 AND priority > 2"
        ),
        "tickets",
    )
    assert not any(k[1] for k in got)  # title is text: no INCLUDE of it
    narrow = keys(
        propose(
            schema, "SELECT priority, id FROM tickets WHERE account_id = 5 AND state = 'closed'"
        ),
        "tickets",
    )
    assert (("account_id", "state"), ("id", "priority"), None, "btree") in narrow


def test_brin_on_large_tables_only(schema: Schema) -> None:
    sql = "SELECT count(*) FROM tickets WHERE created_at >= $1 AND id > 1000 AND priority < 5"
    large = keys(propose(schema, sql, stats=big(5_000_000)), "tickets")
    assert {k[0] for k in large if k[3] == "brin"} == {("created_at",), ("id",)}
    assert not any(k[3] == "brin" for k in keys(propose(schema, sql, stats=big(10_000)), "tickets"))
    assert not any(k[3] == "brin" for k in keys(propose(schema, sql), "tickets"))
    assert not any(
        k[3] == "brin"
        for k in keys(
            propose(schema, sql, stats=big(5_000_000), methods=frozenset({"btree"})), "tickets"
        )
    )


def test_expression_candidates(schema: Schema) -> None:
    got = keys(
        propose(schema, "SELECT id FROM tickets WHERE upper(title) = 'X' AND lower(email) = $1"),
        "tickets",
    )
    assert (("(upper(title))",), (), None, "btree") in got
    assert (("(lower(email))",), (), None, "btree") not in got  # tickets_lower_email_idx
    assert (
        covered_by(Candidate(table="public.tickets", columns=("(lower(email))",)), schema)
        == "tickets_lower_email_idx"
    )
    # Functions of timestamptz depend on the time zone: PostgreSQL will not index them.
    tz = keys(
        propose(
            schema, "SELECT id FROM tickets WHERE date_trunc('day', updated_at) = '2024-01-01'"
        ),
        "tickets",
    )
    assert not any(k[0][0].startswith("(") for k in tz)


def test_gin_candidates(schema: Schema) -> None:
    sql = (
        "SELECT id FROM tickets WHERE tags @> ARRAY['x'] AND payload @> '{\"a\": 1}' "
        "AND doc @@ to_tsquery('cat') AND title ILIKE '%urgent%'"
    )
    gin = {k[0] for k in keys(propose(schema, sql), "tickets") if k[3] == "gin"}
    assert gin == {("payload",), ("doc",), ("title gin_trgm_ops",)}  # tags: tickets_tags_idx
    fts = (
        "SELECT id FROM tickets "
        "WHERE to_tsvector('english', title) @@ $1 AND to_tsvector(email) @@ $1"
    )
    keyed = {k[0] for k in keys(propose(schema, fts), "tickets") if k[3] == "gin"}
    assert keyed == {("(to_tsvector('english', title))",)}  # one-argument form is not IMMUTABLE
    without = dataclasses.replace(schema, extensions=())
    assert ("title gin_trgm_ops",) not in {k[0] for k in keys(propose(without, sql), "tickets")}
    assert not any(
        k[3] == "gin" for k in keys(propose(schema, sql, methods=frozenset({"btree"})), "tickets")
    )


def test_hash_only_when_asked(schema: Schema) -> None:
    sql = "SELECT id FROM tickets WHERE title = 'a'"
    assert not any(k[3] == "hash" for k in keys(propose(schema, sql), "tickets"))
    asked = keys(propose(schema, sql, methods=frozenset({"btree", "hash"})), "tickets")
    assert (("title",), (), None, "hash") in asked


def test_like_prefix_gets_a_pattern_operator_class(schema: Schema) -> None:
    got = keys(propose(schema, "SELECT id FROM tickets WHERE title LIKE 'Bug%'"), "tickets")
    assert (("title text_pattern_ops",), (), None, "btree") in got


def test_every_candidate_builds(db: tuple[DatabaseURL, Schema], pool: list[Candidate]) -> None:
    """PostgreSQL itself accepts every proposed index (built on the empty tables)."""
    url, schema = db
    extra = propose(
        schema,
        "SELECT id FROM tickets WHERE upper(title) = 'X' AND status = 'Done' AND \"Due Date\" "
        "< now()",
        "SELECT id FROM tickets WHERE payload @> '{}' AND doc @@ to_tsquery('a') AND title "
        "ILIKE '%u%'",
        "SELECT id FROM tickets WHERE deleted_at IS NULL AND title LIKE 'B%' AND created_at > $1",
        "SELECT id FROM tickets WHERE to_tsvector('english', title) @@ $1 AND lower(title) "
        "LIKE '%a'",
        stats=big(5_000_000),
    )
    with PostgresEngine().connect(url, read_only=False) as session:
        session.execute("BEGIN")
        for c in [*pool, *extra]:
            session.execute(index_sql(schema, c, index_name(c, 63), concurrently=False))
        built = session.fetch("SELECT count(*) AS n FROM pg_indexes WHERE schemaname = 'public'")
        session.execute("ROLLBACK")
    existing = sum(len(t.indexes) + bool(t.primary_key) + len(t.uniques) for t in schema.tables)
    assert built[0]["n"] == existing + len(pool) + len(extra)
    assert any(c.method == "brin" for c in extra) and any(c.method == "gin" for c in extra)
    assert any(c.where for c in extra) and any(c.columns[0].startswith("(") for c in extra)


def test_index_names() -> None:
    plain = Candidate(table="public.lineitem", columns=("l_shipdate", "l_discount"))
    assert index_name(plain, 63) == "lineitem_l_shipdate_l_discount_idx"
    expr = Candidate(table="public.users", columns=("(lower(email))",))
    assert re.fullmatch(r"users_lower_email_[0-9a-f]{8}_idx", index_name(expr, 63))
    gin = Candidate(table="public.t", columns=("doc",), method="gin")
    assert index_name(gin, 63) == "t_doc_gin_idx"
    hostile = Candidate(table="public.Order Items", columns=("Order ID",))
    assert re.fullmatch(r"order_items_order_id_[0-9a-f]{8}_idx", index_name(hostile, 63))
    long = Candidate(
        table="public.a_rather_long_table_name",
        columns=("first_long_column", "second_long_column", "third"),
    )
    cut = index_name(long, 63)
    assert len(cut) <= 63 and re.search(r"_[0-9a-f]{8}_idx$", cut) and cut == index_name(long, 63)
    variants = [
        plain,
        dataclasses.replace(plain, include=("l_tax",)),
        dataclasses.replace(plain, where="l_returnflag = 'R'"),
        dataclasses.replace(plain, where="l_returnflag = 'A'"),
        dataclasses.replace(plain, method="brin"),
    ]
    names = [index_name(v, 63) for v in variants] + [index_name(v, 20) for v in variants]
    assert len(set(names)) == len(names) and all(len(n) <= 20 for n in names[5:])


# --- determinism -----------------------------------------------------------------------------

_RUN = """
import json, sys
from dbarchitect.model import from_json
from dbarchitect.dialects.postgres.tune.shape import shape
from dbarchitect.tune.candidates import candidates, index_name
from dbarchitect.tune.model import Query
schema = from_json(open(sys.argv[1]).read())
qs = json.load(open(sys.argv[2]))
pairs = [(Query(fingerprint=f"{i:016x}", text=q), shape(q, schema)) for i, q in enumerate(qs)]
for c in candidates(pairs, schema, None, methods=frozenset({"btree", "brin", "gin"})):
    print(repr(c), index_name(c, 63))
"""


def test_candidates_are_deterministic_across_hash_seeds(schema: Schema, tmp_path: Path) -> None:
    sqls = [
        *tpch(),
        "SELECT id FROM tickets WHERE status = 'new' AND tags @> ARRAY['a'] AND upper(title) = 'Z'",
    ]
    here = "".join(f"{c!r} {index_name(c, 63)}\n" for c in propose(schema, *sqls))
    assert here == "".join(f"{c!r} {index_name(c, 63)}\n" for c in propose(schema, *sqls))
    (tmp_path / "schema.json").write_text(to_json(schema))
    (tmp_path / "queries.json").write_text(json.dumps(sqls))
    env = {**os.environ, "PYTHONHASHSEED": "77"}
    args = [
        sys.executable,
        "-c",
        _RUN,
        str(tmp_path / "schema.json"),
        str(tmp_path / "queries.json"),
    ]
    assert subprocess.run(args, env=env, capture_output=True, text=True, check=True).stdout == here
