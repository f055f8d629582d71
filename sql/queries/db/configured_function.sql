SELECT p.oid::bigint AS oid, r.oid::bigint AS owner_oid, r.rolname::text AS owner,
       r.rolsuper OR r.rolname = ANY($2) AS trusted,
       p.prokind = 'f' AND NOT p.proretset AND p.prorettype = 'jsonb'::regtype AS returns_jsonb,
       pg_my_temp_schema() <> 0
           AND (EXISTS (SELECT FROM pg_class WHERE relnamespace = pg_my_temp_schema())
                OR EXISTS (SELECT FROM pg_type WHERE typnamespace = pg_my_temp_schema()))
           AS temp_objects
FROM (SELECT to_regprocedure($1 || '(jsonb)') AS oid) f
LEFT JOIN pg_proc p ON p.oid = f.oid LEFT JOIN pg_roles r ON r.oid = p.proowner
