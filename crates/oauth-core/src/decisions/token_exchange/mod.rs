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
/// an agent does, rather than only narrow a token it holds; `refresh` gives the result a
/// refresh token (which never outlives the subject token either). Rules grant: where several
/// match a target, any of them allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub client_id: String,
    pub from_audience: String,
    pub to_audience: String,
    pub scopes: Vec<String>,
    pub may_act: bool,
    pub refresh: bool,
}

/// The subject token, verified (an access token of ours whose family stands).
#[derive(Debug, Clone)]
pub struct Subject<'a> {
    /// The client it was issued to.
    pub client_id: &'a str,
    /// Its subject: a user, or the client itself for a machine's token (`sub` = `client_id`).
    pub sub: &'a str,
    pub audience: &'a [String],
    pub scopes: &'a [String],
    pub exp: i64,
    /// Its own `act`, when it was itself exchanged: the chain so far.
    pub act: Option<&'a Value>,
    /// RFC 8693 §4.4: who the subject token says may act for its subject, when it says.
    pub may_act: Option<&'a Value>,
    /// RFC 9449: the key it is bound to (`cnf.jkt`), when it is.
    pub jkt: Option<&'a str>,
}

/// The actor the request names (its `actor_token`, verified): the party that will act.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub client_id: &'a str,
    pub sub: &'a str,
    /// The actor token's own `act`: an actor token that was itself exchanged cannot act (its
    /// chain would be lost).
    pub act: Option<&'a Value>,
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
    /// The key the request proved (DPoP), if it proved one.
    pub proven_jkt: Option<&'a str>,
    pub now: i64,
    /// The server's access-token lifetime.
    pub lifetime_secs: i64,
}

/// The token to issue.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchanged {
    /// Distinct, in the order asked.
    pub audience: Vec<String>,
    pub scopes: Vec<String>,
    pub exp: i64,
    /// The `act` claim: the acting party, earlier actors nested inside; `None` when the client
    /// only narrows its own token (no one acts for anyone).
    pub act: Option<Value>,
    /// The subject token's `may_act`, carried on: a narrowed token must not shed who may act.
    pub may_act: Option<Value>,
    /// The key the result is bound to: the one the request proved.
    pub jkt: Option<String>,
    /// Whether a refresh token goes with it (every target's rules allow one).
    pub refresh: bool,
}

fn not_allowed(what: String) -> OAuthError {
    OAuthError::UnauthorizedClient(format!(
        "{what}: no token exchange policy allows it (oauth.allow_token_exchange)"
    ))
}

fn distinct(items: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
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
    let audiences = distinct(request.audiences.iter().cloned());
    if audiences.is_empty() {
        return Err(invalid_request(
            "a token exchange names its target: audience or resource",
        ));
    }
    // A bound subject token is used only by the holder of its key (RFC 9449 §7).
    crate::decisions::dpop_binding::redeem(subject.jkt, request.proven_jkt, "subject token")?;
    if let Some(chain) = subject.act {
        well_formed(chain)?;
    }
    let machine = subject.sub == subject.client_id;
    // A token that records a delegation was got by acting: whoever exchanges it acts too, and
    // needs a rule that lets it (a rule that only narrows must not carry an agent's authority
    // toward a new audience).
    let acts =
        request.actor.is_some() || subject.client_id != request.client_id || subject.act.is_some();
    // The agent narrowing its own delegated token (issued to it, its latest actor, no actor
    // token): it acts as before, and the chain stays as it is rather than naming it twice.
    let own_delegation = request.actor.is_none()
        && subject.client_id == request.client_id
        && subject.act.and_then(|a| a["client_id"].as_str()) == Some(request.client_id);
    if acts && machine {
        return Err(invalid_request(
            "the subject token is a client's own (client_credentials): there is no user to act for",
        ));
    }
    if let Some(actor) = request.actor {
        // The actor token says who acts; only the client itself may present its own, and never
        // for itself, nor one that already carries a chain of its own.
        if actor.client_id != request.client_id {
            return Err(invalid_request(
                "the actor token was issued to another client than the one exchanging",
            ));
        }
        if actor.sub == subject.sub {
            return Err(invalid_request(
                "the actor token's subject is the subject token's: no one acts for anyone",
            ));
        }
        if actor.act.is_some() {
            return Err(invalid_request(
                "the actor token was itself exchanged: an actor presents its own token",
            ));
        }
    }
    // Each target needs a rule of this client from one of the subject token's audiences (one
    // that lets it act, when it acts); its scopes are what any such rule allows.
    let mut per_target: Vec<(Vec<&String>, bool)> = Vec::new();
    for to in &audiences {
        let rules: Vec<&Policy> = policies
            .iter()
            .filter(|p| {
                p.client_id == request.client_id
                    && p.to_audience == *to
                    && subject.audience.contains(&p.from_audience)
                    && (p.may_act || !acts)
            })
            .collect();
        if rules.is_empty() {
            let what = if acts {
                format!("acting for the subject token's user toward audience {to:?}")
            } else {
                format!("exchanging this token for audience {to:?}")
            };
            return Err(not_allowed(what));
        }
        per_target.push((
            rules.iter().flat_map(|r| r.scopes.iter()).collect(),
            rules.iter().any(|r| r.refresh),
        ));
    }
    // Scopes only narrow: what the subject token has, and every target allows.
    let allowed: Vec<String> = distinct(
        subject
            .scopes
            .iter()
            .filter(|s| per_target.iter().all(|(scopes, _)| scopes.contains(s)))
            .cloned(),
    );
    let scopes = match request.scopes {
        Some(asked) => {
            if let Some(s) = asked.iter().find(|s| !allowed.contains(s)) {
                return Err(invalid_scope(format!(
                    "scope {s:?} is not in the subject token or not allowed for this exchange"
                )));
            }
            distinct(asked.iter().cloned())
        }
        None => allowed,
    };
    if scopes.is_empty() {
        return Err(invalid_scope(
            "no scope of the subject token is allowed for this exchange",
        ));
    }
    let act = if acts {
        let actor = request.actor.unwrap_or(Actor {
            client_id: request.client_id,
            sub: request.client_id,
            act: None,
        });
        if let Some(allowed) = subject.may_act {
            if !may_act_names(allowed, &actor) {
                return Err(invalid_request(
                    "the subject token's may_act does not name this actor",
                ));
            }
        }
        if own_delegation {
            subject.act.cloned()
        } else {
            Some(chain(subject.act, &actor)?)
        }
    } else {
        subject.act.cloned()
    };
    Ok(Exchanged {
        audience: audiences,
        scopes,
        exp: subject
            .exp
            .min(request.now.saturating_add(request.lifetime_secs)),
        act,
        may_act: subject.may_act.cloned(),
        jkt: request.proven_jkt.map(String::from),
        refresh: per_target.iter().all(|(_, refresh)| *refresh),
    })
}

/// An `act` chain as this server writes one: each member an object with a string `sub` and
/// `client_id`, its `act` absent or another such member, at most [`MAX_CHAIN`] deep, no client
/// in it twice.
fn well_formed(chain: &Value) -> Result<(), OAuthError> {
    let mut link = Some(chain);
    let mut clients: Vec<&str> = Vec::new();
    while let Some(a) = link {
        let client = a["client_id"].as_str();
        let member = a.is_object() && a["sub"].is_string() && client.is_some();
        let again = client.is_some_and(|c| clients.contains(&c));
        clients.extend(client);
        if !member || again || clients.len() > MAX_CHAIN {
            return Err(invalid_request(
                "the subject token's act is not a delegation chain this server wrote",
            ));
        }
        link = a.get("act");
    }
    Ok(())
}

/// `act` for `actor` acting on a token whose own `act` is `earlier`: the new actor outermost,
/// the earlier chain nested inside (RFC 8693 §4.1). A client already in the chain acting again
/// is a loop, whoever it says it acts as.
fn chain(earlier: Option<&Value>, actor: &Actor) -> Result<Value, OAuthError> {
    let mut depth = 1;
    let mut link = earlier;
    while let Some(a) = link {
        if a["client_id"].as_str() == Some(actor.client_id) {
            return Err(invalid_request(
                "this client is already in the token's delegation chain",
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

/// Whether `may_act` (an object, or an array of them) names `actor`. A member names a client by
/// `client_id` (and, if it gives one, the `sub` it acts as); a member with `sub` alone names a
/// machine (an actor whose `sub` is its client). A member naming neither names no one.
fn may_act_names(may_act: &Value, actor: &Actor) -> bool {
    let names = |v: &Value| {
        let (sub, client) = (v.get("sub"), v.get("client_id"));
        match (sub, client) {
            (_, Some(c)) => {
                c.as_str() == Some(actor.client_id)
                    && sub.is_none_or(|s| s.as_str() == Some(actor.sub))
            }
            (Some(s), None) => s.as_str() == Some(actor.sub) && actor.sub == actor.client_id,
            (None, None) => false,
        }
    };
    match may_act {
        Value::Array(items) => items.iter().any(names),
        v => names(v),
    }
}

#[cfg(test)]
mod tests;
