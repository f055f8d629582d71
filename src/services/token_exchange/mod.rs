//! Token exchange (RFC 8693) carried out: the tokens verified (`subject`), the exchange policy
//! and the client's allowed scopes loaded, oauth-core's pure decision asked
//! (`decisions::token_exchange`), today's grounds re-checked as for any grant, then a family
//! derived from the subject token's (revoked with it: `oauth.grant_revoked`) and its token
//! issued. A derived family's refresh asks the same decision again (`redecide`), so that a rule
//! removed, a scope narrowed or a source family narrowed since is honoured at once.

pub mod subject;

use crate::audit_events::AuditEvent;
use crate::decisions::grounds::Recorded;
use crate::decisions::token_exchange::{self as decision, Actor, Policy, Request};
use crate::error::{invalid_grant, invalid_request, ApiResult, OAuthError};
use crate::model::GrantType;
use crate::protocol::params::Params;
use crate::protocol::secret;
use crate::services::grounds;
use crate::services::issuance::{self, Done, ExchangeClaims};
use crate::settings;
use crate::store::clients::{self, Client};
use crate::store::token_exchange::{self as store, Derived};
use crate::store::{audit, db};
use serde_json::{json, Value};
use subject::Subject;

/// The exchange rules of `client`, each narrowed to the scopes the client may be granted
/// today (its own registration bounds what any rule gives it).
fn policies(client: &Client, locked: bool) -> ApiResult<Vec<Policy>> {
    let allowed = clients::allowed_scopes(client)?;
    Ok(store::policies_of(&client.client_id, locked)?
        .into_iter()
        .map(|mut p| {
            p.scopes.retain(|s| allowed.contains(s));
            p
        })
        .collect())
}

/// The targets of an exchange (`audience` and `resource` together): the default audience
/// alone, or registered resource servers (a family names its resources, or none for the
/// default audience, never both). Returns the targets and the family's resources.
fn targets(audiences: &[&str], resources: &[String]) -> ApiResult<(Vec<String>, Vec<String>)> {
    let default = settings::default_audience();
    let mut all: Vec<String> = Vec::new();
    for t in audiences
        .iter()
        .map(|a| a.to_string())
        .chain(resources.iter().cloned())
    {
        if !all.contains(&t) {
            all.push(t);
        }
    }
    if all.contains(&default) {
        if all.len() > 1 {
            return Err(OAuthError::InvalidTarget(format!(
                "the default audience {default:?} is asked for alone, not with resource servers"
            ))
            .into());
        }
        return Ok((all, Vec::new()));
    }
    crate::services::resources::ensure_registered(&all)?;
    Ok((all.clone(), all))
}

/// What an exchange records with the family it derives, for `redecide`.
fn record(s: &Subject, targets: &[String], act: Option<&Value>, may_act: Option<&Value>) -> Value {
    json!({
        "audience": targets,
        "subject_client_id": s.client_id,
        "subject_audience": s.audience,
        "subject_scopes": s.scopes,
        "subject_act": s.act,
        "act": act,
        "may_act": may_act,
    })
}

/// The token-exchange grant (RFC 8693 §2): `client` is authenticated and registered for it;
/// `resources` are the request's `resource` parameters (parsed); `jkt` the key its DPoP proof
/// proved.
pub fn exchange(
    client: &Client,
    form: &Params,
    resources: &[String],
    jkt: Option<&str>,
) -> ApiResult<Value> {
    if let Some(t) = form
        .get("requested_token_type")?
        .filter(|t| *t != subject::ACCESS_TOKEN)
    {
        return Err(invalid_request(format!(
            "requested_token_type {t:?} is not issued here: an exchange issues access tokens ({})",
            subject::ACCESS_TOKEN
        ))
        .into());
    }
    let token = form
        .get("subject_token")?
        .filter(|t| !t.is_empty())
        .ok_or_else(|| invalid_request("subject_token is required"))?;
    let token_type = form.require("subject_token_type")?;
    let mut subject = subject::load(token, token_type)?;
    let actor = subject::actor(form.get("actor_token")?, form.get("actor_token_type")?)?;
    let (targets, family_resources) = targets(&form.get_all("audience")?, resources)?;
    let rules = policies(client, true)?;
    if subject.source_grant_id.is_none() {
        // A session carries no scopes of ours: what the rules from its issuer give is what it
        // may become.
        subject.scopes = rules
            .iter()
            .filter(|r| subject.audience.contains(&r.from_audience))
            .flat_map(|r| r.scopes.iter().cloned())
            .collect();
    }
    let scopes_asked = match form.get("scope")?.filter(|s| !s.trim().is_empty()) {
        Some(s) => Some(crate::protocol::scope::parse(s)?),
        None => None,
    };
    let now = db::now_epoch()?;
    let decided = decision::decide(
        &decision::Subject {
            client_id: &subject.client_id,
            sub: &subject.sub,
            audience: &subject.audience,
            scopes: &subject.scopes,
            exp: subject.exp,
            act: subject.act.as_ref(),
            may_act: subject.may_act.as_ref(),
            jkt: subject.jkt.as_deref(),
        },
        &Request {
            client_id: &client.client_id,
            audiences: &targets,
            scopes: scopes_asked.as_deref(),
            actor: actor.as_ref().map(|a| Actor {
                client_id: &a.client_id,
                sub: &a.sub,
                act: a.act.as_ref(),
            }),
            proven_jkt: jkt,
            now,
            lifetime_secs: settings::access_token_lifetime(),
        },
        &rules,
    )?;
    // Today's grounds, as for every grant: the user not disabled, the approving session's
    // issuer still trusted, the resources still registered, the grant still the client's.
    let effective = grounds::recheck(
        &client.client_id,
        &subject.sub,
        grounds::issuer_of(subject.user_claims.as_ref()),
        &Recorded {
            scopes: &decided.scopes,
            resources: &family_resources,
            redirect_uri: None,
            resources_named: true,
            grant: GrantType::TokenExchange,
        },
    )??;
    let refresh = (decided.refresh && client.allows_grant(GrantType::RefreshToken))
        .then(|| secret::random_token(secret::TOKEN_BYTES));
    let family_end = if refresh.is_some() {
        subject.reach
    } else {
        decided.exp
    };
    let exchange_record = record(
        &subject,
        &targets,
        decided.act.as_ref(),
        decided.may_act.as_ref(),
    );
    let (grant, current_kid) = store::start(Derived {
        client_id: &client.client_id,
        user_id: &subject.sub,
        scopes: &effective.scopes,
        resources: &effective.resources,
        auth_time: subject.auth_time,
        user_claims: subject.user_claims.clone(),
        source_grant_id: subject.source_grant_id.as_deref(),
        exchange: exchange_record,
        expires_at: family_end,
        first_refresh: refresh
            .as_deref()
            .map(|t| (secret::hash(t), settings::refresh_token_lifetime())),
    })?
    .ok_or_else(|| invalid_request("subject_token is not accepted: its family has been revoked"))?;
    audit::record(
        AuditEvent::TokenExchanged,
        Some(&client.client_id),
        Some(&subject.sub),
        json!({
            "grant_id": grant.id,
            "source_grant_id": subject.source_grant_id,
            "subject_client_id": subject.client_id,
            "subject_audience": subject.audience,
            "audience": targets,
            "scopes": effective.scopes,
            "act": decided.act,
        }),
    )?;
    let done = Done {
        current_kid,
        refresh_token: refresh,
        exchange: Some(ExchangeClaims {
            act: decided.act,
            may_act: decided.may_act,
            exp: decided.exp,
        }),
    };
    issuance::issue_tokens(
        &grant,
        client,
        &effective.scopes,
        None,
        &effective.resources,
        jkt,
        done,
    )
}

/// What a derived family's refresh may issue: the exchange decided again, as of now, from what
/// was recorded, its source family as it is today and the rules of today.
pub struct Redecided {
    pub claims: ExchangeClaims,
    /// How long the next refresh token may live: never past the family's end.
    pub refresh_lifetime: i64,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Decides a derived family's refresh again (`grant_id`, locked; `scopes` and `resources` what
/// the refresh would issue). Every refusal is `invalid_grant`: the family no longer stands on
/// what made it.
pub fn redecide(
    grant_id: &str,
    client: &Client,
    user_id: &str,
    scopes: &[String],
    resources: &[String],
) -> ApiResult<Redecided> {
    let family = store::exchanged_family(grant_id)?;
    let gone = |why: String| -> crate::error::Failure {
        invalid_grant(format!(
            "the token exchange that made this family would not be allowed today: {why}"
        ))
        .into()
    };
    if !client.allows_grant(GrantType::TokenExchange) {
        return Err(gone(
            "the client is no longer registered for the token exchange grant".into(),
        ));
    }
    if family.source_revoked == Some(true) {
        return Err(gone("its source family has been revoked".into()));
    }
    let x = &family.exchange;
    let mut subject_audience = strings(&x["subject_audience"]);
    let mut subject_scopes = strings(&x["subject_scopes"]);
    if family.has_source {
        // The source may have been narrowed since: only what it still has.
        let source_scopes = family.source_scopes.unwrap_or_default();
        let source_resources = family.source_resources.unwrap_or_default();
        let source_audience = if source_resources.is_empty() {
            vec![settings::default_audience()]
        } else {
            source_resources
        };
        subject_scopes.retain(|s| source_scopes.contains(s));
        subject_audience.retain(|a| source_audience.contains(a));
    }
    let act = x.get("act").filter(|a| !a.is_null());
    let subject_act = x.get("subject_act").filter(|a| !a.is_null());
    let may_act = x.get("may_act").filter(|a| !a.is_null());
    let targets = if resources.is_empty() {
        vec![settings::default_audience()]
    } else {
        resources.to_vec()
    };
    let now = db::now_epoch()?;
    let rules = policies(client, false)?;
    let decided = decision::decide(
        &decision::Subject {
            client_id: x["subject_client_id"].as_str().unwrap_or_default(),
            sub: user_id,
            audience: &subject_audience,
            scopes: &subject_scopes,
            exp: family.expires_at,
            act: subject_act,
            may_act,
            jkt: None,
        },
        &Request {
            client_id: &client.client_id,
            audiences: &targets,
            scopes: Some(scopes),
            // Whoever acted at the exchange acts again: the same chain.
            actor: act.map(|a| Actor {
                client_id: a["client_id"].as_str().unwrap_or_default(),
                sub: a["sub"].as_str().unwrap_or_default(),
                act: None,
            }),
            proven_jkt: None,
            now,
            lifetime_secs: settings::access_token_lifetime(),
        },
        &rules,
    )
    .map_err(|e| gone(e.description().to_string()))?;
    if !decided.refresh {
        return Err(gone(
            "no exchange rule of this client gives a refresh token any more".into(),
        ));
    }
    Ok(Redecided {
        claims: ExchangeClaims {
            act: decided.act,
            may_act: decided.may_act,
            exp: decided.exp,
        },
        // A second short: `now` is whole seconds, the transaction's clock a fraction past it.
        refresh_lifetime: settings::refresh_token_lifetime().min(family.expires_at - now - 1),
    })
}
