-- Serialises key changes (rotation, first-use bootstrap, re-encryption) across sessions.
LOCK TABLE oauth.signing_keys IN SHARE ROW EXCLUSIVE MODE
