//! Whether a pending request is approved without asking the user, refused (`prompt=none`), or
//! shown on the consent page (OIDC Core §3.1.2.1, §3.1.2.4; RFC 8628 §5.4).

use crate::error::OAuthError;
use crate::model::AuthorizationKind;
use crate::protocol::consent::{self, ScopesByAudience};
use crate::protocol::prompt;

#[derive(Debug, PartialEq)]
pub enum ConsentStep {
    /// An earlier consent covers every scope for every audience: approve, recorded as automatic.
    Approve,
    /// `prompt=none` and the user would have to be asked: end the request with this error.
    Refuse(OAuthError),
    /// Show the consent page.
    Ask,
}

/// Whether an earlier consent may be looked at at all: a device request always asks (the user
/// must confirm the code on their own device, or a code phished from them would be approved
/// silently), and `prompt=consent` asks by definition.
pub fn may_skip_asking(kind: AuthorizationKind, prompt: Option<&str>) -> bool {
    kind == AuthorizationKind::Code && !prompt::has(prompt, "consent")
}

/// `consented`: the user's live consent to the client, read only when [`may_skip_asking`];
/// `audiences`: the request's resources, or the default audience when it names none.
pub fn decide(
    kind: AuthorizationKind,
    prompt: Option<&str>,
    consented: Option<&ScopesByAudience>,
    audiences: &[String],
    scopes: &[String],
) -> ConsentStep {
    let covered = may_skip_asking(kind, prompt)
        && consented.is_some_and(|c| consent::covers(c, audiences, scopes));
    if covered {
        ConsentStep::Approve
    } else if prompt::has(prompt, "none") {
        ConsentStep::Refuse(OAuthError::ConsentRequired(
            "prompt=none, but the user has not consented to these scopes and resources".into(),
        ))
    } else {
        ConsentStep::Ask
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AuthorizationKind::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn given(pairs: &[(&str, &[&str])]) -> ScopesByAudience {
        let mut c = ScopesByAudience::default();
        for (aud, scopes) in pairs {
            consent::record(&mut c, &strings(&[aud]), &strings(scopes));
        }
        c
    }

    #[test]
    fn a_covering_consent_approves_a_code_request() {
        let c = given(&[("https://api", &["openid", "read"])]);
        let step = decide(
            Code,
            None,
            Some(&c),
            &strings(&["https://api"]),
            &strings(&["read"]),
        );
        assert_eq!(step, ConsentStep::Approve);
        let step = decide(
            Code,
            Some("none"),
            Some(&c),
            &strings(&["https://api"]),
            &strings(&["read"]),
        );
        assert_eq!(step, ConsentStep::Approve);
    }

    #[test]
    fn device_requests_and_prompt_consent_always_ask() {
        let c = given(&[("https://api", &["read"])]);
        assert!(!may_skip_asking(Device, None));
        assert!(!may_skip_asking(Code, Some("consent")));
        let aud = strings(&["https://api"]);
        let read = strings(&["read"]);
        assert_eq!(
            decide(Device, None, Some(&c), &aud, &read),
            ConsentStep::Ask
        );
        assert_eq!(
            decide(Code, Some("login consent"), Some(&c), &aud, &read),
            ConsentStep::Ask
        );
    }

    #[test]
    fn every_audience_must_list_every_scope() {
        let c = given(&[("https://api", &["write"]), ("https://mcp", &["read"])]);
        let both = strings(&["https://api", "https://mcp"]);
        assert_eq!(
            decide(Code, None, Some(&c), &both, &strings(&["write"])),
            ConsentStep::Ask
        );
        assert_eq!(
            decide(Code, None, None, &both, &strings(&["write"])),
            ConsentStep::Ask
        );
        let step = decide(Code, Some("none"), Some(&c), &both, &strings(&["read"]));
        assert!(matches!(step, ConsentStep::Refuse(ref e) if e.code() == "consent_required"));
    }
}
