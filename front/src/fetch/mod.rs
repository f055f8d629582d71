//! What the front fetches from elsewhere, the database being unable to: trusted issuers'
//! keys, sign-in providers' metadata and the upstream sign-in's token exchange, client
//! metadata documents, `private_key_jwt` clients' published keys. Every fetch goes through one fence (`fence`) and fails with a cause
//! that says what to change (`failure`); refreshes that requests trigger are rationed
//! (`on_demand`).

pub mod client_documents;
pub mod client_keys;
pub mod failure;
pub mod fence;
pub mod issuer_keys;
pub mod logout_delivery;
pub mod on_demand;
pub mod provider_metadata;
pub mod sector_documents;
pub mod sign_in_exchange;
