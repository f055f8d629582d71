UPDATE oauth.sign_in_states SET status = $2 WHERE state_hash = $1
