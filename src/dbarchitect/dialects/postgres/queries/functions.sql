SELECT p.oid::bigint AS oid, n.nspname AS schema, p.proname AS name, p.prokind AS kind,
       pg_get_function_arguments(p.oid) AS arguments,
       pg_get_function_identity_arguments(p.oid) AS identity,
       CASE WHEN p.prokind <> 'p' THEN pg_get_function_result(p.oid) END AS returns,
       l.lanname AS language, p.prosrc AS source, p.probin AS probin,
       CASE WHEN p.prosqlbody IS NOT NULL THEN pg_get_function_sqlbody(p.oid) END AS sqlbody,
       p.provolatile AS volatility, p.proisstrict AS strict, p.prosecdef AS security_definer,
       p.proleakproof AS leakproof, p.proparallel AS parallel,
       p.procost::float8 AS cost, p.prorows::float8 AS rows, l.lanname = 'internal' AS internal,
       p.proconfig AS config, p.proacl IS NULL AS default_acl,
       CASE WHEN p.prokind = 'a' THEN (
         SELECT concat_ws(', ',
           'SFUNC = ' || a.aggtransfn::regproc::text,
           'STYPE = ' || format_type(a.aggtranstype, NULL),
           CASE WHEN a.aggtransspace <> 0 THEN 'SSPACE = ' || a.aggtransspace END,
           CASE WHEN a.aggfinalfn <> 0 THEN 'FINALFUNC = ' || a.aggfinalfn::regproc::text END,
           CASE WHEN a.aggfinalextra THEN 'FINALFUNC_EXTRA' END,
           CASE WHEN a.aggcombinefn <> 0 THEN 'COMBINEFUNC = ' || a.aggcombinefn::regproc::text END,
           CASE WHEN a.aggserialfn <> 0 THEN 'SERIALFUNC = ' || a.aggserialfn::regproc::text END,
           CASE WHEN a.aggdeserialfn <> 0
                THEN 'DESERIALFUNC = ' || a.aggdeserialfn::regproc::text END,
           CASE WHEN a.agginitval IS NOT NULL THEN 'INITCOND = ' || quote_literal(a.agginitval) END,
           CASE WHEN a.aggsortop <> 0 THEN 'SORTOP = OPERATOR(' || a.aggsortop::regoperator::text || ')' END,
           CASE WHEN p.proparallel = 's' THEN 'PARALLEL = SAFE'
                WHEN p.proparallel = 'r' THEN 'PARALLEL = RESTRICTED' END)
         FROM pg_aggregate a WHERE a.aggfnoid = p.oid) END AS aggregate,
       obj_description(p.oid, 'pg_proc') AS comment
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%%'
  AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY (%(schemas)s::text[]))
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                  AND d.objid = p.oid AND d.deptype IN ('e', 'i'))
ORDER BY 2, 3, 5
