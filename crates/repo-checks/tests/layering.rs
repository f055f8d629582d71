//! The layers of the extension (ARCHITECTURE.md): `api` modules (the SQL surface) use
//! `services`, `store`, `error`, `response` and `oauth_core`, never another `api` module; no
//! module below `api` (services, store, error, response, settings) uses `api`; only `store`
//! talks to SPI, and even the store holds no query text (it is in `sql/queries`, loaded with
//! `query!`); no import circle among the modules of `src/`; no source file over 500 lines
//! once its tests are set aside. This reads the source, so a new cross-import, a circle or a
//! stray query fails `cargo test -p repo-checks` (and `make lint`) with no cluster, rather than
//! a review.

use repo_checks::module_graph::{describe, module_of, ModuleGraph};
use repo_checks::rust_source::{lex, looks_like_sql};
use repo_checks::{files_under, read};

const SRC: &str = "src";
const MAX_LINES: usize = 500;

/// `api/mod.rs` holds the api modules' shared helpers (`required`, the re-exported `respond`,
/// `or_raise`, …); `api/pg_tests.rs` the `#[pg_test]` suite, which may call anything.
const NOT_ENDPOINTS: &[&str] = &["api", "api::pg_tests"];

/// Every source file of the extension with its module (`api::token`; `""` for `lib.rs`).
fn modules() -> Vec<(String, String)> {
    files_under(SRC, "rs")
        .into_iter()
        .map(|f| {
            let m = module_of(f.strip_prefix("src/").unwrap());
            (f, m)
        })
        .collect()
}

fn is_api(m: &str) -> bool {
    m == "api" || m.starts_with("api::")
}

#[test]
fn no_endpoint_module_imports_another() {
    let graph = ModuleGraph::of_crate(SRC);
    let mut offences = Vec::new();
    for (file, me) in modules() {
        if !is_api(&me) || NOT_ENDPOINTS.contains(&me.as_str()) {
            continue;
        }
        for used in graph.uses.get(&me).into_iter().flatten() {
            if is_api(used) && !NOT_ENDPOINTS.contains(&used.as_str()) {
                offences.push(format!("{file} uses {used}"));
            }
        }
        // `use crate::api;` then `api::other::…`, which the graph reads as a use of `api`.
        let code = lex(&read(&file)).code;
        for (_, other) in modules() {
            let Some(name) = other.strip_prefix("api::") else {
                continue;
            };
            if other != me
                && !NOT_ENDPOINTS.contains(&other.as_str())
                && code.contains(&format!("api::{name}::"))
            {
                offences.push(format!("{file} uses api::{name}::"));
            }
        }
    }
    offences.sort();
    offences.dedup();
    assert!(
        offences.is_empty(),
        "api modules importing each other:\n{}",
        offences.join("\n")
    );
}

#[test]
fn no_module_below_api_uses_it() {
    // services, store, error, response, settings: the layers api stands on. Only the crate
    // root, which declares `api`, names it.
    let graph = ModuleGraph::of_crate(SRC);
    let mut offences = Vec::new();
    for (file, me) in modules() {
        if is_api(&me) || me.is_empty() {
            continue;
        }
        for used in graph.uses.get(&me).into_iter().flatten() {
            if is_api(used) {
                offences.push(format!("{file} uses {used}"));
            }
        }
        if lex(&read(&file)).code.contains("crate::api") {
            offences.push(format!("{file} names crate::api"));
        }
    }
    offences.sort();
    offences.dedup();
    assert!(
        offences.is_empty(),
        "modules below api using it (the error channel is crate::error, the response helpers \
         crate::response):\n{}",
        offences.join("\n")
    );
}

#[test]
fn only_the_store_talks_to_spi_and_no_module_holds_query_text() {
    let mut offences = Vec::new();
    for (file, me) in modules() {
        if me == "api::pg_tests" {
            continue;
        }
        let lexed = lex(&read(&file));
        let in_store = me == "store" || me.starts_with("store::");
        if !in_store {
            for needle in ["Spi::", "db::query_row", "db::execute"] {
                if lexed.code.contains(needle) {
                    offences.push(format!("{file} contains {needle}"));
                }
            }
        }
        for literal in &lexed.literals {
            let statement_like = ["SELECT ", "INSERT ", "UPDATE ", "DELETE ", "WITH "]
                .iter()
                .any(|k| literal.starts_with(k));
            // Outside the store, what even starts like a statement; in it, statements.
            if looks_like_sql(literal) || (!in_store && statement_like) {
                let first_line = literal.lines().next().unwrap_or("");
                offences.push(format!("{file} holds query text: {first_line:?}"));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "SPI outside src/store, or query text outside sql/queries:\n{}",
        offences.join("\n")
    );
}

#[test]
fn no_import_circle_among_the_modules() {
    let circles: Vec<String> = ModuleGraph::of_crate(SRC)
        .cycles()
        .iter()
        .map(|c| describe(c))
        .collect();
    assert!(
        circles.is_empty(),
        "import circles in src/ (a module using another that uses it, directly or through \
         others):\n{}",
        circles.join("\n")
    );
}

#[test]
fn no_source_file_over_500_lines_outside_its_tests() {
    let mut offences = Vec::new();
    for (file, me) in modules() {
        if me == "api::pg_tests" {
            continue;
        }
        let lines = lex(&read(&file)).code.lines().count();
        if lines > MAX_LINES {
            offences.push(format!("{file}: {lines} lines"));
        }
    }
    assert!(
        offences.is_empty(),
        "files over {MAX_LINES} lines (tests set aside):\n{}",
        offences.join("\n")
    );
}

/// The same rule for the protocol crate the extension and the front share.
#[test]
fn no_oauth_core_file_over_500_lines_outside_its_tests() {
    let offences: Vec<String> = files_under("crates/oauth-core/src", "rs")
        .into_iter()
        .filter_map(|file| {
            let lines = lex(&read(&file)).code.lines().count();
            (lines > MAX_LINES).then(|| format!("{file}: {lines} lines"))
        })
        .collect();
    assert!(
        offences.is_empty(),
        "files over {MAX_LINES} lines (tests set aside):\n{}",
        offences.join("\n")
    );
}
