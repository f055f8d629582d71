-- A user of oauth.users as OpenID Connect claims (for ID tokens and userinfo).
SELECT profile || jsonb_strip_nulls(jsonb_build_object('email', email, 'email_verified', email_verified)) AS value
FROM oauth.users
WHERE id = $1
