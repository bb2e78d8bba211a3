"""bind() and explain() on a real PostgreSQL: parameters take values from pg_stats, ranges are
narrow, literals stay as written, and what cannot be bound is planned generically even in a
read-only session."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from dbarchitect.dialects.postgres.tune.bind import bind
from dbarchitect.dialects.postgres.tune.explain import explain, parameters
from dbarchitect.engines.base import Session
from dbarchitect.engines.postgres import connect
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import InputError, ReadOnlyViolation
from dbarchitect.model import Schema
from tests.tune.helpers import postgres_db

SETUP = """
CREATE TABLE customers (id int PRIMARY KEY, name varchar(40) NOT NULL);
INSERT INTO customers SELECT g, 'Customer ' || g FROM generate_series(1, 500) g;
CREATE TABLE orders (
  id int PRIMARY KEY, customer_id int NOT NULL REFERENCES customers, status text NOT NULL,
  amount int NOT NULL, created_at timestamptz NOT NULL, email text NOT NULL);
INSERT INTO orders
SELECT g, 1 + g % 500,
       CASE WHEN g % 10 < 7 THEN 'shipped' WHEN g % 10 < 9 THEN 'pending' ELSE 'it''s odd' END,
       g % 1000, '2024-01-01'::timestamptz + g * interval '1 minute', 'user' || g || '@Example.org'
FROM generate_series(1, 20000) g;
CREATE SCHEMA archive;
CREATE TABLE archive.orders (id int PRIMARY KEY, note text);
INSERT INTO archive.orders SELECT g, 'n' || g FROM generate_series(1, 300) g;
CREATE TABLE fresh (id int, v text) WITH (autovacuum_enabled = false);
ANALYZE customers; ANALYZE orders; ANALYZE archive.orders;
"""


@dataclass(frozen=True)
class Db:
    url: DatabaseURL
    schema: Schema


@pytest.fixture(scope="module")
def db() -> Iterator[Db]:
    with postgres_db(SETUP) as (url, schema):
        yield Db(url, schema)


@pytest.fixture
def ro(db: Db) -> Iterator[Session]:
    with connect(db.url, read_only=True) as session:
        yield session


@pytest.fixture
def rw(db: Db) -> Iterator[Session]:
    with connect(db.url, read_only=False) as session:
        yield session


def _count(session: Session, where: str) -> int:
    return int(session.fetch(f"SELECT count(*) AS n FROM orders WHERE {where}")[0]["n"])


def _common(session: Session, column: str) -> list[str]:
    rows = session.fetch(
        "SELECT most_common_vals::text::text[] AS v FROM pg_stats"
        " WHERE schemaname = 'public' AND tablename = 'orders' AND attname = %s",
        (column,),
    )
    return list(rows[0]["v"])


def test_equality_takes_the_most_common_value(db: Db, ro: Session) -> None:
    top = _common(ro, "status")[0]
    assert top == "shipped"
    sql = "SELECT id FROM orders WHERE status = $1"
    assert bind(ro, sql, db.schema) == "SELECT id FROM orders WHERE status = 'shipped'::text"
    # a parameter on the left is the same column comparison
    assert bind(ro, "SELECT 1 FROM orders WHERE $1 <> status", db.schema).endswith(
        "WHERE 'shipped'::text <> status"
    )


def test_lists_take_distinct_common_values_quoted_and_typed(db: Db, ro: Session) -> None:
    bound = bind(ro, "SELECT id FROM orders WHERE status IN ($1, $2, $3)", db.schema)
    assert bound == (
        "SELECT id FROM orders WHERE status IN ('shipped'::text, 'pending'::text,"
        " 'it''s odd'::text)"
    )
    assert _count(ro, bound.split("WHERE ", 1)[1]) == 20000
    bound = bind(ro, "SELECT id FROM orders WHERE customer_id = ANY($1)", db.schema)
    assert bound.startswith("SELECT id FROM orders WHERE customer_id = ANY(ARRAY['")
    assert bound.count("::integer") == 10
    assert _count(ro, bound.split("WHERE ", 1)[1]) > 0


@pytest.mark.parametrize(
    "condition",
    [
        "amount > $1",
        "amount >= $1",
        "amount < $1",
        "$1 > created_at",
        "created_at > $1",
        "amount BETWEEN $1 AND $2",
        "created_at BETWEEN $1 AND $2",
    ],
)
def test_ranges_select_a_narrow_slice(db: Db, ro: Session, condition: str) -> None:
    bound = bind(ro, f"SELECT id FROM orders WHERE {condition}", db.schema)
    assert parameters(bound) == 0
    share = _count(ro, bound.split("WHERE ", 1)[1]) / 20000
    assert 0.005 <= share <= 0.05, (bound, share)


def test_like_takes_a_prefix_of_a_common_value(db: Db, ro: Session) -> None:
    bound = bind(ro, "SELECT id FROM orders WHERE email LIKE $1", db.schema)
    pattern = bound.split("LIKE ", 1)[1]
    assert pattern.startswith("'user") and pattern.endswith("%'")
    assert 0 < _count(ro, f"email LIKE {pattern}") < 20000


def test_limit_and_offset(db: Db, ro: Session) -> None:
    sql = "SELECT id FROM orders ORDER BY id LIMIT $1 OFFSET $2"
    assert bind(ro, sql, db.schema) == "SELECT id FROM orders ORDER BY id LIMIT 100 OFFSET 0"


def test_literals_comments_and_case_are_untouched(db: Db, ro: Session) -> None:
    sql = (
        "select O.Id, 'Keep $1 AND Case' AS \"Label $2\" -- not a parameter: $3\n"
        "FROM Orders o /* $1 */ WHERE o.Status = $1 AND E'a\\'$2' <> o.email"
        " AND o.amount < $2 AND $$ $1 $$ IS NOT NULL"
    )
    expected = sql.replace("o.Status = $1", "o.Status = 'shipped'::text").replace(
        "o.amount < $2", "o.amount < '20'::integer"
    )
    bound = bind(ro, sql, db.schema)
    assert bound == expected
    assert ro.fetch(bound) is not None  # and it runs


def test_scopes_resolve_aliases_joins_and_subqueries(db: Db, ro: Session) -> None:
    sql = (
        "SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id"
        " WHERE c.name = $1 AND status = $2"
        " AND EXISTS (SELECT 1 FROM orders x WHERE x.customer_id = c.id AND x.amount < $3)"
    )
    bound = bind(ro, sql, db.schema)
    assert "c.name = '" in bound and "'::character varying(40)" in bound
    assert "status = 'shipped'::text" in bound
    assert "x.amount < '" in bound and "'::integer)" in bound
    assert parameters(bound) == 0
    # a schema-qualified table is not confused with public.orders
    sql = "SELECT 1 FROM archive.orders a WHERE a.note = $1 AND a.id < $2"
    bound = bind(ro, sql, db.schema)
    assert "a.note = 'n" in bound and "'::text" in bound
    assert parameters(bound) == 0


def test_cte_columns_fall_back_to_a_generic_plan(db: Db, ro: Session) -> None:
    sql = "WITH t AS (SELECT status AS s FROM orders) SELECT count(*) FROM t WHERE s = $1"
    bound = bind(ro, sql, db.schema)
    assert bound == sql
    plan = explain(ro, bound)
    assert "$1" in str(plan["Plan"])


def test_generic_plan_in_a_read_only_session(db: Db, ro: Session) -> None:
    sql = "SELECT id FROM orders WHERE status = $1 AND lower(email) = $2 AND amount = $3"
    bound = bind(ro, sql, db.schema)
    # $2 has no column to take a value from: it stays, renumbered $1; the others are bound
    assert bound == (
        "SELECT id FROM orders WHERE status = 'shipped'::text AND lower(email) = $1"
        " AND amount = '0'::integer"
    )
    assert parameters(bound) == 1
    plan = explain(ro, bound)
    assert plan["Plan"]["Node Type"] == "Seq Scan"
    assert "lower(email) = $1" in plan["Plan"]["Filter"]
    assert "'shipped'::text" in plan["Plan"]["Filter"]
    # nothing is left behind in the session
    assert ro.fetch("SHOW plan_cache_mode") == [{"plan_cache_mode": "auto"}]
    assert ro.fetch("SELECT name FROM pg_prepared_statements WHERE name LIKE 'dbarch%'") == []
    assert ro.fetch("SELECT count(*) AS n FROM orders") == [{"n": 20000}]
    # and a generic plan inside the caller's own transaction keeps its settings
    with ro.transaction():
        explain(ro, "SELECT id FROM orders WHERE lower(email) = $1")
        explain(ro, "SELECT id FROM orders WHERE upper(email) = $1")
        assert ro.fetch("SHOW plan_cache_mode") == [{"plan_cache_mode": "auto"}]


def test_a_column_without_statistics_falls_back(db: Db, ro: Session) -> None:
    sql = "SELECT * FROM fresh WHERE v = $1 AND id > $2"
    assert bind(ro, sql, db.schema) == sql
    plan = explain(ro, sql)
    assert "$1" in plan["Plan"]["Filter"] and "$2" in plan["Plan"]["Filter"]


def test_writes_are_bound_and_planned_without_running(db: Db, ro: Session, rw: Session) -> None:
    bound = bind(ro, "UPDATE orders SET amount = $1 WHERE id = $2", db.schema)
    assert parameters(bound) == 0 and "SET amount = '" in bound
    assert explain(ro, bound)["Plan"]["Node Type"] == "ModifyTable"
    # assigned columns without statistics become a NULL of the column's type
    bound = bind(ro, "INSERT INTO fresh (v, id) VALUES ($1, $2)", db.schema)
    assert bound == "INSERT INTO fresh (v, id) VALUES (NULL::text, NULL::integer)"
    assert explain(ro, bound)["Plan"]["Operation"] == "Insert"
    # a write whose parameter has no value cannot be prepared on a read-only session
    sql = "DELETE FROM orders WHERE lower(email) = $1"
    with pytest.raises(InputError, match="DELETE with parameter"):
        bind(ro, sql, db.schema)
    # a writable (scratch) session plans it generically, and nothing is deleted
    assert bind(rw, sql, db.schema) == sql
    assert explain(rw, sql)["Plan"]["Operation"] == "Delete"
    assert _count(ro, "true") == 20000 and ro.fetch("SELECT count(*) AS n FROM fresh")[0]["n"] == 0


def test_analyze_runs_writes_in_a_rolled_back_transaction(db: Db, ro: Session, rw: Session) -> None:
    plan = explain(rw, "DELETE FROM orders WHERE amount < 10", analyze=True)
    assert plan["Plan"]["Operation"] == "Delete"
    scan = plan["Plan"]["Plans"][0]
    assert scan["Actual Rows"] == 200 and "Shared Hit Blocks" in scan  # ANALYZE, BUFFERS
    assert _count(ro, "amount < 10") == 200
    read = explain(ro, "SELECT count(*) FROM orders", analyze=True)
    assert read["Plan"]["Actual Rows"] == 1
    with pytest.raises(ReadOnlyViolation, match=r"EXPLAIN ANALYZE runs Delete.*DELETE FROM"):
        explain(ro, "DELETE FROM orders WHERE amount < 10", analyze=True)
    with pytest.raises(InputError, match="with parameters"):
        explain(rw, "SELECT id FROM orders WHERE lower(email) = $1", analyze=True)
    assert _count(ro, "amount < 10") == 200


def test_errors_are_one_line_naming_the_query(db: Db, ro: Session) -> None:
    with pytest.raises(InputError) as err:
        explain(ro, "SELECT nope\nFROM orders")
    message = str(err.value)
    assert "\n" not in message
    assert '"SELECT nope FROM orders"' in message and 'column "nope" does not exist' in message
    with pytest.raises(InputError, match="does not parse"):
        bind(ro, "SELECT * FROM WHERE $1", db.schema)
    with pytest.raises(InputError, match="2 statements"):
        bind(ro, "SELECT $1; SELECT 2", db.schema)
    with pytest.raises(InputError, match=r"EXPLAIN of \"SELECT \$1 \+ \$2\": operator is not"):
        explain(ro, "SELECT $1 + $2")
    assert ro.fetch("SELECT 1 AS one") == [{"one": 1}]  # the session survived


def test_relations_are_resolved_as_the_server_does(db: Db, ro: Session) -> None:
    plan = explain(ro, "SELECT * FROM archive.orders a JOIN orders o ON o.id = a.id;")
    relations = {(r["Schema"], r["Relation Name"]): r for r in plan["Relations"]}
    assert set(relations) == {("archive", "orders"), ("public", "orders")}
    assert relations["archive", "orders"]["Rows"] == 300
    assert relations["public", "orders"]["Rows"] == 20000
    # the statement's own qualified names come first: findings pick archive.orders for it
    assert [r["Schema"] for r in plan["Relations"]] == ["archive", "public"]
    assert explain(ro, "SELECT 1")["Relations"] == []
