//! What a user's consent covers: scopes per audience. A request is approved without asking
//! only when, for every audience its tokens will carry, the user approved every scope it asks
//! for; approvals accumulate per audience and never combine across them.

use std::collections::{BTreeMap, BTreeSet};

/// Audience (a resource, or the default audience) to the scopes approved for it.
pub type ScopesByAudience = BTreeMap<String, BTreeSet<String>>;

/// Whether `consented` covers `scopes` for each of `audiences`.
pub fn covers(consented: &ScopesByAudience, audiences: &[String], scopes: &[String]) -> bool {
    !audiences.is_empty()
        && audiences.iter().all(|a| {
            consented
                .get(a)
                .is_some_and(|approved| scopes.iter().all(|s| approved.contains(s)))
        })
}

/// Adds an approval of `scopes` for each of `audiences`.
pub fn record(consented: &mut ScopesByAudience, audiences: &[String], scopes: &[String]) {
    for a in audiences {
        consented
            .entry(a.clone())
            .or_default()
            .extend(scopes.iter().cloned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn approvals_for_two_audiences_do_not_combine() {
        let mut c = ScopesByAudience::new();
        record(&mut c, &v(&["api-a"]), &v(&["read", "write"]));
        record(&mut c, &v(&["api-b"]), &v(&["read"]));
        assert!(covers(&c, &v(&["api-a"]), &v(&["write"])));
        assert!(covers(&c, &v(&["api-b"]), &v(&["read"])));
        assert!(!covers(&c, &v(&["api-b"]), &v(&["write"])));
        assert!(!covers(&c, &v(&["api-a", "api-b"]), &v(&["write"])));
        assert!(covers(&c, &v(&["api-a", "api-b"]), &v(&["read"])));
        assert!(!covers(&c, &v(&["api-c"]), &v(&[])));
        assert!(!covers(&c, &v(&[]), &v(&["read"])));
    }

    #[test]
    fn approvals_accumulate_per_audience() {
        let mut c = ScopesByAudience::new();
        record(&mut c, &v(&["api-a"]), &v(&["read"]));
        record(&mut c, &v(&["api-a"]), &v(&["write"]));
        assert!(covers(&c, &v(&["api-a"]), &v(&["read", "write"])));
    }
}
