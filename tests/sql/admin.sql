-- Administration: clients, scopes, resources, signing keys, trusted issuers, a user's grants,
-- the audit log and the purge (docs/reference.md, docs/operations.md).
\pset format unaligned
\pset tuples_only on
\set ON_ERROR_ROLLBACK on
begin;
set local oauth_server.issuer = 'https://auth.example.com';

-- Scopes: the consent page shows their description. The OpenID Connect ones are built in.
select oauth.set_scope('notes:read', 'Read your notes');

-- Clients: update, new secret (the old one stops working at once), delete.
select oauth.create_client('Notes app', array['https://notes.example/cb'], 'confidential',
  array['openid', 'notes:read'], null, 'client_secret_post') as c \gset
select :'c'::jsonb ->> 'client_id' as cid, :'c'::jsonb ->> 'client_secret' as old_secret \gset
select oauth.update_client(:'cid', '{"name": "Notes", "logo_uri": "https://notes.example/logo.png"}')
  - 'client_id' - 'created_at' - 'updated_at';
select oauth.regenerate_client_secret(:'cid') ->> 'client_secret' as new_secret \gset
select oauth.token(jsonb_build_object('grant_type', 'refresh_token', 'refresh_token', 'x',
  'client_id', :'cid', 'client_secret', :'old_secret')) ->> 'error';
select oauth.token(jsonb_build_object('grant_type', 'refresh_token', 'refresh_token', 'x',
  'client_id', :'cid', 'client_secret', :'new_secret')) ->> 'error';

-- Resources (RFC 8707): a token is minted only for a server named here; it becomes the aud.
select jsonb_pretty(oauth.add_resource('https://api.example.com', 'Notes API', array['notes:read']));
select oauth.resources() -> 0 ->> 'resource';
select oauth.protected_resource_metadata('https://api.example.com');

-- Signing keys: generated on first use, rotated next -> current -> previous; never key
-- material in the listing. JWKS announces the next key before it signs.
select oauth.rotate_signing_key() is not null;
select k ->> 'status', k ->> 'alg', k ->> 'encrypted' from jsonb_array_elements(oauth.signing_keys()) k
  order by k ->> 'status';
select k ->> 'kty', k ->> 'crv', k ->> 'alg', k ->> 'use', k ? 'd' as has_private_part
  from jsonb_array_elements(oauth.jwks() -> 'keys') k;

-- Discovery (RFC 8414 / OpenID Connect), as /.well-known/openid-configuration serves it.
select oauth.metadata() ->> 'token_endpoint', oauth.metadata() -> 'code_challenge_methods_supported',
       oauth.metadata() ? 'registration_endpoint' as registration_on;

-- A trusted session issuer (docs/existing-logins.md): the stored options, defaults filled in.
select jsonb_pretty(oauth.add_issuer('https://clerk.example.com',
  '{"required_claims": {"azp": ["https://app.example.com"]}}') -> 'options');
select oauth.add_issuer('https://clerk.example.com/', '{"audiance": "x"}');

-- A user's grants, and withdrawing one: its tokens stop working.
select split_part(oauth.authorize(jsonb_build_object('client_id', :'cid',
  'redirect_uri', 'https://notes.example/cb', 'response_type', 'code', 'scope', 'notes:read',
  'resource', 'https://api.example.com', 'state', 's',
  'code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  'code_challenge_method', 'S256')) ->> 'redirect_to', 'authorization_id=', 2) as aid \gset
set local request.jwt.claims = '{"sub": "user-1", "role": "authenticated"}';
select split_part(split_part(oauth.consent(:'aid', true) ->> 'redirect_to', 'code=', 2), '&', 1) as code \gset
select oauth.exchange_code(:'code', 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
  'https://notes.example/cb', :'cid', :'new_secret') as t \gset
select oauth.verify(:'t'::jsonb ->> 'access_token') ->> 'aud';
select g -> 'client' ->> 'name', g -> 'scopes', g -> 'resources', g -> 'scopes_by_audience'
  from jsonb_array_elements(oauth.grants()) g;
select oauth.revoke_grant(:'cid') - 'client_id';
select oauth.refresh(:'t'::jsonb ->> 'refresh_token', :'cid', :'new_secret') ->> 'error_description';

-- The audit log: one row per security event, ids and reasons only.
reset request.jwt.claims;
select e ->> 'event', count(*) from jsonb_array_elements(oauth.audit_events()) e group by 1 order by 1;

-- Deleting the client deletes its requests, consents, grants and refresh tokens.
select oauth.delete_client(:'cid');
select jsonb_object_keys(oauth.purge_expired()) order by 1;
rollback;
