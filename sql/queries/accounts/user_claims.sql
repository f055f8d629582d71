-- A user of oauth.users as OpenID Connect claims (for ID tokens and userinfo). Only users who
-- sign in upstream (they have an identity): a row oauth.disable_user made for another login's
-- user holds no claims, and must not hide that login's.
SELECT u.profile || jsonb_strip_nulls(jsonb_build_object('email', u.email, 'email_verified', u.email_verified)) AS value
FROM oauth.users u
WHERE u.id = $1 AND EXISTS (SELECT FROM oauth.identities i WHERE i.user_id = u.id)
