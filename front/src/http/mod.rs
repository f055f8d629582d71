//! HTTP without a surface: reading requests (bodies, bearer tokens, the client's address),
//! shared answers (429, cacheable documents, HTML error pages), the limits every surface
//! applies, the access log, and the URL browsers reach this front at.

pub mod access_log;
pub mod client_addr;
pub mod client_auth;
pub mod extract;
pub mod pages;
pub mod public_url;
pub mod respond;
pub mod user_codes;
