INSERT INTO oauth.audit_log (event, client_id, user_id, details) VALUES ($1, $2, $3, $4)
