SELECT pg_get_userbyid(d.defaclrole)::text AS role, n.nspname AS schema,
       d.defaclobjtype AS object_type,
       CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(x.grantee)::text END AS grantee,
       x.privilege_type AS privilege, x.is_grantable AS grantable
FROM pg_default_acl d
LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace, aclexplode(d.defaclacl) x
WHERE (n.nspname IS NULL AND %(schemas)s::text[] IS NULL)
   OR (n.nspname IS NOT NULL
       AND (%(schemas)s::text[] IS NULL OR n.nspname = ANY (%(schemas)s::text[])))
ORDER BY 1, 2, 3, 4, 5
