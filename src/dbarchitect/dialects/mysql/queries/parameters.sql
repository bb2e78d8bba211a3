-- Routine parameters in order; position 0 is a function's return value.
SELECT SPECIFIC_NAME AS routine,
       ROUTINE_TYPE AS kind,
       ORDINAL_POSITION AS position,
       PARAMETER_MODE AS mode,
       PARAMETER_NAME AS name,
       DTD_IDENTIFIER AS type,
       CHARACTER_SET_NAME AS charset,
       COLLATION_NAME AS collation
FROM information_schema.PARAMETERS
WHERE SPECIFIC_SCHEMA = %(db)s
  AND ORDINAL_POSITION > 0
ORDER BY SPECIFIC_NAME, ROUTINE_TYPE, ORDINAL_POSITION
