//! Storage of `oauth.audit`: see `store`.
