//! Signing in to the database with this server's tokens (PostgreSQL 18's OAuth validator,
//! docs/db-login.md), over the wire against the stack scripts/db-login-test.sh starts: who gets
//! in, as what, and every way a token is refused. Serial (--test-threads=1): one test rotates
//! the signing keys every other test's tokens depend on.

mod attacks;
mod bench;
mod grounds_attacks;
mod harness;
mod refusals;
mod settings_attacks;

use harness::*;
use serde_json::json;

#[test]
fn a_users_token_signs_in_as_the_mapped_role_and_rls_sees_the_user() {
    let mut c = admin("app");
    c.batch_execute(
        "CREATE TABLE IF NOT EXISTS public.notes (owner text NOT NULL, body text NOT NULL);
         ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
         DROP POLICY IF EXISTS own_notes ON public.notes;
         CREATE POLICY own_notes ON public.notes USING (owner = oauth.uid());
         GRANT SELECT ON public.notes TO app_user;",
    )
    .unwrap();
    let (sub, tokens) = signed_in_user(&mut c, "rls");
    c.execute(
        "INSERT INTO public.notes VALUES ($1, 'mine'), ('someone-else', 'theirs')",
        &[&sub],
    )
    .unwrap();
    let token = tokens["access_token"].as_str().unwrap();
    let mut s = app_user(token).expect("signs in");
    let row = s
        .query("SELECT current_user, oauth.uid(), oauth.client_id(), system_user, oauth.has_scope('db:login')")
        .unwrap();
    assert_eq!(
        row[0],
        vec![
            Some("app_user".to_string()),
            Some(sub.clone()),
            Some(allowed_client()),
            Some(format!("oauth:{sub}")),
            Some("t".to_string())
        ]
    );
    assert_eq!(
        s.query("SELECT body FROM public.notes").unwrap(),
        vec![vec![Some("mine".to_string())]]
    );
    // The session cannot become someone else by setting the claims PostgREST would set.
    s.query(r#"SET request.jwt.claims = '{"sub": "someone-else", "role": "app_user"}'"#)
        .unwrap();
    assert_eq!(s.value("SELECT oauth.uid()").unwrap(), Some(sub.clone()));
    assert_eq!(
        s.query("SELECT body FROM public.notes").unwrap(),
        vec![vec![Some("mine".to_string())]]
    );
    // A role the map does not give is refused by PostgreSQL, after the token was accepted.
    let as_postgres = sign_in("app", "postgres", token);
    assert!(as_postgres.is_err());
}

#[test]
fn the_server_tells_a_client_without_a_token_where_to_get_one() {
    let e = oauth_server_e2e::oauthbearer::sign_in("127.0.0.1", port(), "app", "app_user", None)
        .err()
        .expect("no token, no session");
    let challenge = e.challenge.expect("the SASL failure with discovery");
    assert_eq!(challenge["status"], "invalid_token");
    assert_eq!(challenge["scope"], "openid db:login");
    assert!(challenge["openid-configuration"]
        .as_str()
        .unwrap()
        .ends_with("/.well-known/openid-configuration"));
}

#[test]
fn a_disabled_user_is_refused_and_signs_in_again_once_enabled() {
    let mut c = admin("app");
    // Tokens approved through a session of ours; a new session after enabling, since disabling
    // ends the user's sessions (and with them what they approved, for the database).
    let (sub, token) = user_of_ours(&mut c, "disabled");
    let token = token.as_str();
    app_user(token).expect("signs in");
    c.query_one("SELECT oauth.disable_user($1)", &[&sub])
        .unwrap();
    let took = refused_within(token, "disabled user");
    eprintln!("a disabled user's token refused after {took:?}");
    c.query_one("SELECT oauth.enable_user($1)", &[&sub])
        .unwrap();
    let (_, claims) = our_session(&mut c, &sub);
    let again = device_tokens(&mut c, &allowed_client(), &claims, json!({}));
    app_user(again["access_token"].as_str().unwrap()).expect("enabled again");
}

#[test]
fn an_open_session_ends_when_its_family_is_revoked_and_another_stays() {
    let mut c = admin("app");
    let (_, tokens) = signed_in_user(&mut c, "open");
    let (_, kept) = signed_in_user(&mut c, "kept");
    let mut doomed = app_user(tokens["access_token"].as_str().unwrap()).expect("signs in");
    let mut stays = app_user(kept["access_token"].as_str().unwrap()).expect("signs in");
    assert_eq!(doomed.value("SELECT 1").unwrap(), Some("1".into()));
    // The user withdraws the app's access (as the consent page's revoke button does).
    let family = oauth_server_e2e::jwt_parts(tokens["access_token"].as_str().unwrap()).1
        ["session_id"]
        .as_str()
        .unwrap()
        .to_string();
    c.execute(
        "UPDATE oauth.grants SET revoked_at = now(), revoked_reason = 'test' WHERE id::text = $1",
        &[&family],
    )
    .unwrap();
    let start = std::time::Instant::now();
    let ended = loop {
        match doomed.value("SELECT 1") {
            Err(e) => break e,
            Ok(_) if start.elapsed() > std::time::Duration::from_secs(20) => {
                panic!("the session is still open after {:?}", start.elapsed())
            }
            Ok(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    };
    eprintln!(
        "an open session of a revoked family ended after {:?}: {ended:?}",
        start.elapsed()
    );
    assert!(ended.code == "57P01" || ended.code == "08006", "{ended:?}");
    // Another user's session is left alone.
    assert_eq!(stays.value("SELECT 1").unwrap(), Some("1".into()));
}
