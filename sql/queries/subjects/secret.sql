-- The pairwise subjects' secret as stored (sealed when kek_id is set); no row before first use.
SELECT secret, kek_id FROM oauth.subject_secret
