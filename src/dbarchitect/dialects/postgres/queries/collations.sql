SELECT n.nspname AS schema, c.collname AS name, c.collprovider AS provider,
       c.colliculocale AS icu_locale, -- pg>=150000 pg<170000
       c.colllocale AS icu_locale, -- pg>=170000
       NULL::text AS icu_locale, -- pg<150000
       c.collcollate AS lc_collate, c.collctype AS lc_ctype,
       c.collisdeterministic AS deterministic,
       obj_description(c.oid, 'pg_collation') AS comment
FROM pg_collation c
JOIN pg_namespace n ON n.oid = c.collnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%%'
  AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY (%(schemas)s::text[]))
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_collation'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
