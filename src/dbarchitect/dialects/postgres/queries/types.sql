-- Enums, domains and free-standing composite types, with what each needs.
SELECT n.nspname AS schema, t.typname AS name, t.typtype AS kind,
       CASE WHEN t.typtype = 'e' THEN
         (SELECT array_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e
          WHERE e.enumtypid = t.oid) END AS enum_values,
       CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END AS base_type,
       t.typnotnull AS not_null,
       pg_get_expr(t.typdefaultbin, 0) AS default_expr,
       CASE WHEN t.typcollation <> 0 AND t.typcollation <> bt.typcollation THEN
         (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
          FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
          WHERE co.oid = t.typcollation) END AS collation,
       CASE WHEN t.typtype = 'd' THEN
         (SELECT coalesce(json_agg(json_build_object(
                    'name', c.conname, 'expression', pg_get_expr(c.conbin, 0),
                    'not_valid', NOT c.convalidated,
                    'comment', obj_description(c.oid, 'pg_constraint')) ORDER BY c.conname), '[]')
          FROM pg_constraint c WHERE c.contypid = t.oid AND c.contype = 'c') END AS checks,
       CASE WHEN t.typtype = 'c' THEN
         (SELECT coalesce(json_agg(json_build_object(
                    'name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
                    'collation', CASE WHEN a.attcollation <> at.typcollation THEN
                        (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
                         FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                         WHERE co.oid = a.attcollation) END,
                    'comment', col_description(t.typrelid, a.attnum)) ORDER BY a.attnum), '[]')
          FROM pg_attribute a JOIN pg_type at ON at.oid = a.atttypid
          WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped) END AS attributes,
       CASE WHEN t.typtype = 'r' THEN
         (SELECT json_build_object(
            'subtype', format_type(r.rngsubtype, NULL),
            'opclass', CASE WHEN NOT oc.opcdefault THEN
                         quote_ident(ocn.nspname) || '.' || quote_ident(oc.opcname) END,
            'collation', CASE WHEN r.rngcollation <> 0 AND r.rngcollation <> st.typcollation THEN
                           (SELECT quote_ident(cn.nspname) || '.' || quote_ident(co.collname)
                            FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                            WHERE co.oid = r.rngcollation) END,
            'canonical', CASE WHEN r.rngcanonical <> 0 THEN r.rngcanonical::regproc::text END,
            'subtype_diff', CASE WHEN r.rngsubdiff <> 0 THEN r.rngsubdiff::regproc::text END,
            'multirange', (SELECT mt.typname FROM pg_type mt WHERE mt.oid = r.rngmultitypid)) -- pg>=140000
            'multirange', NULL) -- pg<140000
          FROM pg_range r JOIN pg_type st ON st.oid = r.rngsubtype
          JOIN pg_opclass oc ON oc.oid = r.rngsubopc
          JOIN pg_namespace ocn ON ocn.oid = oc.opcnamespace
          WHERE r.rngtypid = t.oid) END AS range,
       t.typacl IS NULL AS default_acl,
       obj_description(t.oid, 'pg_type') AS comment
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
LEFT JOIN pg_type bt ON bt.oid = t.typbasetype
LEFT JOIN pg_class tr ON tr.oid = t.typrelid AND t.typtype = 'c'
WHERE (t.typtype IN ('e', 'd', 'r') OR tr.relkind = 'c')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%%'
  AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY (%(schemas)s::text[]))
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass
                  AND d.objid = t.oid AND d.deptype = 'e')
ORDER BY 1, 2
