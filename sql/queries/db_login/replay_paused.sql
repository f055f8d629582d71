-- A standby whose replay is paused: what it would publish is old however new the snapshot.
SELECT pg_catalog.pg_is_in_recovery() AND pg_catalog.pg_is_wal_replay_paused() AS value
