-- Locked: the options are merged with the changes in Rust and written back.
SELECT options AS value FROM oauth.issuers WHERE issuer = $1 FOR UPDATE
