-- Stored functions and procedures: characteristics and body.
SELECT ROUTINE_NAME AS name,
       ROUTINE_TYPE AS kind,
       DTD_IDENTIFIER AS returns,
       CHARACTER_SET_NAME AS charset,
       COLLATION_NAME AS collation,
       ROUTINE_BODY AS language,
       ROUTINE_DEFINITION AS body,
       IS_DETERMINISTIC AS is_deterministic,
       SQL_DATA_ACCESS AS data_access,
       SECURITY_TYPE AS security,
       SQL_MODE AS sql_mode,
       ROUTINE_COMMENT AS comment,
       DATABASE_COLLATION AS database_collation
FROM information_schema.ROUTINES
WHERE ROUTINE_SCHEMA = %(db)s
ORDER BY ROUTINE_TYPE, ROUTINE_NAME
