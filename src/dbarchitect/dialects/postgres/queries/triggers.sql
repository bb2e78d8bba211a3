SELECT tg.tgrelid::bigint AS oid, tg.tgname AS name, tg.tgtype::int AS tgtype,
       pg_get_triggerdef(tg.oid) AS definition,
       quote_ident(pn.nspname) || '.' || quote_ident(p.proname) AS function,
       tg.tgenabled AS enabled, tg.tgparentid <> 0 AS has_parent,
       obj_description(tg.oid, 'pg_trigger') AS comment
FROM pg_trigger tg
JOIN pg_class t ON t.oid = tg.tgrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_proc p ON p.oid = tg.tgfoid
JOIN pg_namespace pn ON pn.oid = p.pronamespace
WHERE NOT tg.tgisinternal
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%%'
  AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY (%(schemas)s::text[]))
ORDER BY tg.tgrelid, tg.tgname
