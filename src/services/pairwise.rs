//! Pairwise subject identifiers (OIDC Core §8.1) carried out: the secret they are keyed with
//! (made on first use, sealed like the signing keys), the identifier a client sees of a user
//! (`protocol::pairwise` decides the sector and the hash), and the check that a client whose
//! sector comes from a `sector_identifier_uri` proved it: a document fetched from that URI (by
//! the front: the database cannot fetch) lists every redirect URI of the client.

use crate::error::{ApiResult, Failure, MisuseError, OAuthError, Then};
use crate::model::GrantType;
use crate::protocol::client_metadata::{RelyingParty, SubjectType};
use crate::protocol::pairwise;
use crate::services::keys;
use crate::store::clients::Client;
use crate::store::subjects;
use rand::RngCore;
use std::cell::RefCell;

use crate::store::subjects::SECRET_AAD;

/// How long after a fetch of a sector identifier document that did not list a redirect URI
/// the refusal stands before the front is asked to fetch again (the client may fix it).
const REFETCH_AFTER_SECS: f64 = 60.0;

thread_local! {
    // The secret never changes once made (a KEK rotation re-seals the same bytes): opened once
    // per backend, once it is committed (one made by a transaction that rolls back must not
    // outlive it).
    static SECRET: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

/// The secret, made now if there is none yet (on the primary: the first pairwise token is
/// issued there).
fn secret() -> Result<Vec<u8>, MisuseError> {
    if let Some(s) = SECRET.with(|c| c.borrow().clone()) {
        return Ok(s);
    }
    let stored = match subjects::secret()? {
        Some(s) => s,
        None => {
            let mut fresh = vec![0u8; 32];
            rand::rng().fill_bytes(&mut fresh);
            let (sealed, kek_id) = keys::seal_secret(SECRET_AAD, &fresh)?;
            match subjects::make_secret(sealed, kek_id)? {
                Some(made) => made,
                // Another first use won: its secret, committed, by a statement of our own.
                None => subjects::secret()?
                    .ok_or_else(|| crate::error::internal("the subject secret vanished"))?,
            }
        }
    };
    let plain = keys::open_secret(SECRET_AAD, &stored.secret, stored.kek_id.as_deref())?;
    if !stored.mine {
        SECRET.with(|c| *c.borrow_mut() = Some(plain.clone()));
    }
    Ok(plain)
}

/// What a client is, as far as its subjects go.
pub struct SubjectClient<'a> {
    pub client_id: &'a str,
    pub relying_party: RelyingParty,
    pub redirect_uris: &'a [String],
    pub grant_types: &'a [GrantType],
    pub metadata_document: bool,
}

impl<'a> SubjectClient<'a> {
    pub fn of(client: &'a Client) -> Result<SubjectClient<'a>, MisuseError> {
        Ok(SubjectClient {
            client_id: &client.client_id,
            relying_party: client.relying_party()?,
            redirect_uris: &client.redirect_uris,
            grant_types: &client.grant_types,
            metadata_document: client.metadata_document,
        })
    }

    pub fn is_pairwise(&self) -> bool {
        self.relying_party.subject_type == SubjectType::Pairwise
    }

    fn sector(&self) -> String {
        pairwise::sector(
            &self.relying_party,
            self.client_id,
            self.redirect_uris,
            self.grant_types,
            self.metadata_document,
        )
    }

    /// The identifier this client sees of the user `local`: `local` itself for a public
    /// subject type, else the user's pairwise identifier in the client's sector.
    pub fn subject(&self, local: &str) -> Result<String, MisuseError> {
        if !self.is_pairwise() {
            return Ok(local.to_string());
        }
        Ok(pairwise::subject(&secret()?, &self.sector(), local))
    }

    /// The session id (`sid`) this client sees of session `sid`: enciphered for its sector when
    /// it is pairwise (a session id shared by every client would join their identifiers).
    pub fn session_id(&self, sid: &str) -> Result<String, MisuseError> {
        if !self.is_pairwise() {
            return Ok(sid.to_string());
        }
        Ok(pairwise::session_id(&secret()?, &self.sector(), sid))
    }

    /// The session a `sid` this client was given names (`None`: none).
    pub fn local_session_id(&self, presented: &str) -> Result<Option<String>, MisuseError> {
        if !self.is_pairwise() {
            return Ok(Some(presented.to_string()));
        }
        Ok(pairwise::local_session_id(
            &secret()?,
            &self.sector(),
            presented,
        ))
    }
}

/// For a pairwise client with a `sector_identifier_uri`: a document fetched from it must list
/// every one of its redirect URIs (OIDC Core §8.1) before a token is issued to it. None yet, or
/// one fetched from another URI, or one that did not list them over a minute ago: the front is
/// asked to fetch it (`refresh_sector`) and try once more; one that did not list them, or could
/// not be fetched, a moment ago: `invalid_client`, saying why. Checked before anything is
/// written, so that a code is never spent on a refusal.
pub fn ensure_sector(client: &Client) -> ApiResult<()> {
    let rp = client.relying_party()?;
    let Some(uri) = rp
        .sector_identifier_uri
        .as_deref()
        .filter(|_| rp.subject_type == SubjectType::Pairwise)
    else {
        return Ok(());
    };
    let fetch = || -> Failure {
        Failure::OAuthThen(
            OAuthError::TemporarilyUnavailable(format!(
                "the client's sector_identifier_uri {uri} has not been fetched yet"
            )),
            Then::Refresh {
                field: "refresh_sector",
                provider: client.client_id.clone(),
            },
        )
    };
    let Some(doc) = subjects::sector_document(&client.client_id)? else {
        return Err(fetch());
    };
    if doc.sector_identifier_uri != uri {
        return Err(fetch());
    }
    let why = match (&doc.redirect_uris, &doc.last_error) {
        (Some(listed), _) => match client.redirect_uris.iter().find(|u| !listed.contains(u)) {
            None => return Ok(()),
            Some(u) => format!("it does not list the redirect URI {u}"),
        },
        (None, Some(e)) => e.clone(),
        (None, None) => "it could not be read".to_string(),
    };
    if doc.age > REFETCH_AFTER_SECS {
        return Err(fetch());
    }
    Err(OAuthError::InvalidClient(format!(
        "the client's sector_identifier_uri {uri} does not prove its sector (OIDC Core §8.1): {why}"
    ))
    .into())
}
