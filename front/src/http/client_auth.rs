//! The client-authenticating endpoints (token, revocation, introspection, device
//! authorization) behind the failure budget: failed client authentications are counted per
//! (client_id, address); past the budget a failure is answered 429 (see `FailureBudget`), a
//! success as usual. The client_id is read as the extension reads it (oauth-core's Basic
//! decoder), so that spellings of one id share one budget.

use crate::app::state::{AppResult, AppState};
use crate::http::extract::{body_params, dpop_header, header_str};
use crate::http::respond::too_many;
use crate::rate_limit::{AddrKey, Admission};
use crate::sql::{self, SqlResponse};
use axum::body::Bytes;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use oauth_core::protocol::client_auth::{assertion_subject, parse_basic};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Instant;
use tokio_postgres::types::ToSql;

/// Whether an endpoint's call also takes the request's `DPoP` header (RFC 9449), as `$3`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Dpop {
    Taken,
    Ignored,
}

/// One SQL call with the body and the Authorization header (and the DPoP header, when the
/// endpoint takes it), counted against the budget; `on_replica` sends it to a replica when
/// one may answer, `positive` answers being final.
pub async fn form_endpoint(
    s: &AppState,
    call: &str,
    headers: &HeaderMap,
    peer: SocketAddr,
    body: &Bytes,
    on_replica: Option<fn(&SqlResponse) -> bool>,
    dpop: Dpop,
) -> AppResult {
    let addr = AddrKey::of(s.client_ip(headers, peer));
    let params = body_params(headers, body)?;
    let authorization = header_str(headers, header::AUTHORIZATION);
    let client_id = presented_client_id(&params, authorization);
    const SPENT: &str = "too many failed client authentications for this client from this address";
    let admission = s
        .client_auth_failures
        .admit(&client_id, addr, Instant::now());
    if let Admission::Refuse { wait } = admission {
        return Ok(too_many(SPENT, wait));
    }
    let proof = match dpop {
        Dpop::Taken => dpop_header(headers),
        Dpop::Ignored => None,
    };
    let mut args: Vec<&(dyn ToSql + Sync)> = vec![&params, &authorization];
    if dpop == Dpop::Taken {
        args.push(&proof);
    }
    let judged_at = Instant::now();
    // A client assertion's jti is written where it is judged: never a replica's to answer.
    let on_replica = on_replica.filter(|_| params.get("client_assertion").is_none());
    let mut res = match on_replica {
        Some(positive) => s.replicas.read(&s.pool, call, &args, positive).await?,
        None => sql::call(&s.pool, call, &args).await?,
    };
    // A client assertion signed by a key the database lacks: the client's published keys are
    // fetched (at most once a minute per client) and the call made once more.
    if let Some(client) = take_field(&mut res, "refresh_client_keys") {
        if s.client_keys
            .refresh_after_unknown_key(&client, judged_at)
            .await
        {
            res = sql::call(&s.pool, call, &args).await?;
            take_field(&mut res, "refresh_client_keys");
        }
    }
    // A pairwise client whose sector identifier document is not (or no longer) stored: it is
    // fetched (at most once a minute per client) and the call made once more (OIDC Core §8.1).
    if let Some(client) = take_field(&mut res, "refresh_sector") {
        if s.sector_documents.refresh(&client, judged_at).await {
            res = sql::call(&s.pool, call, &args).await?;
            take_field(&mut res, "refresh_sector");
        }
    }
    if res.status != StatusCode::UNAUTHORIZED {
        return Ok(res.into_response());
    }
    s.client_auth_failures
        .failed(&client_id, addr, Instant::now());
    match admission {
        Admission::Probe { probe, hold, wait } => {
            tokio::time::sleep(hold).await;
            drop(probe);
            Ok(too_many(SPENT, wait))
        }
        _ => Ok(res.into_response()),
    }
}

/// A field of an answer that is for the front, not the client (`refresh_client_keys`: the
/// client whose keys to fetch; `refresh_sector`: whose sector document), taken out of it.
fn take_field(res: &mut SqlResponse, field: &str) -> Option<String> {
    res.body
        .as_object_mut()?
        .remove(field)?
        .as_str()
        .map(String::from)
}

/// The client_id an authentication attempt names, decoded as the extension decodes it (RFC
/// 6749 §2.3.1: Basic credentials are form-urlencoded), so that spellings of one id share one
/// budget. "" when none can be read (such attempts share the address's anonymous budget).
fn presented_client_id(params: &Value, authorization: Option<&str>) -> String {
    let from_basic = authorization
        .map(str::trim)
        .and_then(|a| parse_basic(a).ok())
        .map(|(id, _secret)| id);
    // A client assertion without client_id names its client by its sub, as the extension reads.
    let from_assertion = || {
        params["client_assertion"]
            .as_str()
            .and_then(assertion_subject)
    };
    from_basic
        .or_else(|| {
            params["client_id"]
                .as_str()
                .filter(|id| !id.is_empty())
                .map(String::from)
        })
        .or_else(from_assertion)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spellings_of_one_client_id_share_one_failure_budget() {
        use base64::Engine;
        let b64 = |s: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        let none = json!({});
        assert_eq!(presented_client_id(&none, Some(&b64("abc:x"))), "abc");
        assert_eq!(presented_client_id(&none, Some(&b64("%61bc:x"))), "abc");
        assert_eq!(presented_client_id(&none, Some(&b64("a+b:x"))), "a b");
        assert_eq!(
            presented_client_id(&none, Some(&format!("basic  {}", &b64("abc:x")[6..]))),
            "abc"
        );
        assert_eq!(
            presented_client_id(&json!({"client_id": "abc"}), None),
            "abc"
        );
        assert_eq!(presented_client_id(&none, None), "");
        assert_eq!(presented_client_id(&none, Some("Basic !!!")), "");
        // A client assertion without client_id counts against the client it names (its sub),
        // whoever signed it: the extension looks the client up the same way.
        let b64url = |v: serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        let jwt = format!(
            "{}.{}.sig",
            b64url(json!({"alg": "ES256"})),
            b64url(json!({"iss": "abc", "sub": "abc"}))
        );
        assert_eq!(
            presented_client_id(&json!({"client_assertion": jwt}), None),
            "abc"
        );
        assert_eq!(
            presented_client_id(&json!({"client_assertion": jwt, "client_id": "x"}), None),
            "x"
        );
        // An empty client_id is none, to the extension and so here.
        assert_eq!(
            presented_client_id(&json!({"client_assertion": jwt, "client_id": ""}), None),
            "abc"
        );
    }

    /// Whatever the spelling, an attempt the extension checks a secret for is counted under
    /// the client_id the extension checks it for: no spelling of a header or a body reaches one
    /// client's secret under another budget.
    #[test]
    fn every_attempt_the_extension_checks_is_counted_under_the_client_it_checks() {
        use base64::Engine;
        use oauth_core::protocol::client_auth::credentials;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let mut headers: Vec<Option<String>> = vec![None, Some(String::new())];
        for raw in [
            "victim:guess",
            "%76ictim:guess",
            "%76%69%63%74%69%6D:guess",
            "victim%20:guess",
            "victim+:guess",
            "victim:",
            "victim",
            ":guess",
            "victim:gu:ess",
            "vic%tim:guess",
            "victim%00:guess",
            "VICTIM:guess",
        ] {
            for scheme in ["Basic", "basic", "BASIC", "Bearer"] {
                headers.push(Some(format!("{scheme} {}", b64(raw))));
                headers.push(Some(format!("{scheme}  {} ", b64(raw))));
                headers.push(Some(format!("{scheme}\t{}", b64(raw))));
            }
            headers.push(Some(format!("Basic {}", b64(raw).trim_end_matches('='))));
        }
        let bodies = [
            json!({}),
            json!({"client_id": "victim"}),
            json!({"client_id": "other"}),
            json!({"client_id": ""}),
            json!({"client_id": "victim", "client_secret": "guess"}),
            json!({"client_id": ["victim", "other"]}),
            json!({"client_id": 7}),
            json!({"client_secret": "guess"}),
        ];
        for header in &headers {
            for body in &bodies {
                let form = |k: &str| match &body[k] {
                    Value::String(s) if !s.is_empty() => Some(s.as_str()),
                    _ => None,
                };
                // A repeated or non-string client_id is refused before any secret is checked.
                if body["client_id"].is_array() || body["client_id"].is_number() {
                    continue;
                }
                let Ok(creds) =
                    credentials(header.as_deref(), form("client_id"), form("client_secret"))
                else {
                    continue;
                };
                assert_eq!(
                    presented_client_id(body, header.as_deref()),
                    creds.client_id,
                    "{header:?} {body}"
                );
            }
        }
    }
}
