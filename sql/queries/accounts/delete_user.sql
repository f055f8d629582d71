-- The trigger on oauth.users forgets what the user leaves behind and audits.
DELETE FROM oauth.users WHERE id = $1
