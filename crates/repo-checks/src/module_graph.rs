//! The import graph of a Rust crate's modules, read from its source text, and the circles in
//! it. A module is a file (`a/b.rs` and `a/b/mod.rs` are `a::b`; `lib.rs` and `main.rs` are the
//! crate root); it uses another when its code names a path into it through `crate::`
//! (`$crate::` in a macro), `super::` or `self::`, or through a child it declares (`mod x;`
//! then `x::…`), `use` trees with braces included. Comments,
//! string literals and a file's `#[cfg(test)]` tail are left out; a path names the longest
//! module it starts with (`crate::store::accounts::find` is `store::accounts`), and a module
//! naming itself or the crate root (re-exports, exported macros) is no edge.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use crate::rust_source::{code_of, is_ident};
use crate::{files_under, repo_root};

/// Modules by name (`""` is the crate root), each with the modules it uses.
#[derive(Debug, Default)]
pub struct ModuleGraph {
    pub uses: BTreeMap<String, BTreeSet<String>>,
}

/// The module a file under a crate's `src` is (`""` for the root).
pub fn module_of(relative_to_src: &str) -> String {
    let path = relative_to_src.trim_end_matches(".rs");
    let mut parts: Vec<&str> = path.split('/').collect();
    if matches!(parts.last(), Some(&"mod") | Some(&"lib") | Some(&"main")) {
        parts.pop();
    }
    parts.join("::")
}

fn skip_ws(b: &[char], i: &mut usize) {
    while *i < b.len() && b[*i].is_whitespace() {
        *i += 1;
    }
}

fn ident(b: &[char], i: &mut usize) -> String {
    let start = *i;
    while *i < b.len() && is_ident(b[*i]) {
        *i += 1;
    }
    b[start..*i].iter().collect()
}

/// The paths of the use tree (or plain path) starting at `i`, each as its segments.
fn paths(b: &[char], i: &mut usize) -> Vec<Vec<String>> {
    skip_ws(b, i);
    match b.get(*i) {
        Some('{') => {
            *i += 1;
            let mut out = Vec::new();
            loop {
                skip_ws(b, i);
                match b.get(*i) {
                    None => break,
                    Some('}') => {
                        *i += 1;
                        break;
                    }
                    Some(',') => *i += 1,
                    Some(_) => {
                        let before = *i;
                        out.extend(paths(b, i));
                        // `x as y`, or anything this reader does not follow: skip to the next item.
                        while *i < b.len() && !matches!(b[*i], ',' | '}' | '{') {
                            *i += 1;
                        }
                        if *i == before {
                            *i += 1;
                        }
                    }
                }
            }
            out
        }
        Some(c) if is_ident(*c) => {
            let name = ident(b, i);
            let mut j = *i;
            skip_ws(b, &mut j);
            if b.get(j) == Some(&':') && b.get(j + 1) == Some(&':') {
                *i = j + 2;
                paths(b, i)
                    .into_iter()
                    .map(|mut rest| {
                        rest.insert(0, name.clone());
                        rest
                    })
                    .collect()
            } else {
                vec![vec![name]]
            }
        }
        // `*`, or the end of a path.
        _ => vec![vec![]],
    }
}

/// The child modules `code` declares from files (`mod x;`, not `mod x { … }`).
fn declared_children(code: &str) -> BTreeSet<String> {
    let words: Vec<&str> = code
        .split(|c: char| !(is_ident(c) || c == ';'))
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(2)
        .filter(|w| w[0] == "mod")
        .filter_map(|w| w[1].strip_suffix(';'))
        .map(String::from)
        .collect()
}

/// Every path in `code` starting with `crate`, `super` or `self`, or with one of the
/// `children` (then as `self::child::…`), as its segments.
fn rooted_paths(code: &str, children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let b: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        // A path's first segment: not the tail of a word, nor a segment after `::` or `.`.
        let starts_word = i == 0 || !(is_ident(b[i - 1]) || matches!(b[i - 1], ':' | '.'));
        if starts_word && is_ident(b[i]) {
            let mut j = i;
            let word = ident(&b, &mut j);
            let mut k = j;
            skip_ws(&b, &mut k);
            let followed = b.get(k) == Some(&':') && b.get(k + 1) == Some(&':');
            let rooted = matches!(word.as_str(), "crate" | "super" | "self");
            if followed && (rooted || children.contains(&word)) {
                let mut at = i;
                for mut p in paths(&b, &mut at) {
                    if !rooted {
                        p.insert(0, "self".into());
                    }
                    out.push(p);
                }
                i = at.max(j);
            } else {
                i = j;
            }
        } else {
            i += 1;
        }
    }
    out
}

/// The module a path used in module `me` leads into, among `modules`.
fn target(me: &str, path: &[String], modules: &BTreeSet<String>) -> Option<String> {
    let mut base: Vec<String> = if me.is_empty() {
        Vec::new()
    } else {
        me.split("::").map(String::from).collect()
    };
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("self") => rest = &rest[1..],
        Some("super") => {
            while rest.first().map(String::as_str) == Some("super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        _ => return None,
    }
    let mut full = base;
    full.extend(rest.iter().filter(|s| *s != "self").cloned());
    (0..=full.len())
        .rev()
        .map(|n| full[..n].join("::"))
        .find(|m| modules.contains(m))
}

impl ModuleGraph {
    /// The graph of the crate whose sources are under `src` (relative to the repository root).
    pub fn of_crate(src: &str) -> ModuleGraph {
        let root = repo_root();
        let files = files_under(src, "rs");
        let modules: BTreeSet<String> = files
            .iter()
            .map(|f| module_of(f.strip_prefix(src).unwrap().trim_start_matches('/')))
            .collect();
        let mut graph = ModuleGraph::default();
        for file in &files {
            let me = module_of(file.strip_prefix(src).unwrap().trim_start_matches('/'));
            let text = fs::read_to_string(root.join(file)).unwrap();
            let uses = graph.uses.entry(me.clone()).or_default();
            let code = code_of(&text);
            for path in rooted_paths(&code, &declared_children(&code)) {
                if let Some(t) = target(&me, &path, &modules) {
                    if t != me && !t.is_empty() {
                        uses.insert(t);
                    }
                }
            }
        }
        graph
    }

    /// Every circle of the graph, each once, as its modules in order (starting from its
    /// smallest name): the strongly connected components of more than one module, each with one
    /// circle through all of its modules shown when there is a simple one, else its modules.
    pub fn cycles(&self) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        for component in self.components() {
            if component.len() < 2 {
                continue;
            }
            out.push(self.circle_through(&component));
        }
        out
    }

    /// Strongly connected components (Tarjan), each sorted.
    fn components(&self) -> Vec<Vec<String>> {
        struct State<'a> {
            graph: &'a ModuleGraph,
            index: BTreeMap<&'a str, usize>,
            low: BTreeMap<&'a str, usize>,
            stack: Vec<&'a str>,
            on_stack: BTreeSet<&'a str>,
            out: Vec<Vec<String>>,
        }
        fn visit<'a>(s: &mut State<'a>, v: &'a str) {
            let n = s.index.len();
            s.index.insert(v, n);
            s.low.insert(v, n);
            s.stack.push(v);
            s.on_stack.insert(v);
            let graph = s.graph;
            for w in graph.uses.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let lw = s.low[w];
                    let lv = s.low.get_mut(v).unwrap();
                    *lv = (*lv).min(lw);
                } else if s.on_stack.contains(w) {
                    let iw = s.index[w];
                    let lv = s.low.get_mut(v).unwrap();
                    *lv = (*lv).min(iw);
                }
            }
            if s.low[v] == s.index[v] {
                let mut component = Vec::new();
                while let Some(w) = s.stack.pop() {
                    s.on_stack.remove(w);
                    component.push(w.to_string());
                    if w == v {
                        break;
                    }
                }
                component.sort();
                s.out.push(component);
            }
        }
        let mut s = State {
            graph: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: Vec::new(),
            on_stack: BTreeSet::new(),
            out: Vec::new(),
        };
        for v in self.uses.keys() {
            if !s.index.contains_key(v.as_str()) {
                visit(&mut s, v);
            }
        }
        s.out.sort();
        s.out
    }

    /// A shortest circle from the component's first module back to it, within the component.
    fn circle_through(&self, component: &[String]) -> Vec<String> {
        let inside: BTreeSet<&str> = component.iter().map(String::as_str).collect();
        let start = component[0].as_str();
        let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        while let Some(v) = queue.pop_front() {
            for w in self.uses.get(v).into_iter().flatten() {
                let w = w.as_str();
                if w == start {
                    let mut circle = vec![v.to_string()];
                    let mut at = v;
                    while at != start {
                        at = came_from[at];
                        circle.push(at.to_string());
                    }
                    circle.reverse();
                    return circle;
                }
                if inside.contains(w) && !came_from.contains_key(w) {
                    came_from.insert(w, v);
                    queue.push_back(w);
                }
            }
        }
        component.to_vec()
    }
}

/// A circle as a line: `a -> b -> a` (the crate root shown as `crate`).
pub fn describe(circle: &[String]) -> String {
    let name = |m: &String| {
        if m.is_empty() {
            "crate".to_string()
        } else {
            m.clone()
        }
    };
    let mut parts: Vec<String> = circle.iter().map(name).collect();
    if let Some(first) = circle.first() {
        parts.push(name(first));
    }
    parts.join(" -> ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn paths_are_read_through_use_trees_and_past_comments_and_strings() {
        let code = code_of(
            "use crate::store::{self, accounts::{find, Owner}, db};\n\
             use super::{or_raise, respond};\n\
             // use crate::api::token;\n\
             /* crate::api::consent */\n\
             let s = \"crate::api::device\"; let r = r#\"crate::api::logout\"#;\n\
             let c = '\"'; fn f<'a>(x: &'a str) {}\n\
             crate::error::raise(e); $crate::store::column(row);\n\
             #[cfg(test)]\nmod tests { use crate::api::pg_tests; }",
        );
        let modules = set(&[
            "",
            "api",
            "api::token",
            "api::consent",
            "api::device",
            "api::logout",
            "api::pg_tests",
            "error",
            "store",
            "store::accounts",
            "store::db",
        ]);
        let targets: BTreeSet<String> = rooted_paths(&code, &BTreeSet::new())
            .iter()
            .filter_map(|p| target("api::token", p, &modules))
            .collect();
        assert_eq!(
            targets,
            set(&["api", "error", "store", "store::accounts", "store::db"])
        );
    }

    #[test]
    fn a_declared_child_is_a_path_root() {
        let code = code_of(
            "mod plans;\npub mod db;\nmod inline { }\nfn f() { plans::run(); inline::g(); }",
        );
        let children = declared_children(&code);
        assert_eq!(children, set(&["db", "plans"]));
        let modules = set(&["", "store", "store::plans", "store::db"]);
        let targets: BTreeSet<String> = rooted_paths(&code, &children)
            .iter()
            .filter_map(|p| target("store", p, &modules))
            .collect();
        assert_eq!(targets, set(&["store::plans"]));
    }

    #[test]
    fn super_and_self_are_relative_to_the_file() {
        assert_eq!(module_of("api/mod.rs"), "api");
        assert_eq!(module_of("lib.rs"), "");
        assert_eq!(module_of("store/accounts.rs"), "store::accounts");
        let modules = set(&["", "a", "a::b", "a::c", "d"]);
        let p = |s: &str| s.split("::").map(String::from).collect::<Vec<_>>();
        assert_eq!(
            target("a::b", &p("super::c::f"), &modules),
            Some("a::c".into())
        );
        assert_eq!(target("a", &p("super::d::x"), &modules), Some("d".into()));
        assert_eq!(
            target("a::b", &p("super::super::d"), &modules),
            Some("d".into())
        );
        assert_eq!(target("a", &p("self::b::g"), &modules), Some("a::b".into()));
        assert_eq!(target("", &p("super::x"), &modules), None);
    }

    #[test]
    fn circles_are_found_once_each() {
        let mut g = ModuleGraph::default();
        for (from, to) in [
            ("a", "b"),
            ("b", "c"),
            ("c", "a"),
            ("c", "d"),
            ("d", "e"),
            ("e", "d"),
            ("f", "a"),
        ] {
            g.uses.entry(from.into()).or_default().insert(to.into());
            g.uses.entry(to.into()).or_default();
        }
        let cycles: Vec<String> = g.cycles().iter().map(|c| describe(c)).collect();
        assert_eq!(cycles, vec!["a -> b -> c -> a", "d -> e -> d"]);
    }
}
