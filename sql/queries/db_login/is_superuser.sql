-- Whether the worker's session is a superuser's, once its settings are pinned (it must be: it
-- reads every family and ends other roles' sessions).
SELECT r.rolsuper AS value FROM pg_catalog.pg_roles r WHERE r.rolname = current_user
