//! Storage of `oauth.issuers`: see `store`.
