//! Which of a page's heavy fields (`content`, `toc`) templates may read of a page other
//! than the one they render. A page value shared by listings (sections, paginators, terms,
//! feeds, `get_page`) leaves out the fields no template reads that way; the page's own job
//! gets them filled in when it is rendered ([`super::values::own_page_value`]), so each
//! page's table of contents is a template value only while its page renders.
//!
//! Read from the templates' text, conservatively: any read this cannot place as the own
//! page's (`page.content` where nothing rebinds `page`) or a section's counts as a read of
//! listed pages, and so does anything that may show a whole listed value (`json_encode` of
//! a listing, iterating a map, `__tera_context`).

use std::collections::{HashMap, HashSet};

use crate::source::{SourceTree, DEFAULT_THEME};

/// The fields shared page values leave out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub(crate) struct Omit {
    /// Every page's content.
    pub content: bool,
    /// The content of the pages with a summary (listings read only the others' content).
    pub content_with_summary: bool,
    pub toc: bool,
}

impl Omit {
    /// Nothing left out (today's values, a preview's).
    pub const NONE: Omit = Omit {
        content: false,
        content_with_summary: false,
        toc: false,
    };

    pub fn any(self) -> bool {
        self.content || self.content_with_summary || self.toc
    }

    /// Whether the content of a page (with a summary or not) is left out.
    pub fn content_of(self, has_summary: bool) -> bool {
        self.content || (self.content_with_summary && has_summary)
    }
}

/// How the templates read one field of listed pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Reads {
    Never,
    /// Only of pages without a summary (the default theme's feeds: summary, else content).
    WithoutSummary,
    Always,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ListedReads {
    pub content: Reads,
    pub toc: Reads,
}

impl ListedReads {
    /// What shared page values can leave out, given whether every page has a summary.
    pub fn omit(self, every_page_has_a_summary: bool) -> Omit {
        let free = |r: Reads| r == Reads::Never || (r == Reads::WithoutSummary && every_page_has_a_summary);
        Omit {
            content: free(self.content),
            content_with_summary: self.content == Reads::WithoutSummary,
            toc: free(self.toc),
        }
    }
}

/// The default theme's feed templates and how they read listed pages' content.
const DEFAULT_FEEDS: [(&str, Reads); 3] = [
    ("atom.xml", Reads::WithoutSummary),
    ("rss.xml", Reads::WithoutSummary),
    ("feed.json", Reads::Always),
];

/// How the templates of `tree` read listed pages' heavy fields; `feeds` are the feed file
/// names the site renders (the default theme's other feed templates are never rendered).
pub(crate) fn listed_reads(tree: &SourceTree, feeds: &[String]) -> ListedReads {
    let mut texts: Vec<(&str, &str)> = Vec::new();
    let mut reads = ListedReads {
        content: Reads::Never,
        toc: Reads::Never,
    };
    for (logical, file) in tree.under("templates/") {
        let name = &logical["templates/".len()..];
        let text = file.text.as_deref().unwrap_or("");
        let default = DEFAULT_FEEDS.iter().find(|(n, _)| *n == name).filter(|_| {
            DEFAULT_THEME
                .get_file(format!("templates/{name}"))
                .and_then(|f| f.contents_utf8())
                == Some(text)
        });
        match default {
            Some((_, _)) if !feeds.iter().any(|f| f == name) => {}
            Some((_, r)) => reads.content = reads.content.max(*r),
            None => texts.push((name, text)),
        }
    }
    let found = scan(&texts);
    let field = |f: &str| if found.contains(f) { Reads::Always } else { Reads::Never };
    reads.content = reads.content.max(field("content"));
    reads.toc = reads.toc.max(field("toc"));
    reads
}

/// The fields read of listed pages by templates `(name, text)`.
fn scan(texts: &[(&str, &str)]) -> HashSet<String> {
    let mut listed = HashSet::new();
    let mut own: HashMap<&str, Vec<String>> = HashMap::new();
    let mut tainted: HashSet<String> = HashSet::new();
    for (name, text) in texts {
        let code = code_of(text);
        let mut rebinds = false;
        for region in &code {
            let words: Vec<&str> = region.split(|c: char| !is_ident(c)).filter(|w| !w.is_empty()).collect();
            rebinds |= rebinds_page(region, &words);
            if region.contains("__tera_context") || dumps_a_listing(region) {
                listed.extend(["content".to_string(), "toc".to_string()]);
            }
            for (base, field) in attribute_reads(region) {
                match base.as_str() {
                    "section" => {}
                    "page" => own.entry(name).or_default().push(field),
                    _ => {
                        listed.insert(field);
                    }
                }
            }
        }
        if rebinds {
            tainted.insert(name.to_string());
            tainted.extend(included(&code));
        }
    }
    for (name, fields) in own {
        if tainted.contains(name) {
            listed.extend(fields);
        }
    }
    listed.retain(|f| f == "content" || f == "toc");
    listed
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The text inside `{{ }}` and `{% %}` (comments left out).
fn code_of(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('{') {
        let after = &rest[i + 1..];
        let close = match after.chars().next() {
            Some('{') => "}}",
            Some('%') => "%}",
            Some('#') => "#}",
            _ => {
                rest = after;
                continue;
            }
        };
        let body = &after[1..];
        let end = body.find(close).unwrap_or(body.len());
        if close != "#}" {
            out.push(&body[..end]);
        }
        rest = &body[(end + close.len()).min(body.len())..];
    }
    out
}

/// Whether a tag binds the name `page` (a loop variable, `set`, a macro's parameter).
fn rebinds_page(region: &str, words: &[&str]) -> bool {
    let t = region.trim_start_matches(['-', '+', ' ', '\n', '\t', '\r']);
    let first = words.first().copied().unwrap_or("");
    match first {
        "for" => {
            let vars = t.split(" in ").next().unwrap_or("");
            vars.split(|c: char| !is_ident(c)).any(|w| w == "page")
        }
        "set" | "set_global" => words.get(1) == Some(&"page"),
        "macro" => {
            let params = t.split_once('(').map(|(_, p)| p).unwrap_or("");
            params.split(|c: char| !is_ident(c)).any(|w| w == "page")
        }
        _ => false,
    }
}

/// `X | json_encode` (or a two-variable loop) over something that may hold listed pages.
fn dumps_a_listing(region: &str) -> bool {
    let t = region.trim_start_matches(['-', '+', ' ', '\n', '\t', '\r']);
    if let Some((vars, over)) = t.strip_prefix("for ").and_then(|r| r.split_once(" in ")) {
        // A map's entries: the config's, `extra` and taxonomies are no page values.
        let over = over.trim();
        let plain = over.starts_with("config") || over.contains("extra") || over.contains("taxonomies");
        if vars.contains(',') && !plain {
            return true;
        }
    }
    region.match_indices("json_encode").any(|(i, _)| {
        let before = region[..i].trim_end().trim_end_matches('|').trim_end();
        let start = before
            .rfind(|c: char| !(is_ident(c) || c == '.'))
            .map(|k| k + 1)
            .unwrap_or(0);
        let expr = &before[start..];
        // A field of a value is plain data, unless it is a list of pages or the like.
        let last = expr.rsplit('.').next().unwrap_or("");
        let whole = !expr.contains('.') && expr != "page" && expr != "config";
        let listing = matches!(
            last,
            "pages" | "subsections" | "items" | "terms" | "translations" | "paginator"
        );
        expr.is_empty() || before.ends_with(')') || before.ends_with(']') || whole || listing
    })
}

/// `(base, field)` of each `base.field` and `base["field"]` read of a heavy field: `base` is
/// the expression before it when it is a plain name, else `""`.
fn attribute_reads(region: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for field in ["content", "toc"] {
        for (i, _) in region.match_indices(field) {
            let end = i + field.len();
            if region[end..].chars().next().is_some_and(is_ident) {
                continue;
            }
            let before = region[..i].trim_end();
            let (base_end, by_index) = if let Some(b) = before.strip_suffix('.') {
                (b.trim_end(), false)
            } else if let Some(b) = before.strip_suffix("[\"").or_else(|| before.strip_suffix("['")) {
                (b.trim_end().strip_suffix('[').unwrap_or(b), true)
            } else {
                continue;
            };
            if region[..i].ends_with(|c: char| is_ident(c)) && !by_index {
                continue;
            }
            let start = base_end
                .rfind(|c: char| !is_ident(c) && c != '.')
                .map(|k| k + 1)
                .unwrap_or(0);
            let base = &base_end[start..];
            let plain =
                !base.is_empty() && !base.contains('.') && !by_index && !base_end[..start].ends_with([')', ']']);
            out.push((if plain { base.to_string() } else { String::new() }, field.to_string()));
        }
    }
    out
}

/// The templates a template's tags name with `include` or `import`.
fn included(code: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for region in code {
        let t = region.trim_start_matches(['-', '+', ' ', '\n', '\t', '\r']);
        if t.starts_with("include") || t.starts_with("import") {
            for part in t.split(['"', '\'']).skip(1).step_by(2) {
                out.push(part.to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(texts: &[(&str, &str)]) -> Vec<String> {
        let mut v: Vec<String> = scan(texts).into_iter().collect();
        v.sort();
        v
    }

    #[test]
    fn the_own_page_and_sections_are_not_listings() {
        let page = r#"{% extends "base.html" %}{% block content %}{% for h in page.toc %}{{ h.title }}{% endfor %}{{ page.content | safe }}{% endblock content %}"#;
        let section = r#"{{ section.content }}{% for page in paginator.pages %}{{ page.summary | safe }}{{ page.title }}{% endfor %}"#;
        assert!(reads(&[("page.html", page), ("section.html", section)]).is_empty());
        assert!(reads(&[(
            "x.html",
            "<meta name=\"d\" content=\"{{ config.title }}\">{# page.toc #}"
        )])
        .is_empty());
    }

    #[test]
    fn reads_of_other_pages_count() {
        let both = vec!["content", "toc"];
        let cases = [
            (
                "{% for page in section.pages %}{{ page.content }}{% endfor %}",
                vec!["content"],
            ),
            (
                "{% for p in section.pages %}{{ p.content | striptags }}{% endfor %}",
                vec!["content"],
            ),
            ("{{ get_page(path=\"a.md\").toc }}", vec!["toc"]),
            (
                "{% set p = get_page(path=\"a.md\") %}{{ p['content'] }}",
                vec!["content"],
            ),
            ("{{ paginator.pages[0].content }}", vec!["content"]),
            (
                "{% macro card(page) %}{{ page.content }}{% endmacro %}",
                vec!["content"],
            ),
            ("{{ section.pages | json_encode }}", both.clone()),
            ("{{ __tera_context }}", both.clone()),
            ("{% for k, v in section.pages[0] %}{{ v }}{% endfor %}", both.clone()),
            ("{% for code, l in config.languages %}{{ l }}{% endfor %}", vec![]),
        ];
        for (c, want) in cases {
            assert_eq!(reads(&[("t.html", c)]), want, "{c}");
        }
    }

    #[test]
    fn an_include_inside_a_loop_over_pages_reads_listed_pages() {
        let list = r#"{% for page in section.pages %}{% include "card.html" %}{% endfor %}"#;
        let card = "{{ page.toc | length }}";
        assert_eq!(reads(&[("list.html", list), ("card.html", card)]), vec!["toc"]);
        assert!(reads(&[("card.html", card)]).is_empty());
    }

    #[test]
    fn titles_as_json_are_plain_data() {
        assert!(reads(&[("t.html", "{{ page.title | json_encode }}{{ page | json_encode }}")]).is_empty());
    }

    #[test]
    fn the_default_theme_reads_no_listed_toc_and_content_only_in_feeds_without_summary() {
        let dir = tempfile::tempdir().unwrap();
        let config = crate::config::Config::parse("config.toml", "base_url = \"https://example.com\"\n").unwrap();
        std::fs::create_dir_all(dir.path().join(&config.source_dir).join("content")).unwrap();
        let tree = SourceTree::read(dir.path(), &config).unwrap();
        let atom = listed_reads(&tree, &["atom.xml".to_string()]);
        assert_eq!((atom.content, atom.toc), (Reads::WithoutSummary, Reads::Never));
        assert_eq!(
            atom.omit(true),
            Omit {
                content: true,
                content_with_summary: true,
                toc: true
            }
        );
        let mixed = atom.omit(false);
        assert_eq!(
            mixed,
            Omit {
                content: false,
                content_with_summary: true,
                toc: true
            }
        );
        assert!(mixed.content_of(true) && !mixed.content_of(false));
        let json = listed_reads(&tree, &["atom.xml".to_string(), "feed.json".to_string()]);
        assert_eq!(json.content, Reads::Always);
    }
}
