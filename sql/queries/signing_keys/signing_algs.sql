-- The algorithms of the keys that sign now or will next: what discovery advertises.
SELECT array_agg(DISTINCT alg ORDER BY alg) AS value FROM oauth.signing_keys
WHERE status IN ('current', 'next')
