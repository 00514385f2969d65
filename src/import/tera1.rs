//! Templates written for Tera 1 (Zola up to 0.22), rewritten where Tera 2 changed the
//! language, so that they mean in sitegen what they meant in Zola:
//!
//! - A block that a child template defines outside any other block, and that no ancestor
//!   has, is an error in Tera 2; in Tera 1 it was simply never shown, so it is removed.
//!   (A new block nested in an overriding block is a block for grandchildren: it stays.)
//! - Macros are components in Tera 2 (see [`rewrite_macros`]).
//! - A condition on a path that is not there is false in Tera 1 and an error in Tera 2: see
//!   [`guard_conditions`].
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
    let ns = namespaces(templates);
    for (name, text) in templates {
        let file = origin(name);
        let text = rewrite_includes(&file, text, templates, &mut notes);
        let text = rewrite_macros(&file, &text, &ns, &mut notes);
        let text = guard_conditions(&file, &text, &mut notes);
        let text = guard_operands(&file, &text, &mut notes);
        let mut text = rewrite_tests(&file, &text, &mut notes);
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

/// `{% import "m.html" as ns %}`.
fn import_tag() -> Regex {
    Regex::new(r#"\{%(-?)\s*import\s+["'][^"']+["']\s+as\s+(\w+)\s*(-?)%\}[ \t]*\n?"#).expect("valid regex")
}

/// The macro namespaces imported anywhere (a child template calls what its parent imported).
fn namespaces(templates: &BTreeMap<String, String>) -> Vec<String> {
    let mut ns: Vec<String> = vec!["self".into()];
    for text in templates.values() {
        ns.extend(import_tag().captures_iter(text).map(|c| c[2].to_string()));
    }
    ns.sort();
    ns.dedup();
    ns
}

/// Tera 1 macros → Tera 2 components: `{% import "m.html" as ns %}` goes (components are
/// known in every template), `{% macro name(a, b=1) %}…{% endmacro %}` becomes
/// `{% component name(a, b=1) %}…{% endcomponent name %}`, and a call `ns::name(a=x, b=2)`
/// (or `self::name(…)`) becomes `<name a={x} b={2} />`.
fn rewrite_macros(file: &str, text: &str, namespaces: &[String], notes: &mut Vec<Note>) -> String {
    let text = drop_imports(file, text, notes);
    let text = rewrite_definitions(file, &text, notes);
    let text = untype_false_defaults(file, &text, notes);
    rewrite_calls(file, &text, namespaces, notes)
}

/// `{% import "m.html" as ns %}` goes: components are known in every template.
fn drop_imports(file: &str, text: &str, notes: &mut Vec<Note>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for c in import_tag().captures_iter(text) {
        let m = c.get(0).expect("whole match");
        out.push_str(&text[last..m.start()]);
        last = m.end();
        notes.push(Note::change(
            file,
            Some(line_col(text, m.start()).0),
            format!("`{}` removed: Tera 2 components need no import", m.as_str().trim()),
        ));
    }
    out.push_str(&text[last..]);
    out
}

/// `{% macro name(a) %}…{% endmacro %}` → `{% component name(@page=none, a) %}…{% endcomponent
/// name %}`, with what the macro read of its caller's context as implicit arguments.
fn rewrite_definitions(file: &str, text: &str, notes: &mut Vec<Note>) -> String {
    let tags = Regex::new(r"\{%(-?)\s*(macro\s+(\w+)\s*\(|endmacro(?:\s+\w+)?\s*(-?)%\})").expect("valid regex");
    let mut out = String::with_capacity(text.len());
    // (name, where its parameters start in `out`, where its body starts in `text`)
    let mut open: Vec<(String, usize, usize)> = Vec::new();
    let mut last = 0;
    // Components see only their arguments; Tera 1 macros also saw these.
    let context = Regex::new(r"\b(config|page|section|paginator|taxonomy|term|terms|current_path|current_url|lang)\b")
        .expect("valid regex");
    let recording = Regex::new(
        r"\b(resize_image|image_set|get_image_metadata|get_page|get_section|get_taxonomy|get_url|load_data)\s*\(",
    )
    .expect("valid regex");
    for c in tags.captures_iter(text) {
        let m = c.get(0).expect("whole match");
        out.push_str(&text[last..m.start()]);
        let dash = &c[1];
        match c.get(3) {
            Some(name) => {
                out.push_str(&format!("{{%{dash} component {}(", name.as_str()));
                open.push((name.as_str().to_string(), out.len(), m.end()));
                notes.push(Note::change(
                    file,
                    Some(line_col(text, m.start()).0),
                    format!("macro `{}` → component", name.as_str()),
                ));
            }
            None => {
                let (name, params_at, body_at) = open.pop().unwrap_or_default();
                // What the macro read of its caller's context comes in implicitly (`@page`).
                let params_end = text[body_at..].find(')').map(|i| body_at + i).unwrap_or(body_at);
                let params = &text[body_at..params_end];
                let body = &text[params_end..m.start()];
                let mut implicit: Vec<&str> = context
                    .find_iter(body)
                    .filter(|v| is_variable_use(body, v.start(), v.end()))
                    .map(|v| v.as_str())
                    .filter(|v| !Regex::new(&format!(r"\b{v}\b")).expect("valid regex").is_match(params))
                    .collect();
                // sitegen's template functions note what they read (and the images they ask
                // for) under the output's `current_path`, which a component sees only as an
                // argument.
                if recording.is_match(body) && !implicit.contains(&"current_path") {
                    implicit.push("current_path");
                }
                implicit.sort();
                implicit.dedup();
                if !implicit.is_empty() {
                    // `none` when the caller has no such variable (a section has no `page`).
                    let list = implicit
                        .iter()
                        .map(|v| {
                            if *v == "config" || *v == "current_path" {
                                format!("@{v}")
                            } else {
                                format!("@{v}=none")
                            }
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    let sep = if params.trim().is_empty() { "" } else { ", " };
                    out.insert_str(params_at, &format!("{list}{sep}"));
                }
                let close = c.get(4).map(|d| d.as_str()).unwrap_or("");
                out.push_str(&format!("{{%{dash} endcomponent {name} {close}%}}"));
            }
        }
        last = m.end();
    }
    out.push_str(&text[last..]);
    out
}

/// `name=false` in a component's parameters → `name=none` (see the comment inside).
fn untype_false_defaults(file: &str, text: &str, notes: &mut Vec<Note>) -> String {
    // A `false` default makes the argument a bool in Tera 2, and a caller that passes a
    // string fails; Tera 1 macros took any value. `none` reads as false in a condition too.
    let def = Regex::new(r"\{%-?\s*component\s+\w+\(([^)]*)\)").expect("valid regex");
    let falsy = Regex::new(r"=\s*false\b").expect("valid regex");
    let mut fixed = String::with_capacity(text.len());
    let mut last = 0;
    for c in def.captures_iter(text) {
        let params = c.get(1).expect("parameters");
        if falsy.is_match(params.as_str()) {
            fixed.push_str(&text[last..params.start()]);
            fixed.push_str(&falsy.replace_all(params.as_str(), "=none"));
            last = params.end();
            notes.push(Note::change(
                file,
                Some(line_col(text, params.start()).0),
                "a `false` default became `none` (Tera 2 would type the argument as a bool)",
            ));
        }
    }
    fixed.push_str(&text[last..]);
    fixed
}

/// `ns::name(a=x)` (or `self::name(…)`) → `<name a={x} />`.
fn rewrite_calls(file: &str, text: &str, namespaces: &[String], notes: &mut Vec<Note>) -> String {
    let call = Regex::new(&format!(r"\b({})::(\w+)\(", namespaces.join("|"))).expect("valid regex");
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut at = 0;
    while let Some(c) = call.captures_at(text, at) {
        let m = c.get(0).expect("whole match");
        let Some(close) = matching_paren(text, m.end()) else {
            at = m.end();
            continue;
        };
        let attrs: Vec<String> = split_args(&text[m.end()..close])
            .into_iter()
            .map(|a| match a.split_once('=') {
                Some((k, v)) if is_keyword_arg(a) => format!("{}={{{}}}", k.trim(), v.trim()),
                _ => format!("{{{}}}", a.trim()),
            })
            .collect();
        out.push_str(&text[last..m.start()]);
        let name = &c[2];
        if attrs.is_empty() {
            out.push_str(&format!("<{name} />"));
        } else {
            out.push_str(&format!("<{name} {} />", attrs.join(" ")));
        }
        notes.push(Note::change(
            file,
            Some(line_col(text, m.start()).0),
            format!("`{}::{name}(…)` → `<{name} … />`", &c[1]),
        ));
        last = close + 1;
        at = close + 1;
    }
    out.push_str(&text[last..]);
    out
}

/// `{% include "x" ignore missing %}`: Tera 2 has no `ignore missing`, so the words go when
/// `x` exists and the whole tag goes when it does not (Tera 1 showed nothing for it).
fn rewrite_includes(file: &str, text: &str, templates: &BTreeMap<String, String>, notes: &mut Vec<Note>) -> String {
    let re = Regex::new(r#"\{%(-?)\s*include\s+["']([^"']+)["']\s+ignore\s+missing\s*(-?)%\}"#).expect("valid regex");
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for c in re.captures_iter(text) {
        let m = c.get(0).expect("whole match");
        out.push_str(&text[last..m.start()]);
        let target = &c[2];
        let line = Some(line_col(text, m.start()).0);
        if templates.contains_key(target) {
            out.push_str(&format!("{{%{} include \"{target}\" {}%}}", &c[1], &c[3]));
            notes.push(Note::change(
                file,
                line,
                format!("`ignore missing` dropped from the include of `{target}`, which exists"),
            ));
        } else {
            notes.push(Note::change(
                file,
                line,
                format!("include of `{target}` removed: there is no such template (`ignore missing`)"),
            ));
        }
        last = m.end();
    }
    out.push_str(&text[last..]);
    out
}

/// Whether the name at `start..end` of `s` is a variable read, not an attribute (`x.page`)
/// or a keyword argument's name (`page=p`, but `page == p` is a read).
fn is_variable_use(s: &str, start: usize, end: usize) -> bool {
    let before = s[..start].chars().next_back();
    let after = s[end..].trim_start();
    before != Some('.') && (!after.starts_with('=') || after.starts_with("=="))
}

/// The `)` that closes the `(` just before `from`, past strings and nested parentheses.
fn matching_paren(s: &str, from: usize) -> Option<usize> {
    let b = s.as_bytes();
    let (mut depth, mut i, mut quote) = (1usize, from, None::<u8>);
    while i < b.len() {
        match (quote, b[i]) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), b'\\') => i += 1,
            (Some(_), _) => {}
            (None, b'"' | b'\'' | b'`') => quote = Some(b[i]),
            (None, b'(' | b'[' | b'{') => depth += 1,
            (None, b')' | b']' | b'}') => {
                depth -= 1;
                if depth == 0 {
                    return (b[i] == b')').then_some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The top-level comma-separated parts of an argument list.
fn split_args(s: &str) -> Vec<&str> {
    let b = s.as_bytes();
    let (mut parts, mut start, mut depth, mut quote) = (Vec::new(), 0, 0usize, None::<u8>);
    let mut i = 0;
    while i < b.len() {
        match (quote, b[i]) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), b'\\') => i += 1,
            (Some(_), _) => {}
            (None, b'"' | b'\'' | b'`') => quote = Some(b[i]),
            (None, b'(' | b'[' | b'{') => depth += 1,
            (None, b')' | b']' | b'}') => depth = depth.saturating_sub(1),
            (None, b',') if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&s[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

/// `{% if page.extra.meta %}` in Tera 1 is false when `page` (or `page.extra`) is not there;
/// Tera 2 stops with an error. A condition that is one path (maybe after `not`) gets the
/// guards that make it mean the same: `page is defined and page.extra is defined and
/// page.extra.meta`. (`config` is always there and is left alone.)
fn guard_conditions(file: &str, text: &str, notes: &mut Vec<Note>) -> String {
    let re =
        Regex::new(r"\{%(-?)\s*(if|elif)\s+(not\s+)?([A-Za-z_]\w*(?:\.\w+)+)(\s+is\s+(not\s+)?defined)?\s*(-?)%\}")
            .expect("valid regex");
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for c in re.captures_iter(text) {
        let m = c.get(0).expect("whole match");
        let path = &c[4];
        if path.starts_with("config.") {
            continue;
        }
        let mut parts = prefix_guards(path);
        // `PATH is defined` → every prefix and PATH defined; `is not defined` → not that.
        let test = c.get(5).is_some();
        parts.push(if test {
            format!("{path} is defined")
        } else {
            path.to_string()
        });
        let cond = parts.join(" and ");
        let negated = c.get(3).is_some() != c.get(6).is_some();
        let cond = if negated { format!("not ({cond})") } else { cond };
        out.push_str(&text[last..m.start()]);
        out.push_str(&format!("{{%{} {} {cond} {}%}}", &c[1], &c[2], &c[7]));
        last = m.end();
        notes.push(Note::change(
            file,
            Some(line_col(text, m.start()).0),
            format!("`{path}` in a condition guarded with `is defined` (Tera 1 took a missing value as false)"),
        ));
    }
    out.push_str(&text[last..]);
    out
}

/// `page.extra.meta` → `["page is defined", "page.extra is defined"]`: what must hold before
/// the path can be read in Tera 2.
fn prefix_guards(path: &str) -> Vec<String> {
    let segs: Vec<&str> = path.split('.').collect();
    (1..segs.len())
        .map(|n| format!("{} is defined", segs[..n].join(".")))
        .collect()
}

/// The paths that stand alone in a longer condition (`config.extra.toc and page.toc`), guarded
/// as [`guard_conditions`] guards a whole one: `(page is defined and page.toc)`. A path with
/// a filter, a test or a comparison after it is left alone (its meaning would change).
fn guard_operands(file: &str, text: &str, notes: &mut Vec<Note>) -> String {
    let tag = Regex::new(r"\{%(-?)\s*(if|elif)\s+(.+?)\s*(-?)%\}").expect("valid regex");
    let path = Regex::new(r"[A-Za-z_]\w*(?:\.\w+)+").expect("valid regex");
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for c in tag.captures_iter(text) {
        let cond = c.get(3).expect("condition");
        // Guarded already (by `guard_conditions`, or by the author).
        if cond.as_str().contains(" is defined") {
            continue;
        }
        let mut new = String::with_capacity(cond.len());
        let mut at = 0;
        let mut guarded = Vec::new();
        for p in path.find_iter(cond.as_str()) {
            let (before, after) = (&cond.as_str()[..p.start()], &cond.as_str()[p.end()..]);
            let in_string = before.matches('"').count() % 2 == 1 || before.matches('\'').count() % 2 == 1;
            let b = before.trim_end();
            let a = after.trim_start();
            let alone_before = b.is_empty()
                || b.ends_with('(')
                || [" and", " or", " not"].iter().any(|w| b.ends_with(w))
                || ["and", "or", "not"].contains(&b);
            let alone_after = a.is_empty() || a.starts_with(')') || a.starts_with("and ") || a.starts_with("or ");
            let root = p.as_str().split('.').next().unwrap_or("");
            if in_string
                || !alone_before
                || !alone_after
                || matches!(root, "config" | "loop")
                || (b.is_empty() && a.is_empty())
            {
                continue;
            }
            let mut parts = prefix_guards(p.as_str());
            parts.push(p.as_str().to_string());
            new.push_str(&cond.as_str()[at..p.start()]);
            new.push_str(&format!("({})", parts.join(" and ")));
            at = p.end();
            guarded.push(p.as_str().to_string());
        }
        if guarded.is_empty() {
            continue;
        }
        new.push_str(&cond.as_str()[at..]);
        out.push_str(&text[last..cond.start()]);
        out.push_str(&new);
        last = cond.end();
        let line = Some(line_col(text, cond.start()).0);
        for g in guarded {
            notes.push(Note::change(
                file,
                line,
                format!("`{g}` in a condition guarded with `is defined` (Tera 1 took a missing value as false)"),
            ));
        }
    }
    out.push_str(&text[last..]);
    out
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
    fn macros_become_components() {
        let (out, notes) = run(&[
            (
                "macros.html",
                "{% macro card(page, wide=0) %}<b>{{ page.title }}</b>{% endmacro card %}\n{% macro t() %}{{ config.title }}{{ resize_image(path='a.png', width=2).url }}{% endmacro %}{% macro u(x, y=false) %}{{ page.title ~ x ~ section.path }}{% endmacro %}{%- macro list(pages) -%}{% for p in pages %}{{ self::card(page=p) }}{% endfor %}{%- endmacro -%}",
            ),
            (
                "a.html",
                "{% import \"macros.html\" as m %}\n{{ m::list(pages=section.pages | slice(end=2)) }}{{ m::card(page=page, wide=true) }}",
            ),
            ("child.html", "{% include \"a.html\" ignore missing %}{% include \"x.html\" ignore missing %}{{ m::card(page=page) }}"),
        ]);
        assert_eq!(out["child.html"], "{% include \"a.html\" %}{{ <card page={page} /> }}");
        assert_eq!(
            out["macros.html"],
            "{% component card(page, wide=0) %}<b>{{ page.title }}</b>{% endcomponent card %}\n{% component t(@config, @current_path) %}{{ config.title }}{{ resize_image(path='a.png', width=2).url }}{% endcomponent t %}{% component u(@page=none, @section=none, x, y=none) %}{{ page.title ~ x ~ section.path }}{% endcomponent u %}{%- component list(pages) -%}{% for p in pages %}{{ <card page={p} /> }}{% endfor %}{%- endcomponent list -%}"
        );
        assert_eq!(
            out["a.html"],
            "{{ <list pages={section.pages | slice(end=2)} /> }}{{ <card page={page} wide={true} /> }}"
        );
        assert_eq!(notes.len(), 12, "{notes:#?}");
    }

    #[test]
    fn single_path_conditions_are_guarded() {
        let (out, notes) = run(&[(
            "p.html",
            "{% if page.extra.meta %}a{%- elif not section.title -%}b{% endif %}{% if config.extra.x %}{% endif %}{% if x %}{% endif %}{% if page.c is defined %}{% elif page.d is not defined %}{% endif %}",
        )]);
        assert_eq!(
            out["p.html"],
            "{% if page is defined and page.extra is defined and page.extra.meta %}a{%- elif not (section is defined and section.title) -%}b{% endif %}{% if config.extra.x %}{% endif %}{% if x %}{% endif %}{% if page is defined and page.c is defined %}{% elif not (page is defined and page.d is defined) %}{% endif %}"
        );
        assert_eq!(notes.len(), 4);
    }

    #[test]
    fn lone_paths_in_longer_conditions_are_guarded() {
        let (out, notes) = run(&[(
            "p.html",
            "{% if config.extra.toc | default(value=false) and page.toc %}{% endif %}{% if page.x | length > 0 or not (page.y) %}{% endif %}{% if a.b == \"c.d and\" %}{% endif %}",
        )]);
        assert_eq!(
            out["p.html"],
            "{% if config.extra.toc | default(value=false) and (page is defined and page.toc) %}{% endif %}{% if page.x | length > 0 or not ((page is defined and page.y)) %}{% endif %}{% if a.b == \"c.d and\" %}{% endif %}"
        );
        assert_eq!(notes.len(), 2);
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
