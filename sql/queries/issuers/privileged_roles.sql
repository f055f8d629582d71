-- Roles among $1 that are superusers or bypass RLS; NULL when there are none.
SELECT jsonb_agg(rolname) AS value FROM pg_roles
WHERE rolname = ANY($1) AND (rolsuper OR rolbypassrls)
