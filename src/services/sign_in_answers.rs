//! What the upstream answers the front relayed prove: for a provider with ID tokens, the
//! token's signature against the provider's stored keys and its claims
//! (`protocol::upstream::id_token`), completed from userinfo or Apple's first-sign-in name;
//! for GitHub and WorkOS, what their APIs said.

use crate::protocol::jws;
use crate::protocol::upstream::id_token::{self, Expected};
use crate::protocol::upstream::identity::{self, Identity};
use crate::services::sign_in::Loaded;
use crate::settings;
use crate::store::db;
use crate::store::sign_in_states::State;
use serde_json::{json, Value};

/// How old an ID token may be when it reaches us: it is minted for this very sign-in.
const ID_TOKEN_MAX_AGE: i64 = 600;

/// A response the front relayed: its body if the status was 200.
fn ok_body<'a>(responses: &'a Value, name: &str) -> Option<&'a Value> {
    let r = responses.get(name)?;
    (r.get("status").and_then(Value::as_i64) == Some(200)).then(|| &r["body"])
}

/// The outcome of judging the upstream answers.
pub(super) enum Judged {
    Identity(Identity, String),
    UnknownKey,
}

pub(super) fn judge(loaded: &Loaded, s: &State, responses: &Value) -> Result<Judged, String> {
    let (p, stored) = (&loaded.provider, &loaded.stored);
    let token = ok_body(responses, "token").ok_or_else(|| {
        let r = &responses["token"];
        let err = r["body"]["error"].as_str().unwrap_or("no usable answer");
        format!(
            "the provider's token endpoint refused the code ({} {err})",
            r["status"]
        )
    })?;
    // GitHub answers errors with 200.
    if let Some(e) = token.get("error").and_then(Value::as_str) {
        return Err(format!(
            "the provider's token endpoint refused the code ({e})"
        ));
    }
    if p.uses_id_token() {
        let id_token = token
            .get("id_token")
            .and_then(Value::as_str)
            .ok_or("the provider's token response has no id_token")?;
        let (kid, alg) = jws::peek_external_header(id_token)?;
        let Some(jwk) = stored.jwks["keys"]
            .as_array()
            .and_then(|k| k.iter().find(|k| k["kid"].as_str() == Some(kid.as_str())))
        else {
            return Ok(Judged::UnknownKey);
        };
        let claims = jws::verify_with(id_token, jwk, alg, None, settings::clock_skew())?;
        id_token::check_id_token(
            p,
            &claims,
            &Expected {
                nonce: &s.nonce,
                now: db::now_epoch().map_err(|e| e.message)?,
                leeway: settings::clock_skew() as i64,
                max_age: ID_TOKEN_MAX_AGE,
            },
        )?;
        let mut id = identity::from_id_token(p, &claims)?;
        if let Some(userinfo) =
            ok_body(responses, "userinfo").filter(|_| p.kind == crate::model::SignInKind::Oidc)
        {
            identity::complete_from_userinfo(&mut id, userinfo);
        }
        if p.kind == crate::model::SignInKind::Apple {
            let first = identity::apple_first_name(responses["apple_user"].as_str());
            for (k, v) in first {
                id.profile.entry(k).or_insert(v);
            }
        }
        let iss = claims["iss"].as_str().unwrap_or_default().to_string();
        return Ok(Judged::Identity(id, iss));
    }
    let base = p.api_base.clone().unwrap_or_default();
    match p.kind {
        crate::model::SignInKind::Github => {
            let user = ok_body(responses, "user").ok_or("GitHub's user API did not answer")?;
            let emails = ok_body(responses, "emails").cloned().unwrap_or(json!([]));
            Ok(Judged::Identity(
                identity::from_github(user, &emails)?,
                base,
            ))
        }
        _ => {
            let profile = ok_body(responses, "profile")
                .or_else(|| token.get("profile"))
                .ok_or("WorkOS did not answer with a profile")?;
            Ok(Judged::Identity(identity::from_workos(p, profile)?, base))
        }
    }
}
