SELECT a.attrelid::bigint AS oid, a.attname AS name,
       format_type(a.atttypid, a.atttypmod) AS type,
       t.typtype AS typtype, t.typcategory AS category,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base_type,
       a.attnotnull AS not_null,
       CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS default_expr,
       CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS generated,
       a.attgenerated AS generated_kind,
       a.attidentity AS identity,
       CASE WHEN a.attidentity <> '' THEN
         (SELECT json_build_object('start', s.seqstart, 'increment', s.seqincrement,
                                   'min', s.seqmin, 'max', s.seqmax, 'cache', s.seqcache,
                                   'cycle', s.seqcycle, 'type', format_type(s.seqtypid, NULL))
          FROM pg_sequence s
          WHERE s.seqrelid = pg_get_serial_sequence(
                    quote_ident(n.nspname) || '.' || quote_ident(c.relname),
                    a.attname)::regclass) END AS identity_options,
       CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN
         (SELECT CASE WHEN cn.nspname = 'pg_catalog' THEN quote_ident(co.collname)
                      ELSE quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END
          FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
          WHERE co.oid = a.attcollation) END AS collation,
       a.attislocal AS is_local, a.attoptions AS options,
       CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage END AS storage,
       CASE WHEN a.attstattarget >= 0 THEN a.attstattarget END AS stattarget,
       col_description(a.attrelid, a.attnum) AS comment
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE a.attnum > 0 AND NOT a.attisdropped
  AND c.relkind IN ('r', 'p', 'v', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%%'
  AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY (%(schemas)s::text[]))
ORDER BY a.attrelid, a.attnum
