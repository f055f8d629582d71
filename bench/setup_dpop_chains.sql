-- Redeems the codes: chains 0 … :chains-1 with their proof 0 (a public client's family is bound
-- to that key), the others without one (bearer tokens).
DO $$
DECLARE
    c jsonb := (SELECT c FROM bench_public);
    chains int := current_setting('bench.chains')::int;
    t jsonb;
BEGIN
    FOR i IN 0..2 * chains - 1 LOOP
        t := oauth.token(jsonb_build_object('grant_type', 'authorization_code', 'client_id', c->>'client_id',
                'code', (SELECT code FROM bench_dpop_codes WHERE chain = i),
                'code_verifier', 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
                'redirect_uri', 'http://127.0.0.1/callback'),
             NULL,
             CASE WHEN i < chains THEN (SELECT proof FROM bench_dpop_proofs WHERE chain = i AND seq = 0) END);
        IF t->>'token_type' IS DISTINCT FROM (CASE WHEN i < chains THEN 'DPoP' ELSE 'Bearer' END) THEN
            RAISE EXCEPTION 'chain %: %', i, t;
        END IF;
        INSERT INTO bench_dpop_rt VALUES (i, t->>'refresh_token');
    END LOOP;
END $$;
