//! Helpers for the checks in `tests/`: they read the repository's files as text, so they run in
//! `make lint` on a machine without a cluster and fail the suite rather than a review when the
//! source and the docs part ways.

pub mod module_graph;
pub mod rust_source;

use std::fs;
use std::path::{Path, PathBuf};

/// The repository's root (this crate lives in `crates/repo-checks`). Taken from the
/// CARGO_MANIFEST_DIR cargo sets when it runs the tests, not the one compiled in: CI reuses a
/// test program built in an earlier clone (scripts/lib/source_mtimes.py) whose compiled-in
/// path is that clone's, and would check its files instead of these.
pub fn repo_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

/// A file of the repository, as text.
pub fn read(relative: &str) -> String {
    let path = repo_root().join(relative);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file under `dir` (relative to the root) whose name ends with `.{ext}`, recursively,
/// sorted, as paths relative to the root.
pub fn files_under(dir: &str, ext: &str) -> Vec<String> {
    let suffix = format!(".{ext}");
    walk(&repo_root().join(dir))
        .into_iter()
        .filter(|f| f.ends_with(&suffix))
        .collect()
}

/// The lines of a source file that are code: comment lines (`//`, `//!`, `///`) dropped.
pub fn code_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(str::to_owned)
        .collect()
}

/// Every file of the repository (relative paths), build output and dependencies left out.
pub fn tracked_files() -> Vec<String> {
    walk(&repo_root())
}

/// The files under `dir`, recursively, sorted, relative to the repository's root; build
/// output, dependencies and git's own files left out.
fn walk(dir: &Path) -> Vec<String> {
    const SKIPPED: &[&str] = &["target", "node_modules", ".git"];
    let root = repo_root();
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            if SKIPPED.iter().any(|s| entry.file_name() == *s) {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(
                    p.strip_prefix(&root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    out.sort();
    out
}
