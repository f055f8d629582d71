-- A browser authorization request (code flow with PKCE), pending until the user decides.
INSERT INTO oauth.authorizations (id, client_id, redirect_uri, redirect_uri_given, scopes, state, nonce,
                                  code_challenge, resources, prompt, max_age, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now() + make_interval(secs => $12))
