-- Pushed authorization requests no longer usable.
DELETE FROM oauth.pushed_requests WHERE expires_at <= now()
