-- Indexes that do not back a constraint, with one JSON object per key.
SELECT i.indrelid::bigint AS oid, ic.relname AS name, am.amname AS method,
       i.indisunique AS is_unique, i.indisvalid AS is_valid,
       i.indnullsnotdistinct AS nulls_not_distinct, -- pg>=150000
       false AS nulls_not_distinct, -- pg<150000
       pg_get_expr(i.indpred, i.indrelid) AS predicate,
       ic.reloptions AS options,
       (SELECT json_agg(json_build_object(
                  'column', CASE WHEN k.num <> 0 THEN a.attname
                                 ELSE pg_get_indexdef(i.indexrelid, k.ord::int, false) END,
                  'expression', k.num = 0,
                  'opclass', CASE WHEN k.ord <= i.indnkeyatts AND NOT oc.opcdefault THEN
                                 quote_ident(ocn.nspname) || '.' || quote_ident(oc.opcname) END,
                  'collation', CASE WHEN coll.num <> 0 AND coll.num <> coalesce(
                                     (SELECT typcollation FROM pg_type
                                      WHERE oid = coalesce(a.atttypid, ia.atttypid)), 0)
                                 THEN (SELECT CASE WHEN cn.nspname = 'pg_catalog'
                                                   THEN quote_ident(co.collname)
                                                   ELSE quote_ident(cn.nspname) || '.'
                                                        || quote_ident(co.collname) END
                                       FROM pg_collation co
                                       JOIN pg_namespace cn ON cn.oid = co.collnamespace
                                       WHERE co.oid = coll.num) END,
                  'desc', k.ord <= i.indnkeyatts AND (opt.num & 1) = 1,
                  'nulls_first', k.ord <= i.indnkeyatts AND (opt.num & 2) = 2,
                  'key', k.ord <= i.indnkeyatts)
               ORDER BY k.ord)
        FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(num, ord)
        LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num AND k.num <> 0
        LEFT JOIN pg_attribute ia ON ia.attrelid = i.indexrelid AND ia.attnum = k.ord
        LEFT JOIN LATERAL (SELECT (i.indclass::oid[])[k.ord - 1] AS num) cls ON true
        LEFT JOIN pg_opclass oc ON oc.oid = cls.num
        LEFT JOIN pg_namespace ocn ON ocn.oid = oc.opcnamespace
        LEFT JOIN LATERAL (SELECT (i.indcollation::oid[])[k.ord - 1] AS num) coll ON true
        LEFT JOIN LATERAL (SELECT (i.indoption::int2[])[k.ord - 1] AS num) opt ON true
       ) AS keys,
       (SELECT quote_ident(pn.nspname) || '.' || quote_ident(pc.relname)
        FROM pg_inherits inh JOIN pg_class pc ON pc.oid = inh.inhparent
        JOIN pg_namespace pn ON pn.oid = pc.relnamespace
        WHERE inh.inhrelid = i.indexrelid) AS parent,
       obj_description(ic.oid, 'pg_class') AS comment
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = ic.relam
WHERE t.relkind IN ('r', 'p', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%%'
  AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY (%(schemas)s::text[]))
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                  WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid
                    AND c.contype IN ('p', 'u', 'x'))
ORDER BY i.indrelid, ic.relname
