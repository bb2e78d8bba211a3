SELECT e.extname AS name, n.nspname AS schema, e.extversion AS version,
       obj_description(e.oid, 'pg_extension') AS comment,
       -- Extensions this one needs (earthdistance needs cube), from pg_depend.
       ARRAY(SELECT r.extname FROM pg_depend d JOIN pg_extension r ON r.oid = d.refobjid
             WHERE d.classid = 'pg_extension'::regclass AND d.objid = e.oid
               AND d.refclassid = 'pg_extension'::regclass
             ORDER BY r.extname) AS requires
FROM pg_extension e
JOIN pg_namespace n ON n.oid = e.extnamespace
WHERE e.extname <> 'plpgsql'
ORDER BY e.extname
