//! Whether a stored client may act under today's switches. A client exists because of how it
//! came to be (an administrator created it, it registered itself, or it is identified by the
//! URL of its metadata document), and some of those ways are governed by a setting. A setting
//! that is off is off for everything it governs: not only for creating such clients, but for
//! every step a client already stored that way would take (authorize, consent, code, refresh,
//! device, client authentication at every endpoint). The rows are kept, so turning the setting
//! back on brings the clients back: the switch governs, it does not delete.
//!
//! Every protocol step loads its client through one store call (`store::clients::find`), which
//! asks this function; a future switch over clients is added here and there, nowhere else.

use crate::error::OAuthError;

/// The setting that governs clients identified by a metadata document URL.
pub const METADATA_DOCUMENTS_SETTING: &str = "oauth_server.client_id_metadata_documents";

/// How a stored client came to exist, as far as a switch cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Created by an administrator, or registered dynamically (RFC 7591): a registered client
    /// keeps working when dynamic registration is turned off, which governs registering only.
    Registered,
    /// Identified by the https URL of its Client ID Metadata Document, fetched by the front.
    MetadataDocument,
}

/// The settings that govern clients, as they are now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switches {
    /// `oauth_server.client_id_metadata_documents`.
    pub metadata_documents: bool,
}

/// `Ok` when a client of `origin` may act now; otherwise the refusal, which names the setting
/// that would change it (`unauthorized_client`, 400: the client is known, and this server does
/// not let it act; never `invalid_client`, which would count as a failed authentication).
pub fn may_act(origin: Origin, switches: &Switches) -> Result<(), OAuthError> {
    match origin {
        Origin::Registered => Ok(()),
        Origin::MetadataDocument if switches.metadata_documents => Ok(()),
        Origin::MetadataDocument => Err(switched_off()),
    }
}

/// The answer to an authorization request whose `client_id` is unknown: with metadata
/// documents off, a URL-shaped one is refused naming the setting (the front fetches and stores
/// such clients only while it is on); otherwise it is just unknown (`invalid_request`).
pub fn unknown(client_id: &str, switches: &Switches) -> OAuthError {
    if names_a_document(client_id) && !switches.metadata_documents {
        switched_off()
    } else {
        OAuthError::InvalidRequest("unknown client_id".into())
    }
}

/// Whether `client_id` is shaped like the URL of a metadata document, in any letter case.
pub fn names_a_document(client_id: &str) -> bool {
    let lower = |n: usize| client_id.get(..n).map(str::to_ascii_lowercase);
    lower(8).as_deref() == Some("https://") || lower(7).as_deref() == Some("http://")
}

fn switched_off() -> OAuthError {
    OAuthError::UnauthorizedClient(format!(
        "this client is identified by the URL of its metadata document, and {METADATA_DOCUMENTS_SETTING} is off on this server"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ON: Switches = Switches {
        metadata_documents: true,
    };
    const OFF: Switches = Switches {
        metadata_documents: false,
    };

    #[test]
    fn registered_clients_act_whatever_the_switch() {
        assert_eq!(may_act(Origin::Registered, &ON), Ok(()));
        assert_eq!(may_act(Origin::Registered, &OFF), Ok(()));
    }

    #[test]
    fn document_clients_act_only_while_the_switch_is_on() {
        assert_eq!(may_act(Origin::MetadataDocument, &ON), Ok(()));
        let e = may_act(Origin::MetadataDocument, &OFF).unwrap_err();
        assert_eq!(e.code(), "unauthorized_client");
        assert_eq!(e.http_status(), 400);
        assert!(e.description().contains(METADATA_DOCUMENTS_SETTING), "{e}");
    }

    #[test]
    fn an_unknown_url_is_refused_by_name_only_while_off() {
        for id in [
            "https://app.example/c.json",
            "HTTPS://app.example/c.json",
            "http://app.example/c.json",
            "Http://app.example/c.json",
        ] {
            let e = unknown(id, &OFF);
            assert_eq!(e.code(), "unauthorized_client", "{id}");
            assert!(e.description().contains(METADATA_DOCUMENTS_SETTING));
            assert_eq!(unknown(id, &ON).code(), "invalid_request", "{id}");
        }
        for id in ["abc123", "", "https:/x", "é", "httpsé"] {
            assert_eq!(unknown(id, &OFF).code(), "invalid_request", "{id}");
        }
    }
}
