-- Scans and size of every index on a user table (pg_stat_user_indexes). An index on a
-- partitioned table has no counters of its own: its partitions' indexes carry them. Sizes
-- come from relpages, for the reasons given in stats_tables.sql.
SELECT n.nspname AS schema, c.relname AS table, i.relname AS name,
       pg_stat_get_numscans(i.oid) AS scans,
       i.relpages::bigint * current_setting('block_size')::bigint AS size_bytes
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class c ON c.oid = x.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
ORDER BY 1, 2, 3
