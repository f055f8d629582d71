//! The token exchange decision (RFC 8693) on anything a client or a subject token could carry:
//! arbitrary `act` chains and `may_act` values, audiences, scopes, actors and rules. It may
//! refuse anything but never panic, and whatever it allows only narrows: scopes within the
//! subject token's and a rule's for every target, targets the ones asked for, an end no later
//! than the subject token's, a chain no deeper than its bound and no client in it twice.
#![no_main]
use libfuzzer_sys::fuzz_target;
use oauth_core::decisions::token_exchange::{decide, Actor, Policy, Request, Subject, MAX_CHAIN};
use serde_json::Value;

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<Value>(data) else { return };
    let sub_aud = strings(&input["subject"]["aud"]);
    let sub_scopes = strings(&input["subject"]["scopes"]);
    let subject = Subject {
        client_id: s(&input["subject"]["client_id"]),
        sub: s(&input["subject"]["sub"]),
        audience: &sub_aud,
        scopes: &sub_scopes,
        exp: input["subject"]["exp"].as_i64().unwrap_or(2_000_000_000),
        act: input["subject"].get("act"),
        may_act: input["subject"].get("may_act"),
        jkt: input["subject"]["jkt"].as_str(),
    };
    let targets = strings(&input["audiences"]);
    let asked = input.get("scopes").map(strings);
    let actor = input.get("actor").map(|a| Actor {
        client_id: s(&a["client_id"]),
        sub: s(&a["sub"]),
        act: a.get("act"),
    });
    let rules: Vec<Policy> = input["rules"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| Policy {
                    client_id: s(&r["client_id"]).into(),
                    from_audience: s(&r["from"]).into(),
                    to_audience: s(&r["to"]).into(),
                    scopes: strings(&r["scopes"]),
                    may_act: r["may_act"].as_bool().unwrap_or(false),
                    refresh: r["refresh"].as_bool().unwrap_or(false),
                })
                .collect()
        })
        .unwrap_or_default();
    let request = Request {
        client_id: s(&input["client_id"]),
        audiences: &targets,
        scopes: asked.as_deref(),
        actor,
        proven_jkt: input["jkt"].as_str(),
        now: 1_900_000_000,
        lifetime_secs: 3600,
    };
    let Ok(out) = decide(&subject, &request, &rules) else { return };
    assert!(out.exp <= subject.exp && out.exp > request.now);
    assert!(out.audience.iter().all(|a| targets.contains(a)));
    assert!(out.scopes.iter().all(|x| sub_scopes.contains(x)));
    for to in &out.audience {
        assert!(rules.iter().any(|r| r.client_id == request.client_id
            && &r.to_audience == to
            && sub_aud.contains(&r.from_audience)));
    }
    let mut seen: Vec<String> = Vec::new();
    let mut link = out.act.as_ref();
    while let Some(a) = link {
        let c = a["client_id"].as_str().unwrap_or_default().to_string();
        assert!(!seen.contains(&c), "a client twice in a chain");
        seen.push(c);
        link = a.get("act");
    }
    assert!(seen.len() <= MAX_CHAIN);
});
