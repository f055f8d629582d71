SELECT count(*) FILTER (WHERE user_id = $1) AS by_user,
       count(*) FILTER (WHERE at > now() - interval '1 minute') AS by_everyone
FROM oauth.user_code_failures WHERE at > now() - interval '10 minutes'
