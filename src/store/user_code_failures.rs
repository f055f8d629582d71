//! Storage of `oauth.user_code_failures`: see `store`.
