//! The house stays as drawn: imports in `src/` only run downward through the pipeline.
//!
//! A module is a top-level file or folder of `src/` (`src/serve/` is one module). Every
//! `crate::NAME` path in a module's files (comments left out; `use crate::{a, b}` groups
//! included) is an import of `NAME`. A module may import the modules of the layers below its
//! own and nothing else: not its own layer's other modules, not anything above. A new module
//! must be given a layer here (and in ARCHITECTURE.md's map), or the test fails.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Bottom to top. The same order as `src/lib.rs` and ARCHITECTURE.md.
const LAYERS: &[&[&str]] = &[
    &[
        "aws",
        "error",
        "fsio",
        "html",
        "image_metadata",
        "keys",
        "paths",
        "spill",
    ],
    &["highlight"],
    &["config"],
    &["source"],
    &["content"],
    &["assets"],
    &["markdown"],
    &["images"],
    &["templates"],
    &["search"],
    &["build"],
    &["output"],
    &["site"],
    &["linkcheck", "publish", "serve"],
    &["archetypes", "import", "init"],
    &["cli"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The text without `//` comments (doc comments mention other stages freely) and without
/// the contents of string literals (which are not imports).
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut in_str = false;
        let mut prev = '\0';
        let mut kept = String::new();
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if !in_str && c == '/' && chars.get(i + 1) == Some(&'/') {
                break;
            }
            if c == '"' && prev != '\\' {
                in_str = !in_str;
            } else if !in_str {
                kept.push(c);
            }
            prev = if prev == '\\' && c == '\\' { '\0' } else { c };
            i += 1;
        }
        out.push_str(&kept);
        out.push('\n');
    }
    out
}

/// Modules named by `crate::NAME` paths and `use crate::{NAME, ...}` groups.
fn imports(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                let name = ident(part.trim());
                if !name.is_empty() && name != "self" {
                    found.insert(name);
                }
            }
        } else {
            let name = ident(after);
            if !name.is_empty() {
                found.insert(name);
            }
        }
        rest = after;
    }
    found
}

/// module → (imported module → first file that imports it).
fn module_imports(src: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .to_string();
        let module = first.strip_suffix(".rs").unwrap_or(&first).to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let entry = edges.entry(module.clone()).or_default();
        for m in imports(&code_only(&text)) {
            if m != module {
                entry.entry(m).or_insert_with(|| rel.display().to_string());
            }
        }
    }
    edges
}

/// Every import that breaks the layering, in words.
fn violations(src: &Path) -> Vec<String> {
    let edges = module_imports(src);
    let mut bad = Vec::new();
    for (module, uses) in &edges {
        let Some(own) = layer_of(module) else {
            bad.push(format!(
                "module `{module}` has no layer: add it to LAYERS in tests/it/layering.rs and to ARCHITECTURE.md"
            ));
            continue;
        };
        for (used, file) in uses {
            match layer_of(used) {
                // Not a module of ours (a macro or an item of lib.rs).
                None if !edges.contains_key(used) => {}
                None => {}
                Some(l) if l < own => {}
                Some(l) if l == own => bad.push(format!(
                    "src/{file}: `{module}` imports `{used}`, which is in the same layer ({:?})",
                    LAYERS[own]
                )),
                Some(_) => bad.push(format!(
                    "src/{file}: `{module}` imports `{used}`, a stage above it: imports must run downward ({})",
                    LAYERS.iter().map(|l| l.join("/")).collect::<Vec<_>>().join(" < ")
                )),
            }
        }
    }
    bad
}

#[test]
fn imports_only_run_downward() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let bad = violations(&src);
    assert!(bad.is_empty(), "layering broken:\n{}", bad.join("\n"));
}

/// The checker itself: an upward import in a copy of `src/` is caught, and so is a module
/// without a layer (a checker that finds nothing would pass anything).
#[test]
fn an_upward_import_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("markdown")).unwrap();
    std::fs::write(
        dir.path().join("markdown/mod.rs"),
        "use crate::config::Config;\n// crate::cli in a comment is fine\nfn f() { let _ = \"crate::serve\"; crate::templates::x(); }\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("config.rs"), "use crate::{error::Diagnostic, paths};\n").unwrap();
    std::fs::write(dir.path().join("newstage.rs"), "use crate::error::Diagnostic;\n").unwrap();
    let bad = violations(dir.path());
    assert_eq!(bad.len(), 2, "{bad:#?}");
    assert!(
        bad[0].contains("`markdown` imports `templates`, a stage above it"),
        "{}",
        bad[0]
    );
    assert!(bad[1].contains("module `newstage` has no layer"), "{}", bad[1]);
}
