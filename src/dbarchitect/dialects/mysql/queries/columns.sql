-- Columns of every table and view. COLUMN_TYPE is the exact type text (ENUM/SET values,
-- unsigned, zerofill); MariaDB quotes literal defaults and leaves expressions bare.
SELECT TABLE_NAME AS table_name,
       COLUMN_NAME AS name,
       ORDINAL_POSITION AS position,
       COLUMN_DEFAULT AS default_value,
       IS_NULLABLE AS nullable,
       COLUMN_TYPE AS type,
       CHARACTER_SET_NAME AS charset,
       COLLATION_NAME AS collation,
       EXTRA AS extra,
       COLUMN_COMMENT AS comment,
       GENERATION_EXPRESSION AS generated
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = %(db)s
ORDER BY TABLE_NAME, ORDINAL_POSITION
