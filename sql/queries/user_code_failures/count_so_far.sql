SELECT CASE WHEN is_called THEN last_value ELSE 0 END AS value
FROM oauth.user_code_failure_count
