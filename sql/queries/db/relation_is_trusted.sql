SELECT r.rolsuper OR r.rolname = ANY($2) AS value
FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE c.oid = to_regclass($1)
