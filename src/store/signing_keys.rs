//! Storage of `oauth.signing_keys`: see `store`.
