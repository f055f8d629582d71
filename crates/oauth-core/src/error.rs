//! The two error channels (ARCHITECTURE.md; the extension's `src/error.rs` carries them out):
//! - [`OAuthError`]: protocol errors a client can cause. They are *data*: returned as RFC 6749
//!   JSON with an HTTP status, so the transaction still commits what it must (a replay revocation).
//! - [`MisuseError`]: misuse by an administrator or the deployment (bad redirect URI at
//!   registration, missing privilege, internal failure), raised with a precise SQLSTATE.

use serde_json::{json, Value};

/// An RFC 6749 / RFC 8707 error with its description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    #[error("invalid_client: {0}")]
    InvalidClient(String),
    #[error("invalid_grant: {0}")]
    InvalidGrant(String),
    #[error("unauthorized_client: {0}")]
    UnauthorizedClient(String),
    #[error("unsupported_grant_type: {0}")]
    UnsupportedGrantType(String),
    #[error("unsupported_response_type: {0}")]
    UnsupportedResponseType(String),
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    #[error("invalid_target: {0}")]
    InvalidTarget(String),
    #[error("access_denied: {0}")]
    AccessDenied(String),
    /// OIDC: `prompt=none` but the user has not consented yet.
    #[error("consent_required: {0}")]
    ConsentRequired(String),
    /// The consent API's "who is calling" failures (not an RFC 6749 code).
    #[error("login_required: {0}")]
    LoginRequired(String),
    #[error("not_found: {0}")]
    NotFound(String),
    /// RFC 6750: a bearer token that is missing, malformed, expired or revoked.
    #[error("invalid_token: {0}")]
    InvalidToken(String),
    /// RFC 6750: a valid token without the scope the resource needs.
    #[error("insufficient_scope: {0}")]
    InsufficientScope(String),
    /// RFC 7591 registration errors.
    #[error("invalid_redirect_uri: {0}")]
    InvalidRedirectUri(String),
    #[error("invalid_client_metadata: {0}")]
    InvalidClientMetadata(String),
    /// RFC 8628 §3.5: the device polls before the user decided, or too fast, or too late, or
    /// the user said no.
    #[error("authorization_pending: {0}")]
    AuthorizationPending(String),
    #[error("slow_down: {0}")]
    SlowDown(String),
    #[error("expired_token: {0}")]
    ExpiredToken(String),
    #[error("access_denied: {0}")]
    DeviceAccessDenied(String),
    /// OIDC Core §3.1.2.6: `prompt=none`, but the request needs the user (other than to sign
    /// in or consent).
    #[error("interaction_required: {0}")]
    InteractionRequired(String),
    #[error("account_selection_required: {0}")]
    AccountSelectionRequired(String),
    /// RFC 8628 §5.1: too many wrong user codes (429, unlike the device's own slow_down).
    #[error("slow_down: {0}")]
    TooManyUserCodes(String),
    /// RFC 6749 §4.1.2.1: what is needed is not there yet (a sign-in provider's metadata or
    /// keys before the front fetched them); 503.
    #[error("temporarily_unavailable: {0}")]
    TemporarilyUnavailable(String),
    /// RFC 9449 §5: the `DPoP` proof is missing where one is required, malformed, replayed,
    /// or for another request or key.
    #[error("invalid_dpop_proof: {0}")]
    InvalidDpopProof(String),
    /// RFC 9449 §8: the proof has no nonce or a stale one; the answer carries `DPoP-Nonce`.
    #[error("use_dpop_nonce: {0}")]
    UseDpopNonce(String),
}

impl OAuthError {
    /// The parameters of an error redirect back to the client (RFC 6749 §4.1.2.1): error,
    /// description, state, and the issuer (RFC 9207, against mix-up attacks).
    pub fn redirect_params(
        &self,
        state: Option<&str>,
        issuer: &str,
    ) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("error", self.code().to_string()),
            ("error_description", self.description().to_string()),
        ];
        if let Some(s) = state {
            out.push(("state", s.to_string()));
        }
        out.push(("iss", issuer.to_string()));
        out
    }

    /// The `error` code on the wire.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidClient(_) => "invalid_client",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::UnauthorizedClient(_) => "unauthorized_client",
            OAuthError::UnsupportedGrantType(_) => "unsupported_grant_type",
            OAuthError::UnsupportedResponseType(_) => "unsupported_response_type",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::InvalidTarget(_) => "invalid_target",
            OAuthError::AccessDenied(_) => "access_denied",
            OAuthError::ConsentRequired(_) => "consent_required",
            OAuthError::LoginRequired(_) => "login_required",
            OAuthError::NotFound(_) => "not_found",
            OAuthError::InvalidToken(_) => "invalid_token",
            OAuthError::InsufficientScope(_) => "insufficient_scope",
            OAuthError::InvalidRedirectUri(_) => "invalid_redirect_uri",
            OAuthError::InvalidClientMetadata(_) => "invalid_client_metadata",
            OAuthError::AuthorizationPending(_) => "authorization_pending",
            OAuthError::SlowDown(_) => "slow_down",
            OAuthError::ExpiredToken(_) => "expired_token",
            OAuthError::DeviceAccessDenied(_) => "access_denied",
            OAuthError::InteractionRequired(_) => "interaction_required",
            OAuthError::AccountSelectionRequired(_) => "account_selection_required",
            OAuthError::TooManyUserCodes(_) => "slow_down",
            OAuthError::TemporarilyUnavailable(_) => "temporarily_unavailable",
            OAuthError::InvalidDpopProof(_) => "invalid_dpop_proof",
            OAuthError::UseDpopNonce(_) => "use_dpop_nonce",
        }
    }

    pub fn description(&self) -> &str {
        match self {
            OAuthError::InvalidRequest(d)
            | OAuthError::InvalidClient(d)
            | OAuthError::InvalidGrant(d)
            | OAuthError::UnauthorizedClient(d)
            | OAuthError::UnsupportedGrantType(d)
            | OAuthError::UnsupportedResponseType(d)
            | OAuthError::InvalidScope(d)
            | OAuthError::InvalidTarget(d)
            | OAuthError::AccessDenied(d)
            | OAuthError::ConsentRequired(d)
            | OAuthError::LoginRequired(d)
            | OAuthError::NotFound(d)
            | OAuthError::InvalidToken(d)
            | OAuthError::InsufficientScope(d)
            | OAuthError::InvalidRedirectUri(d)
            | OAuthError::InvalidClientMetadata(d)
            | OAuthError::AuthorizationPending(d)
            | OAuthError::SlowDown(d)
            | OAuthError::ExpiredToken(d)
            | OAuthError::DeviceAccessDenied(d)
            | OAuthError::InteractionRequired(d)
            | OAuthError::AccountSelectionRequired(d)
            | OAuthError::TooManyUserCodes(d)
            | OAuthError::TemporarilyUnavailable(d)
            | OAuthError::InvalidDpopProof(d)
            | OAuthError::UseDpopNonce(d) => d,
        }
    }

    /// HTTP status: RFC 6749 §5.2 (401 for a failed client authentication), 404/401/403 for
    /// the consent API, 503 for what is not there yet.
    pub fn http_status(&self) -> u16 {
        match self {
            OAuthError::InvalidClient(_)
            | OAuthError::LoginRequired(_)
            | OAuthError::InvalidToken(_) => 401,
            OAuthError::AccessDenied(_) | OAuthError::InsufficientScope(_) => 403,
            OAuthError::NotFound(_) => 404,
            OAuthError::TooManyUserCodes(_) => 429,
            OAuthError::TemporarilyUnavailable(_) => 503,
            _ => 400,
        }
    }

    /// The `WWW-Authenticate` challenge that goes with the error: RFC 6749 §5.2 for a failed
    /// client authentication, RFC 6750 §3 for bearer-token errors.
    pub fn www_authenticate(&self) -> Option<String> {
        match self {
            OAuthError::InvalidClient(_) => Some("Basic realm=\"oauth\"".into()),
            OAuthError::InvalidToken(d) | OAuthError::InsufficientScope(d) => Some(format!(
                "Bearer realm=\"oauth\", error=\"{}\", error_description=\"{}\"",
                self.code(),
                quoted_string_text(d)
            )),
            _ => None,
        }
    }

    /// The challenge of a protected resource that takes DPoP-bound tokens (RFC 9449 §7.1):
    /// the `DPoP` scheme, the proof algorithms it accepts, and the error. Also for
    /// `invalid_dpop_proof` and `use_dpop_nonce`, which a resource answers with 401.
    pub fn dpop_challenge(&self, algs: &[&str]) -> Option<String> {
        match self {
            OAuthError::InvalidToken(d)
            | OAuthError::InsufficientScope(d)
            | OAuthError::InvalidDpopProof(d)
            | OAuthError::UseDpopNonce(d) => Some(format!(
                "DPoP realm=\"oauth\", algs=\"{}\", error=\"{}\", error_description=\"{}\"",
                algs.join(" "),
                self.code(),
                quoted_string_text(d)
            )),
            _ => None,
        }
    }

    /// The JSON body: `{"error": …, "error_description": …}`.
    pub fn to_json(&self) -> Value {
        json!({ "error": self.code(), "error_description": self.description() })
    }
}

/// `text` as the inside of an HTTP quoted-string (RFC 9110 §5.6.4) that any proxy or client
/// passes on: `"` and `\` (which would end or escape it) become `'`, and what is not printable
/// ASCII becomes `?` (a header value with other bytes is dropped by some HTTP stacks whole,
/// and descriptions may quote what a client sent).
fn quoted_string_text(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' | '\\' => '\'',
            ' ' => ' ',
            c if c.is_ascii_graphic() => c,
            _ => '?',
        })
        .collect()
}

pub type OAuthResult<T> = Result<T, OAuthError>;

/// Shorthands keep call sites readable: `invalid_request("…")`.
pub fn invalid_request(d: impl Into<String>) -> OAuthError {
    OAuthError::InvalidRequest(d.into())
}
pub fn invalid_grant(d: impl Into<String>) -> OAuthError {
    OAuthError::InvalidGrant(d.into())
}
pub fn invalid_client(d: impl Into<String>) -> OAuthError {
    OAuthError::InvalidClient(d.into())
}
pub fn invalid_scope(d: impl Into<String>) -> OAuthError {
    OAuthError::InvalidScope(d.into())
}

/// Misuse errors: the SQLSTATE each kind is raised with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misuse {
    /// 22023 invalid_parameter_value: an administrator passed a bad value.
    InvalidParameter,
    /// P0002 no_data_found: an unknown id.
    NotFound,
    /// 28000 invalid_authorization_specification: a token that does not verify.
    InvalidToken,
    /// 42501 insufficient_privilege.
    Privilege,
    /// 55000 object_not_in_prerequisite_state: settings or keys missing/misconfigured.
    Misconfigured,
    /// XX000 internal_error: a failure of ours (crypto, serialization).
    Internal,
}

/// A misuse error: message plus optional detail and hint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct MisuseError {
    pub kind: Misuse,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
}

impl MisuseError {
    pub fn new(kind: Misuse, message: impl Into<String>) -> Self {
        MisuseError {
            kind,
            message: message.into(),
            detail: None,
            hint: None,
        }
    }
    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }
    pub fn hint(mut self, h: impl Into<String>) -> Self {
        self.hint = Some(h.into());
        self
    }
}

pub fn bad_param(message: impl Into<String>) -> MisuseError {
    MisuseError::new(Misuse::InvalidParameter, message)
}
pub fn internal(message: impl Into<String>) -> MisuseError {
    MisuseError::new(Misuse::Internal, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_client_is_401_and_others_400() {
        assert_eq!(invalid_client("x").http_status(), 401);
        assert_eq!(invalid_grant("x").http_status(), 400);
        assert_eq!(invalid_scope("x").http_status(), 400);
    }

    #[test]
    fn temporarily_unavailable_is_503() {
        let e = OAuthError::TemporarilyUnavailable("keys not fetched".into());
        assert_eq!(
            (e.code(), e.http_status()),
            ("temporarily_unavailable", 503)
        );
        assert_eq!(e.www_authenticate(), None);
    }

    #[test]
    fn json_shape_is_rfc6749() {
        let v = invalid_grant("code expired").to_json();
        assert_eq!(
            v,
            json!({"error": "invalid_grant", "error_description": "code expired"})
        );
    }

    /// A description may quote what a client sent (a proof's alg, say): the challenge stays one
    /// printable-ASCII quoted-string whatever it holds, so no HTTP stack drops the header.
    #[test]
    fn challenges_hold_only_printable_ascii_and_cannot_be_broken_out_of() {
        let e = OAuthError::InvalidDpopProof("alg \"Ed\u{e9}\u{202e}\"\\ x\r\ny".into());
        for c in [
            e.dpop_challenge(&["ES256"]).unwrap(),
            OAuthError::InvalidToken(e.description().into())
                .www_authenticate()
                .unwrap(),
        ] {
            assert!(c.chars().all(|c| c == ' ' || c.is_ascii_graphic()), "{c}");
            assert!(c.ends_with("error_description=\"alg 'Ed??'' x??y\""), "{c}");
        }
        assert_eq!(
            e.dpop_challenge(&["ES256", "EdDSA"]).unwrap(),
            "DPoP realm=\"oauth\", algs=\"ES256 EdDSA\", error=\"invalid_dpop_proof\", error_description=\"alg 'Ed??'' x??y\""
        );
        assert_eq!(e.http_status(), 400);
        assert_eq!(
            OAuthError::UseDpopNonce("n".into()).code(),
            "use_dpop_nonce"
        );
    }
}
