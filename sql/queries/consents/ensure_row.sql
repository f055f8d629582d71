-- Created withdrawn, then locked and updated: two approvals at once both count.
INSERT INTO oauth.consents (user_id, client_id, revoked_at) VALUES ($1, $2, now())
ON CONFLICT (user_id, client_id) DO NOTHING
