SELECT to_regclass('oauth.users') IS NOT NULL AS value
