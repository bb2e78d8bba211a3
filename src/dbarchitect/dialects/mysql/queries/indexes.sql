-- Every index key part (PRIMARY and unique indexes included). SELECT * because the
-- flavours differ in their extra columns (MariaDB IGNORED, MySQL EXPRESSION/IS_VISIBLE).
SELECT *
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = %(db)s
ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX
