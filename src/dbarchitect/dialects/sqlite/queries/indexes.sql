-- Every index with its keys. origin: 'c' CREATE INDEX, 'u' UNIQUE constraint, 'pk' PRIMARY KEY
-- (both sqlite_autoindex_*). cid: -1 rowid, -2 expression. is_key 0 rows are the trailing
-- rowid or primary key columns every index carries.
SELECT m.name AS tbl, il.name AS idx, il."unique" AS is_unique, il.origin, il.partial,
       ix.seqno, ix.cid, ix.name AS col, ix."desc" AS descending, ix.coll, ix."key" AS is_key
FROM sqlite_master AS m
JOIN pragma_index_list(m.name) AS il
JOIN pragma_index_xinfo(il.name) AS ix
WHERE m.type = 'table' AND m.rootpage > 0 AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
ORDER BY m.name, il.name, ix.seqno
