-- The statistics window, wraparound age and heap cache hits of the current database.
-- The window starts at the last statistics reset, or at server start when there was none:
-- PG 15 keeps counters across a clean restart, so this can only understate the window.
SELECT extract(epoch FROM now() - coalesce(pg_stat_get_db_stat_reset_time(db.oid),
                                           pg_postmaster_start_time()))::float8 AS window_seconds,
       age(db.datfrozenxid)::bigint AS xid_age,
       coalesce(h.hit, 0)::bigint AS blocks_hit,
       coalesce(h.fetched - h.hit, 0)::bigint AS blocks_read
FROM pg_database db
CROSS JOIN (
  SELECT sum(pg_stat_get_blocks_hit(c.oid)) AS hit,
         sum(pg_stat_get_blocks_fetched(c.oid)) AS fetched
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'm')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
) h
WHERE db.datname = current_database()
