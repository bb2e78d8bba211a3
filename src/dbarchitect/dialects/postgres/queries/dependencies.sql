-- Normal dependencies between user objects, as (dependent key, referenced key) pairs.
-- Keys: rel:schema.name (tables, views, sequences), type:schema.name (enums, domains, ranges,
-- composite types), func:schema.name(identity args). Builtin objects map to no key.
-- Every lookup is a join (hashable), never a correlated subquery: this runs on 10^5 rows.
-- Built-in objects have OIDs below 16384 (FirstNormalObjectId); dropping edges to them first
-- (most edges: every column depends on its type) keeps the join small even when the
-- catalogs' statistics are stale, as they are right after a schema is loaded.
WITH dep AS MATERIALIZED (
  SELECT classid, objid, refclassid, refobjid FROM pg_depend
  WHERE deptype = 'n' AND objid >= 16384 AND refobjid >= 16384
),
relkey AS (
  SELECT c.oid,
         CASE WHEN c.relkind = 'c' THEN 'type:' || n.nspname || '.' || t.typname
              ELSE 'rel:' || n.nspname || '.' || c.relname END AS key
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_type t ON t.oid = c.reltype
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'c', 'f')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%%'
),
typekey AS (
  SELECT t.oid,
         CASE WHEN t.typrelid <> 0 THEN rk.key
              WHEN et.oid IS NOT NULL THEN
                coalesce(erk.key, CASE WHEN et.typtype IN ('e', 'd', 'r', 'm')
                                       THEN 'type:' || en.nspname || '.' || et.typname END)
              WHEN t.typtype IN ('e', 'd', 'r', 'm') THEN 'type:' || n.nspname || '.' || t.typname
         END AS key
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
  LEFT JOIN relkey rk ON rk.oid = t.typrelid
  LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
  LEFT JOIN pg_namespace en ON en.oid = et.typnamespace
  LEFT JOIN relkey erk ON erk.oid = et.typrelid
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
  UNION ALL SELECT 'pg_constraint'::regclass, c.oid, coalesce(tk.key, rk.key)
            FROM pg_constraint c
            LEFT JOIN typekey tk ON tk.oid = c.contypid AND c.contypid <> 0
            LEFT JOIN relkey rk ON rk.oid = c.conrelid AND c.contypid = 0
            WHERE c.contype = 'c'
)
SELECT DISTINCT s.key AS dependent, r.key AS referenced
FROM dep d
JOIN anykey s ON s.classid = d.classid AND s.oid = d.objid
JOIN anykey r ON r.classid = d.refclassid AND r.oid = d.refobjid
WHERE s.key IS NOT NULL AND r.key IS NOT NULL AND s.key <> r.key
ORDER BY 1, 2
