-- The two error channels (docs/reference.md): protocol errors are returned as RFC 6749 JSON
-- with response.status, so the transaction commits what it must; misuse is raised with a
-- SQLSTATE (printed after each error here with \echo :LAST_ERROR_SQLSTATE).
\pset format unaligned
\pset tuples_only on
\set ON_ERROR_ROLLBACK on
\set SHOW_CONTEXT never
begin;
set local oauth_server.issuer = 'https://auth.example.com';
set local oauth_server.consent_url = 'https://app.example.com/consent';
select oauth.create_client('Demo app', array['https://app.example/cb']) ->> 'client_id' as cid \gset

-- An unknown client or an unregistered redirect URI never redirects: an error for the browser.
select oauth.authorize('{"client_id": "nobody", "redirect_uri": "https://evil.example/cb", "response_type": "code"}');
select current_setting('response.status');
select oauth.authorize(jsonb_build_object('client_id', :'cid', 'redirect_uri', 'https://app.example/cb/../evil',
  'response_type', 'code'));
-- Any other error goes back to the client, with state and iss: here PKCE plain, refused.
select oauth.authorize(jsonb_build_object('client_id', :'cid', 'redirect_uri', 'https://app.example/cb',
  'response_type', 'code', 'state', 'xyz', 'code_challenge', 'abc', 'code_challenge_method', 'plain'));
select current_setting('response.status');

-- Misuse is raised: a bad redirect URI at registration (22023) ...
select oauth.create_client('Bad', array['http://example.com/cb']);
\echo :LAST_ERROR_SQLSTATE
select oauth.create_client('Bad', array['javascript:alert(1)']);
\echo :LAST_ERROR_SQLSTATE
-- ... an unknown id (P0002), an invalid token (28000), a token of the wrong kind (42501).
select oauth.update_client('nobody', '{"name": "x"}');
\echo :LAST_ERROR_SQLSTATE
select oauth.verify('eyJhbGciOiJub25lIn0.e30.');
\echo :LAST_ERROR_SQLSTATE
select oauth.verify(oauth.issue_session_token('user-1'));
\echo :LAST_ERROR_SQLSTATE
-- A session token must not carry the marks of another kind.
select oauth.issue_session_token('user-1', '{"client_id": "x"}');
\echo :LAST_ERROR_SQLSTATE
-- Dynamic registration is off unless oauth_server.dynamic_registration is on.
select oauth.register_client('{"redirect_uris": ["https://app.example/cb"]}');
select current_setting('response.status');
rollback;
