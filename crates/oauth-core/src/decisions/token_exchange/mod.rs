//! Token exchange (RFC 8693) as a pure decision: a client presents a user's access token (the
//! subject token) and asks for one for another audience, acting for that user. What it gets is
//! decided from the subject token as verified, the client's request, the actor it names (its
//! own token, RFC 8693 §2.1 `actor_token`) and the exchange policy the DBA wrote (default deny):
//! the audiences and scopes only narrow, the lifetime never outlasts the subject token, and the
//! delegation is recorded in `act`, each earlier actor nested inside the new one (§4.1).
//!
//! Nothing here reads or writes the database: the extension verifies the tokens, loads the
//! policies, and carries the outcome out (issues the token, links its family to the subject's,
//! so that revoking the source revokes what was derived from it).

use crate::error::{invalid_request, invalid_scope, OAuthError};
use serde_json::{json, Value};

/// How deep a delegation chain may go: an agent calling an agent calling an API is three; a
/// chain longer than this is a loop in all but name.
pub const MAX_CHAIN: usize = 5;

/// One rule of the exchange policy (`oauth.allow_token_exchange`): `client_id` may exchange a
/// token whose audience is `from_audience` for one whose audience is `to_audience`, with at
/// most `scopes`; `may_act` lets it act for the user (its own identity recorded in `act`), as
/// an agent does, rather than only to narrow the token it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub client_id: String,
    pub from_audience: String,
    pub to_audience: String,
    pub scopes: Vec<String>,
    pub may_act: bool,
}

/// The subject token, verified (an access token of ours whose family stands).
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    /// The client it was issued to.
    pub client_id: &'a str,
    pub sub: &'a str,
    pub audience: &'a [String],
    pub scopes: &'a [String],
    pub exp: i64,
    /// Its own `act`, when it was itself exchanged: the chain so far.
    pub act: Option<&'a Value>,
    /// RFC 8693 §4.4: who the subject token says may act for its subject, when it says.
    pub may_act: Option<&'a Value>,
}

/// The actor the request names (its `actor_token`, verified): the party that will act.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub client_id: &'a str,
    pub sub: &'a str,
}

/// What the authenticated client asks for.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub client_id: &'a str,
    /// `audience` and `resource` together; one is needed (an exchange without a target is a
    /// copy of the subject token, which no one needs).
    pub audiences: &'a [String],
    /// `scope`, when given.
    pub scopes: Option<&'a [String]>,
    pub actor: Option<Actor<'a>>,
    pub now: i64,
    /// The server's access-token lifetime.
    pub lifetime_secs: i64,
}

/// The token to issue.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchanged {
    pub audience: Vec<String>,
    pub scopes: Vec<String>,
    pub exp: i64,
    /// The `act` claim: the acting party, earlier actors nested inside; `None` when the client
    /// only narrows its own token (no one acts for anyone).
    pub act: Option<Value>,
}

fn not_allowed(what: String) -> OAuthError {
    OAuthError::UnauthorizedClient(format!(
        "{what}: no token exchange policy allows it (oauth.allow_token_exchange)"
    ))
}

/// Decides an exchange, or refuses it with the RFC's error.
pub fn decide(
    subject: &Subject,
    request: &Request,
    policies: &[Policy],
) -> Result<Exchanged, OAuthError> {
    if subject.exp <= request.now {
        return Err(invalid_request("the subject token has expired"));
    }
    if request.audiences.is_empty() {
        return Err(invalid_request(
            "a token exchange names its target: audience or resource",
        ));
    }
    if let Some(actor) = request.actor {
        // The actor token says who acts; only the client itself may present its own.
        if actor.client_id != request.client_id {
            return Err(invalid_request(
                "the actor token was issued to another client than the one exchanging",
            ));
        }
    }
    // Each target needs a rule of this client from one of the subject token's audiences.
    let mut rules: Vec<&Policy> = Vec::new();
    for to in request.audiences {
        let rule = policies.iter().find(|p| {
            p.client_id == request.client_id
                && p.to_audience == *to
                && subject.audience.contains(&p.from_audience)
        });
        match rule {
            Some(p) => rules.push(p),
            None => {
                return Err(not_allowed(format!(
                    "exchanging this token for audience {to:?}"
                )))
            }
        }
    }
    // Scopes only narrow: what the subject token has, and every target's rule allows.
    let allowed: Vec<String> = subject
        .scopes
        .iter()
        .filter(|s| rules.iter().all(|r| r.scopes.contains(s)))
        .cloned()
        .collect();
    let scopes = match request.scopes {
        Some(asked) => {
            if let Some(s) = asked.iter().find(|s| !allowed.contains(s)) {
                return Err(invalid_scope(format!(
                    "scope {s:?} is not in the subject token or not allowed for this exchange"
                )));
            }
            asked.to_vec()
        }
        None => allowed,
    };
    if scopes.is_empty() {
        return Err(invalid_scope(
            "no scope of the subject token is allowed for this exchange",
        ));
    }
    let acts = request.actor.is_some() || subject.client_id != request.client_id;
    let act = if acts {
        if !rules.iter().all(|r| r.may_act) {
            return Err(not_allowed(
                "acting for the subject token's user".to_string(),
            ));
        }
        let actor = request.actor.unwrap_or(Actor {
            client_id: request.client_id,
            sub: request.client_id,
        });
        if let Some(allowed) = subject.may_act {
            if !may_act_names(allowed, &actor) {
                return Err(invalid_request(
                    "the subject token's may_act does not name this actor",
                ));
            }
        }
        Some(chain(subject.act, &actor)?)
    } else {
        subject.act.cloned()
    };
    Ok(Exchanged {
        audience: request.audiences.to_vec(),
        scopes,
        exp: subject
            .exp
            .min(request.now.saturating_add(request.lifetime_secs)),
        act,
    })
}

/// `act` for `actor` acting on a token whose own `act` is `earlier`: the new actor outermost,
/// the earlier chain nested inside (RFC 8693 §4.1). An actor already in the chain is a loop.
fn chain(earlier: Option<&Value>, actor: &Actor) -> Result<Value, OAuthError> {
    let mut depth = 1;
    let mut link = earlier;
    while let Some(a) = link {
        if a["client_id"].as_str() == Some(actor.client_id) && a["sub"].as_str() == Some(actor.sub)
        {
            return Err(invalid_request(
                "this actor is already in the token's delegation chain",
            ));
        }
        depth += 1;
        if depth > MAX_CHAIN {
            return Err(invalid_request(format!(
                "the delegation chain would be longer than {MAX_CHAIN}"
            )));
        }
        link = a.get("act");
    }
    let mut act = json!({"sub": actor.sub, "client_id": actor.client_id});
    if let Some(e) = earlier {
        act["act"] = e.clone();
    }
    Ok(act)
}

/// Whether `may_act` (an object, or an array of them, each with `sub` and/or `client_id`)
/// names `actor`: every member it gives must match.
fn may_act_names(may_act: &Value, actor: &Actor) -> bool {
    let names = |v: &Value| {
        v.is_object()
            && v.get("sub").is_none_or(|s| s.as_str() == Some(actor.sub))
            && v.get("client_id")
                .is_none_or(|c| c.as_str() == Some(actor.client_id))
    };
    match may_act {
        Value::Array(items) => items.iter().any(names),
        v => names(v),
    }
}

#[cfg(test)]
mod tests;
