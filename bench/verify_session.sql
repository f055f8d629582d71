-- One verification of a user's session token (ours or a trusted issuer's, per :tok).
SELECT oauth.verify_session(:tok::text);
