-- Audit rows older than the retention ($1 days).
DELETE FROM oauth.audit_log WHERE at < now() - make_interval(days => $1)
