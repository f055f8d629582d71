UPDATE oauth.subject_secret SET secret = $1, kek_id = $2
