-- One token exchange (RFC 8693) at the token endpoint: the agent (Basic authentication) acts
-- for the user toward the API; the subject token verified, the rules read, a family derived
-- and audited, a signed access token with act. An error answer fails the transaction. (The
-- URNs come as variables: pgbench would read their colons as variable references.)
SELECT CASE WHEN r ? 'access_token' THEN true ELSE (r::text)::boolean END AS ok
FROM oauth.token(jsonb_build_object('grant_type', :grant::text, 'subject_token', :subject::text,
       'subject_token_type', :subject_type::text, 'audience', :audience::text), :basic::text) AS r \gset
