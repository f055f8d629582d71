-- Counted twice: a row for the rate limits (transactional), and the sequence the lockout reads,
-- which no rollback undoes.
WITH counted AS (SELECT nextval('oauth.user_code_failure_count'))
INSERT INTO oauth.user_code_failures (user_id) SELECT $1 FROM counted
