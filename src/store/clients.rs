//! Storage of `oauth.clients`: see `store`.
