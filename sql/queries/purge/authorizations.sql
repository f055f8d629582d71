-- Expired requests and codes: a code past expires_at is refused whatever its status.
DELETE FROM oauth.authorizations WHERE expires_at < now()
