//! Storage of `oauth.grants`: see `store`.
