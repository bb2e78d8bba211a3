"""SQLite operations: integrity and space checks, backups of a live file, maintenance, the
one-writer concurrency model, upgrades and hardening — for one database file's schema.

The checks are PRAGMAs and queries that read (all but the WAL checkpoint run on a read-only
session); each is tested on a real SQLite database.
"""

from __future__ import annotations

from dbarchitect.dialects.sqlite.ddl import quote
from dbarchitect.model import Schema
from dbarchitect.model.stats import Stats
from dbarchitect.report.docs.guide import Alert, Check, OperationsGuide, Procedure, sql_literal


def guide(schema: Schema, stats: Stats | None = None) -> OperationsGuide:
    """The operations guide of a SQLite schema."""
    return OperationsGuide(
        engine="SQLite",
        monitoring=_monitoring(schema),
        alerts=_ALERTS,
        recovery=_RECOVERY,
        backup=_BACKUP,
        restore=_RESTORE,
        troubleshooting=_TROUBLESHOOTING,
        upgrade=_UPGRADE,
        hardening=_HARDENING,
        statistics=_STATISTICS,
        pooling=_POOLING,
        caching=_CACHING,
        replicas=_REPLICAS,
        partitioning=_PARTITIONING,
        # A record header (a byte or so per column), the rowid varint and a 2-byte cell pointer.
        row_overhead_bytes=8,
        index_entry_overhead_bytes=8,
        create_index="CREATE INDEX {name} ON {table} ({columns});",
        param_style="qmark",
    )


def _monitoring(schema: Schema) -> tuple[Check, ...]:
    tables = [t for t in schema.tables if not t.name.startswith("sqlite_")]
    counts = "\nUNION ALL\n".join(
        f"SELECT {sql_literal(t.name)} AS table_name, count(*) AS row_count FROM {quote(t.name)}"
        for t in tables
    )
    out = [
        Check(
            key="quick-check",
            title="Quick integrity check",
            purpose="Page and record structure without checking index contents: fast enough to "
            "run daily. Anything but a single `ok` row is corruption.",
            sql="PRAGMA quick_check",
        ),
        Check(
            key="integrity-check",
            title="Full integrity check",
            purpose="Also checks that every index matches its table; reads the whole file, so "
            "run it off-peak or on a backup copy.",
            sql="PRAGMA integrity_check",
        ),
        Check(
            key="foreign-key-check",
            title="Foreign key violations",
            purpose="Rows whose parent is missing. SQLite enforces foreign keys only on "
            "connections that set `PRAGMA foreign_keys = ON`; one that did not can leave these.",
            sql="PRAGMA foreign_key_check",
        ),
        Check(
            key="settings",
            title="Connection settings that matter",
            purpose="`foreign_keys` must be 1 on every application connection, `journal_mode` "
            "should be `wal` for concurrent readers, `busy_timeout` non-zero.",
            sql="""SELECT * FROM pragma_foreign_keys(), pragma_journal_mode(), pragma_synchronous(),
       pragma_busy_timeout(), pragma_auto_vacuum(), pragma_cache_size()""",
        ),
        Check(
            key="space",
            title="File size and free pages",
            purpose="Free pages are space the file keeps after deletes; a large share is "
            "reclaimed by `VACUUM` (or `auto_vacuum = INCREMENTAL`).",
            sql="""SELECT page_count * page_size AS file_bytes,
       freelist_count * page_size AS free_bytes,
       round(100.0 * freelist_count / max(page_count, 1), 1) AS free_pct
FROM pragma_page_count(), pragma_page_size(), pragma_freelist_count()""",
        ),
        Check(
            key="table-sizes",
            title="Space per table and index",
            purpose="Bytes per table and index, largest first.",
            sql="""SELECT name, sum(pgsize) AS bytes, count(*) AS pages
FROM dbstat
GROUP BY name
ORDER BY bytes DESC
LIMIT 20""",
            requires="the `dbstat` virtual table (SQLITE_ENABLE_DBSTAT_VTAB: the sqlite3 shell "
            "and most distributions' libraries have it)",
        ),
        Check(
            key="analyzed",
            title="Planner statistics present",
            purpose="No `sqlite_stat1` row means `ANALYZE` (or `PRAGMA optimize`) never ran "
            "and the planner guesses.",
            sql="""SELECT count(*) AS stat_tables
FROM sqlite_master
WHERE type = 'table' AND name LIKE 'sqlite_stat%'""",
        ),
        Check(
            key="wal-checkpoint",
            title="WAL checkpoint",
            purpose="Copies the write-ahead log back into the database. `busy` = 1 or "
            "`log` far above `checkpointed` means a reader keeps the WAL from being reset "
            "and it grows.",
            sql="PRAGMA wal_checkpoint(PASSIVE)",
            read_only=False,
        ),
    ]
    if counts:
        out.append(
            Check(
                key="row-counts",
                title="Rows per table",
                purpose="Growth of this schema's tables over time (a full count: cheap for "
                "small tables, a scan for large ones).",
                sql=counts,
            )
        )
    return tuple(out)


_ALERTS = (
    Alert(
        metric="quick_check / integrity_check",
        warning="—",
        critical="anything but `ok`",
        action="Stop writers, restore the last good backup, or `.recover` what is "
        "readable into a new file.",
        check="quick-check",
    ),
    Alert(
        metric="foreign key violations",
        warning="any row",
        critical="—",
        action="Find the connection that writes without `PRAGMA foreign_keys = ON`.",
        check="foreign-key-check",
    ),
    Alert(
        metric="foreign_keys on application connections",
        warning="0",
        critical="—",
        action="Set it right after opening every connection.",
        check="settings",
    ),
    Alert(
        metric="free pages",
        warning="> 25% of the file",
        critical="—",
        action="`VACUUM` off-peak (needs free disk twice the file size).",
        check="space",
    ),
    Alert(
        metric="WAL file size",
        warning="> 100 MB",
        critical="> 1 GB",
        action="A long-lived reader blocks checkpoints: close it, then checkpoint.",
        check="wal-checkpoint",
    ),
    Alert(
        metric="SQLITE_BUSY errors in the application log",
        warning="any",
        critical="sustained",
        action="Raise `busy_timeout`, shorten write transactions, "
        "start them with `BEGIN IMMEDIATE`.",
    ),
)

_RECOVERY = (
    "A SQLite database is one file (plus `-wal` and `-shm` in WAL mode), so a backup is a "
    "consistent copy of it taken while the application runs: the online backup API "
    '(`sqlite3 app.db ".backup …"`) or `VACUUM INTO`, which also compacts. Copying the file '
    "with `cp` while a writer is active produces a corrupt copy.",
    "For a recovery point closer than the last copy, stream the WAL elsewhere (Litestream "
    "does it continuously to object storage) and restore the latest snapshot plus the WAL "
    "since. Every copy is checked with `PRAGMA integrity_check` before it is trusted.",
)

_BACKUP = (
    Procedure(
        title="Online backup",
        text="Consistent while the application keeps writing; `VACUUM INTO` writes a "
        "compacted copy.",
        code="""sqlite3 app.db ".backup 'backup/app-$(date +%Y%m%d-%H%M).db'"
sqlite3 app.db "VACUUM INTO 'backup/app-$(date +%Y%m%d)-compact.db'"
sqlite3 "backup/app-$(date +%Y%m%d)-compact.db" "PRAGMA integrity_check"
""",
    ),
    Procedure(
        title="A portable SQL dump",
        text="Text that any SQLite version (and, with edits, another engine) can load.",
        code='sqlite3 app.db .dump | gzip > "backup/app-$(date +%Y%m%d).sql.gz"',
    ),
)

_RESTORE = (
    Procedure(
        title="Put a backup back",
        text="Stop the writers, move the damaged file and its `-wal`/`-shm` aside (a stale "
        "WAL would be replayed into the restored file), copy the backup in, check it.",
        code="""mv app.db app.db.broken; mv app.db-wal app.db-wal.broken 2>/dev/null
rm -f app.db-shm
cp backup/app-20240101.db app.db
sqlite3 app.db "PRAGMA integrity_check"
""",
    ),
    Procedure(
        title="Salvage a corrupt file",
        text="`.recover` reads what it can, page by page, into SQL.",
        code="sqlite3 app.db.broken .recover | sqlite3 app-recovered.db",
    ),
)

_TROUBLESHOOTING = (
    Procedure(
        title="database is locked (SQLITE_BUSY)",
        text="One writer at a time: another connection holds the write lock. Set "
        "`PRAGMA busy_timeout`, keep write transactions short, and start them with "
        "`BEGIN IMMEDIATE` so two readers never deadlock upgrading to writers.",
    ),
    Procedure(
        title="The -wal file keeps growing",
        text="A checkpoint cannot finish past a reader that started before it: find the "
        "long-lived read transaction (a forgotten cursor), then `PRAGMA "
        "wal_checkpoint(TRUNCATE)`.",
    ),
    Procedure(
        title="A query got slow",
        text="`EXPLAIN QUERY PLAN` shows `SCAN` where a `SEARCH … USING INDEX` was expected; "
        "run `ANALYZE` (stale or missing `sqlite_stat1`) or add the index.",
    ),
)

_UPGRADE = (
    Procedure(
        title="The library",
        text="The file format is stable since 3.0: upgrading SQLite means upgrading the "
        "library the application links (or Python's). Check `sqlite_version()` in "
        "production matches what tests ran on; features such as `RETURNING` (3.35), "
        "`STRICT` tables (3.37) and `VACUUM INTO` (3.27) need recent versions.",
    ),
    Procedure(
        title="The schema",
        text="`ALTER TABLE` covers renames and adding columns; other changes rebuild the "
        "table (create new, copy, drop, rename) inside one transaction with foreign keys "
        "off. Track the schema version in `PRAGMA user_version`.",
        code="PRAGMA user_version;",
        lang="sql",
    ),
)

_HARDENING = (
    Procedure(
        title="Every connection",
        text="Enforce foreign keys, refuse schema-defined functions in untrusted contexts, "
        "and wait instead of failing when the file is busy.",
        code="""PRAGMA foreign_keys = ON;
PRAGMA trusted_schema = OFF;
PRAGMA busy_timeout = 5000;
PRAGMA journal_mode = WAL;""",
        lang="sql",
    ),
    Procedure(
        title="The file",
        text="Owned by the application's user, mode 0600, in a directory the application "
        "can write (WAL needs to create `-wal` and `-shm` beside it). Readers that must not "
        "write open it with `?mode=ro`. Do not load extensions from user input; encrypt at "
        "rest with the file system or SQLCipher when the data is sensitive.",
        code="chown app:app app.db && chmod 600 app.db",
    ),
)

_STATISTICS = (
    Procedure(
        title="ANALYZE and PRAGMA optimize",
        text="`ANALYZE` fills `sqlite_stat1`, which the planner uses to choose between "
        "indexes. `PRAGMA optimize` (3.18+) re-analyzes only what changed: run it before "
        "closing long-lived connections or periodically.",
        code="PRAGMA analysis_limit = 400;\nPRAGMA optimize;",
        lang="sql",
    ),
    Procedure(
        title="Reclaiming space",
        text="Deleted rows leave free pages inside the file. `VACUUM` rewrites it (an "
        "exclusive lock, twice the space); `auto_vacuum = INCREMENTAL` set before the "
        "first table exists lets `PRAGMA incremental_vacuum` return pages gradually.",
    ),
)

_POOLING = (
    Procedure(
        title="One writer, many readers",
        text="SQLite runs in the application's process: there is no server to pool "
        "connections for. In WAL mode readers do not block the writer nor each other, but "
        "writes are serialized: use one writer connection (or a lock around writes) and a "
        "small pool of read connections, each set up with the pragmas under Hardening.",
    ),
)

_CACHING = (
    Procedure(
        title="Page cache",
        text="Each connection has its own page cache (`PRAGMA cache_size`, negative = KiB); "
        "`PRAGMA mmap_size` lets reads use the OS page cache directly. Frequently read, "
        "rarely changed rows belong in the application's memory.",
        code="PRAGMA cache_size = -65536;  -- 64 MiB\nPRAGMA mmap_size = 268435456;",
        lang="sql",
    ),
)

_REPLICAS = (
    Procedure(
        title="Read copies",
        text="No built-in replication. Readers on the same host share the file. For other "
        "hosts, Litestream restores read copies from its WAL stream, LiteFS replicates the "
        "file; if several machines must write, the workload has outgrown SQLite.",
    ),
)

_PARTITIONING = (
    Procedure(
        title="Splitting data",
        text="SQLite has no partitioning. Old data can move to per-period files that are "
        "`ATTACH`ed when needed (at most 10 by default), and a table approaching tens of "
        "gigabytes with concurrent writers is a sign to move to a server engine.",
    ),
)
