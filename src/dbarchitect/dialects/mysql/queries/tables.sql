-- Tables, views and sequences of one database (views and sequences are told apart by type).
SELECT TABLE_NAME AS name,
       TABLE_TYPE AS kind,
       ENGINE AS engine,
       TABLE_COLLATION AS collation,
       CREATE_OPTIONS AS create_options,
       TABLE_COMMENT AS comment
FROM information_schema.TABLES
WHERE TABLE_SCHEMA = %(db)s
ORDER BY TABLE_NAME
