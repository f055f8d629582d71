-- Sign-ins in flight past their lifetime, and finished ones (kept only while a retry of the
-- same callback could still come in).
DELETE FROM oauth.sign_in_states WHERE expires_at < now()
