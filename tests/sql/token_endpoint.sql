-- The token endpoint as one call, oauth.token(form, authorization): what POST /oauth/token runs
-- (docs/reference.md). Client authentication, grant dispatch, and RFC 6749 errors returned as
-- JSON with response.status (and WWW-Authenticate for invalid_client).
\pset format unaligned
\pset tuples_only on
\set ON_ERROR_ROLLBACK on
begin;
select oauth.create_client('Reports job', array[]::text[], 'confidential', null,
  array['client_credentials']) as job \gset
select :'job'::jsonb ->> 'client_id' as job_id, :'job'::jsonb ->> 'client_secret' as job_secret \gset
select 'Basic ' || translate(encode(convert_to(:'job_id' || ':' || :'job_secret', 'utf8'), 'base64'), E'\n', '') as basic \gset

-- client_credentials with HTTP Basic: a machine token, no refresh token, no user.
select oauth.token('{"grant_type": "client_credentials"}', :'basic') as r \gset
select jsonb_pretty(:'r'::jsonb - 'access_token');
select oauth.verify(:'r'::jsonb ->> 'access_token') as claims \gset
select :'claims'::jsonb ->> 'sub' = :'job_id' as sub_is_the_client, :'claims'::jsonb ->> 'role' as role;

-- A wrong secret: invalid_client, 401 with a Basic challenge.
select oauth.token('{"grant_type": "client_credentials"}',
  'Basic ' || translate(encode(convert_to(:'job_id' || ':wrong', 'utf8'), 'base64'), E'\n', ''));
select current_setting('response.status'), current_setting('response.headers');

-- Two methods at once (Basic and a posted secret) are refused as well.
select oauth.token(jsonb_build_object('grant_type', 'client_credentials',
  'client_id', :'job_id', 'client_secret', :'job_secret'), :'basic') ->> 'error';

-- An unknown grant type, and a grant the client is not registered for.
select oauth.token('{"grant_type": "password", "username": "u", "password": "p"}', :'basic');
select oauth.token('{"grant_type": "refresh_token", "refresh_token": "x"}', :'basic');
select current_setting('response.status');

-- A user scope in client_credentials: there is no user.
select oauth.token('{"grant_type": "client_credentials", "scope": "openid"}', :'basic');

-- Repeated parameters arrive as arrays and are refused.
select oauth.token('{"grant_type": ["client_credentials", "client_credentials"]}', :'basic');

-- A public client (PKCE, no secret) redeems a code at the token endpoint with
-- token_endpoint_auth_method none; the code is single use and a replay revokes what it issued.
set local oauth_server.consent_url = 'https://app.example.com/consent';
select oauth.create_client('CLI', array['http://127.0.0.1/cb'], 'public') ->> 'client_id' as cli \gset
select split_part(oauth.authorize(jsonb_build_object('client_id', :'cli',
  'redirect_uri', 'http://127.0.0.1:9000/cb', 'response_type', 'code', 'scope', 'openid',
  'state', 's', 'code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  'code_challenge_method', 'S256')) ->> 'redirect_to', 'authorization_id=', 2) as aid \gset
set local request.jwt.claims = '{"sub": "user-1", "role": "authenticated"}';
select split_part(split_part(oauth.consent(:'aid', true) ->> 'redirect_to', 'code=', 2), '&', 1) as code \gset
select jsonb_build_object('grant_type', 'authorization_code', 'client_id', :'cli', 'code', :'code',
  'redirect_uri', 'http://127.0.0.1:9000/cb',
  'code_verifier', 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk') as form \gset
select oauth.token(:'form') as tokens \gset
select jsonb_pretty(:'tokens'::jsonb - 'access_token' - 'refresh_token' - 'id_token');
select oauth.token(:'form');
select oauth.token(jsonb_build_object('grant_type', 'refresh_token', 'client_id', :'cli',
  'refresh_token', :'tokens'::jsonb ->> 'refresh_token')) ->> 'error_description';

-- The device grant (RFC 8628): the device asks, then polls until the user decides.
select oauth.create_client('TV', array[]::text[], 'public', null,
  array['urn:ietf:params:oauth:grant-type:device_code']) ->> 'client_id' as tv \gset
select oauth.device_authorization(jsonb_build_object('client_id', :'tv', 'scope', 'openid')) as d \gset
select jsonb_pretty(:'d'::jsonb - 'device_code' - 'user_code' - 'verification_uri_complete');
select :'d'::jsonb ->> 'user_code' ~ '^[B-DF-HJ-NP-TV-Z]{4}-[B-DF-HJ-NP-TV-Z]{4}$' as user_code_shape;
select oauth.token(jsonb_build_object('grant_type', 'urn:ietf:params:oauth:grant-type:device_code',
  'client_id', :'tv', 'device_code', :'d'::jsonb ->> 'device_code'));
rollback;
