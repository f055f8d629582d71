//! Who may use the HTTP admin API: the holder of an administrator key, or a verified session
//! whose role the DBA named in `oauth_server.admin_session_roles`. Never an ordinary user's
//! session (role `authenticated`), and never a token of another kind: the session check
//! refuses access tokens, ID tokens and machine tokens before the role is looked at.

use super::issuer;
use super::secret;

/// Every administrator key starts with this, so a key is told from a JWT without parsing.
pub const KEY_PREFIX: &str = "oas_admin_";

/// A new administrator key: the prefix and 256 random bits.
pub fn new_key() -> String {
    format!("{KEY_PREFIX}{}", secret::random_token(secret::TOKEN_BYTES))
}

/// What a presented credential claims to be.
#[derive(Debug, PartialEq, Eq)]
pub enum Credential<'a> {
    /// An administrator key, looked up by its hash.
    Key(&'a str),
    /// Anything else: a session token to verify.
    Session(&'a str),
}

pub fn classify(credential: &str) -> Credential<'_> {
    if credential.starts_with(KEY_PREFIX) {
        Credential::Key(credential)
    } else {
        Credential::Session(credential)
    }
}

/// One entry of `oauth_server.admin_session_roles`: a role, of sessions of one issuer.
#[derive(Debug, PartialEq, Eq)]
pub struct AdminRole {
    /// `None`: sessions this server issued (its own issuer) only.
    pub issuer: Option<String>,
    pub role: String,
}

/// The entries of `oauth_server.admin_session_roles` (comma- or space-separated): `role` for
/// this server's own sessions, `issuer#role` for a trusted issuer's (an issuer identifier
/// never has a fragment, so the last `#` separates). The issuer is kept as written: it names
/// the issuer whose `iss` is exactly that string (Auth0's ends with `/`, others' do not).
/// Empty: no session is an administrator's.
pub fn parse_roles(setting: &str) -> Vec<AdminRole> {
    setting
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .filter_map(|entry| match entry.rsplit_once('#') {
            Some((issuer, role)) if !issuer.is_empty() && !role.is_empty() => Some(AdminRole {
                issuer: Some(issuer.to_string()),
                role: role.to_string(),
            }),
            Some(_) => None,
            None => Some(AdminRole {
                issuer: None,
                role: entry.to_string(),
            }),
        })
        .collect()
}

/// Whether a verified session of `issuer` with `role` administers. A bare role names this
/// server's own sessions (`own_issuer`) only: a trusted issuer whose tokens may carry that role
/// for RLS does not thereby administer clients unless the DBA names it. Issuers compare
/// exactly ([`issuer::same`]): a trusted issuer spelt as ours plus `/`, or as a named entry
/// plus `/`, is another issuer and administers through neither. `authenticated` and `anon`
/// (the roles every user and every visitor has) never administer, whatever the setting.
pub fn session_role_is_admin(
    role: Option<&str>,
    session_issuer: &str,
    own_issuer: &str,
    admin_roles: &[AdminRole],
) -> bool {
    match role {
        Some(r) if r != "authenticated" && r != "anon" => admin_roles.iter().any(|a| {
            a.role == r && issuer::same(session_issuer, a.issuer.as_deref().unwrap_or(own_issuer))
        }),
        _ => false,
    }
}

/// A key name: 1 to 100 printable characters, as the table's CHECK says.
pub fn is_valid_key_name(name: &str) -> bool {
    (1..=100).contains(&name.chars().count()) && !name.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_told_from_session_tokens_by_their_prefix() {
        let k = new_key();
        assert!(k.starts_with(KEY_PREFIX) && k.len() == KEY_PREFIX.len() + 43);
        assert_ne!(k, new_key());
        assert_eq!(classify(&k), Credential::Key(&k));
        assert_eq!(classify("eyJ.a.b"), Credential::Session("eyJ.a.b"));
    }

    #[test]
    fn only_configured_roles_administer_and_never_the_user_roles() {
        const OWN: &str = "https://auth.example.com";
        let roles = parse_roles(" service_role, supabase_admin ");
        assert_eq!(roles.len(), 2);
        assert_eq!(roles[0].role, "service_role");
        let admin = |role, issuer, roles: &[AdminRole]| {
            session_role_is_admin(Some(role), issuer, OWN, roles)
        };
        assert!(admin("service_role", OWN, &roles));
        assert!(!admin("authenticated", OWN, &roles));
        assert!(!session_role_is_admin(None, OWN, OWN, &roles));
        assert!(!admin("service_role", OWN, &[]));
        let careless = parse_roles("authenticated anon service_role");
        assert!(!admin("authenticated", OWN, &careless));
        assert!(!admin("anon", OWN, &careless));
        assert!(!admin("Service_Role", OWN, &roles));
    }

    #[test]
    fn a_trusted_issuers_sessions_administer_only_when_the_issuer_is_named() {
        const OWN: &str = "https://auth.example.com";
        const CLERK: &str = "https://clerk.app.example";
        // A bare role is this server's own sessions only.
        let bare = parse_roles("ops_admin");
        assert!(!session_role_is_admin(Some("ops_admin"), CLERK, OWN, &bare));
        let named = parse_roles("https://clerk.app.example#ops_admin");
        assert_eq!(named[0].issuer.as_deref(), Some(CLERK));
        assert!(session_role_is_admin(Some("ops_admin"), CLERK, OWN, &named));
        assert!(!session_role_is_admin(Some("ops_admin"), OWN, OWN, &named));
        assert!(!session_role_is_admin(
            Some("ops_admin"),
            "https://evil.example",
            OWN,
            &named
        ));
        assert!(!session_role_is_admin(
            Some("authenticated"),
            CLERK,
            OWN,
            &parse_roles("https://clerk.app.example#authenticated")
        ));
        // Malformed entries name nobody.
        assert!(parse_roles("#ops_admin https://clerk.app.example#").is_empty());
    }

    #[test]
    fn issuers_of_admin_entries_compare_exactly() {
        const OWN: &str = "https://auth.example.com";
        const CLERK: &str = "https://clerk.app.example";
        let admin = |issuer, roles: &[AdminRole]| {
            session_role_is_admin(Some("ops_admin"), issuer, OWN, roles)
        };
        // A bare role: our own issuer exactly, not a trusted issuer spelt as ours plus `/`.
        let bare = parse_roles("ops_admin");
        assert!(admin(OWN, &bare));
        for respelt in [
            "https://auth.example.com/",
            "https://Auth.example.com",
            "https://auth.example.com:443",
        ] {
            assert!(!admin(respelt, &bare), "{respelt}");
        }
        // A named entry: that issuer exactly, with or without its trailing slash as written.
        let named = parse_roles("https://clerk.app.example#ops_admin");
        assert!(admin(CLERK, &named));
        assert!(!admin("https://clerk.app.example/", &named));
        let slashed = parse_roles("https://tenant.auth0.com/#ops_admin");
        assert_eq!(
            slashed[0].issuer.as_deref(),
            Some("https://tenant.auth0.com/")
        );
        assert!(admin("https://tenant.auth0.com/", &slashed));
        assert!(!admin("https://tenant.auth0.com", &slashed));
        // A session without an issuer is nobody's.
        assert!(!admin("", &bare));
    }

    #[test]
    fn key_names_are_short_printable_text() {
        assert!(is_valid_key_name("ci-2026"));
        assert!(!is_valid_key_name(""));
        assert!(!is_valid_key_name(&"x".repeat(101)));
        assert!(!is_valid_key_name("a\nb"));
    }
}
