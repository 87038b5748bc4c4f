//! The modules of `src/` stand in layers: no top-level module imports from a module that
//! imports it, directly or through others (issue 15). Read from the source text: every
//! `crate::name` path, including the names inside `use crate::{…}` groups, is an edge from
//! the module the file belongs to. The binary (`main.rs`, `cli/`) sits on top and is not
//! checked: it reaches the library as `chiso::`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The library's top-level modules: `src/x.rs` and `src/x/`.
fn top_modules() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for entry in fs::read_dir(src()).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        if matches!(name.as_str(), "lib" | "main" | "cli") {
            continue;
        }
        if path.is_dir() || path.extension().is_some_and(|e| e == "rs") {
            out.insert(name);
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("a readable directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn ident_at(s: &str) -> &str {
    let end = s.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(s.len());
    &s[..end]
}

/// The top-level names a text reaches through `crate::`.
fn references(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a, b::c, d::{e, f}}`: the names at depth one.
            let mut depth = 1;
            let mut expect_name = true;
            let mut i = 0;
            let bytes = group.as_bytes();
            while i < bytes.len() && depth > 0 {
                match bytes[i] {
                    b'{' => depth += 1,
                    b'}' => depth -= 1,
                    b',' if depth == 1 => expect_name = true,
                    c if depth == 1 && expect_name && (c.is_ascii_alphabetic() || c == b'_') => {
                        out.insert(ident_at(&group[i..]).to_string());
                        expect_name = false;
                    }
                    _ => {}
                }
                i += 1;
            }
        } else {
            out.insert(ident_at(rest).to_string());
        }
    }
    out
}

/// Edges between top-level modules, with the files that make each one.
fn graph() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let tops = top_modules();
    let root = src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut edges: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(&root).expect("under src/").to_string_lossy().replace('\\', "/");
        let top = rel.split('/').next().unwrap_or_default().trim_end_matches(".rs").to_string();
        if !tops.contains(&top) {
            continue;
        }
        let text = fs::read_to_string(&file).expect("a readable source file");
        for target in references(&text) {
            if target != top && tops.contains(&target) {
                edges.entry(top.clone()).or_default().entry(target).or_default().insert(rel.clone());
            }
        }
    }
    edges
}

fn reaches(edges: &BTreeMap<String, BTreeMap<String, BTreeSet<String>>>, from: &str, to: &str) -> bool {
    let mut seen = BTreeSet::from([from.to_string()]);
    let mut stack = vec![from.to_string()];
    while let Some(m) = stack.pop() {
        if m == to {
            return true;
        }
        for next in edges.get(&m).into_iter().flat_map(|e| e.keys()) {
            if seen.insert(next.clone()) {
                stack.push(next.clone());
            }
        }
    }
    false
}

#[test]
fn no_top_level_module_imports_from_a_module_that_imports_it() {
    let edges = graph();
    let mut cycles = Vec::new();
    for (from, targets) in &edges {
        for (to, files) in targets {
            if reaches(&edges, to, from) {
                let files: Vec<_> = files.iter().map(String::as_str).collect();
                cycles.push(format!("{from} → {to} (in {})", files.join(", ")));
            }
        }
    }
    assert!(cycles.is_empty(), "edges inside an import cycle:\n  {}", cycles.join("\n  "));
}

#[test]
fn the_reader_sees_every_form_of_a_crate_path() {
    let text = "use crate::domain::Period;\nuse crate::{config, warehouse::{Warehouse, Row}, text::fold};\n\
                let x = crate::evaluate::Status::Missing;\n/// [`crate::report::load`]";
    let found: Vec<_> = references(text).into_iter().collect();
    assert_eq!(found, ["config", "domain", "evaluate", "report", "text", "warehouse"]);
}

#[test]
fn the_layers_hold_where_the_design_puts_them() {
    // The bottom of the house: the base modules (text folding, the library's Vietnamese
    // messages, secrets) import nothing but each other; the domain reaches only them; the
    // warehouse stores the stages' rows without importing the stages.
    let edges = graph();
    let of = |m: &str| edges.get(m).map(|e| e.keys().cloned().collect::<BTreeSet<_>>()).unwrap_or_default();
    let base = ["text", "messages", "secret"];
    for m in base {
        assert!(of(m).iter().all(|t| base.contains(&t.as_str())), "{m} imports {:?}", of(m));
    }
    assert!(of("domain").iter().all(|m| base.contains(&m.as_str())), "domain imports {:?}", of("domain"));
    for stage in ["ingest", "sources", "evaluate", "remind", "report", "config", "jobs", "serve", "app"] {
        assert!(!of("warehouse").contains(stage), "warehouse imports {stage}");
    }
    for stage in ["ingest", "sources", "evaluate", "remind", "report", "warehouse"] {
        assert!(!of(stage).contains("config"), "{stage} imports config: a stage receives its own settings type");
    }
}
