-- DPoP benchmark fixtures: a public client, and 2 × :chains approved codes of it (the first
-- :chains become DPoP-bound refresh chains, the others bearer ones). Made before the phase
-- (their making is not what is measured).
ALTER DATABASE bench SET oauth_server.dpop_proof_max_age = 600;
CREATE TABLE bench_public AS
    SELECT oauth.create_client('bench public', ARRAY['http://127.0.0.1/callback'], 'public',
                               ARRAY['openid', 'email']) AS c;
CREATE TABLE bench_dpop_codes (chain int PRIMARY KEY, code text NOT NULL);
DO $$
DECLARE
    c jsonb := (SELECT c FROM bench_public);
    aid text;
BEGIN
    FOR i IN 0..2 * current_setting('bench.chains')::int - 1 LOOP
        aid := substring(oauth.authorize(jsonb_build_object('client_id', c->>'client_id', 'redirect_uri', 'http://127.0.0.1/callback',
            'response_type', 'code', 'scope', 'openid email', 'code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
            'code_challenge_method', 'S256')) ->> 'redirect_to' FROM 'authorization_id=([^&]+)');
        PERFORM set_config('request.jwt.claims', jsonb_build_object('sub', 'dpop-user-' || i)::text, true);
        INSERT INTO bench_dpop_codes VALUES (i, substring(oauth.consent(aid, true) ->> 'redirect_to' FROM 'code=([^&]+)'));
    END LOOP;
END $$;
-- Proofs, one per refresh of a bound chain (seq 0 redeems its code), made by
-- e2e/bench/dpop_proofs.js with each chain's own key.
CREATE TABLE bench_dpop_proofs (chain int, seq int, proof text NOT NULL, PRIMARY KEY (chain, seq));
-- The chains: their refresh token and how many refreshes they made.
CREATE TABLE bench_dpop_rt (chain int PRIMARY KEY, token text, n int NOT NULL DEFAULT 0);
