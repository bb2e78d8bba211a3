"""The row sample behind size estimates, on a table stored in key order (like TPC-H's lineitem,
loaded by l_orderkey): distinct key combinations and index sizes against the real counts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.dialects.postgres.tune.rowsample import combinations, sampled_tuple, table_info
from dbarchitect.dialects.postgres.tune.size import estimate_size
from dbarchitect.dialects.postgres.tune.whatif import index_ddl
from dbarchitect.engines.base import Session
from dbarchitect.engines.postgres import PostgresEngine, connect
from dbarchitect.model import Schema
from dbarchitect.tune.model import Candidate

T = "public.items"
ROWS = 200_000


@pytest.fixture(scope="module")
def db() -> Iterator[tuple[Session, Session, Schema]]:
    with PostgresEngine().scratch() as url:
        admin = connect(url, read_only=False)
        # Four rows per order, stored in order: a block sample sees whole orders.
        admin.execute(
            "CREATE TABLE items (order_id int NOT NULL, line int NOT NULL, flag char(1) NOT NULL,"
            " part int NOT NULL, price numeric(15,2) NOT NULL, PRIMARY KEY (order_id, line))"
        )
        admin.execute(
            f"INSERT INTO items SELECT g / 4, g % 4, CASE WHEN (g * 7) % 3 = 0 THEN 'R'"
            f" ELSE 'N' END, (g * 7919) % 20000, ((g * 31) % 100000) / 100.0"
            f" FROM generate_series(0, {ROWS - 1}) g"
        )
        admin.execute("VACUUM ANALYZE items")
        schema = get_dialect("postgres").introspect(admin)
        reader = connect(url)
        try:
            yield admin, reader, schema
        finally:
            reader.close()
            admin.close()


def test_distinct_combinations_are_counted_on_a_uniform_row_sample(
    db: tuple[Session, Session, Schema],
) -> None:
    admin, reader, schema = db
    info = table_info(reader, schema, T)
    for columns in (["order_id", "flag"], ["part", "flag"], ["order_id"]):
        cols = ", ".join(columns)
        true = admin.fetch(f"SELECT count(*) AS n FROM (SELECT DISTINCT {cols} FROM items) s")
        estimate = combinations(reader, info, columns)
        # A block sample finds under a fifth of the pairs here. Chao1 overestimates when the sample
        # is a large part of the table (30,000 of 200,000 rows): a safe side for a budget.
        assert 0.9 <= estimate / true[0]["n"] <= 1.5, (columns, estimate, true[0]["n"])
    assert table_info(reader, schema, T) is info  # read once per session


def test_sizes_of_clustered_composites_and_covering_indexes_match_real_builds(
    db: tuple[Session, Session, Schema],
) -> None:
    admin, reader, schema = db
    for i, cand in enumerate(
        (
            Candidate(table=T, columns=("order_id", "flag")),
            Candidate(table=T, columns=("part", "line"), include=("price", "order_id")),
        )
    ):
        admin.execute(index_ddl(schema, cand, f"ix_{i}"))
        real = int(admin.fetch(f"SELECT pg_relation_size('ix_{i}') AS s")[0]["s"])
        admin.execute(f"DROP INDEX ix_{i}")
        estimate = estimate_size(reader, schema, cand)
        assert 0.9 <= estimate / real <= 1.15, (cand.columns, estimate, real)


def test_tuple_widths_are_averaged_row_by_row(db: tuple[Session, Session, Schema]) -> None:
    _, reader, schema = db
    info = table_info(reader, schema, T)
    # int4 + int4 + a numeric of 3 to 7 bytes, after the 8-byte header: 19 to 23 bytes, so
    # every tuple takes 24; a numeric first and ints after it pads to 4 before the ints.
    assert sampled_tuple(reader, info, ["part", "line", "price"]) == 24.0
    fixed = sampled_tuple(reader, info, ["order_id", "line"])
    assert fixed == 16.0
