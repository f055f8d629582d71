-- One code exchange per transaction, of a code made in setup (bench/setup_codes.sql): each
-- transaction takes the next one, so no code is presented twice. An error answer fails the
-- transaction (its text does not cast to boolean), and so the run.
SELECT CASE WHEN r ? 'access_token' THEN true ELSE (r::text)::boolean END AS ok
FROM (SELECT oauth.exchange_code(code, 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk', 'http://127.0.0.1/callback', :cid::text, :csec::text) AS r
      FROM bench_codes WHERE id = (SELECT nextval('bench_code_seq'))) x \gset
