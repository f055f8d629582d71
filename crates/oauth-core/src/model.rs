//! The closed sets of values the schema stores as text: each is an enum here, matched
//! exhaustively in Rust, and each is listed by a CHECK constraint in `sql/schema.sql` (a test,
//! `pgrx-tests/tests/e2e/model_rules.rs`, compares the two lists).

/// Declares an enum whose variants are stored as the given strings, with `ALL`, `as_str`,
/// `parse` and serde in the same spelling.
macro_rules! stored_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in the order the CHECK constraint lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }

            /// The stored spellings, for error hints and discovery documents.
            pub fn names() -> Vec<&'static str> {
                Self::ALL.iter().map(|v| v.as_str()).collect()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::parse(&s).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "{s:?} is not one of {}", $name::names().join(", ")
                    ))
                })
            }
        }
    };
}

stored_enum! {
    /// `oauth.clients.client_type`: a confidential client has a secret, a public one never.
    ClientType { Confidential = "confidential", Public = "public" }
}

stored_enum! {
    /// `oauth.clients.token_endpoint_auth_method`.
    AuthMethod {
        ClientSecretBasic = "client_secret_basic",
        ClientSecretPost = "client_secret_post",
        None = "none",
        /// RFC 7523 §2.2: a JWT signed by a key the client registered (`jwks` or `jwks_uri`).
        PrivateKeyJwt = "private_key_jwt",
    }
}

stored_enum! {
    /// `oauth.clients.grant_types` and `oauth.grants.grant_type` (a device code issues as an
    /// authorization code does, so a grant row never says `device_code`).
    GrantType {
        AuthorizationCode = "authorization_code",
        RefreshToken = "refresh_token",
        ClientCredentials = "client_credentials",
        DeviceCode = "urn:ietf:params:oauth:grant-type:device_code",
        TokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange",
    }
}

stored_enum! {
    /// `oauth.authorizations.kind`: a browser redirect with a code, or RFC 8628's device flow.
    AuthorizationKind { Code = "code", Device = "device" }
}

stored_enum! {
    /// `oauth.authorizations.status`: pending → approved (code issued) → redeemed, or
    /// pending → denied.
    AuthorizationStatus {
        Pending = "pending",
        Approved = "approved",
        Denied = "denied",
        Redeemed = "redeemed",
    }
}

stored_enum! {
    /// `oauth.signing_keys.status`: next → current → previous.
    KeyStatus { Next = "next", Current = "current", Previous = "previous" }
}

stored_enum! {
    /// `oauth.signing_keys.alg`.
    KeyAlg { ES256 = "ES256", RS256 = "RS256", EdDSA = "EdDSA" }
}

impl GrantType {
    /// What `oauth.register_client` allows when the registration names none.
    pub const DEFAULT: &'static [GrantType] =
        &[GrantType::AuthorizationCode, GrantType::RefreshToken];
}

impl AuthMethod {
    /// Whether the client authenticates with a shared secret (which it then has, stored as its
    /// hash): not a public client, nor one that signs assertions with its own keys.
    pub fn uses_secret(self) -> bool {
        matches!(
            self,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
        )
    }

    /// The client type a method implies: `none` is the public clients' method.
    pub fn client_type(self) -> ClientType {
        match self {
            AuthMethod::None => ClientType::Public,
            AuthMethod::ClientSecretBasic
            | AuthMethod::ClientSecretPost
            | AuthMethod::PrivateKeyJwt => ClientType::Confidential,
        }
    }
}

impl From<KeyAlg> for crate::protocol::jws::Alg {
    fn from(a: KeyAlg) -> Self {
        use crate::protocol::jws::Alg;
        match a {
            KeyAlg::ES256 => Alg::ES256,
            KeyAlg::RS256 => Alg::RS256,
            KeyAlg::EdDSA => Alg::EdDSA,
        }
    }
}

stored_enum! {
    /// `oauth.sign_in_providers.kind`: how an upstream provider is spoken to.
    SignInKind {
        /// Any OpenID Provider, by discovery (Google, Keycloak, Okta, Auth0, oidc-provider).
        Oidc = "oidc",
        /// Sign in with Apple: form_post, a client secret JWT minted from a `.p8` key.
        Apple = "apple",
        /// Microsoft Entra ID v2.0, single- or multi-tenant.
        Microsoft = "microsoft",
        /// WorkOS SSO: a profile from the token endpoint, no ID token.
        Workos = "workos",
        /// GitHub OAuth apps: no ID token; the user and email APIs.
        Github = "github",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips_through_its_spelling_and_serde() {
        fn check<T>(all: &[T])
        where
            T: Copy + PartialEq + std::fmt::Debug + serde::Serialize + serde::de::DeserializeOwned,
        {
            for v in all {
                let json = serde_json::to_value(v).unwrap();
                assert_eq!(serde_json::from_value::<T>(json).unwrap(), *v);
            }
        }
        check(ClientType::ALL);
        check(AuthMethod::ALL);
        check(GrantType::ALL);
        check(AuthorizationKind::ALL);
        check(AuthorizationStatus::ALL);
        check(KeyStatus::ALL);
        check(KeyAlg::ALL);
        assert_eq!(GrantType::parse("password"), None);
        assert!(serde_json::from_value::<AuthMethod>("tls_client_auth".into()).is_err());
        for a in KeyAlg::ALL {
            assert_eq!(crate::protocol::jws::Alg::from(*a).as_str(), a.as_str());
        }
    }
}
