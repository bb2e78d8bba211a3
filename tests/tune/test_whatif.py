"""What-if costing with HypoPG on a read-only session, and GIN judged on a sampled copy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.dialects.postgres.tune.whatif import WhatIf, index_ddl, split_entry
from dbarchitect.engines.base import Session
from dbarchitect.engines.postgres import PostgresEngine, connect
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import InputError
from dbarchitect.model import Column, Schema, Table
from dbarchitect.tune.model import Candidate

T = "public.orders"
BY_CUSTOMER = "SELECT * FROM orders WHERE customer_id = 42 ORDER BY created_at DESC LIMIT 10"
BY_TAG = """SELECT id FROM orders WHERE payload @> '{"tag": 7}'"""


@pytest.fixture(scope="module")
def db() -> Iterator[tuple[Session, Schema]]:
    with PostgresEngine().scratch() as url:
        admin = connect(url, read_only=False)
        admin.execute("CREATE EXTENSION hypopg")
        admin.execute(
            "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL,"
            " created_at timestamptz NOT NULL, status text NOT NULL, payload jsonb NOT NULL)"
        )
        admin.execute(
            "INSERT INTO orders SELECT g, (g * 7919) % 5000, timestamptz '2024-01-01'"
            " + g * interval '1 minute', CASE WHEN g % 500 = 0 THEN 'pending' ELSE 'done' END,"
            " jsonb_build_object('tag', g % 1000, 'n', g) FROM generate_series(1, 200000) g"
        )
        admin.execute("VACUUM ANALYZE orders")
        schema = get_dialect("postgres").introspect(admin)
        admin.close()
        session = connect(url)  # read-only, as on a user's database
        try:
            yield session, schema
        finally:
            session.close()


def hypothetical(session: Session) -> set[int]:
    return {
        int(r["indexrelid"]) for r in session.fetch("SELECT indexrelid FROM hypopg_list_indexes")
    }


def test_missing_extension_is_an_input_error_with_the_fix(pg_url: DatabaseURL) -> None:
    with connect(pg_url) as session, pytest.raises(InputError, match="CREATE EXTENSION hypopg"):
        WhatIf(session, Schema(dialect="postgres"))


def test_the_right_index_lowers_the_cost_incrementally(db: tuple[Session, Schema]) -> None:
    session, schema = db
    w = WhatIf(session, schema)
    composite = Candidate(table=T, columns=("customer_id", "created_at"))
    single = Candidate(table=T, columns=("customer_id",))
    other = Candidate(table=T, columns=("status",))
    try:
        base = w.cost(BY_CUSTOMER, [])
        with_single = w.cost(BY_CUSTOMER, [single])
        first = hypothetical(session)
        with_both = w.cost(BY_CUSTOMER, [single, composite])
        second = hypothetical(session)
        with_composite = w.cost(BY_CUSTOMER, [composite, other])
        third = hypothetical(session)
        assert with_single < base / 10
        assert with_composite < with_single  # no sort: the index gives the order
        assert with_both == pytest.approx(with_composite)
        # incremental: the single-column index kept its oid, then was dropped, nothing reset
        assert len(first) == 1 and first < second and len(second) == 2
        assert len(third) == 2 and not (first & third) and (second & third)
        assert w.cost(BY_CUSTOMER, []) == pytest.approx(base)
        assert hypothetical(session) == set()
        assert w.calls == 5
    finally:
        w.close()


def test_close_drops_every_hypothetical_index(db: tuple[Session, Schema]) -> None:
    session, schema = db
    w = WhatIf(session, schema)
    w.cost(
        BY_CUSTOMER,
        [Candidate(table=T, columns=("customer_id",)), Candidate(table=T, columns=("status",))],
    )
    assert len(hypothetical(session)) == 2
    w.close()
    assert hypothetical(session) == set()


def test_partial_and_include_indexes_are_simulated(db: tuple[Session, Schema]) -> None:
    session, schema = db
    w = WhatIf(session, schema)
    sql = "SELECT id, created_at FROM orders WHERE status = 'pending' ORDER BY created_at LIMIT 20"
    try:
        base = w.cost(sql, [])
        partial = w.cost(
            sql, [Candidate(table=T, columns=("created_at",), where="status = 'pending'")]
        )
        covering = w.cost(
            BY_CUSTOMER.replace("*", "id"),
            [Candidate(table=T, columns=("customer_id", "created_at"), include=("id",))],
        )
        assert partial < base / 10
        assert covering < base / 10
        assert w.skipped == {}
    finally:
        w.close()


def test_a_rejected_candidate_is_skipped_with_a_reason(db: tuple[Session, Schema]) -> None:
    session, schema = db
    w = WhatIf(session, schema)
    bad = Candidate(table=T, columns=("(no_such_function(customer_id))",))
    good = Candidate(table=T, columns=("customer_id",))
    try:
        base = w.cost(BY_CUSTOMER, [])
        cost = w.cost(BY_CUSTOMER, [bad, good])
        assert cost < base / 10  # the good one still counts
        assert "no_such_function" in w.skipped[bad.key]
        assert w.cost(BY_CUSTOMER, [bad]) == pytest.approx(base)  # not retried, no error
        with pytest.raises(InputError, match="cannot plan"):
            w.cost("SELECT no_such_column FROM orders", [])
    finally:
        w.close()


def test_gin_is_judged_by_a_real_build_on_a_sample(db: tuple[Session, Schema]) -> None:
    session, schema = db
    w = WhatIf(session, schema)
    gin = Candidate(table=T, columns=("payload jsonb_path_ops",), method="gin")
    try:
        base = w.cost(BY_TAG, [])
        with_gin = w.cost(BY_TAG, [gin])
        again = w.cost(BY_TAG, [gin, Candidate(table=T, columns=("status",))])
        assert with_gin < base / 5
        assert again == pytest.approx(with_gin)
        assert w.builds == 1 and w.skipped == {}
        # A GIN index that cannot help this query leaves its cost alone.
        other = Candidate(table=T, columns=("payload",), method="gin")
        assert w.cost(BY_CUSTOMER, [other]) == pytest.approx(w.cost(BY_CUSTOMER, []))
        assert w.builds == 2
        # An operator class the server does not know: skipped with the server's reason.
        bad = Candidate(table=T, columns=("payload no_such_ops",), method="gin")
        assert w.cost(BY_TAG, [bad]) == pytest.approx(base)
        assert "no_such_ops" in w.skipped[bad.key]
    finally:
        w.close()


def test_index_ddl_quotes_names_and_keeps_expressions() -> None:
    table = Table(
        schema="Sales",
        name="Order",
        columns=(
            Column(name="select", type="integer"),
            Column(name="Created At", type="timestamp with time zone"),
            Column(name="email", type="text"),
            Column(name="doc", type="jsonb"),
        ),
    )
    schema = Schema(dialect="postgres", tables=(table,))
    cand = Candidate(
        table="Sales.Order",
        columns=("select", "Created At DESC", "(lower(email))"),
        include=("doc",),
        where="\"select\" > 5 AND email LIKE 'A%'",
    )
    assert index_ddl(schema, cand, "ix", concurrently=True) == (
        'CREATE INDEX CONCURRENTLY ix ON "Sales"."Order" USING btree ("select",'
        ' "Created At" DESC, (lower(email))) INCLUDE (doc) WHERE "select" > 5 AND email LIKE \'A%\''
    )
    gin = Candidate(table="Sales.Order", columns=("doc jsonb_path_ops",), method="gin")
    assert (
        index_ddl(schema, gin) == 'CREATE INDEX ON "Sales"."Order" USING gin (doc jsonb_path_ops)'
    )
    assert split_entry("(a + b) DESC", table) == ("(a + b)", True, "DESC")
    assert split_entry("(f(')'))", table) == ("(f(')'))", True, "")
