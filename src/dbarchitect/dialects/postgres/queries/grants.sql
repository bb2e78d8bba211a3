-- Explicit privileges (objects whose ACL is not the default), one row per grantee/privilege;
-- the owner's own privileges are implied and left out.
WITH objs AS (
  SELECT CASE c.relkind WHEN 'S' THEN 'sequence' ELSE 'table' END AS object_type,
         quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS object,
         c.relacl AS acl, NULL::name AS column_name, n.nspname AS schema, c.relowner AS owner
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND c.relacl IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                    AND d.objid = c.oid AND d.deptype = 'e')
  UNION ALL
  SELECT 'column', quote_ident(n.nspname) || '.' || quote_ident(c.relname), a.attacl, a.attname,
         n.nspname, c.relowner
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END,
         quote_ident(n.nspname) || '.' || quote_ident(p.proname)
           || '(' || pg_get_function_identity_arguments(p.oid) || ')',
         p.proacl, NULL, n.nspname, p.proowner
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE p.proacl IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                    AND d.objid = p.oid AND d.deptype = 'e')
  UNION ALL
  SELECT 'schema', quote_ident(n.nspname), n.nspacl, NULL, n.nspname, n.nspowner
  FROM pg_namespace n WHERE n.nspacl IS NOT NULL
  UNION ALL
  SELECT CASE t.typtype WHEN 'd' THEN 'domain' ELSE 'type' END,
         quote_ident(n.nspname) || '.' || quote_ident(t.typname), t.typacl, NULL, n.nspname,
         t.typowner
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
  WHERE t.typacl IS NOT NULL AND t.typtype IN ('e', 'd', 'c', 'r', 'm')
)
SELECT o.object_type, o.object, o.column_name,
       CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee)::text END AS grantee,
       x.privilege_type AS privilege, x.is_grantable AS grantable
FROM objs o, aclexplode(o.acl) x
WHERE x.grantee <> o.owner
  AND o.schema NOT IN ('pg_catalog', 'information_schema') AND o.schema NOT LIKE 'pg\_%%'
  AND (%(schemas)s::text[] IS NULL OR o.schema = ANY (%(schemas)s::text[]))
ORDER BY 1, 2, 3, 4, 5
