-- Fills a database holding a fresh oauth_server with one of each kind of state an upgrade must
-- carry, and keeps every credential it handed out in public.upgrade_fixture, inside the same
-- database, so that scripts/pg-upgrade-check.sql can present them after the upgrade whatever
-- carried the data (pg_upgrade here; usable before any other upgrade path too).
--   psql -v ON_ERROR_STOP=1 -d app -f scripts/pg-upgrade-fill.sql
-- What it leaves: a confidential and a public client, a resource with a scope, a consent of the
-- confidential client covering that resource, live refresh and access tokens of both clients
-- (the public one signed by an ES256 key, the confidential one by an RS256 key, so the JWKS
-- holds both algorithms), an approved but unredeemed code, a trusted issuer, and the JWKS and
-- key listing as they were.
\set ON_ERROR_STOP 1
\set QUIET 1
\set verifier dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk
\set challenge E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM
\set usr 'upgrade-user'

CREATE TABLE public.upgrade_fixture (name text PRIMARY KEY, value text NOT NULL);

SELECT oauth.set_scope('notes:read', 'Read your notes') AS ok \gset
SELECT oauth.add_resource('https://api.upgrade.example', 'Notes API', ARRAY['notes:read']) IS NOT NULL AS ok \gset
SELECT c->>'client_id' AS cid, c->>'client_secret' AS secret
  FROM oauth.create_client('Upgrade web app', ARRAY['https://app.upgrade.example/cb']) c \gset
SELECT oauth.create_client('Upgrade CLI', ARRAY['http://127.0.0.1/cb'], 'public')->>'client_id' AS pid \gset

-- Keys: ES256 current and next; one rotation to RS256 makes the second ES256 key current (the
-- public client's tokens are signed by it), a second makes RS256 current (the confidential
-- client's) and leaves that ES256 key previous, still verifying.
SELECT oauth.rotate_signing_key('ES256') IS NOT NULL AS ok \gset
SELECT oauth.rotate_signing_key('RS256') IS NOT NULL AS ok \gset

SELECT split_part(split_part(oauth.authorize(jsonb_build_object('client_id', :'pid',
  'redirect_uri', 'http://127.0.0.1/cb', 'response_type', 'code', 'scope', 'openid', 'state', 's',
  'code_challenge', :'challenge', 'code_challenge_method', 'S256'))->>'redirect_to',
  'authorization_id=', 2), '&', 1) AS aid \gset
BEGIN;
SELECT set_config('request.jwt.claims', jsonb_build_object('sub', :'usr', 'role', 'authenticated')::text, true) AS ok \gset
SELECT split_part(split_part(oauth.consent(:'aid', true)->>'redirect_to', 'code=', 2), '&', 1) AS code \gset
COMMIT;
SELECT t->>'access_token' AS pat, t->>'refresh_token' AS prt
  FROM oauth.exchange_code(:'code', :'verifier', 'http://127.0.0.1/cb', :'pid') t \gset

SELECT oauth.rotate_signing_key('RS256') IS NOT NULL AS ok \gset

-- The confidential client: a consent to openid and notes:read on the resource, with live tokens
-- signed by RS256.
SELECT split_part(split_part(oauth.authorize(jsonb_build_object('client_id', :'cid',
  'redirect_uri', 'https://app.upgrade.example/cb', 'response_type', 'code',
  'scope', 'openid notes:read', 'resource', 'https://api.upgrade.example', 'state', 's',
  'code_challenge', :'challenge', 'code_challenge_method', 'S256'))->>'redirect_to',
  'authorization_id=', 2), '&', 1) AS aid \gset
BEGIN;
SELECT set_config('request.jwt.claims', jsonb_build_object('sub', :'usr', 'role', 'authenticated')::text, true) AS ok \gset
SELECT split_part(split_part(oauth.consent(:'aid', true)->>'redirect_to', 'code=', 2), '&', 1) AS code \gset
COMMIT;
SELECT t->>'access_token' AS at, t->>'refresh_token' AS rt
  FROM oauth.exchange_code(:'code', :'verifier', 'https://app.upgrade.example/cb', :'cid', :'secret') t \gset

-- A second request of the same client, approved automatically by that consent, its code left
-- for after the upgrade.
SELECT split_part(split_part(oauth.authorize(jsonb_build_object('client_id', :'cid',
  'redirect_uri', 'https://app.upgrade.example/cb', 'response_type', 'code',
  'scope', 'openid notes:read', 'resource', 'https://api.upgrade.example', 'state', 's',
  'code_challenge', :'challenge', 'code_challenge_method', 'S256'))->>'redirect_to',
  'authorization_id=', 2), '&', 1) AS aid \gset
BEGIN;
SELECT set_config('request.jwt.claims', jsonb_build_object('sub', :'usr', 'role', 'authenticated')::text, true) AS ok \gset
SELECT split_part(split_part(oauth.authorization(:'aid')->>'redirect_to', 'code=', 2), '&', 1) AS pending_code \gset
COMMIT;

SELECT oauth.add_issuer('https://idp.upgrade.example', jsonb_build_object('audience', 'app',
  'refresh', false, 'jwks', jsonb_build_object('keys', oauth.jwks()->'keys'))) IS NOT NULL AS ok \gset

INSERT INTO public.upgrade_fixture VALUES
  ('user', :'usr'), ('verifier', :'verifier'), ('challenge', :'challenge'),
  ('cid', :'cid'), ('secret', :'secret'), ('at', :'at'), ('rt', :'rt'),
  ('pid', :'pid'), ('pat', :'pat'), ('prt', :'prt'), ('pending_code', :'pending_code'),
  ('issuer', current_setting('oauth_server.issuer')),
  ('jwks', oauth.jwks()::text),
  ('keys', (SELECT jsonb_agg(k - 'activated_at' ORDER BY k->>'kid') FROM jsonb_array_elements(oauth.signing_keys()) k)::text),
  ('issuers', (SELECT jsonb_agg(i - 'jwks_fetched_at' - 'last_error') FROM jsonb_array_elements(oauth.issuers()) i)::text),
  ('resources', oauth.resources()::text);

-- Every kind of state is there (a guard against this script silently filling less).
SELECT count(*) FILTER (WHERE k->>'alg' = 'ES256') = 1 AND count(*) FILTER (WHERE k->>'alg' = 'RS256') = 2
   AND bool_and((k->>'encrypted')::boolean) AS keys_ok
  FROM jsonb_array_elements(oauth.signing_keys()) k \gset
\if :keys_ok
\else
  SELECT 'fill: expected an ES256 and two RS256 keys, all encrypted (is oauth_server.key_encryption_key_file set?)'::int;
\endif
SELECT :'pending_code' <> '' AND :'rt' <> '' AND :'prt' <> '' AS filled \gset
\if :filled
\else
  SELECT 'fill: a code or refresh token is missing'::int;
\endif
