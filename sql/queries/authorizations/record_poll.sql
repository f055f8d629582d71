UPDATE oauth.authorizations SET last_polled_at = now(),
       poll_interval = poll_interval + $2
WHERE id = $1
