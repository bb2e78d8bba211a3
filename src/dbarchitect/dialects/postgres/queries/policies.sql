SELECT p.polrelid::bigint AS oid, p.polname AS name, p.polcmd AS command,
       p.polpermissive AS permissive,
       CASE WHEN p.polroles = '{0}' THEN ARRAY['public']::text[]
            ELSE (SELECT array_agg(r.rolname ORDER BY r.rolname) FROM pg_roles r
                  WHERE r.oid = ANY (p.polroles)) END AS roles,
       pg_get_expr(p.polqual, p.polrelid) AS using_expr,
       pg_get_expr(p.polwithcheck, p.polrelid) AS check_expr,
       obj_description(p.oid, 'pg_policy') AS comment
FROM pg_policy p
JOIN pg_class t ON t.oid = p.polrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%%'
  AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY (%(schemas)s::text[]))
ORDER BY p.polrelid, p.polname
