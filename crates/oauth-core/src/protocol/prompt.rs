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
/// 0 ..= year 9999 count as unknown.
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

/// What the request asks of the session that answers it.
pub struct Freshness {
    pub login: bool,
    pub max_age: Option<i64>,
    /// When the request was made (seconds since the epoch).
    pub requested_at: i64,
}

/// Whether a session that authenticated at `auth_time` satisfies the request at `now`:
/// `prompt=login` needs an authentication after the request was made, `max_age` one at most
/// that many seconds ago, each with `skew` seconds of leeway. A session that does not say
/// when it authenticated satisfies neither.
pub fn session_is_fresh(f: &Freshness, auth_time: Option<i64>, now: i64, skew: i64) -> bool {
    if !f.login && f.max_age.is_none() {
        return true;
    }
    let Some(t) = auth_time else { return false };
    // A sign-in claimed to lie in the future is no evidence of a recent one.
    if t > now.saturating_add(skew) {
        return false;
    }
    let after_request = !f.login || t.saturating_add(skew) >= f.requested_at;
    let recent = f
        .max_age
        .is_none_or(|m| now.saturating_sub(t) <= m.saturating_add(skew));
    after_request && recent
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
        let plain = Freshness {
            login: false,
            max_age: None,
            requested_at: 1000,
        };
        assert!(session_is_fresh(&plain, None, 2000, 0));
        let login = Freshness {
            login: true,
            max_age: None,
            requested_at: 1000,
        };
        assert!(!session_is_fresh(&login, Some(900), 1010, 0));
        assert!(session_is_fresh(&login, Some(1005), 1010, 0));
        assert!(!session_is_fresh(&login, None, 1010, 0));
        let max_age = Freshness {
            login: false,
            max_age: Some(60),
            requested_at: 1000,
        };
        assert!(session_is_fresh(&max_age, Some(950), 1000, 0));
        assert!(!session_is_fresh(&max_age, Some(900), 1000, 0));
        // max_age=0 is prompt=login in effect: only a session of this very moment.
        let zero = Freshness {
            login: false,
            max_age: Some(0),
            requested_at: 1000,
        };
        assert!(!session_is_fresh(&zero, Some(999), 1000, 0));
        // Extreme or future sign-in times prove nothing and never overflow.
        for t in [i64::MIN, i64::MAX, 99_999_999_999, 1_500] {
            assert!(!session_is_fresh(&max_age, Some(t), 1000, 30), "{t}");
            assert!(!session_is_fresh(&login, Some(t), 1010, 30), "{t}");
        }
    }
}
