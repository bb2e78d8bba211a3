-- objects.sql for SQLite before 3.37, which has no pragma_table_list.
SELECT m.type, m.name, m.tbl_name, m.rootpage, m.sql, NULL AS kind
FROM sqlite_master AS m
WHERE m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
ORDER BY m.rowid
