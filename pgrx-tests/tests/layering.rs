//! The layers of the extension (ARCHITECTURE.md): `api` modules (the SQL surface) use
//! `services`, `store` and `oauth_core`, never another `api` module; only `store` talks to SPI
//! or holds query text. This reads the source, so a new cross-import or a stray query fails
//! the suite rather than a review.

use std::fs;
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../src")
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    out.sort();
    out
}

fn module_name(p: &Path) -> String {
    p.file_stem().unwrap().to_string_lossy().into_owned()
}

/// The code of a file without its `#[cfg(test)]` tail and without comments.
fn code_of(p: &Path) -> String {
    let text = fs::read_to_string(p).unwrap();
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The api modules' shared helpers (respond, raise, …) live in api/mod.rs; `pg_tests` holds the
/// `#[pg_test]` suite, which may call anything.
const NOT_ENDPOINTS: &[&str] = &["mod", "pg_tests"];

#[test]
fn no_endpoint_module_imports_another() {
    let api = src().join("api");
    let modules: Vec<String> = rust_files(&api).iter().map(|p| module_name(p)).collect();
    let mut offences = Vec::new();
    for file in rust_files(&api) {
        let me = module_name(&file);
        if NOT_ENDPOINTS.contains(&me.as_str()) {
            continue;
        }
        let code = code_of(&file);
        for other in modules
            .iter()
            .filter(|m| **m != me && !NOT_ENDPOINTS.contains(&m.as_str()))
        {
            for pattern in [
                format!("super::{other}"),
                format!("crate::api::{other}"),
                format!("api::{other}::"),
            ] {
                if code.contains(&pattern) {
                    offences.push(format!("api/{me}.rs uses {pattern}"));
                }
            }
            // `use super::{a, other, b}`
            for group in code.split("use super::{").skip(1) {
                let names = group.split('}').next().unwrap_or("");
                if names
                    .split(',')
                    .any(|n| n.trim() == other || n.trim().starts_with(&format!("{other}::")))
                {
                    offences.push(format!("api/{me}.rs imports super::{other}"));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "api modules importing each other:\n{}",
        offences.join("\n")
    );
}

#[test]
fn services_and_store_do_not_reach_up_into_api_modules() {
    // They may share api/mod.rs's error channel (ApiResult, Failure, set_no_store), not use an
    // endpoint module.
    let endpoints: Vec<String> = rust_files(&src().join("api"))
        .iter()
        .map(|p| module_name(p))
        .filter(|m| !NOT_ENDPOINTS.contains(&m.as_str()))
        .collect();
    let mut offences = Vec::new();
    for layer in ["services", "store"] {
        for file in rust_files(&src().join(layer)) {
            let code = code_of(&file);
            for used in code.split("crate::api::").skip(1) {
                let names = match used.strip_prefix('{') {
                    Some(group) => group.split('}').next().unwrap_or("").to_string(),
                    None => used
                        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .next()
                        .unwrap_or("")
                        .to_string(),
                };
                for name in names
                    .split(',')
                    .map(|n| n.trim().split("::").next().unwrap_or("").trim())
                {
                    if endpoints.iter().any(|e| e == name) {
                        offences.push(format!(
                            "{layer}/{}.rs uses api::{name}",
                            module_name(&file)
                        ));
                    }
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "lower layers using api modules:\n{}",
        offences.join("\n")
    );
}

#[test]
fn only_the_store_talks_to_spi_or_holds_query_text() {
    let mut offences = Vec::new();
    for layer in ["api", "services"] {
        for file in rust_files(&src().join(layer)) {
            if module_name(&file) == "pg_tests" {
                continue;
            }
            let code = code_of(&file);
            for needle in [
                "Spi::",
                "\"SELECT ",
                "\"INSERT ",
                "\"UPDATE ",
                "\"DELETE ",
                "\"WITH ",
                "db::query_row",
                "db::execute",
            ] {
                if code.contains(needle) {
                    offences.push(format!(
                        "{layer}/{}.rs contains {needle}",
                        module_name(&file)
                    ));
                }
            }
        }
    }
    assert!(
        offences.is_empty(),
        "SPI or SQL outside src/store:\n{}",
        offences.join("\n")
    );
}
