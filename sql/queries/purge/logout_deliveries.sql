-- Deliveries delivered or given up more than $1 days ago: their outcome was visible that long.
DELETE FROM oauth.logout_deliveries
WHERE coalesce(delivered_at, given_up_at) < now() - make_interval(days => $1)
