//! Storage of `oauth.users`: see `store`.
