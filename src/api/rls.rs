//! RLS helpers: `oauth.jwt()`, `oauth.uid()`, `oauth.client_id()`, `oauth.scopes()`,
//! `oauth.has_scope(text)`, `oauth.session_issuer()`, `oauth.actor()`, `oauth.act_chain()`. They read `request.jwt.claims` (or, in a session that signed in to the database with one of our
//! tokens, that token's claims: `oauth_server.db_login_claims`) and must be cheap per row: the
//! claims are parsed once per distinct value of the setting and cached for the backend, so a
//! policy that calls them for each of a million rows pays a string comparison, not a JSON parse.
//! They return NULL (or false) when no claims are set, never raise.

use crate::protocol::token_kind;
use pgrx::prelude::*;
use pgrx::JsonB;
use serde_json::Value;
use std::cell::RefCell;

struct Parsed {
    raw: String,
    claims: Option<Value>,
    sub: Option<String>,
    client_id: Option<String>,
    iss: Option<String>,
    scopes: Vec<String>,
    /// RFC 8693 §4.1: who acts for the user, newest first (empty: the user's own token).
    chain: Vec<Value>,
}

thread_local! {
    static CACHE: RefCell<Option<Parsed>> = const { RefCell::new(None) };
}

fn parse(raw: String) -> Parsed {
    // An ID token is an assertion to a client, never a credential, nor is a logout token:
    // claims that are one (a PostgREST configured with our JWKS would accept one) read as no
    // claims at all.
    let claims: Option<Value> = serde_json::from_str(&raw)
        .ok()
        .filter(Value::is_object)
        .filter(|c| !token_kind::is_no_credential(c));
    let text = |k: &str| {
        claims
            .as_ref()
            .and_then(|c| c.get(k))
            .and_then(Value::as_str)
            .map(String::from)
    };
    let scopes = text("scope")
        .map(|s| {
            s.split(' ')
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    // A machine's token (client_credentials: sub is the client itself) has no user.
    let client_id = text("client_id");
    let sub = text("sub").filter(|s| Some(s) != client_id.as_ref());
    let chain = claims
        .as_ref()
        .map(|c| act_chain_of(c.get("act")))
        .unwrap_or_default();
    Parsed {
        sub,
        client_id,
        iss: text("iss"),
        scopes,
        chain,
        claims,
        raw,
    }
}

/// The `act` claim (each actor's earlier actors nested inside it) as a list, newest first;
/// each member's `sub` and `client_id` (what this server writes), nothing nested. A malformed
/// member ends the list with itself as `{}`: still an actor, so a policy that admits only
/// direct tokens refuses it.
fn act_chain_of(act: Option<&Value>) -> Vec<Value> {
    let mut chain = Vec::new();
    let mut link = act.filter(|a| !a.is_null());
    while let Some(a) = link {
        let mut member = serde_json::Map::new();
        for k in ["sub", "client_id"] {
            if let Some(v) = a.get(k).filter(|v| v.is_string()) {
                member.insert(k.into(), v.clone());
            }
        }
        chain.push(Value::Object(member));
        if !a.is_object() || chain.len() > 32 {
            break;
        }
        link = a.get("act").filter(|a| !a.is_null());
    }
    chain
}

/// Runs `f` on the parsed claims of this moment, parsing only when the setting changed. A
/// session that signed in to the database with one of our tokens (PostgreSQL 18's OAuth
/// validator) has that token's claims for its whole life (`oauth_server.db_login_claims`, which
/// only a superuser could change, and which its parallel workers receive), and
/// `request.jwt.claims` is not read: the session could set it to anyone's.
fn with_claims<R>(f: impl FnOnce(Option<&Parsed>) -> R) -> R {
    let setting = |name: &std::ffi::CStr| -> &'static [u8] {
        let ptr = unsafe { pg_sys::GetConfigOption(name.as_ptr(), true, false) };
        if ptr.is_null() {
            b""
        } else {
            unsafe { std::ffi::CStr::from_ptr(ptr) }.to_bytes()
        }
    };
    let signed_in = setting(c"oauth_server.db_login_claims");
    let current = if signed_in.is_empty() {
        setting(c"request.jwt.claims")
    } else {
        signed_in
    };
    if current.is_empty() {
        return f(None);
    }
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.as_ref().is_none_or(|p| p.raw.as_bytes() != current) {
            *cache = Some(parse(String::from_utf8_lossy(current).into_owned()));
        }
        f(cache.as_ref())
    })
}

/// All claims of the request's JWT, or NULL.
#[pg_extern(stable, parallel_safe)]
fn jwt() -> Option<JsonB> {
    with_claims(|p| p.and_then(|p| p.claims.clone()).map(JsonB))
}

/// The user (`sub`), or NULL.
#[pg_extern(stable, parallel_safe)]
fn uid() -> Option<String> {
    with_claims(|p| p.and_then(|p| p.sub.clone()))
}

/// The OAuth client acting for the user, or NULL for a first-party session.
#[pg_extern(stable, parallel_safe)]
fn client_id() -> Option<String> {
    with_claims(|p| p.and_then(|p| p.client_id.clone()))
}

/// The granted scopes (the `scope` claim split on spaces); empty when none.
#[pg_extern(stable, parallel_safe)]
fn scopes() -> Vec<String> {
    with_claims(|p| p.map(|p| p.scopes.clone()).unwrap_or_default())
}

/// Whether `scope` was granted. NULL scope → false.
#[pg_extern(stable, parallel_safe)]
fn has_scope(scope: Option<&str>) -> bool {
    let Some(scope) = scope else { return false };
    with_claims(|p| p.is_some_and(|p| p.scopes.iter().any(|s| s == scope)))
}

/// The issuer that signed the request's JWT (`iss`): a trusted session issuer, or this server
/// for its own tokens. For `as restrictive` policies that admit only some issuers.
#[pg_extern(stable, parallel_safe)]
fn session_issuer() -> Option<String> {
    with_claims(|p| p.and_then(|p| p.iss.clone()))
}

/// The party acting for the user (RFC 8693 `act`, the newest actor): its client, or its `sub`
/// when it names no client; NULL for a user's own token (no `act`) or no claims. For policies
/// such as "only the user's own tokens may delete": `oauth.actor() IS NULL`.
#[pg_extern(stable, parallel_safe)]
fn actor() -> Option<String> {
    with_claims(|p| {
        let first = p?.chain.first()?;
        Some(
            first
                .get("client_id")
                .or_else(|| first.get("sub"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        )
    })
}

/// The whole delegation chain, newest actor first, as a jsonb array of `{"sub", "client_id"}`:
/// `[]` for a user's own token, NULL when no claims are set. E.g. "no agent of vendor X
/// anywhere in the chain": `NOT oauth.act_chain() @> '[{"client_id": "x"}]'`.
#[pg_extern(stable, parallel_safe)]
fn act_chain() -> Option<JsonB> {
    with_claims(|p| p.map(|p| JsonB(Value::Array(p.chain.clone()))))
}
