-- oauth_server 0.1.0 -> 0.2.0. Every schema change made after 0.1.0 goes here, in order, so
-- that ALTER EXTENSION oauth_server UPDATE brings a 0.1.0 install to exactly what a fresh
-- 0.2.0 install has (scripts/upgrade-test.sh checks it). Functions whose SQL signature or
-- attributes change are dropped and created again here; their C symbols stay in the library.

-- The grant types stored are the closed set of model::GrantType; a grant row is an
-- authorization code's (device codes too) or client_credentials'. 0.1.0 wrote nothing else.
ALTER TABLE oauth.clients ADD CONSTRAINT clients_grant_types_known CHECK (
    grant_types <@ ARRAY['authorization_code', 'refresh_token', 'client_credentials',
                         'urn:ietf:params:oauth:grant-type:device_code']::text[]);
ALTER TABLE oauth.grants ADD CONSTRAINT grants_grant_type_known
    CHECK (grant_type IN ('authorization_code', 'client_credentials'));
