SELECT n.nspname AS schema, c.cfgname AS name,
       quote_ident(pn.nspname) || '.' || quote_ident(p.prsname) AS parser,
       (SELECT coalesce(json_agg(json_build_array(tt.alias, dicts) ORDER BY tt.alias), '[]')
        FROM (SELECT m.maptokentype,
                     array_agg(quote_ident(dn.nspname) || '.' || quote_ident(dd.dictname)
                               ORDER BY m.mapseqno) AS dicts
              FROM pg_ts_config_map m
              JOIN pg_ts_dict dd ON dd.oid = m.mapdict
              JOIN pg_namespace dn ON dn.oid = dd.dictnamespace
              WHERE m.mapcfg = c.oid
              GROUP BY m.maptokentype) mm
        JOIN ts_token_type(c.cfgparser) tt ON tt.tokid = mm.maptokentype) AS mappings,
       obj_description(c.oid, 'pg_ts_config') AS comment
FROM pg_ts_config c
JOIN pg_namespace n ON n.oid = c.cfgnamespace
JOIN pg_ts_parser p ON p.oid = c.cfgparser
JOIN pg_namespace pn ON pn.oid = p.prsnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%%'
  AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY (%(schemas)s::text[]))
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_ts_config'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
