//! Storage of `oauth.authorizations`: see `store`.
