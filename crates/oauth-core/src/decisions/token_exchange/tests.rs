//! Each rule of an exchange with a request that breaks only it.

use super::*;

const NOW: i64 = 1_800_000_000;
const API: &str = "https://api.example";
const MAIL: &str = "https://mail.example";

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn policy(client: &str, from: &str, to: &str, scopes: &[&str], may_act: bool) -> Policy {
    Policy {
        client_id: client.into(),
        from_audience: from.into(),
        to_audience: to.into(),
        scopes: strings(scopes),
        may_act,
    }
}

struct Fixture {
    audience: Vec<String>,
    scopes: Vec<String>,
}

fn fixture() -> Fixture {
    Fixture {
        audience: strings(&[API]),
        scopes: strings(&["read", "write"]),
    }
}

fn subject<'a>(f: &'a Fixture, client: &'a str) -> Subject<'a> {
    Subject {
        client_id: client,
        sub: "alice",
        audience: &f.audience,
        scopes: &f.scopes,
        exp: NOW + 300,
        act: None,
        may_act: None,
    }
}

fn request<'a>(client: &'a str, audiences: &'a [String]) -> Request<'a> {
    Request {
        client_id: client,
        audiences,
        scopes: None,
        actor: None,
        now: NOW,
        lifetime_secs: 3600,
    }
}

#[test]
fn an_agent_acts_for_the_user_toward_an_audience_the_policy_names() {
    let f = fixture();
    let to = strings(&[MAIL]);
    let rules = [policy("agent", API, MAIL, &["read"], true)];
    let got = decide(&subject(&f, "app"), &request("agent", &to), &rules).unwrap();
    assert_eq!(got.audience, to);
    // Only what both the token and the rule allow; the token's lifetime, not the server's.
    assert_eq!(got.scopes, strings(&["read"]));
    assert_eq!(got.exp, NOW + 300);
    assert_eq!(got.act, Some(json!({"sub": "agent", "client_id": "agent"})));
}

#[test]
fn without_a_policy_nothing_is_exchanged() {
    let f = fixture();
    let to = strings(&[MAIL]);
    for rules in [
        vec![],
        vec![policy("other", API, MAIL, &["read"], true)],
        vec![policy(
            "agent",
            "https://elsewhere.example",
            MAIL,
            &["read"],
            true,
        )],
        vec![policy(
            "agent",
            API,
            "https://mail.example/",
            &["read"],
            true,
        )],
    ] {
        let e = decide(&subject(&f, "app"), &request("agent", &to), &rules).unwrap_err();
        assert_eq!(e.code(), "unauthorized_client", "{rules:?}");
        assert!(e.description().contains("oauth.allow_token_exchange"));
    }
    // Every target needs its rule.
    let two = strings(&[MAIL, "https://files.example"]);
    let rules = [policy("agent", API, MAIL, &["read"], true)];
    assert!(decide(&subject(&f, "app"), &request("agent", &two), &rules).is_err());
    // And a target at all.
    let e = decide(&subject(&f, "app"), &request("agent", &[]), &rules).unwrap_err();
    assert_eq!(e.code(), "invalid_request");
}

#[test]
fn scopes_only_narrow() {
    let f = fixture();
    let to = strings(&[MAIL]);
    let rules = [policy("agent", API, MAIL, &["read", "admin"], true)];
    let asked = strings(&["admin"]);
    let mut r = request("agent", &to);
    r.scopes = Some(&asked);
    // "admin": the rule allows it, but the subject token never had it.
    assert_eq!(
        decide(&subject(&f, "app"), &r, &rules).unwrap_err().code(),
        "invalid_scope"
    );
    let none_shared = [policy("agent", API, MAIL, &["delete"], true)];
    assert_eq!(
        decide(&subject(&f, "app"), &request("agent", &to), &none_shared)
            .unwrap_err()
            .code(),
        "invalid_scope"
    );
}

#[test]
fn acting_for_the_user_needs_may_act_in_the_policy_and_in_the_token() {
    let f = fixture();
    let to = strings(&[MAIL]);
    let narrow_only = [policy("agent", API, MAIL, &["read"], false)];
    let e = decide(&subject(&f, "app"), &request("agent", &to), &narrow_only).unwrap_err();
    assert_eq!(e.code(), "unauthorized_client");
    // A client narrowing its own token acts for no one: no act, and may_act not needed.
    let own = decide(&subject(&f, "agent"), &request("agent", &to), &narrow_only).unwrap();
    assert_eq!(own.act, None);
    // The token's may_act names who may act: another agent is refused.
    let rules = [policy("agent", API, MAIL, &["read"], true)];
    let only_bot = json!({"client_id": "bot"});
    let mut s = subject(&f, "app");
    s.may_act = Some(&only_bot);
    assert_eq!(
        decide(&s, &request("agent", &to), &rules)
            .unwrap_err()
            .code(),
        "invalid_request"
    );
    let list = json!([{"client_id": "bot"}, {"client_id": "agent", "sub": "agent"}]);
    s.may_act = Some(&list);
    assert!(decide(&s, &request("agent", &to), &rules).is_ok());
}

#[test]
fn an_actor_token_must_be_the_exchanging_clients_own() {
    let f = fixture();
    let to = strings(&[MAIL]);
    let rules = [policy("agent", API, MAIL, &["read"], true)];
    let mut r = request("agent", &to);
    r.actor = Some(Actor {
        client_id: "other",
        sub: "other",
    });
    assert_eq!(
        decide(&subject(&f, "app"), &r, &rules).unwrap_err().code(),
        "invalid_request"
    );
    r.actor = Some(Actor {
        client_id: "agent",
        sub: "agent-instance-7",
    });
    let got = decide(&subject(&f, "app"), &r, &rules).unwrap();
    assert_eq!(
        got.act,
        Some(json!({"sub": "agent-instance-7", "client_id": "agent"}))
    );
}

#[test]
fn a_chain_nests_earlier_actors_and_never_loops() {
    let f = fixture();
    let to = strings(&[MAIL]);
    let rules = [policy("agent", API, MAIL, &["read"], true)];
    let earlier = json!({"sub": "planner", "client_id": "planner"});
    let mut s = subject(&f, "app");
    s.act = Some(&earlier);
    let got = decide(&s, &request("agent", &to), &rules).unwrap();
    assert_eq!(
        got.act,
        Some(json!({"sub": "agent", "client_id": "agent", "act": earlier}))
    );
    // The same actor again, anywhere in the chain: a loop.
    let looped =
        json!({"sub": "x", "client_id": "x", "act": {"sub": "agent", "client_id": "agent"}});
    s.act = Some(&looped);
    assert_eq!(
        decide(&s, &request("agent", &to), &rules)
            .unwrap_err()
            .code(),
        "invalid_request"
    );
    // Too deep.
    let mut deep = json!({"sub": "a0", "client_id": "a0"});
    for i in 1..MAX_CHAIN {
        deep = json!({"sub": format!("a{i}"), "client_id": format!("a{i}"), "act": deep});
    }
    s.act = Some(&deep);
    let e = decide(&s, &request("agent", &to), &rules).unwrap_err();
    assert!(
        e.description().contains("longer than"),
        "{}",
        e.description()
    );
}

#[test]
fn an_expired_subject_token_is_refused_and_the_result_never_outlives_it() {
    let f = fixture();
    let to = strings(&[MAIL]);
    let rules = [policy("agent", API, MAIL, &["read"], true)];
    let mut s = subject(&f, "app");
    s.exp = NOW;
    assert_eq!(
        decide(&s, &request("agent", &to), &rules)
            .unwrap_err()
            .code(),
        "invalid_request"
    );
    s.exp = NOW + 100_000;
    assert_eq!(
        decide(&s, &request("agent", &to), &rules).unwrap().exp,
        NOW + 3600
    );
}
