"""--verify: real builds on a copy (or on the target, cleaned up after) and EXPLAIN ANALYZE
timings before and after, on 200k generated rows where the right index is known."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dbarchitect.dialects.postgres.tune.verify import Measurement, _timings, measure, verify
from dbarchitect.engines.postgres import PostgresEngine, connect
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.errors import InputError
from dbarchitect.tune.model import Query

LOOKUP = "SELECT * FROM orders WHERE customer_id = 42"
UPDATE = "UPDATE orders SET total = total + 1 WHERE customer_id = 42"
DDL = "CREATE INDEX CONCURRENTLY orders_customer_idx ON public.orders (customer_id)"


@pytest.fixture(scope="module")
def url() -> Iterator[DatabaseURL]:
    with PostgresEngine().scratch() as db:
        with connect(db, read_only=False) as admin:
            admin.execute(
                "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL,"
                " status text NOT NULL, total numeric(12,2) NOT NULL)"
            )
            admin.execute(
                "INSERT INTO orders SELECT g, (g * 7919) % 5000, 'done', (g % 1000) / 10.0"
                " FROM generate_series(1, 200000) g"
            )
            admin.execute("VACUUM ANALYZE orders")
        yield db  # no session stays open: the copy can be a TEMPLATE clone


def queries() -> list[tuple[Query, str]]:
    return [
        (Query(fingerprint="lookup", text=LOOKUP), LOOKUP),
        (Query(fingerprint="update", text=UPDATE), UPDATE),
    ]


def indexes(url: DatabaseURL) -> list[str]:
    with connect(url) as s:
        rows = s.fetch("SELECT indexname FROM pg_indexes WHERE tablename = 'orders' ORDER BY 1")
    return [r["indexname"] for r in rows]


def total_of_42(url: DatabaseURL) -> float:
    with connect(url) as s:
        return float(s.fetch("SELECT sum(total) AS t FROM orders WHERE customer_id = 42")[0]["t"])


def test_measure_sees_the_plan_change_and_the_time_drop(url: DatabaseURL) -> None:
    with connect(url, read_only=False) as s:
        before = measure(s, LOOKUP)
        s.execute("CREATE INDEX measure_idx ON orders (customer_id)")
        try:
            after = measure(s, LOOKUP)
        finally:
            s.execute("DROP INDEX measure_idx")
    assert "Seq Scan" in before.nodes and "Seq Scan" not in after.nodes
    assert {"Index Scan", "Bitmap Index Scan"} & set(after.nodes)
    assert after.ms < before.ms and after.cost < before.cost / 10


def test_verify_on_a_copy_measures_the_drop(url: DatabaseURL) -> None:
    money = total_of_42(url)
    timings = verify(url, queries(), [DDL], on_target=False)
    assert [t.fingerprint for t in timings] == ["lookup", "update"]
    for t in timings:  # the seq scan over 200k rows became an index lookup, reads and writes
        assert t.cost_after < t.cost_before / 10
        assert t.ms_after < t.ms_before
        assert not t.disagrees
    assert indexes(url) == ["orders_pkey"]  # nothing was built on the source
    assert total_of_42(url) == money


def test_verify_copies_with_pg_dump_while_someone_is_connected(url: DatabaseURL) -> None:
    with connect(url) as busy:
        busy.fetch("SELECT 1")
        # A file-level clone needs the source idle …
        with connect(url.with_database("postgres")) as other:
            rows = other.fetch(
                "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = %s", [url.database]
            )
        assert rows[0]["n"] >= 1
        # … so verify dumps and restores it instead, with the same outcome.
        timings = verify(url, queries()[:1], [DDL], on_target=False)
    assert len(timings) == 1
    assert timings[0].cost_after < timings[0].cost_before / 10
    assert timings[0].ms_after < timings[0].ms_before


def test_verify_on_target_builds_measures_and_drops(url: DatabaseURL) -> None:
    money = total_of_42(url)
    timings = verify(url, queries(), [DDL], on_target=True)
    assert [t.fingerprint for t in timings] == ["lookup"]  # writes are not run on the target
    assert timings[0].ms_after < timings[0].ms_before
    assert timings[0].cost_after < timings[0].cost_before / 10
    assert indexes(url) == ["orders_pkey"]
    assert total_of_42(url) == money


def test_on_target_failure_still_drops_what_was_built(url: DatabaseURL) -> None:
    bad = "CREATE INDEX CONCURRENTLY orders_bad_idx ON public.orders (no_such_column)"
    with pytest.raises(InputError, match="no_such_column"):
        verify(url, queries(), [DDL, bad], on_target=True)
    assert indexes(url) == ["orders_pkey"]


def test_on_target_refuses_an_existing_name_or_an_unnamed_index(url: DatabaseURL) -> None:
    taken = "CREATE INDEX orders_pkey ON orders (status)"
    with pytest.raises(InputError, match="already exists"):
        verify(url, queries(), [DDL, taken], on_target=True)
    with pytest.raises(InputError, match="named index"):
        verify(url, queries(), ["CREATE INDEX ON orders (status)"], on_target=True)
    assert indexes(url) == ["orders_pkey"]


def test_disagreement_is_cost_and_clock_pointing_opposite_ways() -> None:
    q = [(Query(fingerprint=f"q{i}", text="SELECT 1"), "SELECT 1") for i in range(4)]
    m = Measurement
    before = {i: m(ms=10.0, cost=100.0, nodes=()) for i in range(4)}
    after = {
        0: m(ms=12.0, cost=50.0, nodes=()),  # cheaper plan, 20% slower: disagrees
        1: m(ms=10.5, cost=50.0, nodes=()),  # 5% slower is noise
        2: m(ms=5.0, cost=150.0, nodes=()),  # dearer plan, twice as fast: disagrees
        3: m(ms=5.0, cost=50.0, nodes=()),  # both dropped: agree
    }
    assert [t.disagrees for t in _timings(q, before, after)] == [True, False, True, False]
