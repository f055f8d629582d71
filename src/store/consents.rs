//! Storage of `oauth.consents`: see `store`.
