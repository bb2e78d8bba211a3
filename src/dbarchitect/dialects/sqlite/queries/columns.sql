-- The columns of every table, virtual table and view; hidden: 0 ordinary, 1 hidden column of
-- a virtual table, 2 VIRTUAL generated, 3 STORED generated.
SELECT m.name AS tbl, c.cid, c.name, c.type, c."notnull" AS not_null, c.dflt_value, c.pk, c.hidden
FROM sqlite_master AS m
JOIN pragma_table_xinfo(m.name) AS c
WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
ORDER BY m.name, c.cid
