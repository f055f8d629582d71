//! `auth.admin.updateUserById(id, {ban_duration})`, `deleteUser(id)` and `getUserById(id)`:
//! `PUT`, `DELETE` and `GET /auth/v1/admin/users/{id}` onto `oauth.admin_users`. This server does not
//! own users' profiles (email, password, metadata come from the login that has them), so a ban
//! is the one attribute it changes; every other attribute of GoTrue's body is refused, not
//! ignored, so that a caller never believes a change was made. Which bans are accepted is the
//! database's decision (`oauth.admin_users`: "none" or 100 years and more).

use super::admin::{admin_call, json_body};
use super::errors::{SbError, SbResult, Subject};
use crate::app::state::St;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

const CALL: &str = "oauth.admin_users($1, $2, $3, $4)";

/// `updateUserById`'s body → `oauth.admin_users`' ban params: only `ban_duration`.
pub fn ban_params(body: &Value) -> Result<Value, String> {
    let fields = body.as_object().ok_or("the body must be a JSON object")?;
    let others: Vec<&str> = fields
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "ban_duration")
        .collect();
    if !others.is_empty() {
        return Err(format!(
            "only ban_duration is supported here: this server does not change {} (the login \
             that owns the user does)",
            others.join(", ")
        ));
    }
    match fields.get("ban_duration") {
        Some(Value::String(d)) if !d.is_empty() => Ok(json!({ "ban_duration": d })),
        Some(_) => Err("ban_duration must be \"none\" or a duration such as \"876000h\"".into()),
        None => Err("ban_duration is required: the only attribute supported here".into()),
    }
}

/// `deleteUser`'s body (supabase-js sends `{"should_soft_delete": false}`; another client may
/// send nothing) → the delete params. A soft delete keeps the user's row in GoTrue; here a user
/// is deleted with everything they left behind, so asking for soft is refused, not upgraded.
pub fn delete_params(body: &[u8]) -> Result<Value, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    let body: Value = serde_json::from_slice(body).map_err(|_| "invalid JSON body")?;
    let fields = body.as_object().ok_or("the body must be a JSON object")?;
    for (k, v) in fields {
        match (k.as_str(), v) {
            ("should_soft_delete", Value::Bool(false)) => {}
            ("should_soft_delete", _) => {
                return Err(
                    "soft deletion is not supported: deleteUser(id) deletes the user \
                            with their sessions, consents and tokens"
                        .into(),
                )
            }
            (k, _) => return Err(format!("unknown field {k:?}: only should_soft_delete")),
        }
    }
    Ok(json!({}))
}

/// `getUserById(id)`, which `deleteUser(id)` calls first: the user as far as this server knows
/// them (any id answers: users of another login are not registered here).
pub async fn get_user(
    axum::extract::State(s): St,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> SbResult {
    let args: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&"get", &id, &json!({})];
    let user = admin_call(&s, &headers, Subject::AdminUser, CALL, &args).await?;
    Ok(Json(user).into_response())
}

pub async fn update_user(
    axum::extract::State(s): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> SbResult {
    let params = ban_params(&json_body(&body)?).map_err(SbError::validation)?;
    let args: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&"ban", &id, &params];
    let user = admin_call(&s, &headers, Subject::AdminUser, CALL, &args).await?;
    Ok(Json(user).into_response())
}

pub async fn delete_user(
    axum::extract::State(s): St,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> SbResult {
    let params = delete_params(&body).map_err(SbError::validation)?;
    let args: [&(dyn tokio_postgres::types::ToSql + Sync); 3] = [&"delete", &id, &params];
    let user = admin_call(&s, &headers, Subject::AdminUser, CALL, &args).await?;
    Ok(Json(user).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ban_passes_on_only_ban_duration() {
        assert_eq!(
            ban_params(&json!({"ban_duration": "876000h"})),
            Ok(json!({"ban_duration": "876000h"}))
        );
        assert_eq!(
            ban_params(&json!({"ban_duration": "none"})),
            Ok(json!({"ban_duration": "none"}))
        );
        // The database judges the value: a timed ban goes through to be refused there.
        assert_eq!(
            ban_params(&json!({"ban_duration": "24h"})),
            Ok(json!({"ban_duration": "24h"}))
        );
    }

    #[test]
    fn every_other_attribute_is_refused_naming_it() {
        let e =
            ban_params(&json!({"ban_duration": "876000h", "email": "x@example.com"})).unwrap_err();
        assert!(
            e.contains("only ban_duration") && e.contains("email"),
            "{e}"
        );
        let e = ban_params(&json!({"user_metadata": {}, "password": "p"})).unwrap_err();
        assert!(e.contains("user_metadata") && e.contains("password"), "{e}");
        assert!(ban_params(&json!({})).unwrap_err().contains("required"));
        for bad in [json!({"ban_duration": ""}), json!({"ban_duration": 876000})] {
            assert!(ban_params(&bad).is_err(), "{bad}");
        }
        assert!(ban_params(&json!(["ban_duration"])).is_err());
    }

    #[test]
    fn a_delete_is_hard_or_refused() {
        assert_eq!(delete_params(b""), Ok(json!({})));
        assert_eq!(
            delete_params(br#"{"should_soft_delete": false}"#),
            Ok(json!({}))
        );
        assert_eq!(delete_params(b"{}"), Ok(json!({})));
        assert!(delete_params(br#"{"should_soft_delete": true}"#)
            .unwrap_err()
            .contains("soft deletion is not supported"));
        assert!(delete_params(br#"{"should_soft_delete": "false"}"#).is_err());
        assert!(delete_params(br#"{"cascade": true}"#).is_err());
        assert!(delete_params(b"not json").is_err());
    }
}
