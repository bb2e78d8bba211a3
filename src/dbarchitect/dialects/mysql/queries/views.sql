-- View bodies as the server stores them (names qualified with the database).
SELECT *
FROM information_schema.VIEWS
WHERE TABLE_SCHEMA = %(db)s
ORDER BY TABLE_NAME
