-- RFC 9449 §5.2's dpop_bound_access_tokens, RFC 9126 §6's
-- require_pushed_authorization_requests and the relying-party metadata (pairwise subjects,
-- back-channel logout). A statement of its own, run only when one is set or was, so that a
-- 0.1.0 schema (before ALTER EXTENSION UPDATE, no such columns) keeps serving every client that
-- asks for none.
UPDATE oauth.clients SET dpop_bound_access_tokens = $2, require_pushed_authorization_requests = $3,
                         relying_party = $4
WHERE client_id = $1
  AND (dpop_bound_access_tokens, require_pushed_authorization_requests, relying_party)
      IS DISTINCT FROM ($2, $3, $4)
