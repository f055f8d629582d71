//! Device user codes are short (RFC 8628 §5.1): lookups by one are limited per client
//! address, at the consent API and its Supabase twin.

use crate::app::state::AppState;
use crate::rate_limit::AddrKey;
use crate::sql::{self, CallError};
use axum::http::HeaderMap;
use oauth_core::protocol::secret::is_authorization_id;
use std::net::SocketAddr;
use std::time::Instant;

/// Every id that is not shaped like an authorization id is a user code being tried, whatever
/// its spelling (padding, case, spaces, length): counted per client address.
pub fn limit_user_codes(
    s: &AppState,
    headers: &HeaderMap,
    peer: SocketAddr,
    id: &str,
) -> Result<(), CallError> {
    if is_authorization_id(id) {
        return Ok(());
    }
    s.user_code_limit
        .check(AddrKey::of(s.client_ip(headers, peer)), Instant::now())
        .map_err(|wait| {
            sql::too_many_requests(
                "slow_down",
                "too many user codes tried from this address; wait a minute",
                wait,
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_or_respelled_user_codes_are_counted_as_user_codes() {
        let real = "Xb3_0f9aQk-2LmN8pQrStUvWxYz0123456789abcDEF";
        assert_eq!(real.len(), 43);
        assert!(is_authorization_id(real));
        for code in [
            "BCDF-GHJK",
            "bcdfghjk",
            "BCDF-GHJK------------",
            "BCDF-GHJK----------------------------------",
            "BCDFGHJK-----------------------------------",
            "B-C-D-F-G-H-J-K----------------------------",
            "bcdf ghjk",
            "BCDFGHJK BCDFGHJK BCDFGHJK BCDFGHJK BCDFGHJ",
            "",
            &"A".repeat(44),
            &"A".repeat(42),
        ] {
            assert!(!is_authorization_id(code), "{code:?} escapes the limit");
        }
        assert_eq!(
            "BCDF-GHJK----------------------------------".len(),
            43,
            "the padded code has an id's length"
        );
    }
}
