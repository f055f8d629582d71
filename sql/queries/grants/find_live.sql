-- A live family for userinfo: whose it is, and what its client's pairwise identifiers need
-- (the relying-party metadata through to_jsonb: a 0.1.0 schema has no such column).
SELECT g.user_id, g.user_claims, c.client_id, c.redirect_uris, c.grant_types,
       c.metadata_document_fetched_at IS NOT NULL AS metadata_document,
       to_jsonb(c) -> 'relying_party' AS relying_party
FROM oauth.grants g JOIN oauth.clients c ON c.client_id = g.client_id
WHERE g.id = $1::uuid AND g.revoked_at IS NULL
