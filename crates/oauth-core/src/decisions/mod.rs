//! What to do with a stored request or token, as pure functions: the state the extension
//! loaded (a locked row) and the request in, an outcome out. The API layer carries the outcome
//! out (revoke a family, mark a code redeemed, record a poll) and answers; nothing here reads
//! or writes the database, so every branch is unit-tested without Postgres.

pub mod auto_approve;
pub mod client_standing;
pub mod db_login;
pub mod dpop_binding;
pub mod grounds;
pub mod poll_device;
pub mod redeem_code;
pub mod refresh;
pub mod token_exchange;
