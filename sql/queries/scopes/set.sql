INSERT INTO oauth.scopes (name, description) VALUES ($1, $2)
ON CONFLICT (name) DO UPDATE SET description = excluded.description
