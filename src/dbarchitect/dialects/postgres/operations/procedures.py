"""PostgreSQL procedures: backup, restore, troubleshooting, upgrade, hardening, maintenance,
pooling, caching, replicas and partitioning, written for one schema where it matters."""

from __future__ import annotations

from dbarchitect.dialects.postgres.quoting import quote
from dbarchitect.model import Schema
from dbarchitect.model.schema import Table
from dbarchitect.model.stats import Stats
from dbarchitect.report.docs.guide import Procedure

# Autovacuum's defaults (scale factor 0.2) wait for a fifth of a table to be dead: fine for
# small tables, far too late for big ones. Tables from this size get their own settings.
BIG_TABLE_ROWS = 1_000_000


RECOVERY = (
    "Two layers. Continuous archiving — a base backup (`pg_basebackup`, or pgBackRest / "
    "WAL-G, which add retention, compression and parallelism) plus every WAL segment — "
    "restores the cluster to any moment: the recovery point is the last archived WAL "
    "(seconds to `archive_timeout`), the recovery time is the base backup's copy plus "
    "replaying the WAL since it, so take base backups daily or weekly by write volume.",
    "Logical dumps (`pg_dump --format=custom`) are the second layer: portable across major "
    "versions, restorable one table at a time, and the way to recover from a mistake in one "
    "table without rewinding the whole cluster. Keep `pg_dumpall --globals-only` with them: "
    "roles and their passwords are not in a database dump.",
    "A backup that was never restored is a hope: restore the latest one into a scratch "
    "server on a schedule, run the integrity and row-count checks, and record how long it "
    "took — that is the real recovery time.",
)


def backup(namespaces: list[str]) -> tuple[Procedure, ...]:
    only = " ".join(f"--schema={quote(n)}" for n in namespaces if n != "public")
    return (
        Procedure(
            title="Logical backup of this database",
            text="A compressed, parallel-restorable dump, plus the roles it needs."
            + (" `--schema` keeps it to this schema's namespaces." if only else ""),
            code=f"""pg_dump --format=custom --compress=6 {only + " " if only else ""}\\
        --file="app-$(date +%Y%m%d-%H%M).dump" "$DATABASE_URL"
pg_dumpall --globals-only > "globals-$(date +%Y%m%d).sql"  # password hashes: keep it safe
pg_restore --list "app-$(date +%Y%m%d)"*.dump > /dev/null  # the archive is readable""",
        ),
        Procedure(
            title="Continuous archiving (point-in-time recovery)",
            text="In `postgresql.conf`, then restart. The archive command must fail when the "
            "copy fails and never overwrite a segment.",
            code="""wal_level = replica
archive_mode = on
archive_command = 'test ! -f /backup/wal/%f && cp %p /backup/wal/%f'
archive_timeout = 60s""",
            lang="ini",
        ),
        Procedure(
            title="Base backup",
            text="Streams the WAL it needs with it; verify it before trusting it.",
            code="""pg_basebackup --pgdata=/backup/base/$(date +%Y%m%d) --format=tar --gzip \\
        --wal-method=stream --checkpoint=fast --progress --manifest-checksums=SHA256
pg_verifybackup --no-parse-wal /backup/base/$(date +%Y%m%d)""",
        ),
    )


def restore(schema: Schema, stats: Stats | None) -> tuple[Procedure, ...]:
    example = _largest(schema, stats)
    one_table = (
        f"pg_restore --dbname=app_restore --data-only --table={quote(example.name)} app.dump"
        if example
        else ""
    )
    return (
        Procedure(
            title="Restore a dump into a new database",
            text="Restore beside the live database, check it, then switch. Statistics are not "
            "in a dump: analyze before the first query.",
            code=f"""createdb app_restore
pg_restore --dbname=app_restore --jobs=4 --no-owner --exit-on-error app.dump
vacuumdb --dbname=app_restore --analyze-in-stages
{one_table}""".rstrip(),
        ),
        Procedure(
            title="Point-in-time recovery",
            text="Stop the server, keep the broken data directory aside, lay down the base "
            "backup, name the moment to stop at, and start: PostgreSQL replays the archived "
            "WAL up to it and then promotes.",
            code="""systemctl stop postgresql
mv "$PGDATA" "$PGDATA.broken"
mkdir "$PGDATA" && tar -xzf /backup/base/20240101/base.tar.gz -C "$PGDATA"
cat >> "$PGDATA/postgresql.auto.conf" <<'EOF'
restore_command = 'cp /backup/wal/%f %p'
recovery_target_time = '2024-01-01 12:00:00+00'
recovery_target_action = 'promote'
EOF
touch "$PGDATA/recovery.signal"
chown -R postgres:postgres "$PGDATA" && chmod 700 "$PGDATA"
systemctl start postgresql
psql -c "SELECT pg_is_in_recovery()"  # false once the target is reached""",
        ),
    )


def _largest(schema: Schema, stats: Stats | None) -> Table | None:
    tables = [t for t in schema.tables if t.partition_of is None and t.partitioning is None]
    if not tables:
        return None
    if stats:
        rows = {k: v.rows for k, v in stats.tables.items()}
        return max(tables, key=lambda t: rows.get(t.qualified, 0))
    # Without statistics: the table with most foreign keys, usually the busiest fact table.
    return max(tables, key=lambda t: len(t.foreign_keys))


TROUBLESHOOTING = (
    Procedure(
        title="Everything waits: a lock queue",
        text="Run the blocking query above. Cancel the head blocker's statement first, "
        "terminate its session if it is idle in transaction. For DDL, set a `lock_timeout` "
        "and retry rather than queue behind a long query.",
        code="""SELECT pg_cancel_backend(12345);     -- the blocking_pid
SELECT pg_terminate_backend(12345);  -- if it is idle in transaction
SET lock_timeout = '5s';             -- before ALTER TABLE in a migration""",
        lang="sql",
    ),
    Procedure(
        title="FATAL: sorry, too many clients already",
        text="Count sessions by state and application; most are usually idle. Put PgBouncer "
        "in front and cap idle transactions instead of raising `max_connections`.",
        code="""SELECT application_name, state, count(*)
FROM pg_stat_activity GROUP BY 1, 2 ORDER BY 3 DESC""",
        lang="sql",
        runnable=True,
    ),
    Procedure(
        title="A table keeps growing",
        text="Dead rows VACUUM cannot remove: check the `xmin` holders above (long "
        "transactions, stale replication slots, forgotten prepared transactions), then run "
        "`VACUUM (VERBOSE)` on the table and read what it could not remove.",
    ),
    Procedure(
        title="A query got slow",
        text="Compare its plan with its history: `EXPLAIN (ANALYZE, BUFFERS)` on a copy or "
        "a replica, stale statistics (`ANALYZE` the table), a parameter whose generic plan "
        "is bad (`plan_cache_mode`), or a lost index (the invalid-indexes query).",
    ),
    Procedure(
        title="The disk fills with WAL",
        text="An inactive replication slot or a failing `archive_command`: the slot and "
        "archiver queries above tell which. Dropping the slot frees the WAL at the next "
        "checkpoint; the standby that used it must then be rebuilt.",
    ),
    Procedure(
        title="A standby lags or cancels queries",
        text="Long queries on the standby conflict with replay: `hot_standby_feedback = on` "
        "trades conflicts for bloat on the primary; `max_standby_streaming_delay` bounds "
        "how long replay waits.",
    ),
)


def upgrade(schema: Schema) -> tuple[Procedure, ...]:
    extensions = "\n".join(f"ALTER EXTENSION {quote(e.name)} UPDATE;" for e in schema.extensions)
    return (
        Procedure(
            title="Minor versions",
            text="Bug and security fixes, same data format: install the packages and restart "
            "(replicas first, then the primary). Read the release notes for REINDEX advice.",
        ),
        Procedure(
            title="Major version with pg_upgrade",
            text="Install the new binaries beside the old ones, check, stop, upgrade with "
            "hard links (minutes, not hours; keep the old cluster until the new one is "
            "verified), start, and rebuild the statistics.",
            code="""/usr/lib/postgresql/17/bin/pg_upgrade --check \\
    --old-bindir=/usr/lib/postgresql/15/bin --new-bindir=/usr/lib/postgresql/17/bin \\
    --old-datadir=/var/lib/postgresql/15/main --new-datadir=/var/lib/postgresql/17/main
systemctl stop postgresql@15-main
/usr/lib/postgresql/17/bin/pg_upgrade --link --jobs=4 \\
    --old-bindir=/usr/lib/postgresql/15/bin --new-bindir=/usr/lib/postgresql/17/bin \\
    --old-datadir=/var/lib/postgresql/15/main --new-datadir=/var/lib/postgresql/17/main
systemctl start postgresql@17-main
vacuumdb --all --analyze-in-stages""",
        ),
        Procedure(
            title="After the upgrade",
            text="Update the extensions this database uses, rebuild standbys from the new "
            "primary (or `rsync` them as the pg_upgrade manual describes), then delete the "
            "old cluster.",
            code=extensions or "-- this schema uses no extensions",
            lang="sql",
        ),
        Procedure(
            title="Near-zero downtime",
            text="Logical replication from the old major version into a new server, then a "
            "short switch-over: sequences are not replicated, so set them on the new side "
            "before switching writes.",
        ),
    )


def hardening(schema: Schema, namespaces: list[str]) -> tuple[Procedure, ...]:
    q = [quote(n) for n in namespaces] or ["public"]
    lines = [
        "CREATE ROLE app_owner NOLOGIN;   -- owns the schema objects; nobody logs in as it",
        "CREATE ROLE app_rw NOLOGIN;      -- the application",
        "CREATE ROLE app_ro NOLOGIN;      -- reporting, read replicas",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC;",
        "DO $$ BEGIN EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', "
        "current_database()); END $$;",
    ]
    for n in q:
        lines += [
            f"GRANT USAGE ON SCHEMA {n} TO app_rw, app_ro;",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {n} TO app_rw;",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {n} TO app_rw;",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA {n} TO app_ro;",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA {n}",
            "    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO app_rw;",
            f"ALTER DEFAULT PRIVILEGES FOR ROLE app_owner IN SCHEMA {n}",
            "    GRANT SELECT ON TABLES TO app_ro;",
        ]
    lines += [
        "ALTER ROLE app_rw SET statement_timeout = '30s';",
        "ALTER ROLE app_rw SET idle_in_transaction_session_timeout = '60s';",
    ]
    out = [
        Procedure(
            title="Roles and privileges",
            text="Three roles: an owner nobody logs in as, the application's role with DML "
            "only, a read-only role. Login users are members of them "
            "(`CREATE ROLE api LOGIN PASSWORD '…' IN ROLE app_rw`).",
            code="\n".join(lines),
            lang="sql",
            runnable=True,
        )
    ]
    definers = [
        f
        for f in schema.functions
        if f.security_definer and not any(k == "search_path" for k, _ in f.config)
    ]
    if definers:
        path = ", ".join(["pg_catalog", *q])
        out.append(
            Procedure(
                title="SECURITY DEFINER functions without a search_path",
                text="They run with their owner's rights and resolve names through the "
                "caller's search_path: pin it.",
                code="\n".join(
                    f"ALTER FUNCTION {quote(f.schema)}.{quote(f.name)}({f.identity}) "
                    f"SET search_path = {path};"
                    for f in definers
                ),
                lang="sql",
                runnable=True,
            )
        )
    unforced = [t for t in schema.tables if t.rls_enabled and not t.rls_forced]
    if unforced:
        out.append(
            Procedure(
                title="Row level security that the owner bypasses",
                text="These tables enable RLS but do not force it, so their owner (and "
                "anything running as the owner) sees every row.",
                code="\n".join(
                    f"ALTER TABLE {quote(t.schema)}.{quote(t.name)} FORCE ROW LEVEL SECURITY;"
                    for t in unforced
                ),
                lang="sql",
                runnable=True,
            )
        )
    out += [
        Procedure(
            title="Client authentication (pg_hba.conf)",
            text="TLS and SCRAM only, from the application network only; reject the rest.",
            code="""hostssl  all  all  10.0.0.0/8  scram-sha-256
host     all  all  0.0.0.0/0   reject""",
            lang="ini",
        ),
        Procedure(
            title="Server settings (postgresql.conf)",
            text="Encrypt connections, store SCRAM verifiers, and log enough to investigate.",
            code="""listen_addresses = '10.0.0.5'
ssl = on
ssl_min_protocol_version = 'TLSv1.2'
password_encryption = scram-sha-256
log_connections = on
log_disconnections = on
log_statement = 'ddl'
log_lock_waits = on
log_min_duration_statement = '500ms'""",
            lang="ini",
        ),
    ]
    return tuple(out)


STATISTICS = (
    Procedure(
        title="Autovacuum",
        text="Keep it on. By default it vacuums a table once 20% of its rows are dead and "
        "analyzes it after 10% changed: right for small tables, far too late for large ones, "
        "which get per-table settings (below). `autovacuum_vacuum_cost_limit` (or a lower "
        "`autovacuum_vacuum_cost_delay`) lets it keep up on fast disks.",
    ),
    Procedure(
        title="Statistics",
        text="The planner's estimates come from `ANALYZE`. After bulk loads and restores run "
        "`ANALYZE` yourself; for skewed columns raise the target "
        "(`ALTER TABLE … ALTER COLUMN … SET STATISTICS 1000`); for correlated columns used "
        "together in filters, `CREATE STATISTICS … (dependencies, ndistinct)`.",
    ),
)


def table_maintenance(schema: Schema, stats: Stats | None) -> tuple[Procedure, ...]:
    if stats is None:
        return ()
    out = []
    for t in schema.tables:
        s = stats.tables.get(t.qualified)
        if s is None or t.partitioning is not None:
            continue
        name = f"{quote(t.schema)}.{quote(t.name)}"
        if s.rows >= BIG_TABLE_ROWS:
            out.append(
                Procedure(
                    title=f"{t.qualified}: {s.rows:,} rows",
                    text="Vacuum after 1% dead rows and analyze after 0.5% changed, instead "
                    "of the defaults' 20% and 10%.",
                    code=f"ALTER TABLE {name} SET (autovacuum_vacuum_scale_factor = 0.01,\n"
                    "    autovacuum_analyze_scale_factor = 0.005,\n"
                    "    autovacuum_vacuum_insert_scale_factor = 0.01);",
                    lang="sql",
                    runnable=True,
                )
            )
        dead = s.dead_rows / max(1, s.rows + s.dead_rows)
        if s.dead_rows >= 1000 and dead > 0.2:
            out.append(
                Procedure(
                    title=f"{t.qualified}: {dead:.0%} dead rows",
                    text="Autovacuum is behind on this table: vacuum it now, then check what "
                    "holds back VACUUM.",
                    code=f"VACUUM (ANALYZE, VERBOSE) {name};",
                    lang="sql",
                )
            )
        if s.rows > 0 and not s.has_column_stats:
            out.append(
                Procedure(
                    title=f"{t.qualified}: never analyzed",
                    text="The planner guesses its row counts and value distribution.",
                    code=f"ANALYZE {name};",
                    lang="sql",
                    runnable=True,
                )
            )
    return tuple(out)


def pooling(schema: Schema) -> tuple[Procedure, ...]:
    settings = sorted(
        {
            part.split("'")[1]
            for t in schema.tables
            for p in t.policies
            for part in f"{p.using or ''} {p.with_check or ''}".split("current_setting(")[1:]
            if part.count("'") >= 2
        }
    )
    rls = (
        f" This schema's policies read {', '.join(f'`{s}`' for s in settings)}: set it with "
        "`SET LOCAL` (or `set_config(…, true)`) inside each transaction, or a pooled "
        "connection carries one tenant's value into another's requests."
        if settings
        else ""
    )
    return (
        Procedure(
            title="PgBouncer in transaction mode",
            text="Each PostgreSQL backend costs memory and CPU: a few dozen busy connections "
            "saturate a server. PgBouncer hands a server connection to a client for the "
            "length of one transaction, so thousands of clients share a pool of "
            "about 2–4 × CPU cores.",
            code="""[databases]
app = host=127.0.0.1 port=5432 dbname=app

[pgbouncer]
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 20
reserve_pool_size = 5
max_prepared_statements = 200
server_idle_timeout = 300""",
            lang="ini",
        ),
        Procedure(
            title="What transaction pooling breaks",
            text="Session state does not follow the client from one transaction to the next: "
            "`SET` without `LOCAL`, session advisory locks, `LISTEN`, temporary tables and "
            "`WITH HOLD` cursors. Protocol-level prepared statements need PgBouncer 1.21+ "
            "with `max_prepared_statements`; older versions need them disabled in the "
            "driver." + rls,
        ),
    )


CACHING = (
    Procedure(
        title="Memory",
        text="`shared_buffers` about 25% of RAM, `effective_cache_size` about 50–75% (it only "
        "informs the planner), `work_mem` sized so that connections × sorts per query fit. "
        "After a restart `pg_prewarm` reloads the hot tables instead of waiting for traffic.",
    ),
    Procedure(
        title="Derived data",
        text="A materialized view holds an expensive aggregate; with a unique index, "
        "`REFRESH MATERIALIZED VIEW CONCURRENTLY` rebuilds it without blocking readers.",
    ),
)

REPLICAS = (
    Procedure(
        title="Streaming replicas for reads",
        text="A hot standby serves read-only queries: reports, searches, exports. Replication "
        "is asynchronous by default, so a read right after a write may not see it: send "
        "read-your-writes traffic to the primary, or use `synchronous_commit = remote_apply` "
        "for the transactions that need it. A replica is not a backup: it replays mistakes.",
    ),
    Procedure(
        title="Settings",
        text="On the standby `hot_standby_feedback = on` (fewer cancelled queries, some bloat "
        "on the primary) and `max_standby_streaming_delay` to bound how long replay waits "
        "for a query.",
    ),
)

PARTITIONING = (
    Procedure(
        title="Declarative partitioning",
        text="`PARTITION BY RANGE` on a timestamp for time series (retention becomes `DETACH "
        "PARTITION … CONCURRENTLY` and `DROP`), `LIST` or `HASH` on a tenant key. The "
        "primary key and unique constraints must include the partition key. Queries must "
        "filter on the key to prune partitions. Create indexes `ON ONLY` the parent, then "
        "`CONCURRENTLY` per partition, then `ATTACH` them. Create future partitions ahead "
        "(pg_partman automates it).",
    ),
)
