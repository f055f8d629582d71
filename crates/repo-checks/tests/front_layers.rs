//! The front's modules stay in layers: no import circle among the modules of `front/src` (a
//! module A that uses B while B uses A, directly or through others), no source file over 500
//! lines once its tests are set aside, and the SQL bridge (`sql.rs`) imports nothing from the
//! crate, so that it can be read (and reused) without the rest of the front.
//!
//! The module graph is read from the source text by `module_graph` (`crate::…`, `super::…`
//! and `self::…` paths, `use` trees with braces, paths through declared children; comments,
//! string literals and the `#[cfg(test)]` tail left out): a test may use what it likes.

use repo_checks::module_graph::{describe, ModuleGraph};
use repo_checks::rust_source::code_of;
use repo_checks::{files_under, read};

const FRONT_SRC: &str = "front/src";
const MAX_LINES: usize = 500;

#[test]
fn no_import_circle_among_the_front_modules() {
    let graph = ModuleGraph::of_crate(FRONT_SRC);
    let used: usize = graph.uses.values().map(|u| u.len()).sum();
    // A reader that saw no paths would find no circle either.
    assert!(
        graph.uses.len() > 20 && used > 40,
        "the module graph read from front/src is too small: {:?}",
        graph.uses
    );
    let circles: Vec<String> = graph.cycles().iter().map(|c| describe(c)).collect();
    assert!(
        circles.is_empty(),
        "import circles among front/src modules (each module on a circle uses the next; move \
         what both need below them):\n  {}",
        circles.join("\n  ")
    );
}

#[test]
fn no_front_source_file_is_over_500_lines_outside_its_tests() {
    let files = files_under(FRONT_SRC, "rs");
    assert!(files.len() > 10, "front sources: {files:?}");
    let long: Vec<String> = files
        .iter()
        .map(|f| (f, code_of(&read(f)).lines().count()))
        .filter(|(_, lines)| *lines > MAX_LINES)
        .map(|(f, lines)| format!("{f}: {lines} lines"))
        .collect();
    assert!(
        long.is_empty(),
        "front sources over {MAX_LINES} lines (tests excluded): split them by idea: {long:?}"
    );
}

#[test]
fn the_sql_bridge_imports_nothing_from_the_crate() {
    let code = code_of(&read(&format!("{FRONT_SRC}/sql.rs")));
    let uses: Vec<&str> = ["crate::", "super::"]
        .into_iter()
        .filter(|p| code.contains(p))
        .collect();
    assert!(
        uses.is_empty(),
        "front/src/sql.rs uses {uses:?}: the SQL bridge must stand alone (its callers combine it \
         with the rest: user_call, replicas, fetch)"
    );
}
