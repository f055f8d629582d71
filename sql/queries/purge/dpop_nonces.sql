-- DPoP nonces no proof may carry any more (older than $1 seconds).
DELETE FROM oauth.dpop_nonces WHERE issued_at < now() - make_interval(secs => $1)
