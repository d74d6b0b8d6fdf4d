//! No two modules of a crate of the workspace need each other: every `crate::…` and
//! `super::…` path outside tests is an edge from its file's module to the module it names
//! (the longest one that exists), and so is every call `self.f(…)` or `Self::f(…)` of a
//! function `f` that one other module alone defines (a handler's methods are spread over
//! files: calls only go down). A module and its own submodules are one unit, and the edges
//! must have no cycle. As `local/tests/runner/web.rs` holds the page's imports to one
//! direction, this holds the Rust code's.
#![allow(
    clippy::too_many_lines,
    reason = "a test states its scenario whole (docs/design.md, \"Long functions\")"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

/// Every crate's source folder in the workspace.
fn crate_roots() -> Vec<PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut roots: Vec<PathBuf> = ["shared/src", "local/src", "bench/src"]
        .iter()
        .map(|r| workspace.join(r))
        .collect();
    for entry in std::fs::read_dir(workspace.join("functions")).unwrap() {
        let src = entry.unwrap().path().join("src");
        if src.is_dir() {
            roots.push(src);
        }
    }
    roots
}

fn rust_files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// `src/a/b.rs` and `src/a/b/mod.rs` are `a::b`; `lib.rs` and `main.rs` the crate itself.
fn module_of(root: &Path, file: &Path) -> Module {
    let mut parts: Module = file
        .strip_prefix(root)
        .unwrap()
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("lib" | "main" | "mod")
    ) {
        parts.pop();
    }
    parts
}

/// The file's text without its test module (tests may reach anywhere).
fn without_tests(text: &str) -> &str {
    let cut = ["\nmod tests {", "\nmod tests;"]
        .iter()
        .filter_map(|marker| text.find(marker))
        .min();
    cut.map_or(text, |at| &text[..at])
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The paths after each `crate::` and `super::` (a `{a, b::c}` group gives one per member),
/// with `super` resolved against `module`.
fn named_paths(module: &Module, text: &str) -> Vec<Module> {
    let mut paths = Vec::new();
    for (start, keyword) in text
        .match_indices("crate::")
        .chain(text.match_indices("super::"))
    {
        if text[..start].chars().next_back().is_some_and(is_ident) {
            continue;
        }
        let mut base: Module = if keyword == "crate::" {
            Vec::new()
        } else {
            module[..module.len().saturating_sub(1)].to_vec()
        };
        let mut rest = &text[start + keyword.len()..];
        while let Some(more) = rest.strip_prefix("super::") {
            base.pop();
            rest = more;
        }
        let heads: Vec<&str> = match rest.strip_prefix('{') {
            Some(group) => group[..group.find('}').unwrap_or(0)].split(',').collect(),
            None => vec![rest],
        };
        for head in heads {
            let mut path = base.clone();
            let head = head.trim_start();
            let end = head
                .find(|c: char| !(is_ident(c) || c == ':'))
                .unwrap_or(head.len());
            path.extend(
                head[..end]
                    .split("::")
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned),
            );
            paths.push(path);
        }
    }
    paths
}

/// The names after each `fn ` (the functions a file defines).
fn defined_functions(text: &str) -> BTreeSet<String> {
    text.match_indices("fn ")
        .filter(|(at, _)| !text[..*at].chars().next_back().is_some_and(is_ident))
        .map(|(at, _)| {
            let rest = &text[at + 3..];
            rest[..rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len())].to_owned()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

/// The names of the functions a file calls as `self.f(` or `Self::f(`.
fn self_calls(text: &str) -> BTreeSet<String> {
    let mut called = BTreeSet::new();
    for prefix in ["self.", "Self::"] {
        for (at, _) in text.match_indices(prefix) {
            if text[..at].chars().next_back().is_some_and(is_ident) {
                continue;
            }
            let rest = &text[at + prefix.len()..];
            let end = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
            if rest[end..].starts_with('(') && end > 0 {
                called.insert(rest[..end].to_owned());
            }
        }
    }
    called
}

/// Function name → the one module defining it (names defined in two modules are left out:
/// a call cannot say which it means).
fn function_homes(sources: &BTreeMap<Module, String>) -> BTreeMap<String, Module> {
    let mut homes: BTreeMap<String, BTreeSet<Module>> = BTreeMap::new();
    for (module, text) in sources {
        for name in defined_functions(text) {
            homes.entry(name).or_default().insert(module.clone());
        }
    }
    homes
        .into_iter()
        .filter(|(_, modules)| modules.len() == 1)
        .filter_map(|(name, modules)| modules.into_iter().next().map(|m| (name, m)))
        .collect()
}

/// Module → the modules it names or calls (not itself, an ancestor or a descendant).
fn edges(root: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    let modules: BTreeMap<Module, PathBuf> = files
        .into_iter()
        .map(|f| (module_of(root, &f), f))
        .collect();
    let sources: BTreeMap<Module, String> = modules
        .iter()
        .map(|(module, file)| {
            let text = std::fs::read_to_string(file).unwrap();
            (module.clone(), without_tests(&text).to_owned())
        })
        .collect();
    let homes = function_homes(&sources);
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (module, text) in &sources {
        let calls = self_calls(text)
            .into_iter()
            .filter_map(|name| homes.get(&name).cloned());
        for path in named_paths(module, text).into_iter().chain(calls) {
            let Some(target) = (0..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|m| modules.contains_key(m))
            else {
                continue;
            };
            let nested = module.starts_with(&target) || target.starts_with(module);
            if !nested {
                edges.entry(module.clone()).or_default().insert(target);
            }
        }
        edges.entry(module.clone()).or_default();
    }
    edges
}

/// A cycle of `edges`, if there is one (depth-first, the first back edge found).
fn cycle(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Option<Vec<Module>> {
    fn visit(
        node: &Module,
        edges: &BTreeMap<Module, BTreeSet<Module>>,
        path: &mut Vec<Module>,
        done: &mut BTreeSet<Module>,
    ) -> Option<Vec<Module>> {
        if let Some(at) = path.iter().position(|m| m == node) {
            return Some(path[at..].to_vec());
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.clone());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(found) = visit(next, edges, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(node.clone());
        None
    }
    let mut done = BTreeSet::new();
    edges
        .keys()
        .find_map(|start| visit(start, edges, &mut Vec::new(), &mut done))
}

#[test]
fn no_two_modules_need_each_other() {
    let roots = crate_roots();
    assert!(roots.len() >= 14, "every crate is read: {roots:?}");
    let mut counted = 0;
    for root in roots {
        let edges = edges(&root);
        counted += edges.values().map(BTreeSet::len).sum::<usize>();
        if let Some(found) = cycle(&edges) {
            let names: Vec<String> = found.iter().map(|m| m.join("::")).collect();
            panic!("{}: an import loop: {}", root.display(), names.join(" → "));
        }
    }
    assert!(counted > 100, "edges were found ({counted})");
}

#[test]
fn a_loop_is_found() {
    let module = |path: &str| -> Module { path.split("::").map(str::to_owned).collect() };
    // `super::` resolves against the file's module; groups name each member.
    assert_eq!(
        named_paths(
            &module("sandbox::api"),
            "use super::{answers::twilio_error, auth};"
        ),
        vec![
            module("sandbox::answers::twilio_error"),
            module("sandbox::auth")
        ]
    );
    assert_eq!(
        named_paths(&module("a::b"), "x = crate::c::D; my_crate::e;"),
        vec![module("c::D")]
    );
    // Calls of a function one module alone defines are edges too.
    assert_eq!(
        self_calls("self.attempt(job).await; Self::new(); self.ports.get(x); myself.f()"),
        ["attempt", "new"].map(str::to_owned).into()
    );
    let sources: BTreeMap<Module, String> = [
        (module("send"), "fn claim() {} fn record() {}".to_owned()),
        (
            module("outcome"),
            "pub(crate) fn record() {} fn fail() {}".to_owned(),
        ),
    ]
    .into();
    let homes = function_homes(&sources);
    assert_eq!(homes.get("fail"), Some(&module("outcome")));
    assert_eq!(homes.get("record"), None, "defined twice: not an edge");
    let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    edges.insert(module("a"), [module("b")].into());
    edges.insert(module("b"), [module("c")].into());
    edges.insert(module("c"), BTreeSet::new());
    assert_eq!(cycle(&edges), None);
    edges.insert(module("c"), [module("a")].into());
    assert_eq!(cycle(&edges).map(|c| c.len()), Some(3));
}
