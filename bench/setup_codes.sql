-- Approved, unredeemed codes for the exchange_code benchmark, made in one transaction (their
-- making is not what is measured). :n codes; each is used once.
CREATE TABLE bench_codes (id bigint PRIMARY KEY, code text NOT NULL);
CREATE SEQUENCE bench_code_seq;
DO $$
DECLARE
    c jsonb := (SELECT c FROM bench_client);
    aid text;
BEGIN
    FOR i IN 1..current_setting('bench.codes')::int LOOP
        aid := substring(oauth.authorize(jsonb_build_object('client_id', c->>'client_id', 'redirect_uri', 'http://127.0.0.1/callback',
            'response_type', 'code', 'scope', 'openid email', 'code_challenge', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
            'code_challenge_method', 'S256')) ->> 'redirect_to' FROM 'authorization_id=([^&]+)');
        PERFORM set_config('request.jwt.claims', jsonb_build_object('sub', 'code-user-' || i)::text, true);
        INSERT INTO bench_codes VALUES (i, substring(oauth.consent(aid, true) ->> 'redirect_to' FROM 'code=([^&]+)'));
    END LOOP;
END $$;
