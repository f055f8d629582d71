-- Registering a resource again replaces its name and scopes.
INSERT INTO oauth.resources (resource, name, scopes) VALUES ($1, $2, $3)
ON CONFLICT (resource) DO UPDATE SET name = excluded.name, scopes = excluded.scopes
