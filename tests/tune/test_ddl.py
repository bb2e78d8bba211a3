"""The advised CREATE INDEX runs as printed: online forms, partitioned tables included."""

from __future__ import annotations

import psycopg

from dbarchitect.dialects.postgres.tune.ddl import index_sql
from dbarchitect.engines.postgres import conninfo
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.sources import introspect_url
from dbarchitect.tune.model import Candidate

SETUP = """
CREATE TABLE events (id bigint, at date NOT NULL, region text NOT NULL, "Kind" text)
    PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')
    PARTITION BY LIST (region);
CREATE TABLE events_2025_eu PARTITION OF events_2025 FOR VALUES IN ('eu');
CREATE TABLE events_2025_us PARTITION OF events_2025 FOR VALUES IN ('us');
CREATE TABLE plain (id bigint PRIMARY KEY, "Kind" text);
INSERT INTO events SELECT g, date '2024-06-01' + (g % 400), CASE WHEN g % 2 = 0 THEN 'eu'
    ELSE 'us' END, 'k' || (g % 3) FROM generate_series(1, 2000) g;
"""


def run_printed(url: DatabaseURL, ddl: str) -> None:
    """Each statement on its own, outside a transaction, as psql would run the advice."""
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        for statement in ddl.split(";\n"):
            conn.execute(statement)


def valid_indexes(url: DatabaseURL) -> dict[str, bool]:
    with psycopg.connect(conninfo(url)) as conn:
        rows = conn.execute(
            "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c"
            " ON c.oid = i.indexrelid WHERE c.relname LIKE '%kind%'"
        ).fetchall()
    return {name: valid for name, valid in rows}


def test_online_index_on_a_partition_tree_ends_valid(pg_url: DatabaseURL) -> None:
    with psycopg.connect(conninfo(pg_url), autocommit=True) as conn:
        conn.execute(SETUP)
    schema = introspect_url(pg_url)
    ddl = index_sql(schema, Candidate(table="public.events", columns=("Kind", "at")), "ev_kind")
    assert ddl.startswith('CREATE INDEX ev_kind ON ONLY public.events ("Kind", at)')
    assert "CONCURRENTLY" in ddl and "ATTACH PARTITION" in ddl
    run_printed(pg_url, ddl)
    found = valid_indexes(pg_url)
    # the parent, the sub-partitioned 2025 level and the three leaves, all valid
    assert len(found) == 5 and all(found.values()), found
    assert found["ev_kind"]


def test_plain_table_and_copy_forms(pg_url: DatabaseURL) -> None:
    with psycopg.connect(conninfo(pg_url), autocommit=True) as conn:
        conn.execute(SETUP)
    schema = introspect_url(pg_url)
    cand = Candidate(table="public.plain", columns=("Kind",), include=("id",), where="id > 10")
    ddl = index_sql(schema, cand, "plain_kind")
    assert ddl == (
        'CREATE INDEX CONCURRENTLY plain_kind ON public.plain ("Kind") INCLUDE (id) WHERE id > 10'
    )
    run_printed(pg_url, ddl)
    tree = index_sql(
        schema, Candidate(table="public.events", columns=("Kind",)), "ev_kind", concurrently=False
    )
    assert tree == 'CREATE INDEX ev_kind ON public.events ("Kind")'
    run_printed(pg_url, tree)
    assert all(valid_indexes(pg_url).values())
