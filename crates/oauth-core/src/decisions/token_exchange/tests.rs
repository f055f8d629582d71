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
        refresh: false,
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
        jkt: None,
    }
}

fn request<'a>(client: &'a str, audiences: &'a [String]) -> Request<'a> {
    Request {
        client_id: client,
        audiences,
        scopes: None,
        actor: None,
        proven_jkt: None,
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
        act: None,
    });
    assert_eq!(
        decide(&subject(&f, "app"), &r, &rules).unwrap_err().code(),
        "invalid_request"
    );
    r.actor = Some(Actor {
        client_id: "agent",
        sub: "agent-instance-7",
        act: None,
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

/// A client's own token (client_credentials: `sub` is the client) has no user: another client
/// cannot act for it (its result would read as a user named like the client). Narrowing one's
/// own stays allowed.
#[test]
fn a_machines_token_has_no_user_to_act_for() {
    let f = fixture();
    let to = strings(&[MAIL]);
    let rules = [
        policy("agent", API, MAIL, &["read"], true),
        policy("app", API, MAIL, &["read"], false),
    ];
    let mut s = subject(&f, "app");
    s.sub = "app";
    assert_eq!(
        decide(&s, &request("agent", &to), &rules)
            .unwrap_err()
            .code(),
        "invalid_request"
    );
    assert_eq!(decide(&s, &request("app", &to), &rules).unwrap().act, None);
}

/// The actor is someone other than the user, presenting its own, unexchanged token.
#[test]
fn an_actor_is_neither_the_user_nor_a_chain_of_its_own() {
    let f = fixture();
    let to = strings(&[MAIL]);
    let rules = [policy("agent", API, MAIL, &["read"], true)];
    let mut r = request("agent", &to);
    r.actor = Some(Actor {
        client_id: "agent",
        sub: "alice",
        act: None,
    });
    assert_eq!(
        decide(&subject(&f, "app"), &r, &rules).unwrap_err().code(),
        "invalid_request"
    );
    let its_chain = json!({"sub": "x", "client_id": "x"});
    r.actor = Some(Actor {
        client_id: "agent",
        sub: "agent",
        act: Some(&its_chain),
    });
    assert_eq!(
        decide(&subject(&f, "app"), &r, &rules).unwrap_err().code(),
        "invalid_request"
    );
}

/// may_act names clients: `sub` alone names a machine only, and an empty member no one.
#[test]
fn may_act_is_read_strictly() {
    let f = fixture();
    let to = strings(&[MAIL]);
    let rules = [policy("evil", API, MAIL, &["read"], true)];
    let mut s = subject(&f, "app");
    let mut r = request("evil", &to);
    // A user named "bot" signed in to evil is not the machine "bot".
    r.actor = Some(Actor {
        client_id: "evil",
        sub: "bot",
        act: None,
    });
    let sub_only = json!({"sub": "bot"});
    s.may_act = Some(&sub_only);
    assert!(decide(&s, &r, &rules).is_err());
    let empty = json!({});
    s.may_act = Some(&empty);
    assert!(decide(&s, &r, &rules).is_err());
    let empty_list = json!([{}]);
    s.may_act = Some(&empty_list);
    assert!(decide(&s, &r, &rules).is_err());
    // The machine "evil" itself is named by sub alone.
    let evil = json!({"sub": "evil"});
    s.may_act = Some(&evil);
    r.actor = None;
    assert!(decide(&s, &r, &rules).is_ok());
}

/// A bound subject token is presented only with its key; the result is bound to the key the
/// request proved. may_act is carried on, so narrowing cannot shed it.
#[test]
fn a_bound_subject_needs_its_key_and_may_act_survives_narrowing() {
    let f = fixture();
    let to = strings(&[MAIL]);
    let rules = [policy("app", API, MAIL, &["read"], false)];
    let mut s = subject(&f, "app");
    s.jkt = Some("k");
    let mut r = request("app", &to);
    assert_eq!(
        decide(&s, &r, &rules).unwrap_err().code(),
        "invalid_dpop_proof"
    );
    r.proven_jkt = Some("j");
    assert_eq!(decide(&s, &r, &rules).unwrap_err().code(), "invalid_grant");
    r.proven_jkt = Some("k");
    let only_bot = json!({"client_id": "bot"});
    s.may_act = Some(&only_bot);
    let got = decide(&s, &r, &rules).unwrap();
    assert_eq!(got.jkt.as_deref(), Some("k"));
    assert_eq!(got.may_act, Some(only_bot));
}

/// Rules grant, whatever order they come in: per target, any matching rule (one that lets the
/// client act, when it acts) allows its scopes; a refresh token only when every target's do.
#[test]
fn rules_combine_the_same_in_any_order() {
    let f = Fixture {
        audience: strings(&[API, "https://other.example"]),
        scopes: strings(&["read", "write"]),
    };
    let to = strings(&[MAIL]);
    let a = policy("agent", API, MAIL, &["read"], false);
    let mut b = policy(
        "agent",
        "https://other.example",
        MAIL,
        &["read", "write"],
        true,
    );
    b.refresh = true;
    for rules in [vec![a.clone(), b.clone()], vec![b.clone(), a.clone()]] {
        let got = decide(&subject(&f, "app"), &request("agent", &to), &rules).unwrap();
        assert_eq!(got.scopes, strings(&["read", "write"]), "{rules:?}");
        assert!(got.refresh);
    }
    let two = strings(&[MAIL, MAIL, "https://files.example"]);
    let files = policy("agent", API, "https://files.example", &["read"], true);
    let got = decide(&subject(&f, "app"), &request("agent", &two), &[b, files]).unwrap();
    assert_eq!(got.audience, strings(&[MAIL, "https://files.example"]));
    assert_eq!(got.scopes, strings(&["read"]));
    assert!(!got.refresh);
}

/// A chain is this server's own shape; a client in it already is a loop, as whoever it acts.
#[test]
fn a_chain_is_well_formed_and_a_client_appears_in_it_once() {
    let f = fixture();
    let to = strings(&[MAIL]);
    let rules = [policy("agent", API, MAIL, &["read"], true)];
    let bad_chains = [
        json!([{"sub": "agent", "client_id": "agent"}]),
        json!("agent"),
        json!({"sub": "agent"}),
        json!({"sub": "x", "client_id": "x", "act": [{"sub": "y", "client_id": "y"}]}),
        // A client twice in the chain it carries: no token this server wrote, even when the
        // exchange only narrows it (and would carry it on).
        json!({"sub": "x", "client_id": "x", "act": {"sub": "x", "client_id": "x"}}),
    ];
    let mut s = subject(&f, "app");
    for bad in &bad_chains {
        s.act = Some(bad);
        assert_eq!(
            decide(&s, &request("agent", &to), &rules)
                .unwrap_err()
                .code(),
            "invalid_request",
            "{bad}"
        );
    }
    let other_sub = json!({"sub": "agent-instance-7", "client_id": "agent"});
    s.act = Some(&other_sub);
    assert!(decide(&s, &request("agent", &to), &rules).is_err());
    let dup = strings(&["read", "read"]);
    let mut r2 = request("agent", &to);
    r2.scopes = Some(&dup);
    s.act = None;
    assert_eq!(decide(&s, &r2, &rules).unwrap().scopes, strings(&["read"]));
}

/// A token got by acting is exchanged again only by a rule that lets its holder act: the agent
/// narrowing its own delegated token keeps its chain as it is, and a rule that only narrows
/// does not carry its authority toward another audience.
#[test]
fn a_delegated_token_is_exchanged_again_only_as_acting() {
    let f = fixture();
    let chain = json!({"sub": "agent", "client_id": "agent"});
    let mut s = subject(&f, "agent");
    s.act = Some(&chain);
    let to = strings(&[MAIL]);
    let narrowing_only = [policy("agent", API, MAIL, &["read"], false)];
    assert_eq!(
        decide(&s, &request("agent", &to), &narrowing_only)
            .unwrap_err()
            .code(),
        "unauthorized_client"
    );
    let acting = [policy("agent", API, MAIL, &["read"], true)];
    let got = decide(&s, &request("agent", &to), &acting).unwrap();
    assert_eq!(
        got.act,
        Some(chain.clone()),
        "the same chain, not the agent twice"
    );
    // Another client acting on it nests as before.
    let other = [policy("other", API, MAIL, &["read"], true)];
    let got = decide(&s, &request("other", &to), &other).unwrap();
    assert_eq!(got.act.unwrap()["act"], chain);
}
