-- Indexes that do not back a constraint: one row per index column (keys, then INCLUDE
-- columns), grouped into indexes by the caller, which names plain columns from columns.sql
-- (joining pg_attribute here would hash the whole catalog). Scales to 10^5 indexes.
SELECT i.indrelid::bigint AS oid, i.indexrelid::bigint AS index_oid, ic.relname AS name,
       am.amname AS method, i.indisunique AS is_unique, i.indisvalid AS is_valid,
       i.indnullsnotdistinct AS nulls_not_distinct, -- pg>=150000
       false AS nulls_not_distinct, -- pg<150000
       CASE WHEN i.indpred IS NOT NULL THEN pg_get_expr(i.indpred, i.indrelid) END AS predicate,
       ic.reloptions AS options,
       k.ord, k.ord <= i.indnkeyatts AS is_key, k.num AS attnum,
       CASE WHEN k.num = 0 THEN pg_get_indexdef(i.indexrelid, k.ord::int, false) END AS expr,
       CASE WHEN NOT oc.opcdefault THEN
         quote_ident(ocn.nspname) || '.' || quote_ident(oc.opcname) END AS opclass,
       k.coll::bigint AS coll_oid,
       CASE WHEN cn.nspname = 'pg_catalog' THEN quote_ident(co.collname)
            ELSE quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END AS coll_name,
       CASE WHEN k.num = 0 AND k.coll <> 0 THEN
         (SELECT ty.typcollation::bigint FROM pg_attribute ia JOIN pg_type ty ON ty.oid = ia.atttypid
          WHERE ia.attrelid = i.indexrelid AND ia.attnum = k.ord) END AS expr_coll_oid,
       coalesce((k.opt & 1) = 1, false) AS descending,
       coalesce((k.opt & 2) = 2, false) AS nulls_first,
       quote_ident(pn.nspname) || '.' || quote_ident(pc.relname) AS parent,
       dsc.description AS comment
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_am am ON am.oid = ic.relam
CROSS JOIN LATERAL unnest(i.indkey::int2[], i.indclass::oid[], i.indcollation::oid[],
                          i.indoption::int2[]) WITH ORDINALITY AS k(num, cls, coll, opt, ord)
LEFT JOIN pg_opclass oc ON oc.oid = k.cls
LEFT JOIN pg_namespace ocn ON ocn.oid = oc.opcnamespace
LEFT JOIN pg_collation co ON co.oid = k.coll AND k.coll <> 0
LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace
LEFT JOIN pg_inherits inh ON inh.inhrelid = i.indexrelid
LEFT JOIN pg_class pc ON pc.oid = inh.inhparent
LEFT JOIN pg_namespace pn ON pn.oid = pc.relnamespace
LEFT JOIN pg_description dsc ON dsc.objoid = ic.oid AND dsc.classoid = 'pg_class'::regclass
     AND dsc.objsubid = 0
LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
     AND con.contype IN ('p', 'u', 'x')
WHERE t.relkind IN ('r', 'p', 'm') AND con.oid IS NULL
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%%'
  AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY (%(schemas)s::text[]))
ORDER BY i.indrelid, ic.relname, k.ord
