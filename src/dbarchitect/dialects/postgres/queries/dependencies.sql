-- Normal dependencies between user objects, as (dependent key, referenced key) pairs.
-- Keys: rel:schema.name (tables, views, sequences), type:schema.name (enums, domains,
-- composite types), func:schema.name(identity args). Unknown/builtin objects map to NULL.
WITH relkey AS (
  SELECT c.oid,
         CASE WHEN c.relkind = 'c' THEN 'type:' ELSE 'rel:' END
           || n.nspname || '.' || CASE WHEN c.relkind = 'c' THEN t.typname ELSE c.relname END
           AS key
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_type t ON t.oid = c.reltype
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'c', 'f')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%%'
),
typekey AS (
  SELECT t.oid,
         CASE WHEN t.typrelid <> 0 THEN (SELECT key FROM relkey WHERE relkey.oid = t.typrelid)
              WHEN t.typelem <> 0 AND t.typcategory = 'A' THEN
                (SELECT CASE WHEN et.typrelid <> 0
                             THEN (SELECT key FROM relkey WHERE relkey.oid = et.typrelid)
                             WHEN et.typtype IN ('e', 'd', 'r', 'm')
                             THEN 'type:' || en.nspname || '.' || et.typname END
                 FROM pg_type et JOIN pg_namespace en ON en.oid = et.typnamespace
                 WHERE et.oid = t.typelem)
              WHEN t.typtype IN ('e', 'd', 'r', 'm') THEN 'type:' || n.nspname || '.' || t.typname
         END AS key
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%%'
),
funckey AS (
  SELECT p.oid, 'func:' || n.nspname || '.' || p.proname || '('
                || pg_get_function_identity_arguments(p.oid) || ')' AS key
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%%'
),
anykey AS (
  SELECT 'pg_class'::regclass AS classid, oid, key FROM relkey
  UNION ALL SELECT 'pg_type'::regclass, oid, key FROM typekey
  UNION ALL SELECT 'pg_proc'::regclass, oid, key FROM funckey
  UNION ALL SELECT 'pg_rewrite'::regclass, r.oid, k.key
            FROM pg_rewrite r JOIN relkey k ON k.oid = r.ev_class
  UNION ALL SELECT 'pg_attrdef'::regclass, a.oid, k.key
            FROM pg_attrdef a JOIN relkey k ON k.oid = a.adrelid
  UNION ALL SELECT 'pg_constraint'::regclass, c.oid,
                   CASE WHEN c.contypid <> 0 THEN (SELECT key FROM typekey WHERE oid = c.contypid)
                        ELSE (SELECT key FROM relkey WHERE oid = c.conrelid) END
            FROM pg_constraint c WHERE c.contype = 'c'
)
SELECT DISTINCT s.key AS dependent, r.key AS referenced
FROM pg_depend d
JOIN anykey s ON s.classid = d.classid AND s.oid = d.objid
JOIN anykey r ON r.classid = d.refclassid AND r.oid = d.refobjid
WHERE d.deptype = 'n' AND s.key IS NOT NULL AND r.key IS NOT NULL AND s.key <> r.key
ORDER BY 1, 2
