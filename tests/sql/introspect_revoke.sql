-- userinfo, introspection (RFC 7662) and revocation (RFC 7009), as POST /oauth/userinfo,
-- /oauth/introspect and /oauth/revoke run them (docs/reference.md).
\pset format unaligned
\pset tuples_only on
\set ON_ERROR_ROLLBACK on
begin;
set local oauth_server.issuer = 'https://auth.example.com';
-- Both clients post their secret in the form (client_secret_post) rather than using Basic.
select oauth.create_client('Notes app', array['https://notes.example/cb'], 'confidential', null, null,
  'client_secret_post') as c \gset
select :'c'::jsonb ->> 'client_id' as cid, :'c'::jsonb ->> 'client_secret' as secret \gset
select oauth.create_client('Resource server', array['https://api.example/cb'], 'confidential', null, null,
  'client_secret_post') as rs \gset
-- A user approves openid email for the notes app, which redeems the code.
select split_part(oauth.authorize(jsonb_build_object('client_id', :'cid',
  'redirect_uri', 'https://notes.example/cb', 'response_type', 'code', 'scope', 'openid email',
  'state', 's', 'code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
  'code_challenge_method', 'S256')) ->> 'redirect_to', 'authorization_id=', 2) as aid \gset
set local request.jwt.claims = '{"sub": "user-1", "role": "authenticated", "email": "ada@example.com", "email_verified": true}';
select split_part(split_part(oauth.consent(:'aid', true) ->> 'redirect_to', 'code=', 2), '&', 1) as code \gset
reset request.jwt.claims;
select oauth.exchange_code(:'code', 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
  'https://notes.example/cb', :'cid', :'secret') as t \gset

-- userinfo: sub and the claims the scopes release (here from the approving session's claims).
select oauth.userinfo(:'t'::jsonb ->> 'access_token');
select oauth.userinfo('not a token');
select current_setting('response.status'), current_setting('response.headers');

-- Introspection: any confidential client (a resource server) may introspect an access token ...
select oauth.introspect(jsonb_build_object('token', :'t'::jsonb ->> 'access_token',
  'client_id', :'rs'::jsonb ->> 'client_id', 'client_secret', :'rs'::jsonb ->> 'client_secret')) as i \gset
select jsonb_pretty(:'i'::jsonb - 'client_id' - 'exp' - 'iat' - 'jti');
-- ... but only the client holding a refresh token sees it active.
select oauth.introspect(jsonb_build_object('token', :'t'::jsonb ->> 'refresh_token',
  'client_id', :'rs'::jsonb ->> 'client_id', 'client_secret', :'rs'::jsonb ->> 'client_secret'));
select oauth.introspect(jsonb_build_object('token', :'t'::jsonb ->> 'refresh_token',
  'client_id', :'cid', 'client_secret', :'secret')) ->> 'active';

-- Revocation: unknown and foreign tokens get the same 200 {} and are left alone ...
select oauth.revoke(jsonb_build_object('token', 'garbage', 'client_id', :'cid', 'client_secret', :'secret'));
select oauth.revoke(jsonb_build_object('token', :'t'::jsonb ->> 'refresh_token',
  'client_id', :'rs'::jsonb ->> 'client_id', 'client_secret', :'rs'::jsonb ->> 'client_secret'));
select oauth.introspect(jsonb_build_object('token', :'t'::jsonb ->> 'refresh_token',
  'client_id', :'cid', 'client_secret', :'secret')) ->> 'active';
-- ... the holder's revocation ends the token family: the access token stops verifying too.
select oauth.revoke(jsonb_build_object('token', :'t'::jsonb ->> 'refresh_token', 'client_id', :'cid', 'client_secret', :'secret'));
select oauth.introspect(jsonb_build_object('token', :'t'::jsonb ->> 'access_token',
  'client_id', :'rs'::jsonb ->> 'client_id', 'client_secret', :'rs'::jsonb ->> 'client_secret'));
select oauth.verify(:'t'::jsonb ->> 'access_token');
-- A public caller cannot introspect at all.
select oauth.introspect(jsonb_build_object('token', :'t'::jsonb ->> 'access_token'));
rollback;
