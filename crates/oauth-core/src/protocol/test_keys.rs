//! For tests: a fresh key pair that signs what a client would (a DPoP proof, an assertion), and
//! a JSON merge that removes members given as `null`, to break one claim at a time.

use crate::protocol::jws::{generate, Alg, Signer};
use serde_json::Value;

pub struct TestKey {
    pub signer: Signer,
    /// The public JWK (with `kid` and `alg`).
    pub jwk: Value,
}

impl TestKey {
    pub fn new(alg: Alg) -> TestKey {
        let k = generate(alg).unwrap();
        TestKey {
            signer: Signer::from_pkcs8(&k.kid, alg, &k.private_pkcs8).unwrap(),
            jwk: k.public_jwk,
        }
    }

    /// `base_header` and `base_claims` with `header` and `claims` merged in, signed.
    pub fn sign(
        &self,
        mut base_header: Value,
        header: Value,
        mut base_claims: Value,
        claims: Value,
    ) -> String {
        merge(&mut base_header, header);
        merge(&mut base_claims, claims);
        self.signer
            .sign_with_header(&base_header, &base_claims)
            .unwrap()
    }
}

/// `over`'s members set in `into`; a `null` removes the member.
pub fn merge(into: &mut Value, over: Value) {
    for (name, v) in over.as_object().unwrap() {
        if v.is_null() {
            into.as_object_mut().unwrap().remove(name);
        } else {
            into[name] = v.clone();
        }
    }
}
