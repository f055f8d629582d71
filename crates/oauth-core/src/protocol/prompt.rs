//! OpenID Connect `prompt` and `max_age` (OIDC Core §3.1.2.1): what the request allows the
//! server to skip. `none` never shows UI (the client gets `login_required`,
//! `consent_required` or `interaction_required` instead); `login` and `max_age` need a
//! session authenticated recently enough; `consent` always asks; `select_account` is passed
//! to the consent page.

/// The values we act on, in the order they are stored.
const KNOWN: &[&str] = &["none", "login", "consent", "select_account"];

/// The stored form of a `prompt` parameter: the known values, space-separated, or `None`.
/// Unknown values are ignored (OIDC Core §3.1.2.1 allows either); `none` with any other value
/// is an error.
pub fn parse(prompt: Option<&str>) -> Result<Option<String>, String> {
    let Some(p) = prompt else { return Ok(None) };
    let given: Vec<&str> = p.split(' ').filter(|v| !v.is_empty()).collect();
    let known: Vec<&str> = KNOWN
        .iter()
        .copied()
        .filter(|k| given.contains(k))
        .collect();
    if known.contains(&"none") && given.len() > 1 {
        return Err("prompt=none cannot be combined with other prompt values".into());
    }
    Ok((!known.is_empty()).then(|| known.join(" ")))
}

pub fn has(stored: Option<&str>, value: &str) -> bool {
    stored.is_some_and(|p| p.split(' ').any(|x| x == value))
}

/// `max_age` in seconds: decimal digits only, at most a year (beyond, it means nothing a
/// session lifetime would not).
pub fn parse_max_age(max_age: Option<&str>) -> Result<Option<i32>, String> {
    let Some(m) = max_age else { return Ok(None) };
    if m.is_empty() || m.len() > 9 || !m.bytes().all(|b| b.is_ascii_digit()) {
        return Err("max_age must be a non-negative number of seconds".into());
    }
    let secs: i32 = m
        .parse()
        .map_err(|_| "max_age is out of range".to_string())?;
    Ok(Some(secs.min(365 * 86400)))
}

/// Latest time a timestamp claim may name: the end of year 9999, which `to_timestamp` takes.
const MAX_EPOCH: i64 = 253_402_300_799;

/// When the session's user authenticated: `auth_time`; else the latest `timestamp` of
/// Supabase Auth's `amr`, or `iat` less Clerk's first-factor age `fva[0]` (minutes): both
/// refresh their sessions silently, so `iat` is the last refresh; else `iat`. Values outside
/// 0 ..= year 9999 count as unknown. For another issuer's sessions; ours say it in
/// `auth_time` or not at all (`our_session_auth_time`).
pub fn session_auth_time(claims: &serde_json::Value) -> Option<i64> {
    let sane = |t: Option<i64>| t.filter(|t| (0..=MAX_EPOCH).contains(t));
    if let Some(t) = claims.get("auth_time") {
        return sane(t.as_i64());
    }
    let amr = claims
        .get("amr")
        .and_then(|a| a.as_array())
        .and_then(|methods| {
            methods
                .iter()
                .filter_map(|m| m.get("timestamp").and_then(|t| t.as_i64()))
                .max()
        });
    if amr.is_some() {
        return sane(amr);
    }
    let iat = sane(claims.get("iat").and_then(|t| t.as_i64()));
    let first_factor_minutes = claims
        .get("fva")
        .and_then(|f| f.get(0))
        .and_then(|m| m.as_i64());
    match first_factor_minutes {
        Some(m) if m >= 0 => sane(iat.and_then(|t| t.checked_sub(m.checked_mul(60)?))),
        Some(_) => None,
        None => iat,
    }
}

/// When the user of one of OUR session tokens authenticated: its `auth_time` claim, which we
/// signed, and nothing else. A session without one (an upstream sign-in whose provider did
/// not say when the user authenticated) is of unknown age: its `iat` is when we minted the
/// token, not when anyone typed a password.
pub fn our_session_auth_time(claims: &serde_json::Value) -> Option<i64> {
    claims
        .get("auth_time")
        .and_then(|t| t.as_i64())
        .filter(|t| (0..=MAX_EPOCH).contains(t))
}

/// Whether the verified claims of an ID token used as `id_token_hint` were issued to
/// `client_id`: one of its audiences, and its `azp` when present (or when it has several
/// audiences, OIDC Core §2). A client may only name users through its own ID tokens.
pub fn hint_is_for(claims: &serde_json::Value, client_id: &str) -> bool {
    use serde_json::Value;
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => return false,
    };
    if !audiences.contains(&client_id) {
        return false;
    }
    match claims.get("azp") {
        Some(azp) => azp.as_str() == Some(client_id),
        None => audiences.len() == 1,
    }
}

/// What the request asks of the session that answers it.
pub struct Freshness {
    pub login: bool,
    pub max_age: Option<i64>,
    /// When the request was made (seconds since the epoch, rounded down).
    pub requested_at: i64,
}

/// Whose clock wrote a session's `auth_time`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionClock {
    /// Ours (the database's transaction time): no leeway, since no clocks disagree.
    Ours,
    /// Another issuer's: `skew` seconds of leeway either way.
    Theirs { skew: i64 },
}

/// Whether a session that authenticated at `auth_time` satisfies the request at `now`. A
/// session that does not say when it authenticated satisfies neither demand.
///
/// Our sessions: `prompt=login` needs a sign-in strictly after the request. Times are whole
/// seconds (rounded down), so a sign-in in the request's own second counts as before it: the
/// user is asked once more rather than a sign-in up to a second old being taken as new.
/// `max_age` is met by a sign-in made for this request (after it), or one at most that many
/// seconds ago.
///
/// Another issuer's sessions: the same, each bound widened by the clock skew allowance.
pub fn session_is_fresh(
    f: &Freshness,
    auth_time: Option<i64>,
    now: i64,
    clock: SessionClock,
) -> bool {
    if !f.login && f.max_age.is_none() {
        return true;
    }
    let Some(t) = auth_time else { return false };
    let skew = match clock {
        SessionClock::Ours => 0,
        SessionClock::Theirs { skew } => skew.max(0),
    };
    // A sign-in claimed to lie in the future is no evidence of a recent one.
    if t > now.saturating_add(skew) {
        return false;
    }
    let after_request = match clock {
        SessionClock::Ours => t > f.requested_at,
        SessionClock::Theirs { .. } => t.saturating_add(skew) >= f.requested_at,
    };
    let recent = |m: i64| now.saturating_sub(t) <= m.saturating_add(skew);
    (!f.login || after_request) && f.max_age.is_none_or(|m| after_request || recent(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_values_are_normalised_and_none_stands_alone() {
        assert_eq!(parse(None).unwrap(), None);
        assert_eq!(
            parse(Some("consent login")).unwrap().as_deref(),
            Some("login consent")
        );
        assert_eq!(parse(Some("create")).unwrap(), None);
        assert_eq!(parse(Some("none")).unwrap().as_deref(), Some("none"));
        assert!(parse(Some("none login")).is_err());
        assert!(parse(Some("none create")).is_err());
        assert!(has(Some("login consent"), "consent") && !has(Some("login"), "none"));
    }

    #[test]
    fn the_sessions_sign_in_time_is_auth_time_then_amr_then_iat() {
        use serde_json::json;
        assert_eq!(
            session_auth_time(&json!({"auth_time": 5, "iat": 9})),
            Some(5)
        );
        let supabase = json!({"iat": 900, "amr": [{"method": "otp", "timestamp": 100},
                                                  {"method": "password", "timestamp": 300}]});
        assert_eq!(session_auth_time(&supabase), Some(300));
        assert_eq!(session_auth_time(&json!({"iat": 9})), Some(9));
        // Clerk: minutes since the first factor was verified (-1: never).
        assert_eq!(
            session_auth_time(&json!({"iat": 1000, "fva": [10, -1]})),
            Some(400)
        );
        assert_eq!(
            session_auth_time(&json!({"iat": 1000, "fva": [-1, -1]})),
            None
        );
        assert_eq!(
            session_auth_time(&json!({"iat": 1000, "fva": [i64::MAX, 0]})),
            None
        );
        for bad in [
            json!({"auth_time": -1}),
            json!({"auth_time": i64::MAX}),
            json!({"auth_time": "5"}),
            json!({"iat": i64::MIN}),
            json!({}),
        ] {
            assert_eq!(session_auth_time(&bad), None, "{bad}");
        }
    }

    #[test]
    fn max_age_is_seconds() {
        assert_eq!(parse_max_age(Some("0")).unwrap(), Some(0));
        assert_eq!(parse_max_age(Some("3600")).unwrap(), Some(3600));
        for bad in ["", "-1", "1.5", "1e3", " 5", "9999999999"] {
            assert!(parse_max_age(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn login_and_max_age_need_a_recent_enough_session() {
        let theirs = SessionClock::Theirs { skew: 0 };
        let plain = Freshness {
            login: false,
            max_age: None,
            requested_at: 1000,
        };
        assert!(session_is_fresh(&plain, None, 2000, SessionClock::Ours));
        let login = Freshness {
            login: true,
            max_age: None,
            requested_at: 1000,
        };
        assert!(!session_is_fresh(&login, Some(900), 1010, theirs));
        assert!(session_is_fresh(&login, Some(1005), 1010, theirs));
        assert!(!session_is_fresh(&login, None, 1010, theirs));
        let max_age = Freshness {
            login: false,
            max_age: Some(60),
            requested_at: 1000,
        };
        assert!(session_is_fresh(&max_age, Some(950), 1000, theirs));
        assert!(!session_is_fresh(&max_age, Some(900), 1000, theirs));
        // max_age=0 is prompt=login in effect: only a session of this very moment.
        let zero = Freshness {
            login: false,
            max_age: Some(0),
            requested_at: 1000,
        };
        assert!(!session_is_fresh(&zero, Some(999), 1000, theirs));
        // Extreme or future sign-in times prove nothing and never overflow.
        for clock in [SessionClock::Ours, SessionClock::Theirs { skew: 30 }] {
            for t in [i64::MIN, i64::MAX, 99_999_999_999, 1_500] {
                assert!(!session_is_fresh(&max_age, Some(t), 1000, clock), "{t}");
                assert!(!session_is_fresh(&login, Some(t), 1010, clock), "{t}");
            }
        }
    }

    #[test]
    fn our_sessions_get_no_clock_skew_a_fresh_sign_in_is_one_after_the_request() {
        let ours = SessionClock::Ours;
        let login = Freshness {
            login: true,
            max_age: None,
            requested_at: 1000,
        };
        // Five seconds before the request: the skew allowance must not make it fresh.
        assert!(!session_is_fresh(&login, Some(995), 1010, ours));
        assert!(session_is_fresh(
            &login,
            Some(995),
            1010,
            SessionClock::Theirs { skew: 30 }
        ));
        // The request's own second counts as before it; the next one is after.
        assert!(!session_is_fresh(&login, Some(1000), 1010, ours));
        assert!(session_is_fresh(&login, Some(1001), 1010, ours));
        // Not in the future, not by a second.
        assert!(!session_is_fresh(&login, Some(1011), 1010, ours));
        assert!(!session_is_fresh(&login, None, 1010, ours));
        let zero = Freshness {
            login: false,
            max_age: Some(0),
            requested_at: 1000,
        };
        assert!(!session_is_fresh(&zero, Some(995), 1000, ours));
        assert!(session_is_fresh(
            &zero,
            Some(995),
            1000,
            SessionClock::Theirs { skew: 30 }
        ));
        // A sign-in made for this request meets max_age=0 however long the consent takes.
        assert!(session_is_fresh(&zero, Some(1001), 1300, ours));
        // A sign-in of this very second does too (whole seconds: no time has passed).
        assert!(session_is_fresh(&zero, Some(1000), 1000, ours));
        assert!(!session_is_fresh(&zero, Some(1000), 1001, ours));
        let minute = Freshness {
            login: false,
            max_age: Some(60),
            requested_at: 1000,
        };
        assert!(session_is_fresh(&minute, Some(950), 1010, ours));
        assert!(session_is_fresh(&minute, Some(950), 1010, ours));
        assert!(!session_is_fresh(&minute, Some(949), 1010, ours));
        assert!(session_is_fresh(&minute, Some(949), 1009, ours));
        // Unknown age (an upstream sign-in whose provider did not say) is never fresh.
        assert!(!session_is_fresh(&minute, None, 1000, ours));
        // Both demands at once: max_age does not excuse prompt=login.
        let both = Freshness {
            login: true,
            max_age: Some(3600),
            requested_at: 1000,
        };
        assert!(!session_is_fresh(&both, Some(990), 1000, ours));
        assert!(session_is_fresh(&both, Some(1002), 1003, ours));
    }

    #[test]
    fn an_id_token_hint_must_be_the_clients_own() {
        use serde_json::json;
        assert!(hint_is_for(&json!({"aud": "c1", "sub": "u"}), "c1"));
        assert!(hint_is_for(&json!({"aud": ["c1"], "azp": "c1"}), "c1"));
        assert!(hint_is_for(
            &json!({"aud": ["c1", "api"], "azp": "c1"}),
            "c1"
        ));
        for other in [
            json!({"aud": "c2"}),
            json!({"aud": ["c2", "c1"], "azp": "c2"}),
            json!({"aud": ["c1", "api"]}),
            json!({"aud": "c1", "azp": "c2"}),
            json!({"aud": "C1"}),
            json!({"aud": ["c1 "]}),
            json!({"sub": "u"}),
            json!({"aud": 1}),
        ] {
            assert!(!hint_is_for(&other, "c1"), "{other}");
        }
    }

    #[test]
    fn our_sessions_say_when_in_auth_time_or_not_at_all() {
        use serde_json::json;
        assert_eq!(
            our_session_auth_time(&json!({"auth_time": 5, "iat": 9})),
            Some(5)
        );
        // No fallback to iat (when we minted the token) or to other issuers' conventions.
        for unknown in [
            json!({"iat": 9}),
            json!({"auth_time": null, "iat": 9}),
            json!({"iat": 900, "amr": [{"method": "otp", "timestamp": 100}]}),
            json!({"iat": 1000, "fva": [10, -1]}),
            json!({"auth_time": "5"}),
            json!({"auth_time": -1}),
            json!({"auth_time": i64::MAX}),
        ] {
            assert_eq!(our_session_auth_time(&unknown), None, "{unknown}");
        }
    }
}
