-- jtis past the moment their proof or assertion could be taken anyway.
DELETE FROM oauth.used_jtis WHERE expires_at < now()
