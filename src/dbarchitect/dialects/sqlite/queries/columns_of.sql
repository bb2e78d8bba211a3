-- columns.sql for one object (used when a view that no longer resolves breaks the bulk query).
SELECT :name AS tbl, c.cid, c.name, c.type, c."notnull" AS not_null, c.dflt_value, c.pk, c.hidden
FROM pragma_table_xinfo(:name) AS c
ORDER BY c.cid
