-- Every object of the main database with its stored CREATE text, in creation order.
-- pragma_table_list (SQLite 3.37+) tells virtual tables from the shadow tables their modules
-- create; names starting with sqlite_ are SQLite's own (autoindexes, sqlite_sequence, stats).
SELECT m.type, m.name, m.tbl_name, m.rootpage, m.sql, l.type AS kind
FROM sqlite_master AS m
LEFT JOIN pragma_table_list AS l ON l.schema = 'main' AND l.name = m.name
WHERE m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
ORDER BY m.rowid
