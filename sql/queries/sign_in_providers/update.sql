-- A change of who the provider is (kind, issuer, tenant, keys' URL) drops what was fetched
-- for the old one ($6).
UPDATE oauth.sign_in_providers
SET kind = $2, options = $3, secrets = $4, secrets_kek_id = $5, updated_at = now(),
    discovery = CASE WHEN $6 THEN NULL ELSE discovery END,
    jwks = CASE WHEN $6 THEN '{"keys": []}'::jsonb ELSE jwks END,
    metadata_fetched_at = CASE WHEN $6 THEN NULL ELSE metadata_fetched_at END
WHERE name = $1
