//! The libpq suite, one test program: each file is a module (its rules, its races), run with
//! `cargo test -p oauth_server_e2e --test e2e [-- file::name]`. One program instead of one per
//! file: it is linked once (33 programs took 66 s to link) and its tests share one pool of
//! threads, so a file of slow tests no longer leaves the other threads idle.
//! Every test makes a database of its own (`oauth_server_e2e::TestDb`), so the modules share
//! nothing but the cluster.

mod admin_rules;
mod admin_users_rules;
mod audit_rules;
mod authorize_rules;
mod bad_input;
mod client_assertion_rules;
mod client_rules;
mod code_rules;
mod default_resource_rules;
mod dpop_resource_rules;
mod dpop_rules;
mod endpoint_rules;
mod exchange_rules;
mod flow;
mod grounds_fallen_users;
mod grounds_issuers;
mod grounds_policy;
mod grounds_prompt;
mod grounds_races;
mod grounds_removals;
mod grounds_revoke_user;
mod grounds_rules;
mod grounds_sessions;
mod grounds_sign_in;
mod grounds_users;
mod hook_rules;
mod issuer_rules;
mod key_protection_rules;
mod key_rules;
mod logout_attacks;
mod logout_rules;
mod machine_rules;
mod model_rules;
mod pairwise_attacks;
mod pairwise_rules;
mod par_requirement_rules;
mod par_rules;
mod plan_rules;
mod privilege_rules;
mod refresh_rules;
mod sign_in_rules;
mod switch_rules;
mod threats;
mod trust_rules;
