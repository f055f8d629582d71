//! Where the OpenID Connect user claims of ID tokens and userinfo come from: the configured
//! claims function, else Supabase's `auth.users` when a trusted role owns it, else
//! `oauth.users` (upstream sign-in), else the claims of the session that approved the grant.

use crate::error::MisuseError;
use crate::protocol::user_claims;
use crate::settings;
use crate::store::{accounts, db, supabase_users};
use serde_json::{json, Map, Value};

/// The claims of user `sub` that `scopes` release to `client_id`.
pub fn for_user(
    sub: &str,
    client_id: &str,
    scopes: &[String],
    session_claims: Option<&Value>,
) -> Result<Map<String, Value>, MisuseError> {
    if !scopes
        .iter()
        .any(|s| matches!(s.as_str(), "profile" | "email" | "phone"))
    {
        return Ok(Map::new());
    }
    let source = match settings::user_claims_function() {
        Some(f) => {
            let arg = json!({
                "sub": sub, "client_id": client_id, "scopes": scopes,
                "session_claims": session_claims,
            });
            db::call_jsonb_function(&f, "oauth_server.user_claims_function", arg)?
        }
        None => match supabase_users::find(sub)? {
            Some(row) => user_claims::from_supabase_user(&row),
            // Users who signed in upstream: their current email and profile.
            None => match accounts::user_claims(sub)? {
                Some(claims) => claims,
                None => session_claims.cloned().unwrap_or(Value::Null),
            },
        },
    };
    Ok(user_claims::for_scopes(
        &user_claims::normalise(&source),
        scopes,
    ))
}
