"""Live statistics on the scratch cluster: what a real workload moves, read through a
read-only session, and the operations rules' restraint on a fresh database."""

from __future__ import annotations

import psycopg
import pytest

from dbarchitect.dialects import get_dialect
from dbarchitect.engines.postgres import conninfo
from dbarchitect.engines.url import DatabaseURL
from dbarchitect.model.stats import Stats
from dbarchitect.review import ReviewConfig, load_config
from dbarchitect.review.source import review_url
from tests.conftest import FIXTURES

PG = get_dialect("postgres")

SCHEMA = """
CREATE SCHEMA app;
CREATE TABLE app.orders (id serial PRIMARY KEY, customer_id int NOT NULL, note text);
CREATE INDEX orders_customer_idx ON app.orders (customer_id);
CREATE TABLE app."Order Lines" (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                                order_id int REFERENCES app.orders);
CREATE SEQUENCE public.ring AS smallint CYCLE;
INSERT INTO app.orders (customer_id, note) SELECT g % 100, 'n' FROM generate_series(1, 4000) g;
"""

# Three whole-table reads and two index lookups, in a psql session that then exits: PG 15
# publishes a backend's counters when it ends, so they are visible to the next session.
WORKLOAD = """
SELECT count(*) FROM app.orders;
SELECT count(*) FROM app.orders WHERE note = 'x';
SELECT sum(customer_id) FROM app.orders WHERE note = 'n';
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*) FROM app.orders WHERE customer_id = 7;
SELECT count(*) FROM app.orders WHERE customer_id = 8;
UPDATE app.orders SET note = 'u' WHERE id <= 100;
DELETE FROM app.orders WHERE id > 3900;
"""


def _collect(url: DatabaseURL) -> Stats:
    with PG.engine().connect(url, read_only=True) as session:
        stats = PG.collect_stats(session)
    assert stats is not None
    return stats


def _run(url: DatabaseURL, sql: str) -> None:
    PG.engine().run_script(url, sql)


def test_counters_follow_a_real_workload(pg_url: DatabaseURL) -> None:
    _run(pg_url, SCHEMA)
    before = _collect(pg_url)
    _run(pg_url, WORKLOAD)
    after = _collect(pg_url)

    t0, t1 = before.tables["app.orders"], after.tables["app.orders"]
    assert t1.seq_scan - t0.seq_scan == 3
    assert t1.seq_tup_read - t0.seq_tup_read == 3 * 4000
    assert t1.idx_scan - t0.idx_scan >= 2
    ix0, ix1 = (
        before.indexes["app.orders.orders_customer_idx"],
        after.indexes["app.orders.orders_customer_idx"],
    )
    assert ix1.scans - ix0.scans == 2
    assert ix1.size_bytes > 0
    assert t1.writes - t0.writes == 100 + 100  # updated plus deleted rows
    assert t1.dead_rows - t0.dead_rows == 200
    assert t1.rows == 3900
    assert t1.seconds_since_vacuum is None and not t1.has_column_stats

    # Keys are the review's object names, unquoted; system schemas are left out.
    assert "app.Order Lines" in after.tables
    assert not [k for k in after.tables if k.startswith(("pg_", "information_schema"))]
    serial = after.sequences["app.orders_id_seq"]
    assert (serial.last_value, serial.data_type, serial.owned_by) == (
        4000,
        "integer",
        "app.orders.id",
    )
    assert serial.max_value == 2**31 - 1
    identity = after.sequences["app.Order Lines_id_seq"]
    assert identity.owned_by == "app.Order Lines.id" and identity.last_value is None
    assert after.sequences["public.ring"].cycle
    assert after.window_seconds >= before.window_seconds > 0
    assert after.blocks_hit > before.blocks_hit and after.xid_age > 0


def test_maintenance_shows_and_column_stats_survive_a_reset(pg_url: DatabaseURL) -> None:
    # The scratch server commits asynchronously; VACUUM cannot mark a page all-visible
    # before the inserting commit is on disk, so this load commits synchronously.
    _run(pg_url, "SET synchronous_commit = on;" + SCHEMA)
    _run(pg_url, "VACUUM (ANALYZE) app.orders;")
    done = _collect(pg_url).tables["app.orders"]
    assert done.seconds_since_vacuum is not None and done.seconds_since_analyze is not None
    assert done.all_visible_pages > 0 and done.has_column_stats
    assert done.dead_rows == 0
    # Sizes come from relpages (no lock taken): after VACUUM they match the files, short of
    # the free space and visibility maps; growth since is scaled from the row count.
    with psycopg.connect(conninfo(pg_url)) as conn:
        row = conn.execute("SELECT pg_table_size('app.orders')").fetchone()
    assert row is not None and done.size_bytes <= row[0] <= done.size_bytes + 64 * 1024
    _run(pg_url, "INSERT INTO app.orders (customer_id) SELECT 1 FROM generate_series(1, 4000);")
    grown = _collect(pg_url).tables["app.orders"]
    assert grown.rows == 8000 and grown.size_bytes == 2 * done.size_bytes

    # A statistics reset forgets the timestamps and restarts the window; the catalog still
    # knows the table was vacuumed (visibility map) and analyzed (pg_stats).
    _run(pg_url, "SELECT pg_stat_reset();")
    reset = _collect(pg_url)
    t = reset.tables["app.orders"]
    assert t.seconds_since_vacuum is None and t.seconds_since_analyze is None
    assert t.all_visible_pages > 0 and t.has_column_stats
    assert reset.window_seconds < 60
    config = ReviewConfig(
        only=frozenset({"table-never-analyzed", "table-never-vacuumed"}),
        thresholds={"stats-window-days": 0},
    )
    _, findings = review_url(pg_url, config)
    assert findings == []


def _counters(url: DatabaseURL) -> list[tuple[object, ...]]:
    with psycopg.connect(conninfo(url)) as conn:
        return conn.execute(
            "SELECT relname, seq_scan, idx_scan, n_tup_ins, n_tup_upd, n_tup_del"
            " FROM pg_stat_user_tables ORDER BY relid"
        ).fetchall()


def test_collecting_is_read_only_and_changes_nothing(pg_url: DatabaseURL) -> None:
    _run(pg_url, SCHEMA + WORKLOAD)
    counters = _counters(pg_url)
    first = _collect(pg_url)  # through the statement guard of a read-only session
    second = _collect(pg_url)
    assert _counters(pg_url) == counters  # no user table was read or written
    assert first.tables == second.tables
    assert first.indexes == second.indexes
    assert first.sequences == second.sequences  # reading last_value does not advance it


def test_a_fresh_database_reports_no_unused_index(pg_url: DatabaseURL) -> None:
    _run(pg_url, SCHEMA + "CREATE INDEX orders_note_idx ON app.orders (note);")
    only = frozenset({"unused-index"})
    # The scratch server started minutes ago: its statistics say nothing about usage yet.
    _, quiet = review_url(pg_url, ReviewConfig(only=only))
    assert quiet == []
    # The window is what keeps it quiet: accepted as long enough, the same indexes show.
    thresholds = {"stats-window-days": 0, "unused-index-min-bytes": 0}
    _, loud = review_url(pg_url, ReviewConfig(only=only, thresholds=thresholds))
    assert {f.object for f in loud} == {
        "app.orders.orders_customer_idx",
        "app.orders.orders_note_idx",
    }


def test_a_partitioned_index_counts_its_partitions_scans(pg_url: DatabaseURL) -> None:
    _run(
        pg_url,
        """
        CREATE TABLE m (id int, k int, v int) PARTITION BY RANGE (id);
        CREATE TABLE m1 PARTITION OF m FOR VALUES FROM (0) TO (1000);
        CREATE TABLE m2 PARTITION OF m FOR VALUES FROM (1000) TO (2000);
        CREATE INDEX m_k_idx ON m (k);
        CREATE INDEX m_v_idx ON m (v);
        INSERT INTO m SELECT g, g % 10, g % 10 FROM generate_series(0, 1999) g;
        SET enable_seqscan = off;
        SELECT count(*) FROM m WHERE id < 1000 AND k = 3;
        """,
    )
    thresholds = {"stats-window-days": 0, "unused-index-min-bytes": 0}
    _, findings = review_url(
        pg_url, ReviewConfig(only=frozenset({"unused-index"}), thresholds=thresholds)
    )
    # m_k_idx was used through one partition: the parent index is used. Partition indexes
    # are never reported on their own (they cannot be dropped apart from the parent's).
    assert [(f.object, f.fix) for f in findings] == [
        ("public.m.m_v_idx", "DROP INDEX public.m_v_idx;")
    ]


FIXED_BY_THEIR_FIX = [
    "unused-index",
    "table-bloat-suspected",
    "table-never-vacuumed",
    "table-never-analyzed",
    "sequence-near-exhaustion",
    "xid-wraparound-age",
]


@pytest.mark.parametrize("rule_id", FIXED_BY_THEIR_FIX)
def test_the_suggested_fix_clears_the_finding(rule_id: str) -> None:
    folder = FIXTURES / "review" / rule_id
    path = folder / "config.toml"
    config = (load_config(path) if path.exists() else ReviewConfig()).model_copy(
        update={"only": frozenset({rule_id})}
    )
    engine = PG.engine()
    with engine.scratch() as url:
        engine.load_files(url, [folder / "fail.sql"])
        workload = folder / "fail.workload.sql"
        if workload.is_file():
            _run(url, workload.read_text(encoding="utf-8"))
        _, findings = review_url(url, config)
        assert findings and all(f.fix for f in findings)
        for f in findings:
            _run(url, f.fix or "")
        _, after = review_url(url, config)
    assert after == []


def test_a_sequence_is_limited_by_the_column_it_feeds(pg_url: DatabaseURL) -> None:
    # Neither OWNED BY nor identity: only the column's nextval() default ties them.
    _run(
        pg_url,
        """
        CREATE SCHEMA "App";
        CREATE SEQUENCE "App"."Ticket Ids";
        CREATE TABLE "App".tickets (id integer PRIMARY KEY DEFAULT nextval('"App"."Ticket Ids"'));
        SELECT setval('"App"."Ticket Ids"', 2000000000);
        """,
    )
    config = ReviewConfig(only=frozenset({"sequence-near-exhaustion"}))
    _, findings = review_url(pg_url, config)
    assert [(f.object, f.fix) for f in findings] == [
        (
            "App.Ticket Ids",
            'ALTER TABLE "App".tickets ALTER COLUMN id TYPE bigint;\n'
            "-- each ALTER COLUMN TYPE rewrites its table under an ACCESS EXCLUSIVE lock",
        )
    ]
    assert "integer column App.tickets.id" in findings[0].message
    _run(pg_url, findings[0].fix or "")
    assert review_url(pg_url, config)[1] == []
