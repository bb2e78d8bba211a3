-- The introspected database and its defaults.
SELECT SCHEMA_NAME AS name,
       DEFAULT_CHARACTER_SET_NAME AS charset,
       DEFAULT_COLLATION_NAME AS collation
FROM information_schema.SCHEMATA
WHERE SCHEMA_NAME = %(db)s
