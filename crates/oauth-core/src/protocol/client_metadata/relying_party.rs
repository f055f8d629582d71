//! A client's OpenID Connect relying-party metadata beyond the core fields: its subject type
//! (OIDC Core §8: `public`, or `pairwise` with an optional `sector_identifier_uri`) and
//! back-channel logout (OIDC Back-Channel Logout §2.2: `backchannel_logout_uri`,
//! `backchannel_logout_session_required`). Every caller reads the same fields here; each
//! reports a refusal in its own channel (an administrator's misuse, a registrant's
//! `invalid_client_metadata`), and a metadata document's unusable optional fields are dropped.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// OIDC Core §8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubjectType {
    /// Every client sees the user's own identifier.
    #[default]
    Public,
    /// Each sector sees an identifier of its own (`protocol::pairwise`).
    Pairwise,
}

/// What is stored in `oauth.clients.relying_party` (NULL: every default).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RelyingParty {
    #[serde(default)]
    pub subject_type: SubjectType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector_identifier_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
}

/// The fields, as named in registration requests, documents and `update_client`.
pub const FIELDS: &[&str] = &[
    "subject_type",
    "sector_identifier_uri",
    "backchannel_logout_uri",
    "backchannel_logout_session_required",
];

const MAX_URI_LEN: usize = 2048;

impl RelyingParty {
    /// Every default: nothing to store.
    pub fn is_default(&self) -> bool {
        *self == RelyingParty::default()
    }

    /// As stored; a value this server did not write is refused (never read as public).
    pub fn from_stored(stored: Option<&Value>) -> Result<RelyingParty, String> {
        match stored {
            None | Some(Value::Null) => Ok(RelyingParty::default()),
            Some(v) => serde_json::from_value(v.clone())
                .map_err(|e| format!("the client's stored relying_party is not valid: {e}")),
        }
    }

    pub fn to_stored(&self) -> Option<Value> {
        (!self.is_default()).then(|| serde_json::to_value(self).unwrap_or(Value::Null))
    }
}

/// An https URL (http on a loopback host, for local development), absolute, without a fragment
/// or credentials, at most 2048 bytes; `what` names it in the refusal.
pub fn check_uri(what: &str, s: &str) -> Result<String, String> {
    let url = url::Url::parse(s).map_err(|_| format!("{what} {s:?} is not an absolute URL"))?;
    let loopback = crate::protocol::issuer_policy::is_loopback(&url);
    let fine = s.len() <= MAX_URI_LEN
        && (url.scheme() == "https" || (url.scheme() == "http" && loopback))
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none()
        && url.host_str().is_some();
    if !fine {
        return Err(format!(
            "{what} {s:?} must be an https URL (http only on loopback) without a fragment or credentials"
        ));
    }
    Ok(s.to_string())
}

/// `base` with the fields `md` names applied (absent: kept; null: back to the default).
pub fn apply(md: &Map<String, Value>, base: &RelyingParty) -> Result<RelyingParty, String> {
    let mut rp = base.clone();
    if let Some(v) = md.get("subject_type") {
        rp.subject_type = match v {
            Value::Null => SubjectType::Public,
            Value::String(s) if s == "public" => SubjectType::Public,
            Value::String(s) if s == "pairwise" => SubjectType::Pairwise,
            _ => return Err("subject_type must be \"public\" or \"pairwise\"".into()),
        };
    }
    let uri = |k: &str| -> Result<Option<Option<String>>, String> {
        match md.get(k) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(s)) => check_uri(k, s).map(|u| Some(Some(u))),
            Some(_) => Err(format!("{k} must be a string")),
        }
    };
    if let Some(u) = uri("sector_identifier_uri")? {
        rp.sector_identifier_uri = u;
    }
    if let Some(u) = uri("backchannel_logout_uri")? {
        rp.backchannel_logout_uri = u;
    }
    match md.get("backchannel_logout_session_required") {
        None => {}
        Some(Value::Null) => rp.backchannel_logout_session_required = false,
        Some(Value::Bool(b)) => rp.backchannel_logout_session_required = *b,
        Some(_) => return Err("backchannel_logout_session_required must be true or false".into()),
    }
    Ok(rp)
}

/// The same for a client ID metadata document: someone else's page, so an unusable optional
/// field is dropped rather than refused, and the sector is always the document's own host (a
/// `sector_identifier_uri` is not taken from it).
pub fn from_document(md: &Map<String, Value>) -> RelyingParty {
    let mut rp = RelyingParty::default();
    if md.get("subject_type") == Some(&Value::String("pairwise".into())) {
        rp.subject_type = SubjectType::Pairwise;
    }
    rp.backchannel_logout_uri = md
        .get("backchannel_logout_uri")
        .and_then(Value::as_str)
        .and_then(|u| check_uri("backchannel_logout_uri", u).ok());
    rp.backchannel_logout_session_required =
        md.get("backchannel_logout_session_required") == Some(&Value::Bool(true));
    rp
}

/// The rules between these fields and the rest (OIDC Core §8.1): a sector identifier URI is a
/// pairwise client's; a pairwise client without one must have its redirect URIs on one host
/// (that host is then its sector).
pub fn check(rp: &RelyingParty, redirect_uris: &[String]) -> Result<(), String> {
    if rp.sector_identifier_uri.is_some() && rp.subject_type != SubjectType::Pairwise {
        return Err("sector_identifier_uri is for a client whose subject_type is pairwise".into());
    }
    if rp.subject_type == SubjectType::Pairwise && rp.sector_identifier_uri.is_none() {
        let mut hosts: Vec<String> = redirect_uris
            .iter()
            .filter_map(|u| url::Url::parse(u).ok())
            .filter_map(|u| u.host_str().map(|h| h.to_ascii_lowercase()))
            .collect();
        hosts.sort();
        hosts.dedup();
        if hosts.len() > 1 {
            return Err(format!(
                "a pairwise client whose redirect URIs are on several hosts ({}) must register a sector_identifier_uri (OIDC Core §8.1)",
                hosts.join(", ")
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn fields_apply_over_what_was_stored_and_null_restores_the_default() {
        let rp = apply(
            &obj(json!({"subject_type": "pairwise", "sector_identifier_uri": "https://s.example/s.json",
                        "backchannel_logout_uri": "https://rp.example/logout?x=1",
                        "backchannel_logout_session_required": true})),
            &RelyingParty::default(),
        )
        .unwrap();
        assert_eq!(rp.subject_type, SubjectType::Pairwise);
        assert_eq!(
            rp.backchannel_logout_uri.as_deref(),
            Some("https://rp.example/logout?x=1")
        );
        let stored = rp.to_stored().unwrap();
        assert_eq!(RelyingParty::from_stored(Some(&stored)).unwrap(), rp);
        let back = apply(
            &obj(json!({"subject_type": null, "sector_identifier_uri": null,
            "backchannel_logout_uri": null, "backchannel_logout_session_required": null})),
            &rp,
        )
        .unwrap();
        assert!(back.is_default() && back.to_stored().is_none());
        assert_eq!(apply(&obj(json!({})), &rp).unwrap(), rp);
    }

    #[test]
    fn bad_values_are_refused_by_name() {
        let base = RelyingParty::default();
        for (bad, named) in [
            (json!({"subject_type": "PAIRWISE"}), "subject_type"),
            (json!({"subject_type": 1}), "subject_type"),
            (
                json!({"sector_identifier_uri": "http://s.example/x"}),
                "sector_identifier_uri",
            ),
            (
                json!({"backchannel_logout_uri": "https://rp.example/l#frag"}),
                "backchannel_logout_uri",
            ),
            (
                json!({"backchannel_logout_uri": "https://u:p@rp.example/l"}),
                "backchannel_logout_uri",
            ),
            (
                json!({"backchannel_logout_uri": "javascript:alert(1)"}),
                "backchannel_logout_uri",
            ),
            (
                json!({"backchannel_logout_uri": "/relative"}),
                "backchannel_logout_uri",
            ),
            (
                json!({"backchannel_logout_session_required": "yes"}),
                "backchannel_logout_session_required",
            ),
        ] {
            let e = apply(&obj(bad.clone()), &base).unwrap_err();
            assert!(e.contains(named), "{bad}: {e}");
        }
        // Loopback http is for local development.
        assert!(apply(
            &obj(json!({"backchannel_logout_uri": "http://127.0.0.1:9/l"})),
            &base
        )
        .is_ok());
        // A stored value this server did not write is an error, never "public".
        assert!(RelyingParty::from_stored(Some(&json!({"subject_type": "secret"}))).is_err());
    }

    #[test]
    fn a_pairwise_client_has_one_host_or_a_sector_identifier_uri() {
        let pairwise = RelyingParty {
            subject_type: SubjectType::Pairwise,
            ..Default::default()
        };
        let two = [
            "https://a.example/cb".to_string(),
            "https://B.example/cb".into(),
        ];
        assert!(check(&pairwise, &two)
            .unwrap_err()
            .contains("sector_identifier_uri"));
        assert!(check(&pairwise, &two[..1]).is_ok());
        let same_host = [
            "https://a.example/cb".to_string(),
            "https://A.example/other".into(),
        ];
        assert!(check(&pairwise, &same_host).is_ok());
        let with_sector = RelyingParty {
            sector_identifier_uri: Some("https://s.example/s.json".into()),
            ..pairwise.clone()
        };
        assert!(check(&with_sector, &two).is_ok());
        let public_with_sector = RelyingParty {
            subject_type: SubjectType::Public,
            ..with_sector
        };
        assert!(check(&public_with_sector, &two).is_err());
    }

    #[test]
    fn a_documents_fields_are_dropped_when_unusable() {
        let rp = from_document(&obj(json!({"subject_type": "pairwise",
            "sector_identifier_uri": "https://elsewhere.example/s.json",
            "backchannel_logout_uri": "ftp://x", "backchannel_logout_session_required": "yes"})));
        assert_eq!(rp.subject_type, SubjectType::Pairwise);
        assert_eq!(rp.sector_identifier_uri, None);
        assert_eq!(rp.backchannel_logout_uri, None);
        assert!(!rp.backchannel_logout_session_required);
        assert!(from_document(&obj(json!({"subject_type": "bogus"}))).is_default());
    }
}
