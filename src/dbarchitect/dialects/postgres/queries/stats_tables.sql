-- Usage, size and maintenance counters of user tables (pg_stat_user_tables, read straight from
-- the pg_stat_get_* functions to skip the view's grouping). has_column_stats: pg_stats holds
-- rows for the table, which, unlike the analyze timestamps, survives a statistics reset.
-- Sizes are estimated from relpages (heap plus TOAST) as of the last VACUUM, ANALYZE or
-- CREATE INDEX, scaled by how much the row count grew since: pg_table_size would open every
-- table, waiting behind any DDL lock, and takes seconds on ten thousand tables. A table never
-- vacuumed, analyzed or indexed since it was filled counts as empty.
SELECT n.nspname AS schema, c.relname AS name,
       pg_stat_get_live_tuples(c.oid) AS rows,
       ((CASE WHEN c.reltuples > 0
              THEN greatest(c.relpages, c.relpages * (pg_stat_get_live_tuples(c.oid)
                                        + pg_stat_get_dead_tuples(c.oid)) / c.reltuples)
              ELSE c.relpages END)::bigint
        + coalesce(tc.relpages, 0)) * current_setting('block_size')::bigint AS size_bytes,
       pg_stat_get_numscans(c.oid) AS seq_scan,
       pg_stat_get_tuples_returned(c.oid) AS seq_tup_read,
       coalesce((SELECT sum(pg_stat_get_numscans(x.indexrelid)) FROM pg_index x
                 WHERE x.indrelid = c.oid), 0)::bigint AS idx_scan,
       pg_stat_get_tuples_inserted(c.oid) + pg_stat_get_tuples_updated(c.oid)
         + pg_stat_get_tuples_deleted(c.oid) AS writes,
       pg_stat_get_dead_tuples(c.oid) AS dead_rows,
       extract(epoch FROM now() - greatest(pg_stat_get_last_vacuum_time(c.oid),
                                           pg_stat_get_last_autovacuum_time(c.oid)))::float8
         AS seconds_since_vacuum,
       extract(epoch FROM now() - greatest(pg_stat_get_last_analyze_time(c.oid),
                                           pg_stat_get_last_autoanalyze_time(c.oid)))::float8
         AS seconds_since_analyze,
       c.relallvisible AS all_visible_pages,
       -- VACUUM of a table freezes its TOAST table too: the older of the two counts.
       CASE WHEN c.relkind = 'r'
            THEN greatest(age(c.relfrozenxid), coalesce(age(tc.relfrozenxid), 0))
            ELSE 0 END AS frozen_xid_age,
       s.tablename IS NOT NULL AS has_column_stats
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class tc ON tc.oid = c.reltoastrelid
LEFT JOIN (SELECT DISTINCT schemaname, tablename FROM pg_stats) s
       ON s.schemaname = n.nspname AND s.tablename = c.relname
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
ORDER BY 1, 2
