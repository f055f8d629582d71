//! Pairwise subject identifiers (OpenID Connect Core §8.1): a client whose `subject_type` is
//! `pairwise` sees each user under an identifier of its *sector*, so that two clients of
//! different sectors (two AI vendors) cannot join what they know on `sub`, while a sector's own
//! clients agree. The identifier is a keyed hash of (sector, local user) under a secret of this
//! server's own, which the signing keys' rotation never touches.
//!
//! The sector is what the client proved it controls:
//! - for a client identified by its metadata document's URL, that URL's host;
//! - for any other, only when every grant it may use sends the user's code to its redirect
//!   URIs (the code grant, with refresh), and it has some:
//!   - the host of its `sector_identifier_uri`, whose document (fetched from that host, no
//!     redirect followed) lists every one of them;
//!   - else their one https host that is not loopback: codes go nowhere else;
//! - else (the device grant, token exchange, no redirect URI, loopback or custom-scheme ones,
//!   which any app may register) a sector of its own, shared with no other client.

use crate::model::GrantType;
use crate::protocol::client_metadata::RelyingParty;
use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

/// The sector of a pairwise client (see the module's rules).
pub fn sector(
    rp: &RelyingParty,
    client_id: &str,
    redirect_uris: &[String],
    grant_types: &[GrantType],
    metadata_document: bool,
) -> String {
    let host = |u: &str| {
        url::Url::parse(u)
            .ok()
            .and_then(|u| u.host_str().map(|h| h.to_ascii_lowercase()))
    };
    if metadata_document {
        if let Some(h) = host(client_id) {
            return h;
        }
    }
    // A redirect URI (listed in a sector document or not) proves a host only when codes go
    // there: a client of the device grant or of token exchange could copy another's.
    let code_only = grant_types
        .iter()
        .all(|g| matches!(g, GrantType::AuthorizationCode | GrantType::RefreshToken));
    if !code_only || redirect_uris.is_empty() {
        return format!("client:{client_id}");
    }
    if let Some(h) = rp.sector_identifier_uri.as_deref().and_then(host) {
        return h;
    }
    let hosts: Vec<String> = redirect_uris
        .iter()
        .filter_map(|u| url::Url::parse(u).ok())
        .filter(|u| u.scheme() == "https" && !crate::protocol::issuer_policy::is_loopback(u))
        .filter_map(|u| u.host_str().map(|h| h.to_ascii_lowercase()))
        .collect();
    let one_host = !hosts.is_empty()
        && hosts.len() == redirect_uris.len()
        && hosts.iter().all(|h| *h == hosts[0]);
    if code_only && one_host {
        return hosts[0].clone();
    }
    // No host is the client's alone: a sector no host name can spell (':' is not in one).
    format!("client:{client_id}")
}

/// The user `local`'s identifier in `sector`: HMAC-SHA-256 under `secret`, base64url (43
/// characters, never a local identifier's shape by accident of length).
pub fn subject(secret: &[u8], sector: &str, local: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut ctx = hmac::Context::with_key(&key);
    // Lengths first: ("a.b", "c") and ("a", "b.c") must not hash alike.
    ctx.update(&(sector.len() as u64).to_be_bytes());
    ctx.update(sector.as_bytes());
    ctx.update(&(local.len() as u64).to_be_bytes());
    ctx.update(local.as_bytes());
    URL_SAFE_NO_PAD.encode(ctx.sign().as_ref())
}

/// The key a sector's session ids are enciphered under: of the secret and the sector only.
fn session_key(secret: &[u8], sector: &str) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(b"sid\0");
    ctx.update(sector.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.sign().as_ref());
    out
}

fn uuid_bytes(s: &str) -> Option<[u8; 16]> {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || s.len() != 36 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn uuid_text(b: &[u8]) -> String {
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// A session id (`sid`, a uuid of ours) as a pairwise client's sector sees it: enciphered
/// under a key of its sector (AES-256, one block), so that two sectors cannot join on it and
/// this server can read it back ([`local_session_id`]) when the client names it (an
/// `id_token_hint` at RP-initiated logout). A value that is no uuid is hashed instead.
pub fn session_id(secret: &[u8], sector: &str, sid: &str) -> String {
    use aws_lc_rs::cipher::{PaddedBlockEncryptingKey, UnboundCipherKey, AES_256};
    let Some(block) = uuid_bytes(sid) else {
        return subject(secret, &format!("sid:{sector}"), sid);
    };
    let key = session_key(secret, sector);
    let mut buf = block.to_vec();
    let enciphered = UnboundCipherKey::new(&AES_256, &key)
        .and_then(PaddedBlockEncryptingKey::ecb_pkcs7)
        .and_then(|k| k.encrypt(&mut buf));
    match enciphered {
        Ok(_) => URL_SAFE_NO_PAD.encode(&buf),
        Err(_) => subject(secret, &format!("sid:{sector}"), sid),
    }
}

/// The session id a sector's [`session_id`] names; `None` when it names none.
pub fn local_session_id(secret: &[u8], sector: &str, presented: &str) -> Option<String> {
    use aws_lc_rs::cipher::{
        DecryptionContext, PaddedBlockDecryptingKey, UnboundCipherKey, AES_256,
    };
    let mut buf = URL_SAFE_NO_PAD.decode(presented).ok()?;
    if buf.len() != 32 {
        return None;
    }
    let key = session_key(secret, sector);
    let k = UnboundCipherKey::new(&AES_256, &key)
        .and_then(PaddedBlockDecryptingKey::ecb_pkcs7)
        .ok()?;
    let plain = k.decrypt(&mut buf, DecryptionContext::None).ok()?;
    (plain.len() == 16).then(|| uuid_text(plain))
}

/// Whether a fetched sector identifier document (OIDC Core §8.1: a JSON array of redirect
/// URIs) lists every one of `redirect_uris`, compared exactly; `Err` says why not.
pub fn document_lists(document: &Value, redirect_uris: &[String]) -> Result<(), String> {
    let listed: Vec<&str> = document
        .as_array()
        .ok_or("the sector identifier document is not a JSON array of redirect URIs")?
        .iter()
        .map(|v| {
            v.as_str()
                .ok_or("the sector identifier document lists a value that is not a string")
        })
        .collect::<Result<_, _>>()?;
    match redirect_uris.iter().find(|u| !listed.contains(&u.as_str())) {
        Some(u) => Err(format!(
            "the sector identifier document does not list the redirect URI {u}"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::client_metadata::SubjectType;
    use serde_json::json;

    fn pairwise(sector_uri: Option<&str>) -> RelyingParty {
        RelyingParty {
            subject_type: SubjectType::Pairwise,
            sector_identifier_uri: sector_uri.map(String::from),
            ..Default::default()
        }
    }

    fn uris(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    const CODE: &[GrantType] = &[GrantType::AuthorizationCode, GrantType::RefreshToken];

    #[test]
    fn the_sector_is_what_the_client_proved_it_controls() {
        let rp = pairwise(None);
        assert_eq!(
            sector(
                &rp,
                "c1",
                &uris(&["https://App.example/cb", "https://app.example/2"]),
                CODE,
                false
            ),
            "app.example"
        );
        // A sector identifier URI's host wins.
        let with = pairwise(Some("https://sector.example/s.json"));
        assert_eq!(
            sector(&with, "c1", &uris(&["https://app.example/cb"]), CODE, false),
            "sector.example"
        );
        // A metadata document's client: its URL's host.
        assert_eq!(
            sector(
                &rp,
                "https://mcp.example/client.json",
                &uris(&["http://127.0.0.1/cb"]),
                CODE,
                true
            ),
            "mcp.example"
        );
        // Loopback or custom-scheme redirect URIs, any grant that does not send codes to them,
        // or redirect URIs on no host: a sector of the client's own.
        // A sector document proves nothing for a client whose codes go elsewhere or nowhere:
        // it could list a victim's redirect URIs (or, with none of its own, anything).
        for (redirects, grants) in [
            (
                uris(&["https://app.example/cb"]),
                &[GrantType::DeviceCode][..],
            ),
            (uris(&[]), CODE),
            (
                uris(&["https://app.example/cb"]),
                &[GrantType::AuthorizationCode, GrantType::TokenExchange][..],
            ),
        ] {
            assert_eq!(sector(&with, "c1", &redirects, grants, false), "client:c1");
        }
        for (redirects, grants) in [
            (uris(&["http://127.0.0.1/cb"]), CODE),
            (uris(&["com.example.app:/cb"]), CODE),
            (
                uris(&["https://app.example/cb"]),
                &[GrantType::AuthorizationCode, GrantType::DeviceCode][..],
            ),
            (
                uris(&["https://app.example/cb"]),
                &[GrantType::TokenExchange][..],
            ),
            (
                uris(&["https://app.example/cb", "http://127.0.0.1/cb"]),
                CODE,
            ),
            (uris(&[]), CODE),
        ] {
            assert_eq!(
                sector(&rp, "c1", &redirects, grants, false),
                "client:c1",
                "{redirects:?} {grants:?}"
            );
        }
    }

    #[test]
    fn sectors_see_different_stable_identifiers() {
        let secret = [7u8; 32];
        let a = subject(&secret, "a.example", "alice");
        assert_eq!(a, subject(&secret, "a.example", "alice"), "stable");
        assert_eq!(a.len(), 43);
        assert_ne!(a, subject(&secret, "b.example", "alice"), "another sector");
        assert_ne!(a, subject(&secret, "a.example", "bob"), "another user");
        assert_ne!(
            a,
            subject(&[8u8; 32], "a.example", "alice"),
            "another secret"
        );
        // The boundary between sector and user is not movable.
        assert_ne!(subject(&secret, "a.b", "c"), subject(&secret, "a", "b.c"));
        assert_ne!(
            subject(&secret, "client:x", "y"),
            subject(&secret, "client", "x:y")
        );
    }

    #[test]
    fn session_ids_differ_per_sector_and_read_back_in_their_own() {
        let secret = [9u8; 32];
        let sid = "866bdf7a-f32e-462f-a1ab-84ef6e72fa3e";
        let a = session_id(&secret, "a.example", sid);
        let b = session_id(&secret, "b.example", sid);
        assert_ne!(a, b);
        assert_ne!(a, sid);
        assert_eq!(a, session_id(&secret, "a.example", sid), "stable");
        assert_eq!(
            local_session_id(&secret, "a.example", &a).as_deref(),
            Some(sid)
        );
        // Another sector's, or something made up, names no session.
        assert_ne!(
            local_session_id(&secret, "a.example", &b).as_deref(),
            Some(sid)
        );
        assert_eq!(local_session_id(&secret, "a.example", "not-one"), None);
        assert_eq!(local_session_id(&secret, "a.example", sid), None);
        // A sid that is no uuid is hashed, never shown.
        assert_ne!(session_id(&secret, "a.example", "plain"), "plain");
    }

    #[test]
    fn a_sector_document_must_list_every_redirect_uri_exactly() {
        let doc = json!(["https://a.example/cb", "https://b.example/cb"]);
        assert!(document_lists(
            &doc,
            &uris(&["https://a.example/cb", "https://b.example/cb"])
        )
        .is_ok());
        assert!(document_lists(&doc, &uris(&["https://a.example/cb/"])).is_err());
        assert!(document_lists(&doc, &uris(&["https://c.example/cb"]))
            .unwrap_err()
            .contains("c.example"));
        assert!(document_lists(&json!({"redirect_uris": []}), &[]).is_err());
        assert!(document_lists(&json!(["x", 1]), &[]).is_err());
        assert!(document_lists(&json!([]), &[]).is_ok());
    }
}
