-- After an upgrade of a database filled by scripts/pg-upgrade-fill.sql: what it handed out still
-- works, and a new flow works. Fails (psql exit 3) naming the first thing that does not.
--   psql -v ON_ERROR_STOP=1 -d app -f scripts/pg-upgrade-check.sql
-- Presents every credential once, in an order where none spoils the next: the refresh tokens are
-- used here, so this runs once per filled database.
\set ON_ERROR_STOP 1
\set QUIET 1
CREATE FUNCTION pg_temp.expect(ok boolean, what text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF ok IS NOT TRUE THEN
    RAISE EXCEPTION 'after the upgrade: %', what;
  END IF;
  RETURN true;
END $$;
-- The fixture's values as psql variables (:'cid', :'rt', …).
SELECT jsonb_object_agg(name, value) AS fixture FROM public.upgrade_fixture \gset
SELECT f->>'user' AS usr, f->>'verifier' AS verifier, f->>'challenge' AS challenge,
       f->>'cid' AS cid, f->>'secret' AS secret, f->>'at' AS at, f->>'rt' AS rt,
       f->>'pid' AS pid, f->>'pat' AS pat, f->>'prt' AS prt, f->>'pending_code' AS pending_code
  FROM (SELECT :'fixture'::jsonb AS f) x \gset

-- Settings and keys: the issuer set with ALTER DATABASE came along, the keys are the same ones
-- (so every token and every relying party's cached JWKS stays valid), still sealed by the KEK.
SELECT pg_temp.expect(current_setting('oauth_server.issuer') = (:'fixture'::jsonb)->>'issuer',
  'oauth_server.issuer is ' || current_setting('oauth_server.issuer') || ', not the one set with ALTER DATABASE') AS ok \gset
SELECT pg_temp.expect(oauth.jwks() = ((:'fixture'::jsonb)->>'jwks')::jsonb, 'the JWKS changed') AS ok \gset
SELECT pg_temp.expect((SELECT jsonb_agg(k - 'activated_at' ORDER BY k->>'kid') FROM jsonb_array_elements(oauth.signing_keys()) k)
  = ((:'fixture'::jsonb)->>'keys')::jsonb, 'the signing keys (kid, alg, status, KEK) changed') AS ok \gset
SELECT pg_temp.expect((SELECT jsonb_agg(i - 'jwks_fetched_at' - 'last_error') FROM jsonb_array_elements(oauth.issuers()) i)
  = ((:'fixture'::jsonb)->>'issuers')::jsonb, 'the trusted issuers changed') AS ok \gset
SELECT pg_temp.expect(oauth.resources() = ((:'fixture'::jsonb)->>'resources')::jsonb, 'the resources changed') AS ok \gset

-- Old access tokens verify: the confidential client's (RS256, current key) and the public
-- client's (ES256, now the previous key), with what they said.
SELECT pg_temp.expect(v->>'sub' = :'usr' AND v->>'aud' = 'https://api.upgrade.example' AND v->>'scope' = 'openid notes:read',
  'the old RS256 access token no longer verifies as it did: ' || v::text) AS ok
  FROM oauth.verify(:'at') v \gset
SELECT pg_temp.expect(v->>'sub' = :'usr' AND v->>'client_id' = :'pid',
  'the old ES256 access token no longer verifies: ' || v::text) AS ok
  FROM oauth.verify(:'pat') v \gset

-- The old client secret authenticates (HTTP Basic, as registered, at introspection, which
-- changes nothing), and a wrong one still does not.
SELECT pg_temp.expect((oauth.introspect(jsonb_build_object('token', :'at'),
    'Basic ' || translate(encode(convert_to(:'cid' || ':' || :'secret', 'UTF8'), 'base64'), E'\n', ''))->>'active')::boolean,
  'the old client secret no longer authenticates at introspection') AS ok \gset
SELECT pg_temp.expect(oauth.introspect(jsonb_build_object('token', :'at'),
    'Basic ' || translate(encode(convert_to(:'cid' || ':not-' || :'secret', 'UTF8'), 'base64'), E'\n', ''))->>'error' = 'invalid_client',
  'a wrong client secret authenticates') AS ok \gset

-- The code approved before the upgrade redeems.
SELECT pg_temp.expect(oauth.verify(t->>'access_token')->>'sub' = :'usr',
  'the code approved before the upgrade does not redeem: ' || t::text) AS ok
  FROM oauth.exchange_code(:'pending_code', :'verifier', 'https://app.upgrade.example/cb', :'cid', :'secret') t \gset

-- Old refresh tokens refresh and rotate: the confidential client's twice in a row, the public
-- client's once, and then the public client's old one again is a replay.
SELECT t->>'refresh_token' AS rt2, pg_temp.expect(t->>'refresh_token' <> :'rt' AND oauth.verify(t->>'access_token')->>'sub' = :'usr',
  'the old refresh token does not refresh and rotate: ' || t::text) AS ok
  FROM oauth.refresh(:'rt', :'cid', :'secret') t \gset
SELECT pg_temp.expect(t ? 'access_token' AND t->>'refresh_token' NOT IN (:'rt', :'rt2'),
  'the rotated refresh token does not refresh: ' || t::text) AS ok
  FROM oauth.refresh(:'rt2', :'cid', :'secret') t \gset
SELECT pg_temp.expect(t->>'refresh_token' <> :'prt' AND oauth.verify(t->>'access_token')->>'client_id' = :'pid',
  'the public client''s old refresh token does not refresh and rotate: ' || t::text) AS ok
  FROM oauth.refresh(:'prt', :'pid') t \gset
SELECT pg_temp.expect(t->>'error' = 'invalid_grant', 'a replayed refresh token refreshed: ' || t::text) AS ok
  FROM oauth.refresh(:'prt', :'pid') t \gset

-- The old consent approves a new request of the same client, scopes and resource: a code, no
-- consent screen.
SELECT split_part(split_part(oauth.authorize(jsonb_build_object('client_id', :'cid',
  'redirect_uri', 'https://app.upgrade.example/cb', 'response_type', 'code',
  'scope', 'openid notes:read', 'resource', 'https://api.upgrade.example', 'state', 's',
  'code_challenge', :'challenge', 'code_challenge_method', 'S256'))->>'redirect_to',
  'authorization_id=', 2), '&', 1) AS aid \gset
BEGIN;
SELECT set_config('request.jwt.claims', jsonb_build_object('sub', :'usr', 'role', 'authenticated')::text, true) AS ok \gset
SELECT a::text AS screen, split_part(split_part(a->>'redirect_to', 'code=', 2), '&', 1) AS code
  FROM oauth.authorization(:'aid') a \gset
COMMIT;
SELECT pg_temp.expect(:'code' <> '', 'the old consent no longer approves the same request: ' || :'screen') AS ok \gset
SELECT pg_temp.expect(oauth.verify(t->>'access_token')->>'aud' = 'https://api.upgrade.example',
  'the automatically approved code does not redeem: ' || t::text) AS ok
  FROM oauth.exchange_code(:'code', :'verifier', 'https://app.upgrade.example/cb', :'cid', :'secret') t \gset

-- …and only that: a request for one scope more still shows the consent screen.
SELECT split_part(split_part(oauth.authorize(jsonb_build_object('client_id', :'cid',
  'redirect_uri', 'https://app.upgrade.example/cb', 'response_type', 'code',
  'scope', 'openid notes:read profile', 'resource', 'https://api.upgrade.example', 'state', 's',
  'code_challenge', :'challenge', 'code_challenge_method', 'S256'))->>'redirect_to',
  'authorization_id=', 2), '&', 1) AS aid \gset
BEGIN;
SELECT set_config('request.jwt.claims', jsonb_build_object('sub', :'usr', 'role', 'authenticated')::text, true) AS ok \gset
SELECT pg_temp.expect(a->>'authorization_id' = :'aid' AND NOT a ? 'redirect_to',
  'the old consent approved a scope it never covered: ' || a::text) AS ok
  FROM oauth.authorization(:'aid') a \gset
COMMIT;

-- A complete new flow on the new server: a new client, its consent screen, consent, code,
-- tokens (signed with a key of the unchanged JWKS), refresh.
SELECT c->>'client_id' AS ncid, c->>'client_secret' AS nsecret
  FROM oauth.create_client('After the upgrade', ARRAY['https://new.upgrade.example/cb']) c \gset
SELECT split_part(split_part(oauth.authorize(jsonb_build_object('client_id', :'ncid',
  'redirect_uri', 'https://new.upgrade.example/cb', 'response_type', 'code', 'scope', 'openid',
  'state', 's', 'code_challenge', :'challenge', 'code_challenge_method', 'S256'))->>'redirect_to',
  'authorization_id=', 2), '&', 1) AS aid \gset
BEGIN;
SELECT set_config('request.jwt.claims', jsonb_build_object('sub', :'usr', 'role', 'authenticated')::text, true) AS ok \gset
SELECT pg_temp.expect(a->>'authorization_id' = :'aid' AND NOT a ? 'redirect_to',
  'a new client''s request skipped the consent screen: ' || a::text) AS ok
  FROM oauth.authorization(:'aid') a \gset
SELECT split_part(split_part(oauth.consent(:'aid', true)->>'redirect_to', 'code=', 2), '&', 1) AS code \gset
COMMIT;
SELECT t->>'access_token' AS nat, t->>'refresh_token' AS nrt
  FROM oauth.exchange_code(:'code', :'verifier', 'https://new.upgrade.example/cb', :'ncid', :'nsecret') t \gset
SELECT pg_temp.expect(oauth.verify(:'nat')->>'client_id' = :'ncid'
  AND ((:'fixture'::jsonb)->>'jwks')::jsonb->'keys' @> jsonb_build_array(jsonb_build_object('kid',
    convert_from(decode(translate(split_part(:'nat', '.', 1), '-_', '+/') || repeat('=', (4 - length(split_part(:'nat', '.', 1)) % 4) % 4), 'base64'), 'UTF8')::jsonb->>'kid')),
  'the new flow''s access token does not verify or is signed by a key not in the old JWKS') AS ok \gset
SELECT pg_temp.expect(t ? 'access_token', 'the new flow''s refresh token does not refresh: ' || t::text) AS ok
  FROM oauth.refresh(:'nrt', :'ncid', :'nsecret') t \gset
