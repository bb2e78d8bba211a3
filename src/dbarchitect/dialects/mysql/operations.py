"""MySQL/MariaDB operations: monitoring queries, alerts, backup and restore with mariadb-dump
and mariabackup, binary-log recovery, maintenance, pooling, replicas, upgrade, hardening.

Queries read information_schema and server status only (they pass the read-only guard) and
are written for MariaDB 10.5+, where each is tested; where MySQL 8 differs the text says so.
"""

from __future__ import annotations

from dbarchitect.dialects.mysql.quoting import quote_ident
from dbarchitect.model import Schema
from dbarchitect.model.stats import Stats
from dbarchitect.report.docs.guide import Alert, Check, OperationsGuide, Procedure


def guide(schema: Schema, stats: Stats | None = None) -> OperationsGuide:
    """The operations guide of a MySQL/MariaDB schema."""
    return OperationsGuide(
        engine="MySQL/MariaDB",
        monitoring=_MONITORING,
        alerts=_ALERTS,
        recovery=_RECOVERY,
        backup=_BACKUP,
        restore=_RESTORE,
        troubleshooting=_troubleshooting(schema),
        upgrade=_UPGRADE,
        hardening=_HARDENING,
        statistics=_statistics(schema),
        pooling=_POOLING,
        caching=_CACHING,
        replicas=_REPLICAS,
        partitioning=_PARTITIONING,
        # InnoDB: 5-byte record header, 6-byte transaction id, 7-byte roll pointer, plus
        # variable-length and NULL bookkeeping; secondary entries carry the primary key.
        row_overhead_bytes=20,
        index_entry_overhead_bytes=6,
        secondary_index_holds_primary_key=True,
        create_index="ALTER TABLE {table} ADD INDEX {name} ({columns}), "
        "ALGORITHM=INPLACE, LOCK=NONE;",
        param_style="qmark",
    )


_MONITORING = (
    Check(
        key="connections",
        title="Connections",
        purpose="`Threads_connected` against `max_connections` (next query), "
        "`Threads_running` (busy now), `Max_used_connections` (the peak), refused and "
        "aborted connections.",
        sql="""SHOW GLOBAL STATUS WHERE Variable_name IN ('Threads_connected',
    'Threads_running', 'Max_used_connections', 'Aborted_connects',
    'Connection_errors_max_connections')""",
    ),
    Check(
        key="limits",
        title="Connection and buffer settings",
        purpose="The limits the counters are compared with.",
        sql="""SELECT @@max_connections AS max_connections,
       @@innodb_buffer_pool_size AS buffer_pool_bytes,
       @@wait_timeout AS wait_timeout, @@innodb_lock_wait_timeout AS lock_wait_timeout""",
    ),
    Check(
        key="processlist",
        title="Long-running statements",
        purpose="Statements running for more than a minute, longest first.",
        sql="""SELECT ID, USER, HOST, DB, COMMAND, TIME, STATE, LEFT(INFO, 200) AS query
FROM information_schema.PROCESSLIST
WHERE COMMAND NOT IN ('Sleep', 'Daemon', 'Binlog Dump') AND TIME > 60
ORDER BY TIME DESC""",
    ),
    Check(
        key="long-transactions",
        title="Long-running transactions",
        purpose="InnoDB transactions open for more than five minutes: they hold row locks "
        "and stop purge, so the undo history grows.",
        sql="""SELECT trx_id, trx_mysql_thread_id AS thread_id, trx_state, trx_started,
       TIMESTAMPDIFF(SECOND, trx_started, NOW()) AS age_seconds,
       trx_rows_locked, trx_rows_modified, LEFT(trx_query, 200) AS query
FROM information_schema.INNODB_TRX
WHERE trx_started < NOW() - INTERVAL 5 MINUTE
ORDER BY trx_started""",
    ),
    Check(
        key="lock-waits",
        title="Blocked and blocking transactions",
        purpose="Who waits for a row lock and who holds it (MariaDB; on MySQL 8 use "
        "`sys.innodb_lock_waits`).",
        sql="""SELECT r.trx_mysql_thread_id AS waiting_thread,
       TIMESTAMPDIFF(SECOND, r.trx_wait_started, NOW()) AS wait_seconds,
       LEFT(r.trx_query, 120) AS waiting_query,
       b.trx_mysql_thread_id AS blocking_thread, LEFT(b.trx_query, 120) AS blocking_query
FROM information_schema.INNODB_LOCK_WAITS w
JOIN information_schema.INNODB_TRX r ON r.trx_id = w.requesting_trx_id
JOIN information_schema.INNODB_TRX b ON b.trx_id = w.blocking_trx_id
ORDER BY wait_seconds DESC""",
    ),
    Check(
        key="innodb-status",
        title="InnoDB status",
        purpose="The latest deadlock, semaphore waits, purge progress and buffer pool state "
        "in one text report (needs the PROCESS privilege).",
        sql="SHOW ENGINE INNODB STATUS",
    ),
    Check(
        key="purge-lag",
        title="Undo history (purge lag)",
        purpose="Row versions not yet purged: the InnoDB counterpart of dead rows. It grows "
        "while a transaction stays open.",
        sql="""SELECT NAME, COUNT
FROM information_schema.INNODB_METRICS
WHERE NAME IN ('trx_rseg_history_len', 'lock_deadlocks', 'lock_timeouts',
               'lock_row_lock_current_waits')""",
    ),
    Check(
        key="buffer-pool",
        title="Buffer pool hit ratio",
        purpose="Hit ratio = 1 − `Innodb_buffer_pool_reads` / "
        "`Innodb_buffer_pool_read_requests`; `pages_free` near zero with a low ratio means "
        "the working set does not fit.",
        sql="""SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_buffer_pool_read_requests',
    'Innodb_buffer_pool_reads', 'Innodb_buffer_pool_pages_free',
    'Innodb_buffer_pool_pages_total', 'Innodb_buffer_pool_wait_free')""",
    ),
    Check(
        key="server-counters",
        title="Slow queries, lock waits and temporary tables",
        purpose="Counters since start: slow queries (with `slow_query_log` on), row lock "
        "waits, and implicit temporary tables that went to disk.",
        sql="""SHOW GLOBAL STATUS WHERE Variable_name IN ('Uptime', 'Questions', 'Slow_queries',
    'Innodb_row_lock_waits', 'Innodb_row_lock_time_avg', 'Created_tmp_disk_tables',
    'Created_tmp_tables', 'Select_full_join')""",
    ),
    Check(
        key="replication",
        title="Replication status (on a replica)",
        purpose="`Slave_IO_Running` and `Slave_SQL_Running` must be Yes; "
        "`Seconds_Behind_Master` is the lag. Empty on a primary.",
        sql="SHOW REPLICA STATUS",
    ),
    Check(
        key="sizes",
        title="Table sizes and fragmentation",
        purpose="Data, index and free space per table of this database: a large `free_mb` "
        "after big deletes is reclaimed by `OPTIMIZE TABLE`.",
        sql="""SELECT TABLE_NAME, ENGINE, TABLE_ROWS,
       ROUND(DATA_LENGTH / 1048576, 1) AS data_mb,
       ROUND(INDEX_LENGTH / 1048576, 1) AS index_mb,
       ROUND(DATA_FREE / 1048576, 1) AS free_mb
FROM information_schema.TABLES
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'
ORDER BY DATA_LENGTH + INDEX_LENGTH DESC
LIMIT 20""",
    ),
    Check(
        key="auto-increment",
        title="AUTO_INCREMENT exhaustion",
        purpose="How much of each auto-increment column's range is used (a signed `int` "
        "stops at 2147483647).",
        sql="""SELECT x.TABLE_NAME, x.COLUMN_NAME, x.COLUMN_TYPE, x.next_value, x.max_value,
       ROUND(100 * x.next_value / x.max_value, 2) AS used_pct
FROM (SELECT c.TABLE_NAME, c.COLUMN_NAME, c.COLUMN_TYPE, t.AUTO_INCREMENT AS next_value,
             (CASE c.DATA_TYPE WHEN 'tinyint' THEN 255 WHEN 'smallint' THEN 65535
                  WHEN 'mediumint' THEN 16777215 WHEN 'int' THEN 4294967295
                  ELSE 18446744073709551615 END)
               >> IF(c.COLUMN_TYPE LIKE '%unsigned%', 0, 1) AS max_value
      FROM information_schema.COLUMNS c
      JOIN information_schema.TABLES t
        ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
      WHERE c.TABLE_SCHEMA = DATABASE() AND c.EXTRA LIKE '%auto_increment%') AS x
ORDER BY used_pct DESC""",
    ),
    Check(
        key="statistics-age",
        title="Persistent statistics age",
        purpose="When InnoDB last recomputed each table's statistics, and its row estimate.",
        sql="""SELECT table_name, n_rows, last_update AS analyzed_at
FROM mysql.innodb_table_stats
WHERE database_name = DATABASE()
ORDER BY last_update""",
    ),
    Check(
        key="unused-indexes",
        title="Unused secondary indexes",
        purpose="Indexes of this database no statement has read since statistics were "
        "enabled: each slows every write.",
        sql="""SELECT s.TABLE_NAME, s.INDEX_NAME
FROM information_schema.STATISTICS s
LEFT JOIN information_schema.INDEX_STATISTICS u
  ON u.TABLE_SCHEMA = s.TABLE_SCHEMA AND u.TABLE_NAME = s.TABLE_NAME
 AND u.INDEX_NAME = s.INDEX_NAME
WHERE s.TABLE_SCHEMA = DATABASE() AND s.NON_UNIQUE = 1 AND u.INDEX_NAME IS NULL
GROUP BY s.TABLE_NAME, s.INDEX_NAME""",
        requires="MariaDB with `userstat = ON` for a while first (MySQL 8: "
        "`sys.schema_unused_indexes`)",
    ),
)


_ALERTS = (
    Alert(
        metric="connections used",
        warning="> 80% of max_connections",
        critical="> 90%",
        action="Find sleeping connections holding transactions; pool in the application "
        "or with ProxySQL/MaxScale.",
        check="connections",
    ),
    Alert(
        metric="oldest transaction",
        warning="> 5 minutes",
        critical="> 30 minutes",
        action="`KILL` the thread after checking what it does.",
        check="long-transactions",
    ),
    Alert(
        metric="row lock waits",
        warning="any wait > 10 s",
        critical="lock wait timeouts rising",
        action="Find the blocking thread; shorten transactions.",
        check="lock-waits",
    ),
    Alert(
        metric="undo history length",
        warning="> 100,000",
        critical="> 1,000,000",
        action="A long transaction blocks purge: end it.",
        check="purge-lag",
    ),
    Alert(
        metric="buffer pool hit ratio",
        warning="< 99%",
        critical="< 95%",
        action="Grow `innodb_buffer_pool_size` or find the scans.",
        check="buffer-pool",
    ),
    Alert(
        metric="replica threads",
        warning="—",
        critical="IO or SQL thread not running",
        action="Read `Last_IO_Error` / `Last_SQL_Error`; fix, then `START REPLICA`.",
        check="replication",
    ),
    Alert(
        metric="replica lag",
        warning="> 30 s",
        critical="> 5 min",
        action="Large transactions or a slow replica disk; enable parallel replication.",
        check="replication",
    ),
    Alert(
        metric="auto-increment used",
        warning="> 75%",
        critical="> 90%",
        action="Widen the column to `bigint` (a table rebuild: plan it).",
        check="auto-increment",
    ),
    Alert(
        metric="deadlocks",
        warning="> 0 per hour",
        critical="> 10 per hour",
        action="`SHOW ENGINE INNODB STATUS` shows the last one; order row access.",
        check="purge-lag",
    ),
    Alert(
        metric="disk free (data and binary logs)",
        warning="< 20%",
        critical="< 10%",
        action="Check binary log retention (`binlog_expire_logs_seconds`) and fragmentation.",
    ),
)

_RECOVERY = (
    "Physical backups with mariabackup (hot, consistent, fast to restore) taken daily, plus "
    "the binary log (`log_bin`, `binlog_format = ROW`) kept since the oldest backup: "
    "restoring the backup and replaying the binary log from the backup's position recovers "
    "to any moment (the recovery point is the last binary log written out).",
    "Logical dumps (`mariadb-dump --single-transaction`) are the portable second layer: one "
    "table or one database at a time, and across major versions. Restore both kinds into a "
    "scratch server regularly and time it: that is the real recovery time.",
)

_BACKUP = (
    Procedure(
        title="Logical dump",
        text="A consistent snapshot of InnoDB tables without locking writers.",
        code="""mariadb-dump --single-transaction --routines --triggers --events --hex-blob \\
    --master-data=2 app | gzip > "app-$(date +%Y%m%d-%H%M).sql.gz"
""",
    ),
    Procedure(
        title="Physical backup",
        text="A hot copy of the data files, then prepared (made consistent) before use.",
        code="""mariabackup --backup --target-dir=/backup/base/$(date +%Y%m%d) --user=backup
mariabackup --prepare --target-dir=/backup/base/$(date +%Y%m%d)""",
    ),
    Procedure(
        title="Binary log for point-in-time recovery",
        text="In the server configuration; copy closed binary logs off the host.",
        code="""[mariadb]
log_bin = /var/lib/mysql/binlog
binlog_format = ROW
binlog_expire_logs_seconds = 1209600
sync_binlog = 1""",
        lang="ini",
    ),
)

_RESTORE = (
    Procedure(
        title="Restore a dump",
        text="Into a new database, checked before the application is switched to it.",
        code="""mariadb -e "CREATE DATABASE app_restore"
gunzip < app-20240101-0200.sql.gz | mariadb app_restore""",
    ),
    Procedure(
        title="Restore a physical backup and roll forward",
        text="Copy the prepared backup into an empty data directory, start, then replay "
        "the binary log from the position the backup recorded up to the moment before "
        "the mistake.",
        code="""systemctl stop mariadb
mv /var/lib/mysql /var/lib/mysql.broken && mkdir /var/lib/mysql
mariabackup --copy-back --target-dir=/backup/base/20240101
chown -R mysql:mysql /var/lib/mysql && systemctl start mariadb
cat /backup/base/20240101/mariadb_backup_binlog_info   # file and position
mariadb-binlog --start-position=4567 --stop-datetime="2024-01-01 12:00:00" \\
    /backup/binlog/binlog.000042 /backup/binlog/binlog.000043 | mariadb""",
    ),
)


def _troubleshooting(schema: Schema) -> tuple[Procedure, ...]:
    check = ", ".join(quote_ident(t.name) for t in schema.tables[:20])
    return (
        Procedure(
            title="Lock wait timeout exceeded",
            text="Another transaction holds the rows: the lock-waits query names it. `KILL "
            "<thread>` ends it; in the application keep transactions short and commit "
            "before calling other services.",
        ),
        Procedure(
            title="Too many connections",
            text="Sleeping connections that never close: lower `wait_timeout`, fix the "
            "application's pool, and keep one connection slot for the administrator "
            "(`extra_max_connections` on MariaDB).",
        ),
        Procedure(
            title="A query got slow",
            text="`EXPLAIN FORMAT=JSON` (or `ANALYZE FORMAT=JSON` on MariaDB, which runs it) "
            "shows the plan; stale statistics are refreshed with `ANALYZE TABLE`.",
        ),
        Procedure(
            title="Suspected corruption",
            text="Check this database's tables; InnoDB crash recovery runs at start, "
            "`innodb_force_recovery` is for dumping what is left, not for running.",
            code=f"CHECK TABLE {check};" if check else "",
            lang="sql",
        ),
    )


_UPGRADE = (
    Procedure(
        title="In place",
        text="Upgrade one major version at a time, replicas first: take a backup, install "
        "the new packages, start, and run `mariadb-upgrade` (it fixes the system tables); "
        "read the release notes for removed variables and changed defaults.",
        code="""mariabackup --backup --target-dir=/backup/pre-upgrade
apt-get install mariadb-server
mariadb-upgrade""",
    ),
    Procedure(
        title="By replication",
        text="Build a replica on the new version from a backup, let it catch up, then "
        "switch the application to it: the downtime is the switch.",
    ),
)

_HARDENING = (
    Procedure(
        title="Accounts",
        text="One account per application, limited to its network and its database, with "
        "DML only; migrations use a separate account with DDL rights.",
        code="""CREATE USER 'app'@'10.0.%' IDENTIFIED BY '…' REQUIRE SSL;
GRANT SELECT, INSERT, UPDATE, DELETE ON app.* TO 'app'@'10.0.%';
CREATE USER 'app_ro'@'10.0.%' IDENTIFIED BY '…' REQUIRE SSL;
GRANT SELECT ON app.* TO 'app_ro'@'10.0.%';""",
        lang="sql",
    ),
    Procedure(
        title="Server settings",
        text="Encrypted connections only, no file access from SQL, strict data checks.",
        code="""[mariadb]
bind_address = 10.0.0.5
require_secure_transport = ON
local_infile = OFF
secure_file_priv = /var/lib/mysql-files
skip_name_resolve = ON
sql_mode = STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION""",
        lang="ini",
    ),
    Procedure(
        title="After installing",
        text="Remove anonymous users and the test database, secure root.",
        code="mariadb-secure-installation",
    ),
)


def _statistics(schema: Schema) -> tuple[Procedure, ...]:
    tables = ", ".join(quote_ident(t.name) for t in schema.tables[:20])
    return (
        Procedure(
            title="Persistent statistics",
            text="InnoDB samples index statistics and keeps them "
            "(`innodb_stats_persistent`), recomputing after about 10% of a table changed. "
            "After bulk loads run `ANALYZE TABLE`; on MariaDB `PERSISTENT FOR ALL` also "
            "builds column histograms the optimizer uses for non-indexed filters.",
            code=f"ANALYZE TABLE {tables} PERSISTENT FOR ALL;" if tables else "",
            lang="sql",
        ),
        Procedure(
            title="Purge and fragmentation",
            text="InnoDB removes old row versions in the background (purge); a long "
            "transaction stops it. Space freed by deletes stays in the file: `OPTIMIZE "
            "TABLE` rebuilds a table online when `DATA_FREE` is large.",
        ),
    )


_POOLING = (
    Procedure(
        title="Pools and proxies",
        text="A MySQL connection is a thread: cheaper than a PostgreSQL backend, but "
        "thousands still contend. Pool in the application; MariaDB's thread pool "
        "(`thread_handling = pool-of-threads`) bounds concurrency on the server; ProxySQL or "
        "MaxScale multiplex many clients over few connections and split reads from writes. "
        "Multiplexing breaks session state: user variables, temporary tables, `GET_LOCK`, "
        "session `SET`s and server-side prepared statements pin a client to a connection.",
    ),
)

_CACHING = (
    Procedure(
        title="Buffer pool",
        text="`innodb_buffer_pool_size` at 50–75% of a dedicated server's memory holds the "
        "working set; the query cache is off by default in MariaDB and gone in MySQL 8 — "
        "cache results in the application instead.",
    ),
)

_REPLICAS = (
    Procedure(
        title="Replication for reads",
        text="Asynchronous replication with GTIDs; replicas set `read_only = ON` so only the "
        "replication thread writes. Reads right after a write belong on the primary (or "
        "wait for the GTID with `MASTER_GTID_WAIT`); semi-synchronous replication bounds "
        "loss on failover. A replica is not a backup: it replays mistakes.",
    ),
)

_PARTITIONING = (
    Procedure(
        title="Partitioning",
        text="`PARTITION BY RANGE` (dates, with `DROP PARTITION` for retention), `LIST`, "
        "`HASH` or `KEY`. Every unique key, the primary key included, must contain the "
        "partitioning columns, and partitioned InnoDB tables can neither have foreign keys "
        "nor be referenced by them: partitioning a table of this schema means dropping "
        "its foreign keys.",
    ),
)
