-- The scopes added with oauth.set_scope (the built-in OpenID Connect ones are not rows).
SELECT name FROM oauth.scopes
