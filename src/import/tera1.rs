//! Templates written for Tera 1 (Zola up to 0.22), rewritten where Tera 2 changed the
//! language, so that they mean in sitegen what they meant in Zola:
//!
//! - A block that a child template defines outside any other block, and that no ancestor
//!   has, is an error in Tera 2; in Tera 1 it was simply never shown, so it is removed.
//!   (A new block nested in an overriding block is a block for grandchildren: it stays.)
//! - Tests take keyword arguments in Tera 2: `is divisibleby(3)` → `is divisible_by(divisor=3)`,
//!   `is starting_with("a")` → `is starting_with(pat="a")` (also `ending_with`,
//!   `containing`, `matching`), and `is object` → `is map`.
//!
//! Pure: it gets every template's text and returns the new texts with a [`Note`] per change.

use std::collections::{BTreeMap, HashSet};

use regex::Regex;

use super::Note;
use crate::error::line_col;

/// `{% block NAME %}` or `{% endblock [NAME] %}` (with `-` whitespace control).
fn block_tags() -> Regex {
    Regex::new(r"\{%-?\s*(block\s+(\w+)|endblock(?:\s+\w+)?)\s*-?%\}").expect("valid regex")
}

fn extends_of(text: &str) -> Option<String> {
    let re = Regex::new(r#"\{%-?\s*extends\s+["']([^"']+)["']\s*-?%\}"#).expect("valid regex");
    re.captures(text).map(|c| c[1].to_string())
}

/// Every block name a template defines, nested ones included.
fn blocks_of(text: &str) -> HashSet<String> {
    block_tags()
        .captures_iter(text)
        .filter_map(|c| c.get(2).map(|m| m.as_str().to_string()))
        .collect()
}

/// The blocks of `name`'s ancestors (what a child of `name` may define).
fn ancestor_blocks(name: &str, templates: &BTreeMap<String, String>) -> Option<HashSet<String>> {
    let mut seen = HashSet::new();
    let mut out = HashSet::new();
    let mut next = Some(name.to_string());
    while let Some(n) = next {
        if !seen.insert(n.clone()) {
            break;
        }
        let text = templates.get(&n)?;
        out.extend(blocks_of(text));
        next = extends_of(text);
    }
    Some(out)
}

/// Rewrites every template (`name` → text, names relative to `templates/`); `origin` gives a
/// template's file for the notes.
pub fn rewrite_all(
    templates: &BTreeMap<String, String>,
    origin: &dyn Fn(&str) -> String,
) -> (BTreeMap<String, String>, Vec<Note>) {
    let mut out = BTreeMap::new();
    let mut notes = Vec::new();
    for (name, text) in templates {
        let file = origin(name);
        let mut text = rewrite_tests(&file, text, &mut notes);
        if let Some(parent) = extends_of(&text) {
            if let Some(allowed) = ancestor_blocks(&parent, templates) {
                text = prune_blocks(&file, &text, &allowed, &mut notes);
            }
        }
        out.insert(name.clone(), text);
    }
    (out, notes)
}

/// Removes the blocks of a child template that no ancestor defines (see the module doc).
fn prune_blocks(file: &str, text: &str, allowed: &HashSet<String>, notes: &mut Vec<Note>) -> String {
    // (name, start of the opening tag, kept)
    let mut stack: Vec<(String, usize, bool)> = Vec::new();
    // Byte ranges to delete.
    let mut cut: Vec<(usize, usize)> = Vec::new();
    for c in block_tags().captures_iter(text) {
        let m = c.get(0).expect("whole match");
        match c.get(2) {
            Some(n) => stack.push((n.as_str().to_string(), m.start(), allowed.contains(n.as_str()))),
            None => {
                let Some((name, open_start, kept)) = stack.pop() else {
                    continue;
                };
                if kept {
                    continue;
                }
                if !stack.is_empty() {
                    continue; // nested in a block: a new block for templates that extend this one
                }
                let line = line_col(text, open_start).0;
                cut.push((open_start, m.end()));
                notes.push(Note::change(
                    file,
                    Some(line),
                    format!("block `{name}` is in no parent template: removed (Tera 1 never showed it)"),
                ));
            }
        }
    }
    cut.sort();
    let mut s = String::with_capacity(text.len());
    let mut at = 0;
    for (a, b) in cut {
        if a < at {
            continue; // inside a block already removed whole
        }
        s.push_str(&text[at..a]);
        at = b;
    }
    s.push_str(&text[at..]);
    s
}

/// Tests with positional arguments → keyword arguments; `object` → `map`.
fn rewrite_tests(file: &str, text: &str, notes: &mut Vec<Note>) -> String {
    let re = Regex::new(r#"\bis(\s+not)?\s+(divisibleby|divisible_by|starting_with|ending_with|containing|matching|object)\b(\(\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^)"']*?)\s*\))?"#).expect("valid regex");
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for c in re.captures_iter(text) {
        let m = c.get(0).expect("whole match");
        let not = c.get(1).map(|x| x.as_str()).unwrap_or("");
        let test = &c[2];
        let arg = c.get(4).map(|a| a.as_str());
        let new = match (test, arg) {
            ("object", _) => format!("is{not} map"),
            (_, Some(a)) if is_keyword_arg(a) => continue, // already Tera 2
            ("divisibleby" | "divisible_by", Some(a)) => format!("is{not} divisible_by(divisor={a})"),
            (t, Some(a)) => format!("is{not} {t}(pat={a})"),
            (_, None) => continue,
        };
        out.push_str(&text[last..m.start()]);
        out.push_str(&new);
        last = m.end();
        notes.push(Note::change(
            file,
            Some(line_col(text, m.start()).0),
            format!("`{}` → `{new}` (Tera 2 tests take keyword arguments)", m.as_str()),
        ));
    }
    out.push_str(&text[last..]);
    out
}

/// `pat="a"` (Tera 2) rather than `"a=b"` (Tera 1, positional).
fn is_keyword_arg(a: &str) -> bool {
    a.split_once('=').is_some_and(|(k, _)| {
        let k = k.trim();
        !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(files: &[(&str, &str)]) -> (BTreeMap<String, String>, Vec<Note>) {
        let t: BTreeMap<String, String> = files.iter().map(|(n, s)| (n.to_string(), s.to_string())).collect();
        rewrite_all(&t, &|n| format!("templates/{n}"))
    }

    #[test]
    fn top_level_blocks_no_parent_has_are_removed() {
        let (out, notes) = run(&[
            ("base.html", "<t>{% block title %}T{% endblock title %}</t>{% block content %}{% endblock %}"),
            (
                "page.html",
                "{% extends \"base.html\" %}\n{% block extra_nav_class %}x{% endblock extra_nav_class %}\n{% block content %}A{%- block inner -%}B{% endblock inner %}C{% endblock content %}",
            ),
        ]);
        assert_eq!(
            out["page.html"],
            "{% extends \"base.html\" %}\n\n{% block content %}A{%- block inner -%}B{% endblock inner %}C{% endblock content %}"
        );
        assert_eq!(
            out["base.html"],
            "<t>{% block title %}T{% endblock title %}</t>{% block content %}{% endblock %}"
        );
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].line, Some(2));
        assert!(notes[0].message.contains("`extra_nav_class`"));
    }

    #[test]
    fn tests_take_keyword_arguments() {
        let (out, notes) = run(&[(
            "a.html",
            "{% if asset is matching(\"[.](jpg|png)$\") %}{% if n is not divisibleby(3) %}{% if m is object %}{% if s is starting_with(pat=\"a\") %}",
        )]);
        assert_eq!(
            out["a.html"],
            "{% if asset is matching(pat=\"[.](jpg|png)$\") %}{% if n is not divisible_by(divisor=3) %}{% if m is map %}{% if s is starting_with(pat=\"a\") %}"
        );
        assert_eq!(notes.len(), 3);
    }
}
