//! Storage of `oauth.purge`: see `store`.
