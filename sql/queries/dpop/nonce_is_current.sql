-- Whether a proof's nonce is one of ours, issued less than $2 seconds ago.
SELECT EXISTS (SELECT FROM oauth.dpop_nonces
               WHERE nonce = $1 AND issued_at > now() - make_interval(secs => $2)) AS value
