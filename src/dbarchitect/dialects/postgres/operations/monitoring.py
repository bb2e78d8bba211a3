"""PostgreSQL monitoring queries and the alert thresholds that go with them.

Each query reads statistics views and catalogs only, so it runs on a read-only session, and
is written for PostgreSQL 13 and later; `ns` is the SQL list of the schema's namespaces.
"""

from __future__ import annotations

from dbarchitect.report.docs.guide import Alert, Check


def monitoring(ns: str, version: int) -> tuple[Check, ...]:
    relations = f"""FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname IN ({ns})"""
    checkpoints = (
        "SELECT num_timed AS timed, num_requested AS requested, write_time, sync_time\n"
        "FROM pg_stat_checkpointer"
        if version >= 170000
        else "SELECT checkpoints_timed AS timed, checkpoints_req AS requested,\n"
        "       checkpoint_write_time AS write_time, checkpoint_sync_time AS sync_time\n"
        "FROM pg_stat_bgwriter"
    )
    return (
        Check(
            key="connections",
            title="Connections against max_connections",
            purpose="How close the server is to refusing connections, and how many sessions "
            "sit `idle in transaction` holding locks and snapshots.",
            sql="""SELECT count(*) AS connections,
       current_setting('max_connections')::int AS max_connections,
       round(100.0 * count(*) / current_setting('max_connections')::int, 1) AS used_pct,
       count(*) FILTER (WHERE state = 'active') AS active,
       count(*) FILTER (WHERE state = 'idle in transaction') AS idle_in_transaction
FROM pg_stat_activity
WHERE backend_type = 'client backend'""",
        ),
        Check(
            key="long-transactions",
            title="Long-running transactions",
            purpose="Transactions open for more than five minutes: they hold locks and keep "
            "VACUUM from removing dead rows in every table.",
            sql="""SELECT pid, usename, application_name, client_addr, state,
       now() - xact_start AS transaction_age, now() - query_start AS query_age,
       wait_event_type, wait_event, left(query, 200) AS query
FROM pg_stat_activity
WHERE xact_start IS NOT NULL
  AND now() - xact_start > interval '5 minutes'
  AND backend_type = 'client backend'
ORDER BY xact_start""",
        ),
        Check(
            key="blocking",
            title="Blocked and blocking sessions",
            purpose="Who waits for a lock and who holds it (`pg_blocking_pids`); the blocker "
            "at the head of the queue is the one to cancel.",
            sql="""SELECT blocked.pid AS blocked_pid, blocked.usename AS blocked_user,
       now() - blocked.query_start AS waiting_for,
       left(blocked.query, 120) AS blocked_query,
       blocking.pid AS blocking_pid, blocking.usename AS blocking_user,
       blocking.state AS blocking_state, left(blocking.query, 120) AS blocking_query
FROM pg_stat_activity AS blocked
CROSS JOIN LATERAL unnest(pg_blocking_pids(blocked.pid)) AS b(pid)
JOIN pg_stat_activity AS blocking ON blocking.pid = b.pid
ORDER BY waiting_for DESC""",
        ),
        Check(
            key="replication-lag",
            title="Replication lag (on the primary)",
            purpose="Bytes and time each standby is behind. Run it on the primary; on a "
            "standby use the next query.",
            sql="""SELECT application_name, client_addr, state, sync_state,
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) AS replay_lag_bytes,
       write_lag, flush_lag, replay_lag
FROM pg_stat_replication
ORDER BY replay_lag_bytes DESC NULLS FIRST""",
        ),
        Check(
            key="standby-delay",
            title="Replay delay (on a standby)",
            purpose="How old the last replayed transaction is; NULL on a primary.",
            sql="""SELECT pg_is_in_recovery() AS is_standby,
       now() - pg_last_xact_replay_timestamp() AS replay_delay,
       pg_last_wal_receive_lsn() AS received_lsn,
       pg_last_wal_replay_lsn() AS replayed_lsn""",
        ),
        Check(
            key="replication-slots",
            title="Replication slots and the WAL they retain",
            purpose="An inactive slot keeps every WAL segment since it stopped: the disk fills.",
            sql="""SELECT slot_name, slot_type, active, wal_status,
       pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)) AS retained_wal
FROM pg_replication_slots
ORDER BY pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) DESC NULLS LAST""",
        ),
        Check(
            key="archiver",
            title="WAL archiving",
            purpose="Point-in-time recovery needs every WAL segment: failures here are gaps.",
            sql="""SELECT archived_count, failed_count, last_archived_wal, last_archived_time,
       last_failed_wal, last_failed_time, now() - last_archived_time AS since_last_archive
FROM pg_stat_archiver""",
        ),
        Check(
            key="dead-tuples",
            title="Dead rows and vacuum recency per table",
            purpose="Tables whose dead rows pile up (autovacuum is behind or blocked) and "
            "tables whose statistics are stale.",
            sql=f"""SELECT schemaname, relname, n_live_tup, n_dead_tup,
       round(100.0 * n_dead_tup / nullif(n_live_tup + n_dead_tup, 0), 1) AS dead_pct,
       n_mod_since_analyze, last_autovacuum, last_vacuum, last_autoanalyze, last_analyze
FROM pg_stat_user_tables
WHERE schemaname IN ({ns})
ORDER BY n_dead_tup DESC
LIMIT 20""",
        ),
        Check(
            key="bloat",
            title="Table bloat estimate",
            purpose="Heap size against what the live rows need (average row width from "
            "`pg_stats`, 28 bytes of overhead per row): a rough but cheap estimate; "
            "`pgstattuple` measures exactly.",
            sql=f"""SELECT c.oid::regclass AS table_name,
       pg_size_pretty(pg_relation_size(c.oid)) AS size,
       greatest(c.reltuples, 0)::bigint AS estimated_rows,
       pg_size_pretty(greatest(pg_relation_size(c.oid)
         - (greatest(c.reltuples, 0) * (w.row_bytes + 28))::bigint, 0)) AS estimated_bloat,
       round(100 * greatest(1 - greatest(c.reltuples, 0) * (w.row_bytes + 28)
         / nullif(pg_relation_size(c.oid), 0), 0)::numeric, 1) AS bloat_pct
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL (SELECT coalesce(sum(s.avg_width), 0) AS row_bytes FROM pg_stats s
                    WHERE s.schemaname = n.nspname AND s.tablename = c.relname) AS w
WHERE n.nspname IN ({ns}) AND c.relkind = 'r'
ORDER BY pg_relation_size(c.oid) DESC
LIMIT 20""",
        ),
        Check(
            key="cache-hit",
            title="Cache hit ratio and temporary files",
            purpose="Share of reads served from shared buffers, spills to temporary files "
            "(too little `work_mem`) and deadlocks, for this database since the last reset.",
            sql="""SELECT datname, blks_hit, blks_read,
       round(100.0 * blks_hit / nullif(blks_hit + blks_read, 0), 2) AS hit_pct,
       temp_files, pg_size_pretty(temp_bytes) AS temp_written, deadlocks, stats_reset
FROM pg_stat_database
WHERE datname = current_database()""",
        ),
        Check(
            key="table-cache-hit",
            title="Cache hit ratio per table",
            purpose="The tables that are read from disk most: candidates for more memory, "
            "a better index or a cache in front.",
            sql=f"""SELECT schemaname, relname, heap_blks_read, heap_blks_hit,
       round(100.0 * heap_blks_hit / nullif(heap_blks_hit + heap_blks_read, 0), 2) AS hit_pct
FROM pg_statio_user_tables
WHERE schemaname IN ({ns})
ORDER BY heap_blks_read DESC
LIMIT 20""",
        ),
        Check(
            key="unused-indexes",
            title="Unused indexes",
            purpose="Indexes never scanned since the statistics were reset (not behind a "
            "constraint): each one slows every write. Check replicas too before dropping.",
            sql=f"""SELECT s.schemaname, s.relname AS table_name, s.indexrelname AS index_name,
       s.idx_scan, pg_size_pretty(pg_relation_size(s.indexrelid)) AS index_size
FROM pg_stat_user_indexes s
JOIN pg_index i ON i.indexrelid = s.indexrelid
WHERE s.idx_scan = 0 AND NOT i.indisunique
  AND s.schemaname IN ({ns})
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = s.indexrelid)
ORDER BY pg_relation_size(s.indexrelid) DESC""",
        ),
        Check(
            key="invalid-indexes",
            title="Invalid indexes",
            purpose="Left behind by a failed `CREATE INDEX CONCURRENTLY`: maintained on every "
            "write, never used. Drop and rebuild them.",
            sql=f"""SELECT n.nspname AS schemaname, c.relname AS index_name,
       i.indrelid::regclass AS table_name
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT i.indisvalid AND n.nspname IN ({ns})""",
        ),
        Check(
            key="sequences",
            title="Sequence and identity exhaustion",
            purpose="How much of each sequence is used, against the smaller of its own maximum "
            "and the column type it feeds (an `integer` column stops at 2147483647).",
            sql=f"""SELECT s.schemaname, s.sequencename, d.refobjid::regclass AS table_name,
       a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS column_type,
       s.last_value, lim.max AS limit_value,
       round(100.0 * s.last_value / lim.max, 2) AS used_pct
FROM pg_sequences s
JOIN pg_namespace sn ON sn.nspname = s.schemaname
JOIN pg_class sc ON sc.relname = s.sequencename AND sc.relnamespace = sn.oid
LEFT JOIN pg_depend d ON d.objid = sc.oid AND d.classid = 'pg_class'::regclass
     AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
CROSS JOIN LATERAL (SELECT least(s.max_value, CASE a.atttypid
       WHEN 'int2'::regtype THEN 32767 WHEN 'int4'::regtype THEN 2147483647
       ELSE s.max_value END)::numeric AS max) AS lim
WHERE s.schemaname IN ({ns})
ORDER BY s.last_value / lim.max DESC NULLS LAST""",
        ),
        Check(
            key="xid-age",
            title="Transaction ID wraparound",
            purpose="Age of the oldest unfrozen transaction ID per database; at about 2.1 "
            "billion PostgreSQL stops accepting writes until a VACUUM freezes old rows.",
            sql="""SELECT datname, age(datfrozenxid) AS xid_age,
       round(100.0 * age(datfrozenxid) / 2147483647, 1) AS pct_to_wraparound,
       current_setting('autovacuum_freeze_max_age')::bigint AS freeze_max_age
FROM pg_database
ORDER BY age(datfrozenxid) DESC""",
        ),
        Check(
            key="table-xid-age",
            title="Oldest tables to freeze",
            purpose="The tables an anti-wraparound VACUUM will visit first, with their size.",
            sql=f"""SELECT c.oid::regclass AS table_name, age(c.relfrozenxid) AS xid_age,
       pg_size_pretty(pg_total_relation_size(c.oid)) AS total_size
{relations} AND c.relkind IN ('r', 'm')
ORDER BY age(c.relfrozenxid) DESC
LIMIT 10""",
        ),
        Check(
            key="sizes",
            title="Largest tables and their indexes",
            purpose="Where the space goes: heap, indexes, and estimated rows.",
            sql=f"""SELECT c.oid::regclass AS table_name,
       pg_size_pretty(pg_total_relation_size(c.oid)) AS total_size,
       pg_size_pretty(pg_relation_size(c.oid)) AS heap_size,
       pg_size_pretty(pg_indexes_size(c.oid)) AS index_size,
       greatest(c.reltuples, 0)::bigint AS estimated_rows
{relations} AND c.relkind IN ('r', 'm')
ORDER BY pg_total_relation_size(c.oid) DESC
LIMIT 20""",
        ),
        Check(
            key="vacuum-progress",
            title="Vacuums running now",
            purpose="Which tables (auto)vacuum is working on, in which phase, for how long.",
            sql="""SELECT p.pid, p.relid::regclass AS table_name, p.phase,
       p.heap_blks_scanned, p.heap_blks_total, now() - a.xact_start AS running_for
FROM pg_stat_progress_vacuum p
JOIN pg_stat_activity a ON a.pid = p.pid""",
        ),
        Check(
            key="checkpoints",
            title="Checkpoints",
            purpose="Requested checkpoints outnumbering timed ones mean `max_wal_size` is too "
            "small for the write load.",
            sql=checkpoints,
        ),
        Check(
            key="top-statements",
            title="Top statements by total time",
            purpose="Where the server's time goes, per normalized statement, for this database.",
            sql="""SELECT queryid, calls, round(total_exec_time::numeric, 1) AS total_ms,
       round(mean_exec_time::numeric, 2) AS mean_ms, rows,
       round(100.0 * shared_blks_hit / nullif(shared_blks_hit + shared_blks_read, 0), 1)
         AS hit_pct,
       left(query, 200) AS query
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY total_exec_time DESC
LIMIT 20""",
            requires="the pg_stat_statements extension: `shared_preload_libraries = "
            "'pg_stat_statements'` and `CREATE EXTENSION pg_stat_statements`",
        ),
        Check(
            key="xmin-holders",
            title="What holds back VACUUM",
            purpose="The oldest snapshots: sessions, replication slots and prepared "
            "transactions whose xmin stops dead rows from being removed.",
            sql="""SELECT 'session' AS holder, pid::text AS name, age(backend_xmin) AS xmin_age
FROM pg_stat_activity WHERE backend_xmin IS NOT NULL
UNION ALL
SELECT 'replication slot', slot_name::text, age(coalesce(xmin, catalog_xmin))
FROM pg_replication_slots WHERE coalesce(xmin, catalog_xmin) IS NOT NULL
UNION ALL
SELECT 'prepared transaction', gid, age(transaction) FROM pg_prepared_xacts
ORDER BY xmin_age DESC
LIMIT 10""",
        ),
    )


ALERTS = (
    Alert(
        metric="connections used",
        warning="> 80% of max_connections",
        critical="> 90%",
        action="Find idle and idle-in-transaction sessions; put a pooler "
        "in front; never raise max_connections blindly (memory per backend).",
        check="connections",
    ),
    Alert(
        metric="oldest transaction",
        warning="> 5 minutes",
        critical="> 30 minutes",
        action="Cancel or terminate it; set `idle_in_transaction_session_timeout`.",
        check="long-transactions",
    ),
    Alert(
        metric="sessions waiting on a lock",
        warning="any for > 30 s",
        critical="any for > 2 min",
        action="Cancel the head blocker; give DDL a `lock_timeout`.",
        check="blocking",
    ),
    Alert(
        metric="replication lag",
        warning="> 30 s or > 1 GB",
        critical="> 5 min or > 10 GB",
        action="Look for long queries on the standby, network or disk limits.",
        check="replication-lag",
    ),
    Alert(
        metric="WAL retained by slots",
        warning="> 10 GB",
        critical="wal_status 'unreserved' or 'lost', or < 10% disk free",
        action="Drop or fix the inactive slot; set `max_slot_wal_keep_size`.",
        check="replication-slots",
    ),
    Alert(
        metric="WAL archive failures",
        warning="failed_count rising",
        critical="no successful archive for > 15 min",
        action="Fix the archive destination: until then point-in-time recovery has a gap.",
        check="archiver",
    ),
    Alert(
        metric="cache hit ratio",
        warning="< 99%",
        critical="< 95%",
        action="Grow shared_buffers or memory, or find the scans that read from disk.",
        check="cache-hit",
    ),
    Alert(
        metric="dead rows in a table",
        warning="> 20% of rows",
        critical="> 50%",
        action="Check what holds back VACUUM, then tune that table's autovacuum.",
        check="dead-tuples",
    ),
    Alert(
        metric="transaction ID age",
        warning="> 500 million",
        critical="> 1 billion",
        action="Find what blocks anti-wraparound vacuum; run "
        "`VACUUM (FREEZE, VERBOSE)` on the oldest tables.",
        check="xid-age",
    ),
    Alert(
        metric="sequence or identity used",
        warning="> 75%",
        critical="> 90%",
        action="Widen the column to bigint (a rewrite: plan it) before it runs out.",
        check="sequences",
    ),
    Alert(
        metric="invalid indexes",
        warning="any",
        critical="—",
        action="Drop and rebuild with `CREATE INDEX CONCURRENTLY`.",
        check="invalid-indexes",
    ),
    Alert(
        metric="deadlocks",
        warning="> 0 per hour",
        critical="> 10 per hour",
        action="Make transactions touch rows in one order; the server log names them.",
        check="cache-hit",
    ),
    Alert(
        metric="disk free on the data volume",
        warning="< 20%",
        critical="< 10%",
        action="Check WAL retention, bloat and temp files before adding space.",
    ),
)
