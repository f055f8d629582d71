//! Who may use the HTTP admin API: the holder of an administrator key, or a verified session
//! whose role the DBA named in `oauth_server.admin_session_roles`. Never an ordinary user's
//! session (role `authenticated`), and never a token of another kind: the session check
//! refuses access tokens, ID tokens and machine tokens before the role is looked at.

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

/// The roles of `oauth_server.admin_session_roles` (comma- or space-separated). Empty: no
/// session is an administrator's.
pub fn parse_roles(setting: &str) -> Vec<String> {
    setting
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(String::from)
        .collect()
}

/// Whether a verified session with `role` administers. `authenticated` and `anon` (the
/// roles every user and every visitor has) never do, whatever the setting says.
pub fn session_role_is_admin(role: Option<&str>, admin_roles: &[String]) -> bool {
    match role {
        Some(r) if r != "authenticated" && r != "anon" => admin_roles.iter().any(|a| a == r),
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
        let roles = parse_roles(" service_role, supabase_admin ");
        assert_eq!(roles, ["service_role", "supabase_admin"]);
        assert!(session_role_is_admin(Some("service_role"), &roles));
        assert!(!session_role_is_admin(Some("authenticated"), &roles));
        assert!(!session_role_is_admin(None, &roles));
        assert!(!session_role_is_admin(Some("service_role"), &[]));
        let careless = parse_roles("authenticated anon service_role");
        assert!(!session_role_is_admin(Some("authenticated"), &careless));
        assert!(!session_role_is_admin(Some("anon"), &careless));
        assert!(!session_role_is_admin(Some("Service_Role"), &roles));
    }

    #[test]
    fn key_names_are_short_printable_text() {
        assert!(is_valid_key_name("ci-2026"));
        assert!(!is_valid_key_name(""));
        assert!(!is_valid_key_name(&"x".repeat(101)));
        assert!(!is_valid_key_name("a\nb"));
    }
}
