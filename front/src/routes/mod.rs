//! The handlers, one file per surface. A handler translates HTTP (query strings, form bodies,
//! headers) into one SQL function's arguments and its answer back; no surface imports
//! another (what several share lives in `http`).

pub mod account;
pub mod consent;
pub mod demo;
pub mod discovery;
pub mod oauth;
pub mod sign_in;
pub mod supabase;
