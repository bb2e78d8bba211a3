"""The operations guide's monitoring queries and runnable SQL, run on real engines.

Each engine's queries come from the guide's data (`Check.sql`), run on a database holding a
real schema — through a read-only session when the guide says they only read — and must also
appear verbatim in the database-operations.md that `write_docs` writes.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.postgres import conninfo
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.model import Schema
from dbarchitect.model.stats import Stats
from dbarchitect.report.docs import write_docs
from dbarchitect.report.docs.guide import OperationsGuide
from dbarchitect.sources import introspect_url
from tests.conftest import REALWORLD, ROOT

SHOP = ROOT / "examples" / "shop.sql"

# Objects that make the PostgreSQL guide write its schema-specific steps: a large table and
# one with many dead rows (per-table autovacuum, VACUUM), a table never analyzed, RLS that
# the owner bypasses, a SECURITY DEFINER function without a search_path.
PG_EXTRA = """
CREATE EXTENSION pg_stat_statements;
CREATE TABLE shop.event_log (id bigint) WITH (autovacuum_enabled = false);
INSERT INTO shop.event_log SELECT generate_series(1, 1000000);
CREATE TABLE shop.churn (id int, note text) WITH (autovacuum_enabled = false);
INSERT INTO shop.churn SELECT g, 'x' FROM generate_series(1, 5000) g;
DELETE FROM shop.churn WHERE id <= 3000;
CREATE TABLE shop.tenant_doc (tenant_id int NOT NULL, body text);
ALTER TABLE shop.tenant_doc ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_doc_isolation ON shop.tenant_doc
    USING (tenant_id = current_setting('app.tenant_id')::int);
CREATE FUNCTION shop.customer_count() RETURNS bigint
    LANGUAGE sql SECURITY DEFINER AS 'SELECT count(*) FROM shop.customer';
"""


def _operations_md(schema: Schema, stats: Stats | None, tmp: Path) -> str:
    paths = write_docs(schema, tmp, stats=stats, source="test")
    return next(p for p in paths if p.name == "database-operations.md").read_text()


def _assert_in_document(guide: OperationsGuide, md: str) -> None:
    assert guide.monitoring, "the guide has monitoring queries"
    for check in guide.monitoring:
        assert check.sql in md, f"{check.key} is not in database-operations.md"
        assert check.title in md


@pytest.fixture(scope="module")
def pg_live() -> Iterator[tuple[DatabaseURL, Schema, Stats]]:
    """A scratch PostgreSQL database with the shop schema, PG_EXTRA, and its statistics."""
    dialect = get_dialect("postgres")
    engine = dialect.engine()
    with engine.scratch() as url:
        engine.load_files(url, [SHOP])
        with engine.connect(url, read_only=False) as session:
            session.execute(PG_EXTRA)
        schema = introspect_url(url)
        # Counters reach the shared statistics when the writing backend ends: wait for them.
        deadline = time.monotonic() + 10
        while True:
            with engine.connect(url, read_only=True) as session:
                stats = dialect.collect_stats(session)
            assert stats is not None
            big = stats.tables.get("shop.event_log")
            churn = stats.tables.get("shop.churn")
            if big and big.rows >= 1_000_000 and churn and churn.dead_rows >= 3000:
                break
            assert time.monotonic() < deadline, "statistics never showed the loaded rows"
            time.sleep(0.2)
        yield url, schema, stats


def test_postgres_monitoring_queries_run_read_only(
    pg_live: tuple[DatabaseURL, Schema, Stats], tmp_path: Path
) -> None:
    url, schema, stats = pg_live
    dialect = get_dialect("postgres")
    guide = dialect.operations(schema, stats)
    keys = {c.key for c in guide.monitoring}
    for wanted in (
        "long-transactions",
        "blocking",
        "replication-lag",
        "bloat",
        "cache-hit",
        "unused-indexes",
        "sequences",
        "xid-age",
        "connections",
        "top-statements",
    ):
        assert wanted in keys
    results = {}
    with dialect.engine().connect(url, read_only=True) as session:
        for check in guide.monitoring:
            assert check.read_only
            results[check.key] = session.fetch(check.sql)
    # The queries see this schema: its tables, its identity sequences, its database.
    assert {r["relname"] for r in results["dead-tuples"]} >= {"churn", "customer", "order"}
    churn = next(r for r in results["dead-tuples"] if r["relname"] == "churn")
    assert churn["n_dead_tup"] == 3000
    sequences = {(r["sequencename"], r["column_name"]) for r in results["sequences"]}
    assert ("customer_customer_id_seq", "customer_id") in sequences
    assert len(results["cache-hit"]) == 1
    assert results["connections"][0]["max_connections"] > 0
    assert {r["index_name"] for r in results["unused-indexes"]} >= {"order_item_product_id_idx"}
    _assert_in_document(guide, _operations_md(schema, stats, tmp_path))


def test_postgres_schema_specific_steps_run(pg_live: tuple[DatabaseURL, Schema, Stats]) -> None:
    """Hardening, per-table maintenance and troubleshooting SQL marked runnable runs as
    written (inside a transaction that is rolled back)."""
    url, schema, stats = pg_live
    guide = get_dialect("postgres").operations(schema, stats)
    steps = [*guide.hardening, *guide.table_maintenance, *guide.troubleshooting, *guide.upgrade]
    runnable = [p for p in steps if p.runnable]
    titles = " | ".join(p.title for p in runnable)
    code = "\n".join(p.code for p in steps)
    assert "shop.event_log: 1,000,000 rows" in titles
    assert "autovacuum_vacuum_scale_factor" in code
    assert "shop.event_log: never analyzed" in titles
    assert "VACUUM (ANALYZE, VERBOSE) shop.churn;" in code
    assert "ALTER TABLE shop.tenant_doc FORCE ROW LEVEL SECURITY;" in code
    assert "ALTER FUNCTION shop.customer_count() SET search_path = pg_catalog, shop;" in code
    assert "ALTER EXTENSION pg_stat_statements UPDATE;" in code
    pooling = " ".join(p.text for p in guide.pooling)
    assert "`app.tenant_id`" in pooling
    with psycopg.connect(conninfo(url)) as conn:
        for step in runnable:
            assert step.lang == "sql"
            conn.execute(step.code)
            conn.rollback()


def test_sqlite_monitoring_queries_run(sqlite_url: DatabaseURL, tmp_path: Path) -> None:
    dialect = get_dialect("sqlite")
    engine = dialect.engine()
    engine.load_files(sqlite_url, [REALWORLD / "chinook" / "Chinook_Sqlite.sql"])
    schema = introspect_url(sqlite_url)
    guide = dialect.operations(schema)
    keys = {c.key for c in guide.monitoring}
    assert {
        "integrity-check",
        "quick-check",
        "foreign-key-check",
        "space",
        "wal-checkpoint",
    } <= keys
    results = {}
    for check in guide.monitoring:
        with engine.connect(sqlite_url, read_only=check.read_only) as session:
            results[check.key] = session.fetch(check.sql)
    assert results["integrity-check"] == [{"integrity_check": "ok"}]
    assert results["foreign-key-check"] == []
    counts = {r["table_name"]: r["row_count"] for r in results["row-counts"]}
    assert counts["Track"] == 3503 and len(counts) == 11
    assert not next(c for c in guide.monitoring if c.key == "wal-checkpoint").read_only
    _assert_in_document(guide, _operations_md(schema, None, tmp_path))


def test_mariadb_monitoring_queries_run(mysql_url: DatabaseURL, tmp_path: Path) -> None:
    dialect = get_dialect("mysql")
    engine = dialect.engine()
    url = engine.load_files(mysql_url, [REALWORLD / "sakila-mysql" / "sakila-schema.sql"])
    schema = introspect_url(url)
    guide = dialect.operations(schema)
    keys = {c.key for c in guide.monitoring}
    assert {"processlist", "innodb-status", "long-transactions", "auto-increment"} <= keys
    results = {}
    with engine.connect(url, read_only=True) as session:
        for check in guide.monitoring:
            assert check.read_only
            results[check.key] = session.fetch(check.sql)
    assert "INNODB MONITOR OUTPUT" in results["innodb-status"][0]["Status"]
    auto = {r["TABLE_NAME"]: r for r in results["auto-increment"]}
    # sakila's category_id is tinyint unsigned: its range ends at 255.
    assert int(auto["category"]["max_value"]) == 255
    assert int(auto["actor"]["max_value"]) == 65535
    sizes = {r["TABLE_NAME"] for r in results["sizes"]}
    assert {"film", "rental", "payment"} <= sizes
    _assert_in_document(guide, _operations_md(schema, None, tmp_path))
