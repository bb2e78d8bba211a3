"""Query shapes from PostgreSQL's parse tree: scopes resolved as PostgreSQL resolves them.

The schemas are real: TPC-H (primary keys only) and a purpose-built schema with hostile names,
loaded into a scratch PostgreSQL; every query here is also EXPLAINed there, so "accepted" and
"refused, and why" are checked against the server itself. Pagila covers views, a materialized
view and real-world names.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dbarchitect.dialects.postgres.tune.shape import shape
from dbarchitect.engines.base import Session
from dbarchitect.errors import InputError
from dbarchitect.model import Schema, to_json
from dbarchitect.tune.model import Predicate, SortKey
from tests.conftest import realworld_schema
from tests.tune.helpers import run_with_hash_seed
from tests.tune.shape_cases import (
    QUERIES,
    join,
    pred,
    rules,
    server_error,
)

# --- scopes, checked against the server ----------------------------------------------------

AGREE = [
    # (query, PostgreSQL's message when it refuses it, or None)
    (
        "SELECT id FROM accounts a JOIN invoices i ON i.account_id = a.id",
        'column reference "id" is ambiguous',
    ),
    ("SELECT status FROM accounts, invoices", 'column reference "status" is ambiguous'),
    ("SELECT id FROM accounts JOIN invoices USING (id)", None),
    (
        "SELECT a.id FROM accounts a WHERE accounts.id = 1",
        'invalid reference to FROM-clause entry for table "accounts"',
    ),
    ("SELECT nope FROM accounts", 'column "nope" does not exist'),
    ("SELECT 1 FROM no_such_table", 'relation "no_such_table" does not exist'),
    ("SELECT 1 FROM sales.nope", 'relation "sales.nope" does not exist'),
    ("SELECT region FROM invoices", 'column "region" does not exist'),  # public first
    ("SELECT region FROM sales.invoices WHERE sales.invoices.id = 3", None),
    ("SELECT x.k FROM (SELECT id, email FROM accounts) AS x(k)", None),
    ("SELECT x.id FROM (SELECT id, email FROM accounts) AS x(k)", "column x.id does not exist"),
    (
        "WITH invoices AS (SELECT 1 AS only_col) SELECT total FROM invoices",
        'column "total" does not exist',
    ),
    ("SELECT j.id FROM (accounts JOIN invoices USING (id)) AS j WHERE j.total > 1", None),
    (
        "SELECT accounts.id FROM (accounts JOIN invoices USING (id)) AS j",
        'invalid reference to FROM-clause entry for table "accounts"',
    ),
    ('SELECT "Unit Price" FROM "Order Items" WHERE "Order ID" = 7', None),
    ('SELECT "unit price" FROM "Order Items"', 'column "unit price" does not exist'),
    ("SELECT email FROM open_invoices WHERE account_id = 4", None),
    (
        "SELECT a.id FROM accounts a WHERE EXISTS (SELECT 1 FROM invoices WHERE account_id = "
        "a.id AND id = 5)",
        None,
    ),
    (
        "SELECT count(*) FROM accounts a, LATERAL (SELECT total FROM invoices i WHERE "
        "i.account_id = a.id LIMIT 1) t",
        None,
    ),
    (
        "SELECT count(*) FROM accounts a, (SELECT total FROM invoices i WHERE i.account_id = "
        "a.id) t",
        'invalid reference to FROM-clause entry for table "a"',
    ),
]


@pytest.mark.parametrize(("sql", "message"), AGREE, ids=[f"agree{i}" for i in range(len(AGREE))])
def test_resolution_agrees_with_the_server(
    db: tuple[Session, Schema], sql: str, message: str | None
) -> None:
    session, schema = db
    said = server_error(session, sql)
    if message is None:
        assert said is None
        shape(sql, schema)
        return
    assert said is not None and message in said
    with pytest.raises(InputError):
        shape(sql, schema)
    if "LATERAL" not in sql and ", (SELECT" not in sql:  # our wording is PostgreSQL's
        with pytest.raises(InputError, match=re.escape(message)):
            shape(sql, schema)


def test_using_merges_the_column_and_joins(schema: Schema) -> None:
    s = shape("SELECT id FROM accounts JOIN invoices USING (id) WHERE id = 9", schema)
    assert s.joins == (join("accounts", "id", "invoices", "id"),)
    # An inner join's merged column filters both sides (the planner derives the second).
    assert pred("accounts", "id", "eq", value="9") in s.predicates
    assert pred("invoices", "id", "eq", value="9") in s.predicates
    natural = shape(
        "SELECT total FROM accounts NATURAL LEFT JOIN invoices WHERE status = 'x'", schema
    )
    assert natural.joins == (
        join("accounts", "id", "invoices", "id"),
        join("accounts", "status", "invoices", "status"),
    )
    assert natural.predicates == (pred("accounts", "status", "eq", value="'x'"),)  # LEFT: left side


def test_cte_shadows_a_table_of_the_same_name(schema: Schema) -> None:
    s = shape(
        "WITH invoices AS (SELECT id AS account, status FROM accounts WHERE email = $1) "
        "SELECT account FROM invoices WHERE status = 'Open'",
        schema,
    )
    assert s.tables == ("public.accounts",)
    assert s.predicates == (
        pred("accounts", "email", "eq", parameter=True),
        pred("accounts", "status", "eq", value="'Open'"),  # through the CTE, case kept
    )
    schema_qualified = shape(
        "WITH invoices AS (SELECT 1 AS a) SELECT total FROM public.invoices", schema
    )
    assert schema_qualified.tables == ("public.invoices",)


def test_cte_read_twice_or_materialized_keeps_its_filters_inside(schema: Schema) -> None:
    twice = (
        "WITH c AS (SELECT id, status FROM accounts) "
        "SELECT 1 FROM c x JOIN c y ON x.id = y.id WHERE x.status = 'a'"
    )
    assert shape(twice, schema).predicates == ()
    mat = (
        "WITH c AS MATERIALIZED (SELECT id, status FROM accounts) "
        "SELECT 1 FROM c WHERE status = 'a'"
    )
    assert shape(mat, schema).predicates == ()
    recursive = (
        "WITH RECURSIVE r(n, a) AS (SELECT 1, id FROM accounts WHERE id = 1 "
        "UNION ALL SELECT n + 1, i.account_id FROM r JOIN invoices i ON i.id = r.a) SELECT * FROM r"
    )
    s = shape(recursive, schema)
    assert s.tables == ("public.accounts", "public.invoices")
    assert pred("accounts", "id", "eq", value="1") in s.predicates


def test_derived_table_column_aliases_push_filters_down(schema: Schema) -> None:
    s = shape(
        "SELECT x.k FROM (SELECT id, lower(status) FROM accounts) AS x(k, st) "
        "WHERE x.k = -5 AND st = 'open' ORDER BY k DESC",
        schema,
    )
    assert s.predicates == (
        pred("accounts", "id", "eq", value="-5"),
        pred("accounts", "lower(status)", "eq", expression=True, value="'open'"),
    )
    assert s.order_by == (SortKey(table="public.accounts", column="id", descending=True),)
    limited = shape("SELECT * FROM (SELECT id FROM accounts LIMIT 5) t WHERE id = 1", schema)
    assert limited.predicates == ()  # LIMIT stops the planner pushing the filter down


def test_set_operations_and_subqueries(schema: Schema) -> None:
    s = shape(
        "SELECT id, status FROM accounts WHERE email = 'a' UNION "
        "SELECT id, region FROM sales.invoices WHERE region = 'EU' ORDER BY 1 LIMIT 3",
        schema,
    )
    assert s.tables == ("public.accounts", "sales.invoices") and s.limit == 3
    assert s.predicates == (
        pred("accounts", "email", "eq", value="'a'"),
        Predicate(table="sales.invoices", column="region", op="eq", value="'EU'"),
    )
    derived = shape(
        "SELECT u.k FROM (SELECT id AS k FROM accounts UNION ALL SELECT account_id FROM "
        "invoices) u "
        'JOIN "Order Items" o ON o."Order ID" = u.k WHERE u.k > 10',
        schema,
    )
    assert set(derived.joins) == {
        join("Order Items", "Order ID", "accounts", "id"),
        join("Order Items", "Order ID", "invoices", "account_id"),
    }
    assert pred("invoices", "account_id", "range", value="10") in derived.predicates
    scalar = shape(
        "SELECT email, (SELECT max(total) FROM invoices WHERE account_id = a.id) FROM accounts a "
        "WHERE a.id IN (SELECT account_id FROM invoices WHERE total > 100) "
        "OR EXISTS (SELECT 1 FROM invoices i WHERE i.account_id = a.id)",
        schema,
    )
    found = [f.message for f in scalar.findings if f.rule == "tune/correlated-subquery"]
    # The scalar subquery in the select list, and EXISTS under OR: neither becomes a join.
    assert (
        len(found) == 2 and any("scalar" in m for m in found) and any("EXISTS" in m for m in found)
    )
    assert join("accounts", "id", "invoices", "account_id") in scalar.joins


def test_hostile_identifiers(schema: Schema) -> None:
    s = shape(
        'SELECT oi."SKU", sum(oi."Unit Price") FROM "Order Items" AS oi '
        'WHERE oi."Order ID" = 42 AND "Line" BETWEEN 1 AND 3 GROUP BY 1 ORDER BY 1',
        schema,
    )
    assert s.tables == ("public.Order Items",)
    assert s.predicates == (
        pred("Order Items", "Line", "range"),
        pred("Order Items", "Order ID", "eq", value="42"),
    )
    assert s.group_by == (SortKey(table="public.Order Items", column="SKU"),)
    assert s.reads == tuple(
        ("public.Order Items", c) for c in ("Line", "Order ID", "SKU", "Unit Price")
    )


def test_literals_are_kept_exactly_as_written(schema: Schema) -> None:
    s = shape(
        "SELECT 1 FROM accounts WHERE status = 'Shipped' AND email = E'Ünï\\'code' "
        "AND created_at >= '2024-01-01'::timestamp AND id IN (1, 2) AND note IS NULL",
        schema,
    )
    assert pred("accounts", "status", "eq", value="'Shipped'") in s.predicates
    assert pred("accounts", "email", "eq", value="E'Ünï\\'code'") in s.predicates
    assert pred("accounts", "created_at", "range", value="'2024-01-01'::timestamp") in s.predicates
    assert pred("accounts", "id", "eq") in s.predicates  # a list: no single value
    assert pred("accounts", "note", "eq", value="NULL") in s.predicates


def test_predicate_kinds(schema: Schema) -> None:
    s = shape(
        "SELECT 1 FROM invoices i JOIN accounts a ON a.id = i.account_id "
        "WHERE i.tags @> ARRAY['x'] AND i.payload ? 'k' AND i.id = ANY($1) AND i.total <> 0 "
        "AND a.email ILIKE 'ab%' AND a.note LIKE 'plain' AND a.status NOT IN ('a', 'b') "
        "AND to_tsvector('english', a.note) @@ to_tsquery('cat')",
        schema,
    )
    assert set(s.predicates) == {
        pred("invoices", "tags", "contains"),
        pred("invoices", "payload", "contains", value="'k'"),
        pred("invoices", "id", "eq", parameter=True),
        pred("invoices", "total", "other"),
        pred("accounts", "email", "like_infix", value="'ab%'"),
        pred("accounts", "note", "eq", value="'plain'"),
        pred("accounts", "status", "other"),
        pred("accounts", "to_tsvector('english', note)", "fts", expression=True),
    }
    assert "tune/leading-wildcard" not in rules(s)
    lowered = shape(
        "SELECT 1 FROM accounts WHERE lower(note) LIKE '%x' AND email LIKE '_y'", schema
    )
    fixes = sorted(f.fix or "" for f in lowered.findings if f.rule == "tune/leading-wildcard")
    assert fixes == [
        "CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE INDEX ON public.accounts USING gin "
        "((lower(note)) gin_trgm_ops);",
        "CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE INDEX ON public.accounts USING gin "
        "(email gin_trgm_ops);",
    ]


def test_non_sargable_only_on_indexed_columns(schema: Schema) -> None:
    s = shape(
        "SELECT id FROM accounts WHERE lower(email) = $1 AND created_at::date = '2024-05-01' "
        "AND lower(status) = 'x' AND upper(note) = 'Y' AND extract(year from created_at) = 2024",
        schema,
    )
    found = [f.message for f in s.findings if f.rule == "tune/non-sargable"]
    assert len(found) == 3 and all(
        f.startswith(("lower(email)", "CAST(created_at AS date)", "EXTRACT(YEAR FROM created_at)"))
        for f in found
    )
    # lower(status) has an expression index; note has no index at all.
    assert not any("status" in m or "note" in m for m in found)
    cast = next(f for f in s.findings if "CAST" in f.message)
    assert "created_at >= <start>" in (cast.fix or "")


def test_select_star_deep_offset_and_limits(schema: Schema) -> None:
    s = shape("SELECT * FROM accounts ORDER BY created_at, id OFFSET 5000 LIMIT 20", schema)
    assert sorted(rules(s)) == ["tune/deep-offset", "tune/select-star"]
    offset = next(f for f in s.findings if f.rule == "tune/deep-offset")
    assert "(created_at, id)" in (offset.fix or "") and s.limit == 20 and s.offset == 5000
    # nation has no wide column; a star inside EXISTS fetches nothing.
    narrow = "SELECT * FROM nation WHERE EXISTS (SELECT * FROM accounts WHERE id = n_nationkey)"
    assert rules(shape(narrow + " OFFSET 999", schema)) == []


def test_writes(schema: Schema) -> None:
    upd = shape(
        "UPDATE invoices i SET total = total * 2 FROM accounts a WHERE a.id = i.account_id AND "
        "a.status = 'x'",
        schema,
    )
    assert upd.writes == "public.invoices" and upd.tables == ("public.accounts", "public.invoices")
    assert upd.joins == (join("accounts", "id", "invoices", "account_id"),)
    dele = shape(
        "DELETE FROM invoices USING accounts WHERE accounts.id = invoices.account_id AND "
        "accounts.note IS NULL",
        schema,
    )
    assert (
        dele.writes == "public.invoices"
        and pred("accounts", "note", "eq", value="NULL") in dele.predicates
    )
    ins = shape(
        "INSERT INTO invoices (id, account_id, total, status) SELECT id, id, 0, 'new' FROM "
        "accounts WHERE email = 'a@b'",
        schema,
    )
    assert ins.writes == "public.invoices" and ins.tables == ("public.accounts",)
    assert ins.predicates == (pred("accounts", "email", "eq", value="'a@b'"),)
    values = shape(
        "INSERT INTO accounts VALUES (1, 'e', 's', now(), NULL) ON CONFLICT (id) DO UPDATE SET "
        "email = excluded.email",
        schema,
    )
    assert values.writes == "public.accounts" and values.tables == ()


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("CREATE TABLE t (a int)", "DDL (Create)"),
        ("SET work_mem = '1GB'", "utility statement (VariableSet)"),
        ("VACUUM accounts", "utility statement (Vacuum)"),
        ("SELECT FROM WHERE", "does not parse"),
        ("SELECT 1; SELECT 2", "2 statements"),
        ("SELECT relname FROM pg_class", 'relation "pg_class" does not exist'),
    ],
)
def test_statements_that_are_not_analysed(schema: Schema, sql: str, reason: str) -> None:
    with pytest.raises(InputError, match=re.escape(reason)):
        shape(sql, schema)


# --- real-world schema ---------------------------------------------------------------------


def test_pagila_views_matview_and_partitions() -> None:
    pagila = realworld_schema("pagila")
    s = shape("SELECT title, price FROM film_list WHERE category = 'Action' AND fid = 7", pagila)
    assert {"public.film", "public.category", "public.film_actor", "public.actor"} <= set(s.tables)
    assert pred("category", "name", "eq", value="'Action'") in s.predicates
    assert pred("film", "film_id", "eq", value="7") in s.predicates
    mat = shape("SELECT * FROM rental_by_category WHERE total_sales > 100", pagila)
    assert mat.tables == ("public.rental_by_category",)
    assert mat.predicates == (pred("rental_by_category", "total_sales", "range", value="100"),)
    pay = shape(
        "SELECT c.first_name, sum(p.amount) FROM customer c JOIN payment p USING (customer_id) "
        "WHERE p.payment_date >= $1 GROUP BY c.customer_id, c.first_name",
        pagila,
    )
    assert pred("payment", "payment_date", "range", parameter=True) in pay.predicates
    assert join("customer", "customer_id", "payment", "customer_id") in pay.joins
    info = shape("SELECT film_info FROM actor_info WHERE actor_id = 1", pagila)
    assert "tune/correlated-subquery" in rules(info)  # the view's own subquery, per row


# --- determinism -----------------------------------------------------------------------------

_RUN = """
import json, sys
from dbarchitect.model import from_json
from dbarchitect.dialects.postgres.tune.shape import shape
schema = from_json(open(sys.argv[1]).read())
print("\\n".join(repr(shape(q, schema)) for q in json.load(open(sys.argv[2]))))
"""


def test_shapes_are_deterministic_across_hash_seeds(schema: Schema, tmp_path: Path) -> None:
    """This process runs with a random hash seed; a child with a fixed one must agree."""
    queries = [*QUERIES.values(), AGREE[2][0], AGREE[12][0]]
    here = "\n".join(repr(shape(q, schema)) for q in queries) + "\n"
    assert here == "\n".join(repr(shape(q, schema)) for q in queries) + "\n"
    (tmp_path / "schema.json").write_text(to_json(schema))
    (tmp_path / "queries.json").write_text(json.dumps(queries))
    files = (str(tmp_path / "schema.json"), str(tmp_path / "queries.json"))
    child = run_with_hash_seed(_RUN, "4242", *files)
    assert child == here and here.count("Shape(") == len(queries)
