-- The pairwise subjects' secret as stored (sealed when kek_id is set); no row before first use.
-- `mine`: made by this transaction, not yet committed (and so not to be remembered past it).
SELECT secret, kek_id,
       coalesce(xmin = pg_current_xact_id_if_assigned()::xid, false) AS mine
FROM oauth.subject_secret
