SELECT c.conrelid::bigint AS oid, c.conname AS name, c.contype AS type,
       (SELECT array_agg(a.attname ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY k(num, ord)
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num) AS columns,
       rn.nspname AS ref_schema, rc.relname AS ref_table,
       (SELECT array_agg(a.attname ORDER BY k.ord) FROM unnest(c.confkey) WITH ORDINALITY k(num, ord)
        JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.num) AS ref_columns,
       c.confdeltype AS on_delete, c.confupdtype AS on_update, c.confmatchtype AS match_type,
       c.condeferrable AS deferrable, c.condeferred AS deferred,
       NOT c.convalidated AS not_valid, c.connoinherit AS no_inherit,
       c.conislocal AS is_local, c.coninhcount AS inhcount, c.conparentid <> 0 AS has_parent,
       CASE WHEN c.contype = 'c' THEN pg_get_expr(c.conbin, c.conrelid) END AS expression,
       CASE WHEN c.contype = 'x' THEN pg_get_constraintdef(c.oid) END AS definition,
       (SELECT array_agg(a.attname ORDER BY k.ord)
        FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(num, ord)
        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num
        WHERE i.indexrelid = c.conindid AND c.contype IN ('p', 'u')
          AND k.ord > i.indnkeyatts) AS include,
       coalesce((SELECT i.indnullsnotdistinct FROM pg_index i WHERE i.indexrelid = c.conindid), -- pg>=150000
                false) AS nulls_not_distinct, -- pg>=150000
       false AS nulls_not_distinct, -- pg<150000
       obj_description(c.oid, 'pg_constraint') AS comment
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
LEFT JOIN pg_class rc ON rc.oid = c.confrelid
LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE c.contype IN ('p', 'u', 'f', 'c', 'x')
  AND t.relkind IN ('r', 'p')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%%'
  AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY (%(schemas)s::text[]))
ORDER BY c.conrelid, c.conname, rn.nspname, rc.relname
