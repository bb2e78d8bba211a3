-- Every user sequence, identity ones included, with its last value (NULL before the first
-- nextval, or without the privilege to read it, as pg_sequences does) and the column it
-- feeds (OWNED BY for serial, the internal dependency for identity columns).
SELECT n.nspname AS schema, c.relname AS name, format_type(s.seqtypid, NULL) AS data_type,
       s.seqmin AS min_value, s.seqmax AS max_value, s.seqincrement AS increment,
       s.seqcycle AS cycle,
       CASE WHEN has_sequence_privilege(c.oid, 'SELECT,USAGE')
            THEN pg_sequence_last_value(c.oid::regclass) END AS last_value,
       (SELECT tn.nspname || '.' || tc.relname || '.' || a.attname
        FROM pg_depend d
        JOIN pg_class tc ON tc.oid = d.refobjid
        JOIN pg_namespace tn ON tn.oid = tc.relnamespace
        JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
          AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
        LIMIT 1) AS owned_by
FROM pg_sequence s
JOIN pg_class c ON c.oid = s.seqrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2
