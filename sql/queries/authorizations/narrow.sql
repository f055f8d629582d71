-- A pending request narrowed to what today's grounds allow, as the consent page is about to
-- show it: the approval can then record and issue nothing the page did not show, even if a
-- scope or resource is added back in between.
UPDATE oauth.authorizations SET scopes = $2, resources = $3 WHERE id = $1
