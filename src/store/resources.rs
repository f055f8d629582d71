//! Storage of `oauth.resources`: see `store`.
