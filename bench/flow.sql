-- One complete authorization-code flow per transaction:
-- authorize -> authorization (new user, so no earlier consent) -> consent -> exchange_code.
-- An error answer of the exchange fails the transaction, and so the run.
\set u random(1, 2000000000)
SELECT substring(oauth.authorize(jsonb_build_object('client_id', :cid::text, 'redirect_uri', 'http://127.0.0.1/callback', 'response_type', 'code', 'scope', 'openid email', 'state', 'st', 'code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', 'code_challenge_method', 'S256')) ->> 'redirect_to' FROM 'authorization_id=([^&]+)') AS aid \gset
BEGIN;
SELECT set_config('request.jwt.claims', jsonb_build_object('sub', 'user-' || :u::text, 'role', 'authenticated')::text, true);
SELECT oauth.authorization(:aid::text) IS NOT NULL AS shown \gset
SELECT substring(oauth.consent(:aid::text, true) ->> 'redirect_to' FROM 'code=([^&]+)') AS code \gset
COMMIT;
SELECT CASE WHEN r ? 'access_token' THEN true ELSE (r::text)::boolean END AS ok
FROM oauth.exchange_code(:code::text, 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk', 'http://127.0.0.1/callback', :cid::text, :csec::text) AS r \gset
