-- Key columns come back as attribute numbers; the caller names them from columns.sql, which
-- holds every column of every table in scope (a per-row lookup here costs more than the rest).
SELECT c.conrelid::bigint AS oid, c.conname AS name, c.contype AS type,
       c.conkey::int[] AS conkey, c.confrelid::bigint AS ref_oid, c.confkey::int[] AS confkey,
       rn.nspname AS ref_schema, rc.relname AS ref_table,
       CASE WHEN c.contype = 'f' AND %(schemas)s::text[] IS NOT NULL
                 AND NOT rn.nspname = ANY (%(schemas)s::text[]) THEN
         (SELECT array_agg(a.attname ORDER BY k.ord)
          FROM unnest(c.confkey) WITH ORDINALITY k(num, ord)
          JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.num) END AS ref_columns,
       c.confdelsetcols::int[] AS delete_columns, -- pg>=150000
       NULL::int[] AS delete_columns, -- pg<150000
       c.confdeltype AS on_delete, c.confupdtype AS on_update, c.confmatchtype AS match_type,
       c.condeferrable AS deferrable, c.condeferred AS deferred,
       NOT c.convalidated AS not_valid, c.connoinherit AS no_inherit,
       c.conislocal AS is_local, c.coninhcount AS inhcount, c.conparentid <> 0 AS has_parent,
       CASE WHEN c.contype = 'c' THEN pg_get_expr(c.conbin, c.conrelid) END AS expression,
       CASE WHEN c.contype = 'x' THEN pg_get_constraintdef(c.oid) END AS definition,
       (i.indkey::int2[])[i.indnkeyatts + 1:]::int[] AS include,
       (SELECT ic.reloptions FROM pg_class ic
        WHERE ic.oid = c.conindid AND c.contype IN ('p', 'u')) AS index_options,
       coalesce(i.indnullsnotdistinct, false) AS nulls_not_distinct, -- pg>=150000
       false AS nulls_not_distinct, -- pg<150000
       dsc.description AS comment
FROM pg_constraint c
LEFT JOIN pg_description dsc ON dsc.objoid = c.oid AND dsc.classoid = 'pg_constraint'::regclass
     AND dsc.objsubid = 0
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
LEFT JOIN pg_index i ON i.indexrelid = c.conindid AND c.contype IN ('p', 'u')
LEFT JOIN pg_class rc ON rc.oid = c.confrelid
LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE c.contype IN ('p', 'u', 'f', 'c', 'x')
  AND t.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%%'
  AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY (%(schemas)s::text[]))
ORDER BY c.conrelid, c.conname, rn.nspname, rc.relname
