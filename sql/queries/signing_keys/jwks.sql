-- The current key first, then the next, then the previous.
SELECT coalesce(jsonb_agg(public_jwk ORDER BY CASE status WHEN 'current' THEN 0 WHEN 'next' THEN 1 ELSE 2 END), '[]') AS value
FROM oauth.signing_keys
