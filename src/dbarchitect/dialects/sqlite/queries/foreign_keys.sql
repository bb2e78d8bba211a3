-- Every foreign key, one row per column pair. "to" is NULL when the constraint names no
-- parent columns (it then means the parent's primary key). id counts from the LAST declared.
SELECT m.name AS tbl, f.id, f.seq, f."table" AS ref_table, f."from" AS col, f."to" AS ref_col,
       f.on_update, f.on_delete
FROM sqlite_master AS m
JOIN pragma_foreign_key_list(m.name) AS f
WHERE m.type = 'table' AND m.rootpage > 0 AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
ORDER BY m.name, f.id, f.seq
