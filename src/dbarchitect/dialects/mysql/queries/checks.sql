-- CHECK constraints (MariaDB 10.2+: table and column level, the latter named after the column).
SELECT TABLE_NAME AS table_name,
       CONSTRAINT_NAME AS name,
       CHECK_CLAUSE AS expression
FROM information_schema.CHECK_CONSTRAINTS
WHERE CONSTRAINT_SCHEMA = %(db)s
ORDER BY TABLE_NAME, CONSTRAINT_NAME
