//! The docs against the code: every setting and audit event is in docs/operations.md, every
//! route of the front in docs/http.md and front/openapi.yaml, every flag of the front in
//! docs/http.md, every SQL function in docs/reference.md, and every file a doc or a comment
//! names exists. Each list is read from the code, so a new setting, route or function without
//! its docs fails here, not in a newcomer's hands.

use repo_checks::{code_lines, files_under, read, tracked_files};
use std::collections::BTreeSet;

/// `oauth_server.<name>` as written in the settings' declarations.
fn settings_in_code() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in code_lines(&read("src/settings/mod.rs")) {
        let mut rest = line.as_str();
        while let Some(at) = rest.find("\"oauth_server.") {
            let after = &rest[at + 1..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
                .collect();
            out.insert(name);
            rest = &after[1..];
        }
    }
    out
}

#[test]
fn every_setting_is_in_the_settings_table_of_operations_md() {
    let settings = settings_in_code();
    assert!(
        settings.len() >= 26,
        "settings read from src/settings/mod.rs: {settings:?}"
    );
    let docs = read("docs/operations.md");
    let rows: Vec<&str> = docs
        .lines()
        .filter(|l| l.starts_with("| `oauth_server."))
        .collect();
    let missing: Vec<_> = settings
        .iter()
        .filter(|s| !rows.iter().any(|r| r.starts_with(&format!("| `{s}`"))))
        .collect();
    assert!(
        missing.is_empty(),
        "settings without a row in docs/operations.md's settings table: {missing:?}"
    );
    let documented: BTreeSet<String> = rows
        .iter()
        .filter_map(|r| r.strip_prefix("| `")?.split('`').next().map(str::to_owned))
        .collect();
    let gone: Vec<_> = documented.difference(&settings).collect();
    assert!(
        gone.is_empty(),
        "docs/operations.md documents settings the code lacks: {gone:?}"
    );
}

/// The events `src/audit_events.rs` declares (`Variant = "name",`): the store can write no
/// other (`store::audit::record` takes an `AuditEvent`).
fn audit_events_in_code() -> BTreeSet<String> {
    code_lines(&read("src/audit_events.rs"))
        .iter()
        .filter_map(|l| l.trim().split_once(" = \""))
        .filter_map(|(_, rest)| rest.strip_suffix("\","))
        .map(str::to_owned)
        .collect()
}

/// The events the schema's triggers write themselves (`INSERT INTO oauth.audit_log … VALUES ('x'`).
fn audit_events_of_triggers() -> BTreeSet<String> {
    let schema = read("sql/schema.sql");
    schema
        .split("INSERT INTO oauth.audit_log")
        .skip(1)
        .filter_map(|part| part.split("VALUES (").nth(1))
        .filter_map(|values| values.strip_prefix('\'')?.split('\'').next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_triggers_write_only_declared_audit_events() {
    let declared = audit_events_in_code();
    let triggers = audit_events_of_triggers();
    assert!(
        !triggers.is_empty(),
        "no audit event read from sql/schema.sql's triggers"
    );
    let undeclared: Vec<_> = triggers.difference(&declared).collect();
    assert!(
        undeclared.is_empty(),
        "events sql/schema.sql writes that src/audit_events.rs does not declare: {undeclared:?}"
    );
}

#[test]
fn every_audit_event_is_in_operations_md() {
    let events = audit_events_in_code();
    assert!(events.len() > 20, "audit events read from src/: {events:?}");
    let docs = read("docs/operations.md");
    let missing: Vec<_> = events
        .iter()
        .filter(|e| !docs.contains(&format!("`{e}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "audit events docs/operations.md does not name: {missing:?}"
    );
}

/// Every path given to `.route(` in the front, as OpenAPI spells it (`{*rest}` → `{rest}`);
/// the Supabase router's own paths under `/auth/v1`.
fn routes_in_front() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for file in files_under("front/src", "rs") {
        let code = code_lines(&read(&file)).join("\n");
        let code = code.split("#[cfg(test)]").next().unwrap_or("");
        let supabase = file.contains("supabase");
        // The Supabase module re-mounts the standard routes after `let standard`: those are
        // the root's paths, already counted.
        let own = if supabase {
            code.split("let standard").next().unwrap_or("")
        } else {
            code
        };
        for part in own.split(".route(").skip(1) {
            let Some(path) = part.trim_start().strip_prefix('"') else {
                continue;
            };
            let Some((path, _)) = path.split_once('"') else {
                continue;
            };
            if !path.starts_with('/') {
                continue;
            }
            let path = if supabase {
                format!("/auth/v1{path}")
            } else {
                path.to_owned()
            };
            out.insert(path.replace("{*", "{"));
        }
    }
    out
}

/// `{id}`, `{*rest}`, `<path>` and `{client_id}` all become `{}`.
fn normal_path(p: &str) -> String {
    let mut out = String::new();
    let mut skipping = None;
    for c in p.chars() {
        match (skipping, c) {
            (None, '{') => skipping = Some('}'),
            (None, '<') => skipping = Some('>'),
            (Some(end), c) if c == end => {
                out.push_str("{}");
                skipping = None;
            }
            (Some(_), _) => {}
            (None, c) => out.push(c),
        }
    }
    out
}

/// Paths written in backticks in a markdown file, normalised; a `` `GET, POST /x` `` cell
/// gives `/x`, and `/auth/v1/…` rows of a Supabase table are matched as written.
fn paths_in_markdown(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for code in text.split('`').skip(1).step_by(2) {
        for word in code.split([' ', ',', '?', '(', ')']) {
            if word.starts_with('/') {
                out.insert(normal_path(word.trim_end_matches(['.', ':'])));
            }
        }
    }
    out
}

#[test]
fn every_route_is_in_http_md_and_openapi() {
    let routes = routes_in_front();
    assert!(routes.len() > 25, "routes read from front/src: {routes:?}");
    let mut docs = paths_in_markdown(&read("docs/http.md"));
    // The Supabase surface is described in its own page, which docs/http.md links.
    docs.extend(
        paths_in_markdown(&read("docs/supabase.md"))
            .into_iter()
            .map(|p| {
                if p.starts_with("/auth/v1") {
                    p
                } else {
                    format!("/auth/v1{p}")
                }
            }),
    );
    let missing: Vec<_> = routes
        .iter()
        .filter(|r| !docs.contains(&normal_path(r)))
        .collect();
    assert!(
        missing.is_empty(),
        "routes docs/http.md (or docs/supabase.md for /auth/v1) does not name: {missing:?}"
    );

    let openapi: BTreeSet<String> = read("front/openapi.yaml")
        .lines()
        .filter_map(|l| l.strip_prefix("  /").and_then(|p| p.strip_suffix(':')))
        .map(|p| format!("/{p}"))
        .collect();
    let missing: Vec<_> = routes.difference(&openapi).collect();
    assert!(
        missing.is_empty(),
        "routes front/openapi.yaml lacks: {missing:?}"
    );
    let extra: Vec<_> = openapi.difference(&routes).collect();
    assert!(
        extra.is_empty(),
        "front/openapi.yaml describes routes the front lacks: {extra:?}"
    );
}

/// Each flag of `front/src/config.rs` as `--long-name` with its environment variable.
fn front_flags() -> Vec<(String, Option<String>)> {
    let code = code_lines(&read("front/src/config.rs")).join("\n");
    let mut out = Vec::new();
    for part in code.split("#[arg(").skip(1) {
        let (attr, rest) = part.split_once(")]").unwrap_or((part, ""));
        let field = rest
            .split("pub ")
            .nth(1)
            .and_then(|f| f.split(':').next())
            .map(str::trim)
            .unwrap_or_default();
        let long = attr
            .split("long = \"")
            .nth(1)
            .and_then(|l| l.split('"').next())
            .map(str::to_owned)
            .or_else(|| {
                attr.split([',', '\n', ' '])
                    .any(|w| w.trim() == "long")
                    .then(|| field.replace('_', "-"))
            });
        let env = attr
            .split("env = \"")
            .nth(1)
            .and_then(|e| e.split('"').next())
            .map(str::to_owned);
        if let Some(long) = long {
            out.push((format!("--{long}"), env));
        }
    }
    out
}

#[test]
fn every_front_flag_and_its_variable_is_in_http_md() {
    let flags = front_flags();
    assert!(
        flags.len() > 15,
        "flags read from front/src/config.rs: {flags:?}"
    );
    let docs = read("docs/http.md");
    let mut missing = Vec::new();
    for (flag, env) in &flags {
        if !docs.contains(&format!("`{flag}`")) && !docs.contains(&format!("`{flag} ")) {
            missing.push(flag.clone());
        }
        if let Some(env) = env {
            if !docs.contains(env.as_str()) {
                missing.push(env.clone());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "front flags/variables docs/http.md does not name: {missing:?}"
    );
}

/// The SQL name of every `#[pg_extern]` function of the extension (its `name = "…"`, else the
/// Rust name), and of the functions sql/schema.sql creates that are meant to be called.
fn sql_functions() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for file in files_under("src", "rs") {
        if file.ends_with("pg_tests.rs") {
            continue;
        }
        let code = code_lines(&read(&file)).join("\n");
        let code = code
            .split("#[cfg(any(test, feature = \"pg_test\"))]")
            .next()
            .unwrap_or("");
        for part in code.split("#[pg_extern").skip(1) {
            let (attr, rest) = part.split_once(']').unwrap_or((part, ""));
            let renamed = attr
                .split("name = \"")
                .nth(1)
                .and_then(|n| n.split('"').next())
                .map(str::to_owned);
            let rust_name = rest
                .split("fn ")
                .nth(1)
                .and_then(|f| f.split(['(', '<']).next())
                .map(|n| n.trim().to_owned());
            if let Some(name) = renamed.or(rust_name) {
                out.insert(name);
            }
        }
    }
    out
}

#[test]
fn every_sql_function_is_in_reference_md() {
    let functions = sql_functions();
    assert!(
        functions.len() > 60,
        "functions read from src/: {functions:?}"
    );
    let docs = read("docs/reference.md");
    let missing: Vec<_> = functions
        .iter()
        .filter(|f| {
            !docs.contains(&format!("`{f}("))
                && !docs.contains(&format!(" {f}("))
                && !docs.contains(&format!("`oauth.{f}("))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "SQL functions docs/reference.md does not name: {missing:?}"
    );
}

/// Words of a text that look like a file of this repository: a path or name ending in a
/// source or doc extension.
fn file_names_in(text: &str) -> Vec<String> {
    const EXTENSIONS: &[&str] = &[".rs", ".sh", ".md", ".sql", ".js", ".yaml", ".toml", ".py"];
    text.split(|c: char| !(c.is_ascii_alphanumeric() || "_./-".contains(c)))
        .map(|w| w.trim_start_matches("./").trim_end_matches('.'))
        .filter(|w| {
            EXTENSIONS
                .iter()
                .any(|e| w.ends_with(e) && w.len() > e.len())
        })
        .filter(|w| !w.starts_with('/') && !w.starts_with("target/") && !w.contains(".."))
        .map(str::to_owned)
        .collect()
}

/// Names that are not files of this repository but of the system or of what runs: what
/// pg_upgrade writes, what cargo and PostgreSQL generate, other projects' files.
const NOT_OURS: &[&str] = &[
    "update_extensions.sql",
    "delete_old_cluster.sh",
    "dist/umd/supabase.js",
    "Node.js",
    "proof.md",
    "lib.rs",
    "main.rs",
    "mod.rs",
    "build.rs",
    "postgresql.conf",
];

/// `oauth_server--<version>.sql`: the install script pgrx generates at build time (the
/// committed ones are upgrade scripts `oauth_server--<from>--<to>.sql` and released versions).
fn generated_install_script(name: &str) -> bool {
    name.strip_prefix("oauth_server--")
        .and_then(|v| v.strip_suffix(".sql"))
        .is_some_and(|v| !v.contains("--") && v.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
}

#[test]
fn every_file_a_doc_or_a_comment_names_exists() {
    let files = tracked_files();
    let exists = |name: &str| -> bool {
        NOT_OURS.contains(&name)
            || generated_install_script(name)
            || files
                .iter()
                .any(|f| f == name || f.ends_with(&format!("/{name}")))
    };
    let mut sources: Vec<String> = vec!["README.md".into(), "ARCHITECTURE.md".into()];
    sources.extend(files_under("docs", "md"));
    let mut missing = BTreeSet::new();
    for doc in &sources {
        for name in file_names_in(&read(doc)) {
            if !exists(&name) {
                missing.insert(format!("{doc}: {name}"));
            }
        }
    }
    for (dir, ext, comment) in [
        ("src", "rs", "//"),
        ("front/src", "rs", "//"),
        ("crates", "rs", "//"),
        ("pgrx-tests", "rs", "//"),
        ("scripts", "sh", "#"),
        ("sql", "sql", "--"),
        ("e2e/tests", "js", "//"),
    ] {
        for file in files_under(dir, ext) {
            if file.starts_with("crates/repo-checks") {
                continue;
            }
            for line in read(&file).lines() {
                let Some((_, comment_text)) = line.split_once(comment) else {
                    continue;
                };
                for name in file_names_in(comment_text) {
                    if !exists(&name) {
                        missing.insert(format!("{file}: {name}"));
                    }
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "files named that the repository does not have:\n{}",
        missing.into_iter().collect::<Vec<_>>().join("\n")
    );
}
