//! A device polling the token endpoint with its device code (RFC 8628 §3.4, §3.5).

use crate::error::{invalid_grant, OAuthError};
use crate::model::AuthorizationStatus;

/// Seconds a device waits between polls, and what `slow_down` adds (RFC 8628 §3.5).
pub const INTERVAL: i32 = 5;
pub const SLOW_DOWN_STEP: i32 = 5;

/// The device authorization the device code names, as locked for this transaction.
#[derive(Debug, Clone, Copy)]
pub struct DeviceState<'a> {
    pub client_id: &'a str,
    pub status: AuthorizationStatus,
    pub expired: bool,
    /// Polled again before its interval passed.
    pub too_fast: bool,
}

#[derive(Debug, PartialEq)]
pub enum PollOutcome {
    /// The user has not decided: record the poll (and, with `slow_down`, lengthen the
    /// interval by [`SLOW_DOWN_STEP`]), then answer [`PollOutcome::error`]. Returned rather
    /// than raised, so the poll time persists.
    Wait {
        slow_down: bool,
    },
    /// The user approved: redeem as a code is redeemed.
    Redeem,
    /// Redeemed before: revoke the family it issued, then answer the error.
    Replayed,
    Refuse(OAuthError),
}

impl PollOutcome {
    /// The error to answer for every outcome but `Redeem`.
    pub fn error(&self) -> Option<OAuthError> {
        match self {
            PollOutcome::Wait { slow_down: true } => Some(OAuthError::SlowDown(format!(
                "polling too fast: wait {SLOW_DOWN_STEP} seconds more between requests"
            ))),
            PollOutcome::Wait { slow_down: false } => Some(OAuthError::AuthorizationPending(
                "the user has not decided yet".into(),
            )),
            PollOutcome::Replayed => Some(invalid_grant(
                "device code has already been used; the tokens it issued are revoked",
            )),
            PollOutcome::Refuse(e) => Some(e.clone()),
            PollOutcome::Redeem => None,
        }
    }
}

/// `state`: the row of the device code's hash, if any; `client_id`: the authenticated client.
pub fn decide(state: Option<&DeviceState>, client_id: &str) -> PollOutcome {
    let Some(row) = state else {
        return PollOutcome::Refuse(invalid_grant("device code is invalid"));
    };
    if row.client_id != client_id {
        return PollOutcome::Refuse(invalid_grant("device code was issued to another client"));
    }
    // A redeemed code stays a replay after it expires: its tokens may still be live.
    if row.expired && row.status != AuthorizationStatus::Redeemed {
        return PollOutcome::Refuse(OAuthError::ExpiredToken(
            "the device code has expired; start again".into(),
        ));
    }
    match row.status {
        AuthorizationStatus::Pending => PollOutcome::Wait {
            slow_down: row.too_fast,
        },
        AuthorizationStatus::Denied => PollOutcome::Refuse(OAuthError::DeviceAccessDenied(
            "the user denied the request".into(),
        )),
        AuthorizationStatus::Redeemed => PollOutcome::Replayed,
        AuthorizationStatus::Approved => PollOutcome::Redeem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AuthorizationStatus::*;

    fn poll(
        status: AuthorizationStatus,
        expired: bool,
        too_fast: bool,
        client: &str,
    ) -> PollOutcome {
        let row = DeviceState {
            client_id: "tv",
            status,
            expired,
            too_fast,
        };
        decide(Some(&row), client)
    }

    fn code(o: &PollOutcome) -> &'static str {
        o.error().map(|e| e.code()).unwrap_or("none")
    }

    #[test]
    fn every_state_has_its_answer() {
        assert_eq!(
            poll(Pending, false, false, "tv"),
            PollOutcome::Wait { slow_down: false }
        );
        assert_eq!(
            code(&poll(Pending, false, false, "tv")),
            "authorization_pending"
        );
        assert_eq!(
            poll(Pending, false, true, "tv"),
            PollOutcome::Wait { slow_down: true }
        );
        assert_eq!(code(&poll(Pending, false, true, "tv")), "slow_down");
        assert_eq!(code(&poll(Denied, false, false, "tv")), "access_denied");
        assert_eq!(poll(Approved, false, false, "tv"), PollOutcome::Redeem);
        assert_eq!(code(&poll(Approved, false, false, "tv")), "none");
        assert_eq!(poll(Redeemed, false, false, "tv"), PollOutcome::Replayed);
        assert_eq!(code(&poll(Redeemed, false, false, "tv")), "invalid_grant");
    }

    #[test]
    fn expiry_ends_all_but_a_replay() {
        for s in [Pending, Denied, Approved] {
            assert_eq!(code(&poll(s, true, false, "tv")), "expired_token", "{s}");
        }
        assert_eq!(poll(Redeemed, true, false, "tv"), PollOutcome::Replayed);
    }

    #[test]
    fn unknown_codes_and_other_clients_are_refused_before_anything_is_recorded() {
        assert_eq!(code(&decide(None, "tv")), "invalid_grant");
        for s in [Pending, Approved, Redeemed] {
            assert!(
                matches!(poll(s, false, false, "other"), PollOutcome::Refuse(_)),
                "{s}"
            );
        }
    }
}
