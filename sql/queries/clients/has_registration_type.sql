-- Whether oauth.clients has registration_type yet (a 0.1.0 schema, before ALTER EXTENSION
-- UPDATE, has not: registrations then simply go unmarked).
SELECT EXISTS (SELECT FROM pg_catalog.pg_attribute
               WHERE attrelid = 'oauth.clients'::regclass AND attname = 'registration_type'
                 AND NOT attisdropped) AS value
