-- One token exchange (RFC 8693) at the token endpoint: the agent (Basic authentication) acts
-- for the user toward the API; the subject token verified, the rules read, a family derived
-- and audited, a signed access token with act. An error answer fails the transaction.
SELECT CASE WHEN r ? 'access_token' THEN true ELSE (r::text)::boolean END AS ok
FROM oauth.token(jsonb_build_object('grant_type', 'urn:ietf:params:oauth:grant-type:token-exchange',
       'subject_token', :subject::text,
       'subject_token_type', 'urn:ietf:params:oauth:token-type:access_token',
       'audience', 'https://api.bench.example/'), :basic::text) AS r \gset
