-- The README's quickstart: one complete authorization code flow in SQL, the calls the front
-- makes. Ids, secrets, codes and tokens are random, so they go into psql variables (\gset) and
-- only what is the same on every run is printed.
\pset format unaligned
\pset tuples_only on
\set ON_ERROR_ROLLBACK on
begin;
-- On a real database: ALTER DATABASE app SET oauth_server.issuer = '…'; then reconnect.
set local oauth_server.issuer = 'https://auth.example.com';
set local oauth_server.consent_url = 'https://app.example.com/oauth/consent';

-- A confidential client; its secret is shown once, here only.
select oauth.create_client('Demo app', array['http://127.0.0.1/callback']) as client \gset
select jsonb_pretty(:'client'::jsonb - 'client_id' - 'client_secret' - 'created_at' - 'updated_at');
select :'client'::jsonb ->> 'client_id' as client_id, :'client'::jsonb ->> 'client_secret' as secret \gset

-- 1. The client's authorization request (the query of GET /oauth/authorize): stored as pending,
--    and the browser is sent to your consent page (302, Location). A loopback redirect URI may
--    use any port.
select oauth.authorize(jsonb_build_object('client_id', :'client_id',
  'redirect_uri', 'http://127.0.0.1:4567/callback', 'response_type', 'code',
  'scope', 'openid email', 'state', 'xyz', 'nonce', 'n1',
  'code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  'code_challenge_method', 'S256')) ->> 'redirect_to' as redirect_to \gset
select regexp_replace(:'redirect_to', '=[-_A-Za-z0-9]{43}$', '=<authorization id>');
select current_setting('response.status');
select split_part(:'redirect_to', 'authorization_id=', 2) as authorization_id \gset

-- 2. Your consent page, as the signed-in user: PostgREST (or the front) sets this setting from
--    the user's verified session JWT.
set local request.jwt.claims = '{"sub": "user-1", "role": "authenticated"}';
select jsonb_pretty(oauth.authorization(:'authorization_id')
  - 'authorization_id' - 'expires_at' #- '{client,client_id}');
select oauth.consent(:'authorization_id', true) ->> 'redirect_to' as redirect_to \gset
select regexp_replace(:'redirect_to', 'code=[-_A-Za-z0-9]{43}', 'code=<code>');
select split_part(split_part(:'redirect_to', 'code=', 2), '&', 1) as code \gset

-- 3. The client redeems the code with its PKCE verifier (the token endpoint).
select oauth.exchange_code(:'code', 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
  'http://127.0.0.1:4567/callback', :'client_id', :'secret') as tokens \gset
select jsonb_pretty(:'tokens'::jsonb - 'access_token' - 'refresh_token' - 'id_token');
select :'tokens'::jsonb ?& array['access_token', 'refresh_token', 'id_token'] as all_three;
select current_setting('response.headers');

-- The access token's claims, as oauth.verify (and PostgREST, given our JWKS) sees them.
select oauth.verify(:'tokens'::jsonb ->> 'access_token') as claims \gset
select jsonb_pretty(:'claims'::jsonb - 'client_id' - 'exp' - 'iat' - 'jti' - 'session_id');
select :'claims'::jsonb ->> 'client_id' = :'client_id' as client_id_is_the_clients,
       (:'claims'::jsonb ->> 'exp')::bigint - (:'claims'::jsonb ->> 'iat')::bigint as lifetime;

-- 4. Refresh: the refresh token rotates ...
select oauth.refresh(:'tokens'::jsonb ->> 'refresh_token', :'client_id', :'secret') as refreshed \gset
select jsonb_pretty(:'refreshed'::jsonb - 'access_token' - 'refresh_token' - 'id_token');
select :'refreshed'::jsonb ->> 'refresh_token' <> :'tokens'::jsonb ->> 'refresh_token' as rotated;
-- ... and presenting the spent one again revokes the whole token family:
select oauth.refresh(:'tokens'::jsonb ->> 'refresh_token', :'client_id', :'secret');
select current_setting('response.status');
select oauth.refresh(:'refreshed'::jsonb ->> 'refresh_token', :'client_id', :'secret') ->> 'error_description';
select oauth.verify(:'refreshed'::jsonb ->> 'access_token');
rollback;
