//! What the unit tests of the upstream modules build alike: providers from options, and the
//! claims of an ID token that passes every check of `id_token` at [`NOW`].

use super::Provider;
use serde_json::{json, Value};

/// The tests' clock.
pub const NOW: i64 = 1_800_000_000;

/// A provider named `p` with options `o`, which must be valid.
pub fn provider(o: Value) -> Provider {
    Provider::from_options("p", &o).unwrap()
}

/// An OpenID provider `https://op.example` for the client `rp`.
pub fn oidc() -> Provider {
    provider(json!({"kind": "oidc", "client_id": "rp", "issuer": "https://op.example"}))
}

/// The claims of an ID token of [`oidc`] for `rp` with nonce `n1`, issued at [`NOW`], with
/// `extra` over them.
pub fn claims(extra: Value) -> Value {
    let mut c = json!({"iss": "https://op.example", "aud": "rp", "sub": "u1", "nonce": "n1",
                       "iat": NOW, "exp": NOW + 300});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}
