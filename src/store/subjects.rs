//! `oauth.subject_secret` (what pairwise identifiers are keyed with) and
//! `oauth.client_sector_documents` (what the front fetched from sector identifier URIs).

use super::{execute, one};
use crate::error::MisuseError;
use crate::{query, row_type};

/// The associated data the secret is sealed under (`services::keys::seal_secret`): its row.
pub const SECRET_AAD: &str = "subject_secret";

row_type! {
    /// The secret as stored: sealed when `kek_id` is set.
    pub struct StoredSecret {
        pub secret: Vec<u8>,
        pub kek_id: Option<String>,
        /// Made by this transaction, not committed yet.
        pub mine: bool,
    }
}

pub fn secret() -> Result<Option<StoredSecret>, MisuseError> {
    one(query!("subjects/secret"), &[])
}

/// Stores `sealed` as the secret unless one exists (then `None`: read it again).
pub fn make_secret(
    sealed: Vec<u8>,
    kek_id: Option<String>,
) -> Result<Option<StoredSecret>, MisuseError> {
    one(
        query!("subjects/make_secret"),
        &[sealed.into(), kek_id.into()],
    )
}

pub fn rewrap_secret(sealed: Vec<u8>, kek_id: &str) -> Result<(), MisuseError> {
    execute(
        query!("subjects/rewrap_secret"),
        &[sealed.into(), kek_id.into()],
    )
    .map(|_| ())
}

row_type! {
    /// What the front last fetched from a client's sector identifier URI.
    pub struct SectorDocument {
        pub sector_identifier_uri: String,
        pub redirect_uris: Option<Vec<String>>,
        pub last_error: Option<String>,
        /// Seconds since.
        pub age: f64,
    }
}

pub fn sector_document(client_id: &str) -> Result<Option<SectorDocument>, MisuseError> {
    one(query!("subjects/sector_document"), &[client_id.into()])
}

pub fn set_sector_document(
    client_id: &str,
    uri: &str,
    redirect_uris: Option<Vec<String>>,
    error: Option<&str>,
) -> Result<(), MisuseError> {
    execute(
        query!("subjects/set_sector_document"),
        &[
            client_id.into(),
            uri.into(),
            redirect_uris.into(),
            error.into(),
        ],
    )
    .map(|_| ())
}
